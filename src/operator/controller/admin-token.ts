import { randomBytes } from "node:crypto";
import { objectNames, PATHS } from "../desired/index.js";
import type { KVRaftCluster, KubeObject } from "../types.js";
import type { KubeRest } from "./kube-rest.js";
import { isNotFound } from "./kube-rest.js";
import { objectPath, resourceTypeOf } from "./resources.js";

export const SECRET_TYPE = resourceTypeOf("v1", "Secret");

export function tokenOfSecret(secret: KubeObject | undefined): string | undefined {
  const data = (secret as { data?: Record<string, string> } | undefined)?.data?.[PATHS.adminTokenKey];
  if (data === undefined || data === "") return undefined;
  const token = Buffer.from(data, "base64").toString("utf8");
  return token.trim() === "" ? undefined : token;
}

export interface AdminTokenRead {
  readonly token: string;
  /** The cluster's Secret as the API server holds it now; undefined when there is none. */
  readonly secret: KubeObject | undefined;
}

/**
 * The cluster's admin token, and its Secret as the API server holds it now.
 *
 * The operator does not watch Secrets: its RBAC grants no list or watch on them (an
 * informer would hold every Secret it may see), only get, by name, on the one it owns. So
 * the Secret is read from the API server on each reconcile. A token must never change
 * under running servers (they read it at start): when the Secret is gone (deleted by
 * hand), the token this operator last used for the cluster (`remembered`, kept per
 * cluster uid by the caller) is written again; only a cluster never seen gets a new
 * random one.
 */
export async function readAdminToken(cluster: KVRaftCluster, rest: KubeRest, remembered: string | undefined): Promise<AdminTokenRead> {
  const name = objectNames(cluster.metadata.name).adminSecret;
  let secret: KubeObject | undefined;
  try {
    secret = await rest.request<KubeObject>("GET", objectPath(SECRET_TYPE, name, cluster.metadata.namespace ?? "default"));
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  const token = tokenOfSecret(secret) ?? remembered ?? randomBytes(32).toString("hex");
  return { token, secret };
}
