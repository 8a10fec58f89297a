/**
 * There is no container engine here, so the image is checked by what it would run: every
 * command the chart's templates, the operator's desired manifests and the chart's NOTES
 * give the one KVRaft image must be a verb of dist/cli.js (the image's entrypoint) with
 * flags and KVRAFT_* variables that verb accepts.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { backupJob } from "../../src/operator/desired/backup-job.js";
import { desiredObjects } from "../../src/operator/desired/index.js";
import { pruneJob, slotBackup } from "../../src/operator/desired/scheduled-backup-objects.js";
import type { DesiredOptions } from "../../src/operator/desired/index.js";
import type { KVRaftCluster, KubeObject } from "../../src/operator/types.js";
import { FAKE_TLS } from "../operator/fixtures.js";
import { ALL_FEATURES, HELM_BUILD_TIMEOUT_MS, helm, renderChart, renderNotes } from "./chart-render.js";
import { CliHelp } from "./cli-help.js";
import type { ContainerCommand } from "./container-commands.js";
import { commandLineArgs, commandProblems, containerCommands } from "./container-commands.js";

const cli = new CliHelp();

async function problemsOf(commands: readonly ContainerCommand[]): Promise<string[]> {
  const problems: string[] = [];
  for (const cmd of commands) problems.push(...await commandProblems(cmd, cli));
  return problems;
}

/** A cluster with every option that adds a container or changes a command switched on. */
function clusterWithEverything(replicas: number): KVRaftCluster {
  return {
    apiVersion: "kvraft.io/v1alpha1",
    kind: "KVRaftCluster",
    metadata: { name: "demo", namespace: "apps", uid: "6f1c1a52-52b4-4b8e-9d59-0c1d2f3a4b5c", generation: 1 },
    spec: {
      replicas,
      image: "kvraft:0.1.0",
      storage: { size: "1Gi" },
      resources: { limits: { memory: "512Mi" } },
      raft: { heartbeatMs: 100, electionMs: 1000 },
      coordinator: { replicas: 1 },
      monitoring: { podMonitor: true },
    },
  };
}

const DESIRED_OPTIONS: DesiredOptions = {
  adminToken: "test-token",
  clientTokens: { readWrite: "test-read-write-token", readOnly: "test-read-only-token" },
  tls: FAKE_TLS,
  operator: { namespace: "kvraft-system", podLabels: { "app.kubernetes.io/name": "kvraft-operator" } },
  podMonitorAvailable: true,
};

describe("the commands the manifests give the KVRaft image", () => {
  beforeAll(async () => {
    await helm(["version"]);
    // Each `kvraft VERB --help` starts node and loads the program: seconds on a loaded
    // machine. Fetch the ones the tests need up front, under the hook's longer deadline.
    // A verb that is missing fails here quietly and is reported by the test that needs it.
    await Promise.all([cli.commands(), ...["server", "coord", "operator", "put", "get", "status"].map((verb) => cli.verb([verb]))].map((p) => p.catch(() => undefined)));
  }, HELM_BUILD_TIMEOUT_MS);

  it("the checker itself refuses an unknown verb, an unknown flag, a missing value, an unread variable and a replaced entrypoint", async () => {
    const bad: ContainerCommand[] = [
      { source: "unknown verb", args: ["serve"], envNames: [] },
      { source: "unknown flag", args: ["server", "--no-such-flag"], envNames: [] },
      { source: "missing value", args: ["coord", "--port"], envNames: [] },
      { source: "switch with value", args: ["server", "--help=yes"], envNames: [] },
      { source: "unread variable", args: ["coord"], envNames: ["KVRAFT_NO_SUCH_SETTING"] },
      { source: "entrypoint replaced", command: ["sh", "-c"], args: ["server"], envNames: [] },
    ];
    for (const cmd of bad) expect(await commandProblems(cmd, cli), cmd.source).toHaveLength(1);
    const good: ContainerCommand = { source: "good", args: ["server", "--data-dir", "/d", "--http-port=8080"], envNames: ["KVRAFT_PEERS", "POD_NAME"] };
    expect(await commandProblems(good, cli)).toEqual([]);
  });

  it("the chart's containers run verbs and flags the CLI has, with defaults and with every option on", async () => {
    for (const sets of [[], ALL_FEATURES]) {
      const commands = containerCommands(await renderChart(sets), "chart");
      expect(commands.length, "the chart runs the operator").toBeGreaterThan(0);
      expect(commands.map((c) => c.args[0])).toContain("operator");
      expect(await problemsOf(commands)).toEqual([]);
    }
  });

  it("the operator's desired manifests run verbs, flags and variables the CLI has (server, coordinator)", async () => {
    for (const replicas of [1, 3, 5]) {
      const objects: KubeObject[] = desiredObjects(clusterWithEverything(replicas), DESIRED_OPTIONS);
      const commands = containerCommands(objects, `desired(${replicas} replicas)`);
      const verbs = new Set(commands.map((c) => c.args[0]));
      expect(verbs).toEqual(new Set(["server", "coord"]));
      expect(await problemsOf(commands)).toEqual([]);
    }
  });

  it("the backup and prune Jobs run subcommands and flags the CLI has (backup take, backup remove)", async () => {
    const cluster = clusterWithEverything(3);
    const owner = { namespace: "apps", uid: "7a1c1a52-52b4-4b8e-9d59-0c1d2f3a4b5c", generation: 1 };
    const scheduled = { apiVersion: "kvraft.io/v1alpha1", kind: "KVRaftScheduledBackup", metadata: { name: "nightly", ...owner }, spec: { cluster: "demo", schedule: "0 3 * * *", target: { claimName: "backups" } } };
    const made = slotBackup(scheduled, "nightly-1796612400", Date.UTC(2026, 11, 7, 3));
    const backup = { ...made, metadata: { ...made.metadata, uid: "8b1c1a52-52b4-4b8e-9d59-0c1d2f3a4b5c" } };
    const commands = containerCommands([backupJob(backup, cluster), pruneJob(scheduled, backup, cluster)], "backup Jobs");
    expect(commands.map((c) => c.args.slice(0, 2))).toEqual([["backup", "take"], ["backup", "remove"]]);
    // A positional the checker does not know as a subcommand passes it silently: say these exist.
    const subcommands = (await cli.verb(["backup"])).subcommands;
    expect([...subcommands]).toEqual(expect.arrayContaining(["take", "remove"]));
    expect(await problemsOf(commands)).toEqual([]);
  });

  it("the kvraft commands NOTES.txt tells the user to type are verbs and flags the CLI has", async () => {
    const notes = await renderNotes(ALL_FEATURES);
    const typed = notes.split("\n").map((l) => l.trim()).filter((l) => l.startsWith("kvraft "));
    // The same verbs through `kubectl run ... --image=<the image> -- VERB ...`.
    const inPods = notes.split("\n").filter((l) => l.includes("kubectl run") && l.includes(" -- ")).map((l) => l.slice(l.indexOf(" -- ") + 4));
    expect(typed.length + inPods.length, "NOTES shows how to use the cluster").toBeGreaterThanOrEqual(3);
    const commands: ContainerCommand[] = [
      ...typed.map((line) => ({ source: `NOTES: ${line}`, args: commandLineArgs(line), envNames: [] })),
      ...inPods.map((line) => ({ source: `NOTES: ${line}`, args: line.trim().split(/\s+/), envNames: [] })),
    ];
    expect(await problemsOf(commands)).toEqual([]);
  });
});
