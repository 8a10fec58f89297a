import { adminFetch } from "../../src/client/admin.js";
import type { Operation } from "../../src/lincheck/index.js";
import type { StatusJson } from "../support/process-cluster.js";
import { waitFor } from "../support/wait.js";
import type { NetnsCluster } from "./cluster.js";

export interface KeyEntry {
  readonly value: string;
  readonly version: number;
}
/** A state machine's keys as one server serves them locally. */
export type KeyMap = ReadonlyMap<string, KeyEntry>;

const CONVERGE_TIMEOUT_MS = 120_000;
const LIST_TIMEOUT_MS = 5000;

/**
 * Once healed, every server must reach the leader's commit index with every server a
 * voter; then each one's keys, read locally (serializable) at one applied index that
 * does not move while it is read, must be identical. Returns the common state and what
 * differed.
 */
export async function compareStateMachines(cluster: NetnsCluster): Promise<{ state: KeyMap; appliedIndex: number; mismatches: string[] }> {
  const ids = cluster.options.serverIds;
  const settled = await waitFor("every server to apply the leader's commit index, all voters", async () => {
    const statuses = await cluster.statuses();
    const leader = statuses.find((s) => s.role === "leader");
    if (statuses.length !== ids.length || leader === undefined) return undefined;
    const allVoters = ids.every((id) => leader.members.some((m) => m.id === id && m.membership === "voter"));
    const applied = statuses.every((s) => s.appliedIndex === leader.commitIndex && s.commitIndex === leader.commitIndex);
    return allVoters && applied ? leader.commitIndex : undefined;
  }, CONVERGE_TIMEOUT_MS, 200);
  const states = await Promise.all(ids.map((id) => readLocalState(cluster, id)));
  const mismatches: string[] = [];
  const reference = states[0];
  if (reference === undefined) throw new Error("invariant: a cluster with no servers");
  states.forEach((state, i) => {
    const id = ids[i] as number;
    if (state.appliedIndex !== settled) mismatches.push(`server ${id} was read at applied index ${state.appliedIndex}, not ${settled}`);
    for (const key of new Set([...reference.keys.keys(), ...state.keys.keys()])) {
      const a = reference.keys.get(key);
      const b = state.keys.get(key);
      if (a?.value !== b?.value || a?.version !== b?.version) {
        mismatches.push(`key ${key}: server ${ids[0]} has ${describe(a)}, server ${id} has ${describe(b)} (applied index ${settled})`);
      }
    }
  });
  return { state: reference.keys, appliedIndex: settled, mismatches };
}

function describe(entry: KeyEntry | undefined): string {
  return entry === undefined ? "nothing" : `${JSON.stringify(entry.value)} v${entry.version}`;
}

/** Reads the server's whole key space locally; the applied index must not move meanwhile. */
async function readLocalState(cluster: NetnsCluster, id: number): Promise<{ appliedIndex: number; keys: KeyMap }> {
  const before: StatusJson = await cluster.status(id);
  // The servers authenticate clients (their --admin-token-file is a token of role admin)
  // and serve HTTPS with the cluster's CA (unless the run is plaintext).
  const response = await adminFetch(`${cluster.http(id)}/v1/kv?prefix=&limit=1000&consistency=serializable`, "GET", undefined, {
    token: cluster.adminToken, deadlineMs: LIST_TIMEOUT_MS, tls: cluster.clientTls,
  });
  if (!response.ok) throw new Error(`listing the keys of server ${id}: HTTP ${response.status}`);
  const page = (await response.json()) as { items: { key: string; value: string; version: number }[]; next: string | null };
  if (page.next !== null) throw new Error(`server ${id} holds more than 1000 keys: the fault workload uses a handful`);
  const after = await cluster.status(id);
  if (after.appliedIndex !== before.appliedIndex) throw new Error(`server ${id} applied entries while its keys were read (no writes were expected)`);
  const keys = new Map(page.items.map((item) => [item.key, { value: Buffer.from(item.value, "base64").toString("utf8"), version: item.version }]));
  return { appliedIndex: after.appliedIndex, keys };
}

/**
 * Acknowledged writes that the healed state has lost. A key's final version must be at
 * least the newest version any acknowledged put or cas produced (versions are log
 * indexes: a later write has a larger one), and the value at an acknowledged version must
 * be the one written. A key that is gone must have been deleted after its newest
 * acknowledged write: by a delete that was acknowledged after that write was invoked, or
 * by one whose outcome is unknown.
 */
export function lostAckedWrites(history: readonly Operation[], state: KeyMap): string[] {
  const lost: string[] = [];
  const byKey = new Map<string, Operation[]>();
  for (const op of history) byKey.set(op.input.key, [...(byKey.get(op.input.key) ?? []), op]);
  for (const [key, ops] of byKey) {
    const acked = ops.filter((op) => (op.output?.op === "put") || (op.output?.op === "cas" && op.output.ok));
    const newest = acked.reduce<Operation | undefined>((best, op) => (best === undefined || versionOf(op) > versionOf(best) ? op : best), undefined);
    if (newest === undefined) continue;
    const final = state.get(key);
    const newestVersion = versionOf(newest);
    if (final === undefined) {
      const deletedLater = ops.some((op) => op.input.op === "delete" && (op.output === undefined || (op.output.op === "delete" && op.output.deleted && op.returnTime > newest.callTime)));
      if (!deletedLater) lost.push(`key ${key}: the acknowledged write of v${newestVersion} is gone and nothing deleted it`);
      continue;
    }
    if (final.version < newestVersion) lost.push(`key ${key}: the acknowledged write of v${newestVersion} is lost (the key is at v${final.version})`);
    const same = acked.find((op) => versionOf(op) === final.version);
    if (same !== undefined && "value" in same.input && same.input.value !== final.value) {
      lost.push(`key ${key}: v${final.version} holds ${JSON.stringify(final.value)}, but the acknowledged write of v${final.version} wrote ${JSON.stringify(same.input.value)}`);
    }
  }
  return lost;
}

function versionOf(op: Operation): number {
  return op.output !== undefined && "version" in op.output ? op.output.version : 0;
}
