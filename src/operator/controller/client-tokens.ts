import { randomBytes } from "node:crypto";
import { clientTokenProblem } from "../desired/client-tokens.js";
import { CLIENT_TOKEN_KEYS, objectNames } from "../desired/index.js";
import type { ClientTokens } from "../desired/index.js";
import type { KVRaftCluster, KubeObject } from "../types.js";
import { readOwnedSecret } from "./cluster-tls.js";
import type { KubeRest } from "./kube-rest.js";

/** A new client token: 32 random bytes, hex. */
const newToken = (): string => randomBytes(32).toString("hex");

export interface ClientTokensRead {
  readonly tokens: ClientTokens;
  /** The cluster's Secret as the API server holds it now; undefined when there is none (or another cluster's). */
  readonly secret: KubeObject | undefined;
  /** Keys whose token was missing or unusable and is now new, with why (for an Event); a first issue is not listed. */
  readonly replaced: readonly string[];
}

/**
 * The clients' read-write and read-only tokens, like the admin token (admin-token.ts)
 * read by name on every reconcile (the operator may not list or watch Secrets) and made
 * only when missing:
 *
 * - each token is taken from its own key (`read-write`, `read-only`); `tokens.csv`, the
 *   servers' file, is always written again from them, so a user rotates a token by
 *   setting (or deleting, for a random one) its key;
 * - a key that is missing or holds no usable token gets a new random token;
 * - a Secret deleted by hand is written again with the tokens last used for this cluster
 *   uid (`remembered`, kept by the caller), so running servers and clients keep working;
 *   only a cluster never seen gets new ones. A Secret owned by another cluster (a deleted
 *   one of the same name) is not reused.
 *
 * Nothing is written here: the reconciler applies the desired Secret made from `tokens`.
 */
export async function readClientTokens(cluster: KVRaftCluster, rest: KubeRest, remembered: ClientTokens | undefined): Promise<ClientTokensRead> {
  const secret = await readOwnedSecret(rest, cluster, cluster.metadata.namespace ?? "default", objectNames(cluster.metadata.name).clientTokensSecret);
  const data = (secret as { data?: Record<string, unknown> } | undefined)?.data ?? {};
  const replaced: string[] = [];
  const take = (key: string, last: string | undefined): string => {
    if (secret === undefined) return last ?? newToken();
    const encoded = data[key];
    if (typeof encoded !== "string" || encoded === "") {
      // The coordinator's key came later than the Secret of a cluster made before it: no news.
      if (key === CLIENT_TOKEN_KEYS.coordinator) return last ?? newToken();
      replaced.push(`${key}: missing, a new token was made`);
      return newToken();
    }
    const token = Buffer.from(encoded, "base64").toString("utf8").trim();
    const problem = clientTokenProblem(token);
    if (problem === undefined) return token;
    replaced.push(`${key}: the token in the Secret ${problem}, a new one was made`);
    return newToken();
  };
  return {
    tokens: {
      readWrite: take(CLIENT_TOKEN_KEYS.readWrite, remembered?.readWrite), readOnly: take(CLIENT_TOKEN_KEYS.readOnly, remembered?.readOnly),
      coordinator: take(CLIENT_TOKEN_KEYS.coordinator, remembered?.coordinator),
    },
    secret,
    replaced,
  };
}
