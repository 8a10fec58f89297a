/**
 * A small structural check of a value against an OpenAPI v3 schema as CRDs use it
 * (types, properties, enums, bounds; no CEL): enough to catch a misspelt field in an
 * example. The rig tests apply the real thing to a real API server.
 */
export interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema;
  items?: Schema;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  maxItems?: number;
  maxProperties?: number;
  maxLength?: number;
  pattern?: string;
  required?: string[];
  default?: unknown;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-validations"?: { rule: string; message: string }[];
}

export function schemaProblems(value: unknown, schema: Schema, path = ""): string[] {
  if (schema["x-kubernetes-preserve-unknown-fields"] === true && schema.properties === undefined) return [];
  const problems: string[] = [];
  const kind = Array.isArray(value) ? "array" : Number.isInteger(value) ? "integer" : typeof value;
  const typeOk = schema.type === undefined || schema.type === kind || (schema.type === "number" && kind === "integer");
  if (!typeOk) return [`${path}: expected ${schema.type}, got ${kind}`];
  if (schema.enum !== undefined && !schema.enum.includes(value)) problems.push(`${path}: ${String(value)} is not one of ${schema.enum.join(", ")}`);
  if (typeof value === "number" && schema.minimum !== undefined && value < schema.minimum) problems.push(`${path}: below ${schema.minimum}`);
  if (typeof value === "number" && schema.maximum !== undefined && value > schema.maximum) problems.push(`${path}: above ${schema.maximum}`);
  if (Array.isArray(value) && schema.items !== undefined) value.forEach((item, i) => problems.push(...schemaProblems(item, schema.items as Schema, `${path}[${i}]`)));
  if (kind === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    for (const required of schema.required ?? []) if (!(required in record)) problems.push(`${path}.${required}: required`);
    for (const [key, child] of Object.entries(record)) {
      const childSchema = schema.properties?.[key] ?? schema.additionalProperties;
      if (childSchema === undefined) {
        if (schema["x-kubernetes-preserve-unknown-fields"] !== true) problems.push(`${path}.${key}: not in the schema`);
        continue;
      }
      problems.push(...schemaProblems(child, childSchema, `${path}.${key}`));
    }
  }
  return problems;
}
