import type { Logger } from "pino";
import { invariant } from "../assert/invariant.js";
import type { ServerConfig } from "./config.js";
import { recoverFromMember } from "./recover-from-member.js";

/**
 * `--recover-from-member N`: member N rebuilds its data dir as the only member of the
 * cluster `--cluster-id` (a new id) before it starts; every other member ignores the flag,
 * so one setting can be given to every pod of a StatefulSet. Idempotent: once the data dir
 * carries the new id, later starts go on as usual.
 */
export async function recoverIfAsked(config: ServerConfig, log: Logger): Promise<void> {
  if (config.recoverFromMember === undefined || config.recoverFromMember !== config.id) return;
  invariant(config.clusterId !== undefined, () => "validateServerConfig requires --cluster-id with --recover-from-member");
  const result = await recoverFromMember(config.dataDir, config.id, config.clusterId);
  if (result.outcome === "already-recovered") {
    log.warn({ clusterId: result.toClusterId }, `--recover-from-member ${config.id}: the data dir already belongs to cluster ${result.toClusterId}; starting as usual (drop the flag once the cluster is back)`);
    return;
  }
  log.warn({ recovery: result },
    `recovered from member ${config.id}: cluster ${result.fromClusterId} (voters ${result.oldVoters.join(",")}) is now cluster ${result.toClusterId} with this member alone, ` +
    `keeping every entry of its log up to index ${result.lastIndex} (term ${result.term}; it had recorded ${result.recordedCommitIndex} as committed); ` +
    `the old files are in ${result.keptOldFilesIn} (delete them once the cluster is back); add members with kvraft members add`);
}
