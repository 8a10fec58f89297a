import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** Where a pod's service account token is mounted: its presence means "running in a cluster". */
export const SERVICE_ACCOUNT_TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/** Which kubeconfig the operator will use, found the way kubectl looks for one. */
export type KubeConfigSource =
  | { readonly kind: "flag" | "env" | "home"; readonly path: string }
  | { readonly kind: "in-cluster" }
  | { readonly kind: "none"; readonly message: string };

export interface KubeConfigLookup {
  readonly flag: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly home: string;
  readonly exists: (path: string) => boolean;
}

/**
 * Finds the kubeconfig before the Kubernetes client is loaded. Without one, the client
 * falls back to http://localhost:8080 and the operator would retry forever with a
 * connection or TLS error that never says what is missing; "none" says it instead.
 */
export function findKubeConfig(lookup: KubeConfigLookup = {
  flag: undefined, env: process.env, home: homedir(), exists: existsSync,
}): KubeConfigSource {
  if (lookup.flag !== undefined) return { kind: "flag", path: lookup.flag };
  const fromEnv = lookup.env["KUBECONFIG"];
  if (fromEnv !== undefined && fromEnv !== "") return { kind: "env", path: fromEnv };
  const inHome = join(lookup.home, ".kube", "config");
  if (lookup.exists(inHome)) return { kind: "home", path: inHome };
  if (lookup.env["KUBERNETES_SERVICE_HOST"] !== undefined && lookup.exists(SERVICE_ACCOUNT_TOKEN_PATH)) return { kind: "in-cluster" };
  return {
    kind: "none",
    message: `no kubeconfig found (no --kubeconfig, $KUBECONFIG is unset, ${inHome} does not exist, and this is not a pod with a service account): pass --kubeconfig or run in a cluster`,
  };
}
