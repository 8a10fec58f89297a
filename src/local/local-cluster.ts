import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { existingClusterId } from "../server/bootstrap.js";
import { bannerLines } from "./banner.js";
import { clusterFileOf, newClusterId, readClusterFile, writeClusterFile } from "./cluster-file.js";
import { compactLine, RepeatFilter } from "./compact-log.js";
import { findLeader, waitForLeader } from "./leader.js";
import { prepareLocalSecurity } from "./local-security.js";
import type { LocalPlan, MemberPlan } from "./plan.js";
import { coordinatorArgs, DEFAULT_BASE_PORT, initialClusterState, LOCAL_HOST, memberDataDir, planLocalCluster, plannedPorts, serverArgs } from "./plan.js";
import { assertPortsFree } from "./port-check.js";
import type { SupervisorEvent } from "./supervisor.js";
import { SupervisedProcess } from "./supervisor.js";
import { startWatchdog } from "./watchdog.js";
import { MEMBER_NODE_FLAGS } from "../server/member-node-flags.js";

export interface LocalClusterOptions {
  readonly clusterDir: string;
  /** undefined: the size in cluster.json, or 3 for a new cluster. */
  readonly servers?: number;
  /** undefined: the base in cluster.json, or 7000 for a new cluster. */
  readonly basePort?: number;
  /** Every process writes a trace log in this dir (made if missing): member-ID.log, coordinator.log. */
  readonly traceDir?: string;
  /** Where output goes, one line per call (the CLI writes it to stdout). */
  readonly print: (line: string) => void;
  /** The program the children run; dist/cli.js beside this module by default. */
  readonly cliPath?: string;
  readonly cwd?: string;
}

export interface LocalCluster {
  readonly plan: LocalPlan;
  /** Stops every child in order (followers, leader, coordinator); idempotent. */
  stop(reason: string): Promise<void>;
  /** Synchronous SIGKILL of every child: only for an abnormal exit of `kvraft local`. */
  killNow(): void;
}

/** How long the banner waits for a first leader before printing without one. */
const LEADER_WAIT_MS = 30_000;
const LEADER_POLL_MS = 200;
/** A member given SIGTERM has this long to exit (a leader's transfer included) before SIGKILL. */
const MEMBER_STOP_MS = 15_000;
const COORDINATOR_STOP_MS = 5_000;
/** Log names are padded to this width so the messages line up. */
const NAME_WIDTH = 5;

const DEFAULT_CLI = fileURLToPath(new URL("../cli.js", import.meta.url));

/**
 * Starts a coordinator and the members as child processes, each member with its data
 * dir under the cluster dir, and streams their compact log through `print`. Problems
 * found before anything starts are thrown with a message that says what to do: a
 * PortTakenError for a port in use, a RangeError for a size or cluster id that does
 * not match the data already there.
 */
export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const cwd = options.cwd ?? process.cwd();
  const cliPath = options.cliPath ?? DEFAULT_CLI;
  const { plan, founding } = await preparePlan(resolve(cwd, options.clusterDir), { ...options, ...(options.traceDir === undefined ? {} : { traceDir: resolve(cwd, options.traceDir) }) });
  await assertPortsFree(LOCAL_HOST, plannedPorts(plan));
  const print = (name: string, text: string): void => options.print(`[${name.padEnd(NAME_WIDTH)}] ${text}`);
  if (plan.security !== undefined) {
    const { made } = await prepareLocalSecurity(plan.security, { clusterId: plan.clusterId, memberIds: plan.members.map((m) => m.id) });
    print("local", made.length === 0 ? `TLS and tokens: reusing the CA and tokens in ${plan.clusterDir}` : `TLS and tokens: made ${made.join("; ")}`);
  }
  await writeClusterFile(plan.clusterDir, clusterFileOf(plan));
  if (plan.traceDir !== undefined) {
    await mkdir(plan.traceDir, { recursive: true });
    print("local", `tracing: each process writes its events to ${plan.traceDir}; merge them for ShiViz with: kvraft trace merge ${plan.traceDir}`);
  }

  const repeats = new RepeatFilter();
  const onLine = (name: string, line: string): void => {
    const text = compactLine(line);
    if (text !== undefined) for (const shown of repeats.accept(name, text)) print(name, shown);
  };
  const watchdog = startWatchdog((message) => print("local", message));
  const onEvent = (event: SupervisorEvent): void => {
    print("local", describeSupervisorEvent(event));
    watchdog.update([coordinator, ...members].flatMap((p) => (p.pid === undefined ? [] : [p.pid])));
  };
  const coordinator = new SupervisedProcess({
    name: "coord", command: process.execPath, args: async () => [cliPath, ...coordinatorArgs(plan)], onLine, onEvent,
  });
  const everHadData = new Set<number>();
  const members = plan.members.map((member) => new SupervisedProcess({
    name: `m${member.id}`, command: process.execPath, onLine, onEvent,
    args: async () => [...MEMBER_NODE_FLAGS, cliPath, ...serverArgs(plan, member, await stateFor(member, founding, everHadData, (text) => print("local", text)))],
  }));

  const killNow = (): void => {
    for (const child of [...members, coordinator]) child.killNow();
  };
  try {
    await coordinator.start();
    await Promise.all(members.map((m) => m.start()));
  } catch (error) {
    killNow();
    watchdog.release();
    throw error;
  }

  let stopping: Promise<void> | undefined;
  void waitForLeader(plan, LEADER_WAIT_MS, LEADER_POLL_MS, () => stopping !== undefined).then((leader) => {
    if (stopping !== undefined) return;
    const pids = new Map([coordinator, ...members].map((p) => [p.name, p.pid]));
    for (const line of bannerLines({ plan, leader, pids, cwd, cliPath })) options.print(line);
  });

  const stop = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      print("local", `stopping (${reason}): followers first, then the leader, then the coordinator`);
      // Followers first: each just exits. The leader last, so that it steps down once
      // instead of handing leadership along a chain of members that are stopping too.
      const leader = await findLeader(plan);
      const leaderName = leader === undefined ? undefined : `m${leader.id}`;
      await Promise.all(members.filter((m) => m.name !== leaderName).map((m) => m.stop("SIGTERM", MEMBER_STOP_MS)));
      await Promise.all(members.filter((m) => m.name === leaderName).map((m) => m.stop("SIGTERM", MEMBER_STOP_MS)));
      await coordinator.stop("SIGTERM", COORDINATOR_STOP_MS);
      watchdog.release();
      print("local", `stopped; the data stays in ${plan.clusterDir}: start again to resume`);
    })();
    return stopping;
  };
  return { plan, stop, killNow };
}

/**
 * The cluster id, size and ports: from cluster.json when a previous start left one (the
 * data belongs to that id), else from the data dirs, else new. `founding` is true when
 * no member has data yet, so empty dirs may found the cluster.
 */
async function preparePlan(clusterDir: string, options: LocalClusterOptions): Promise<{ plan: LocalPlan; founding: boolean }> {
  const existing = await readClusterFile(clusterDir);
  const servers = options.servers ?? existing?.members.length ?? 3;
  if (existing !== undefined && servers !== existing.members.length) {
    throw new RangeError(`the cluster in ${clusterDir} has ${existing.members.length} servers; --servers ${servers} would change its membership behind Raft's back: ` +
      `start it with --servers ${existing.members.length} (and grow it with kvraft members add), or use another --cluster-dir for a new cluster`);
  }
  const basePort = options.basePort ?? existing?.basePort ?? DEFAULT_BASE_PORT;
  const idsOnDisk = await Promise.all(Array.from({ length: servers }, (_, i) => existingClusterId(memberDataDir(clusterDir, i + 1))));
  const clusterId = existing?.clusterId ?? idsOnDisk.find((id) => id !== undefined) ?? newClusterId();
  idsOnDisk.forEach((id, i) => {
    if (id !== undefined && id !== clusterId) {
      throw new RangeError(`${memberDataDir(clusterDir, i + 1)} holds cluster ${id}, not ${clusterId} (from ${clusterDir}/cluster.json): move that dir away, or use another --cluster-dir`);
    }
  });
  const traceDir = options.traceDir === undefined ? {} : { traceDir: options.traceDir };
  return { plan: planLocalCluster({ clusterDir, clusterId, servers, basePort, ...traceDir }), founding: idsOnDisk.every((id) => id === undefined) };
}

async function stateFor(member: MemberPlan, founding: boolean, everHadData: Set<number>, warn: (text: string) => void): Promise<"new" | "existing"> {
  const hasData = (await existingClusterId(member.dataDir)) !== undefined;
  if (hasData) everHadData.add(member.id);
  const state = initialClusterState({ hasData, everHadData: everHadData.has(member.id), founding });
  if (state === "existing" && !hasData) {
    warn(`m${member.id} has no data in ${member.dataDir} while the cluster has: it waits, non-voting, until added back (kvraft members add)`);
  }
  return state;
}

function describeSupervisorEvent(event: SupervisorEvent): string {
  switch (event.type) {
    case "started":
      return event.restarts === 0 ? `${event.name} started (pid ${event.pid})` : `${event.name} restarted with its data (pid ${event.pid})`;
    case "exited": {
      const how = event.signal !== null ? `signal ${event.signal}` : `code ${event.code ?? "?"}`;
      return event.restartInMs === undefined ? `${event.name} exited (${how})` : `${event.name} exited (${how}); restarting in ${event.restartInMs} ms`;
    }
    case "spawn-failed":
      return `${event.name} could not be started: ${event.error}${event.restartInMs === undefined ? "" : `; retrying in ${event.restartInMs} ms`}`;
  }
}
