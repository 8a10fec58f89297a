import { randomBytes } from "node:crypto";
import { objectNames, PATHS } from "../desired/index.js";
import type { KVRaftCluster, KubeObject } from "../types.js";
import type { KubeRest } from "./kube-rest.js";
import { isNotFound } from "./kube-rest.js";
import { objectPath, resourceTypeOf } from "./resources.js";

const SECRET_TYPE = resourceTypeOf("v1", "Secret");

export function tokenOfSecret(secret: KubeObject | undefined): string | undefined {
  const data = (secret as { data?: Record<string, string> } | undefined)?.data?.[PATHS.adminTokenKey];
  if (data === undefined || data === "") return undefined;
  const token = Buffer.from(data, "base64").toString("utf8");
  return token.trim() === "" ? undefined : token;
}

/**
 * The cluster's admin token: the one in its Secret, or a new random one the first time.
 * A token must never change under running servers (they read it at start), so before
 * generating one the Secret is read from the API server itself, not only from the
 * informer's cache, which may not have seen a Secret created a moment ago.
 */
export async function adminTokenFor(cluster: KVRaftCluster, cached: KubeObject | undefined, rest: KubeRest): Promise<string> {
  const fromCache = tokenOfSecret(cached);
  if (fromCache !== undefined) return fromCache;
  const name = objectNames(cluster.metadata.name).adminSecret;
  try {
    const live = await rest.request<KubeObject>("GET", objectPath(SECRET_TYPE, name, cluster.metadata.namespace ?? "default"));
    const fromApi = tokenOfSecret(live);
    if (fromApi !== undefined) return fromApi;
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  return randomBytes(32).toString("hex");
}
