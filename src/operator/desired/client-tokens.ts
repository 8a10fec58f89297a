import { invariant } from "../../assert/invariant.js";
import type { KVRaftCluster, KubeObject } from "../types.js";
import { ownedMeta } from "./meta.js";
import { CLIENT_TOKEN_KEYS, objectNames, PATHS } from "./names.js";
import { coordinatorReplicas, tlsSettings } from "./spec-defaults.js";
import type { ClientTokens, DesiredOptions } from "./options.js";

/**
 * The longest token the servers' token file takes from this Secret. A hand-set token
 * longer than this (or with a character a `token,name,role` line cannot hold) is not
 * kept: the controller makes a new one (controller/client-tokens.ts).
 */
export const CLIENT_TOKEN_CHARS_MAX = 512;
/** Fewer characters than this is too easy to guess for a bearer credential. */
export const CLIENT_TOKEN_CHARS_MIN = 16;
/** RFC 6750's token68 characters: safe in a header, and no comma, space or `#` to break a CSV line. */
const TOKEN68 = /^[A-Za-z0-9._~+/-]+=*$/;

/** Why `token` cannot be a client token, or undefined when it can. */
export function clientTokenProblem(token: string): string | undefined {
  if (token.length < CLIENT_TOKEN_CHARS_MIN || token.length > CLIENT_TOKEN_CHARS_MAX) {
    return `is ${token.length} characters long, not ${CLIENT_TOKEN_CHARS_MIN}..${CLIENT_TOKEN_CHARS_MAX}`;
  }
  return TOKEN68.test(token) ? undefined : "holds a character other than A-Z a-z 0-9 - . _ ~ + / (and = at the end)";
}

/**
 * The token members present to the coordinator, when one is needed: the cluster runs
 * without TLS (with TLS a member proves itself with its certificate) and has a coordinator.
 */
export function coordinatorTokenInUse(cluster: KVRaftCluster, options: DesiredOptions): string | undefined {
  return tlsSettings(cluster.spec).enabled || coordinatorReplicas(cluster.spec) === 0 ? undefined : options.clientTokens.coordinator;
}

/** Where the coordinator token is mounted, in the server and coordinator pods (an item of the client tokens Secret). */
export const COORDINATOR_TOKEN_FILE = `${PATHS.clientTokensDir}/${CLIENT_TOKEN_KEYS.coordinator}`;

/** The servers' --auth-token-file: each token named after its role. */
export function tokensCsv(tokens: ClientTokens): string {
  return [
    "# made by kvraft-operator from this Secret's read-write and read-only keys: change those, not this file",
    `${tokens.readWrite},${CLIENT_TOKEN_KEYS.readWrite},read-write`,
    `${tokens.readOnly},${CLIENT_TOKEN_KEYS.readOnly},read-only`,
    "",
  ].join("\n");
}

/**
 * The clients' tokens, mounted into every server pod (tokens.csv, as --auth-token-file)
 * and read by users one key at a time. The admin token stays in its own Secret: a pod or
 * person given the client tokens gets no admin role.
 */
export function clientTokensSecret(cluster: KVRaftCluster, options: DesiredOptions): KubeObject {
  const tokens = options.clientTokens;
  for (const [role, token] of [["read-write", tokens.readWrite], ["read-only", tokens.readOnly], ["coordinator", tokens.coordinator ?? tokens.readOnly]] as const) {
    const problem = clientTokenProblem(token);
    invariant(problem === undefined, () => `the ${role} client token ${problem ?? ""}: the controller must generate one (32 random bytes, hex) before applying the Secret`);
  }
  const base64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: ownedMeta(cluster, objectNames(cluster.metadata.name).clientTokensSecret, "client-tokens"),
    type: "Opaque",
    // data, not stringData: stringData is never read back, so applying it again would never look settled.
    data: {
      [CLIENT_TOKEN_KEYS.file]: base64(tokensCsv(tokens)),
      [CLIENT_TOKEN_KEYS.readWrite]: base64(tokens.readWrite),
      [CLIENT_TOKEN_KEYS.readOnly]: base64(tokens.readOnly),
      ...(tokens.coordinator === undefined ? {} : { [CLIENT_TOKEN_KEYS.coordinator]: base64(tokens.coordinator) }),
    },
  };
}
