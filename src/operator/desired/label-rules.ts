/**
 * Kubernetes' own rules for label keys, label values and namespace names, checked before
 * a spec's labels go into an object: the API server would refuse the object anyway, but
 * only at apply time, with a message about the PodMonitor rather than the field of the
 * CR to fix. The CRD checks the same patterns (keep them in step with crds/).
 */

/** A DNS label (RFC 1123): a namespace's name, and each dot-separated part of a key's prefix. */
const DNS_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
/** A label's name part, and a non-empty label value: at most 63 characters. */
const LABEL_NAME = "[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?";

/** As the CRD writes them ([.] rather than an escaped dot: the same text in YAML, CEL and here). */
export const LABEL_PATTERNS = {
  namespace: `^${DNS_LABEL}$`,
  key: `^(${DNS_LABEL}([.]${DNS_LABEL})*/)?${LABEL_NAME}$`,
  value: `^(${LABEL_NAME})?$`,
} as const;

export const LABEL_LIMITS = { nameCharsMax: 63, prefixCharsMax: 253 } as const;

const namespacePattern = new RegExp(LABEL_PATTERNS.namespace);
const keyPattern = new RegExp(LABEL_PATTERNS.key);
const valuePattern = new RegExp(LABEL_PATTERNS.value);

/** What is wrong with a namespace's name, or undefined. */
export function namespaceNameProblem(name: string): string | undefined {
  if (name.length === 0 || name.length > LABEL_LIMITS.nameCharsMax || !namespacePattern.test(name)) {
    return `"${name}" is not a namespace name (1 to ${LABEL_LIMITS.nameCharsMax} lowercase letters, digits and '-', starting and ending with a letter or digit)`;
  }
  return undefined;
}

function keyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf("/");
  const prefix = slash < 0 ? "" : key.slice(0, slash);
  const name = key.slice(slash + 1);
  if (!keyPattern.test(key) || prefix.length > LABEL_LIMITS.prefixCharsMax || name.length > LABEL_LIMITS.nameCharsMax) {
    return `"${key}" is not a label key (an optional DNS prefix of at most ${LABEL_LIMITS.prefixCharsMax} characters and '/', then 1 to ${LABEL_LIMITS.nameCharsMax} letters, digits, '-', '_' or '.', starting and ending with a letter or digit)`;
  }
  return undefined;
}

function valueProblem(key: string, value: unknown): string | undefined {
  // A spec read from a file (not through the CRD) may hold a YAML number or boolean here.
  if (typeof value !== "string") return `the value of "${key}" must be a string (quote it in YAML), got ${JSON.stringify(value)}`;
  if (value.length > LABEL_LIMITS.nameCharsMax || !valuePattern.test(value)) {
    return `the value "${value}" of "${key}" is not a label value (at most ${LABEL_LIMITS.nameCharsMax} letters, digits, '-', '_' or '.', starting and ending with a letter or digit)`;
  }
  return undefined;
}

/** Every problem with a map of labels, each naming the key; at most `entriesMax` entries. */
export function labelProblems(labels: Readonly<Record<string, string>>, entriesMax: number): string[] {
  const entries = Object.entries(labels);
  const problems: string[] = entries.length > entriesMax ? [`${entries.length} labels, at most ${entriesMax} allowed`] : [];
  for (const [key, value] of entries) {
    const problem = keyProblem(key) ?? valueProblem(key, value);
    if (problem !== undefined) problems.push(problem);
  }
  return problems;
}
