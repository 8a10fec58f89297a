import type { Command } from "commander";
import { Option } from "commander";
import type { AccessOptions } from "./cluster-access.js";
import { withClusterOptions } from "./cluster-access.js";
import { parseNumber, run } from "./kv-commands.js";

type Output = "table" | "json";

/** kvraft snapshot save / restore: a backup of the whole state, and a new cluster from one. */
export function registerSnapshotCommand(program: Command): void {
  const snapshot = program.command("snapshot").description("save the cluster's state to a file, or found a new cluster from one")
    .addHelpText("after", "\nExamples:\n  kvraft snapshot save backup.kvsnap\n  kvraft snapshot restore backup.kvsnap --data-dir restored");
  withClusterOptions(snapshot.command("save").argument("<file>", "where to write the snapshot"))
    .description("download the leader's state machine (every key, version, session and expiry) to a file")
    .addHelpText("after", "\nExamples:\n  kvraft snapshot save backup.kvsnap\n  kvraft snapshot save backup.kvsnap --output json   # {\"file\",\"revision\",\"clusterId\",\"bytes\",\"answeredBy\"}")
    .action(run(async (file: string, flags: AccessOptions & { output: Output }) => {
      const { saveSnapshot } = await import("./snapshot-run.js");
      await saveSnapshot(file, flags);
    }));

  snapshot.command("restore").argument("<file>", "a file written by `kvraft snapshot save`")
    .description("make a NEW one-member cluster from a snapshot, in an empty data dir (restoring into a live member would fork its history)")
    .requiredOption("--data-dir <dir>", "an empty (or missing) directory for the new member's data")
    .option("--id <n>", "the new member's id", parseNumber, 1)
    .addOption(new Option("--output <format>", "table or json").choices(["table", "json"]).default("table"))
    .addHelpText("after", `
Example:
  kvraft snapshot restore backup.kvsnap --data-dir restored
  kvraft server --id 1 --data-dir restored --peers 1=127.0.0.1:7001

The new cluster has a new cluster id and a one-member configuration; grow it with
\`kvraft members add\` and new members started with --initial-cluster-state existing.`)
    .action(run(async (file: string, flags: { dataDir: string; id: number; output: Output }) => {
      const { restoreSnapshot } = await import("./snapshot-run.js");
      await restoreSnapshot(file, flags.dataDir, flags.id, flags.output);
    }));
}
