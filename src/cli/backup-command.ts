import type { Command } from "commander";
import { InvalidArgumentError, Option } from "commander";
import { withClusterOptions } from "./cluster-access.js";
import { parseNumber, run } from "./kv-commands.js";

type Output = "table" | "json";
const outputOption = (): Option => new Option("--output <format>", "table or json").choices(["table", "json"]).default("table");

/** How long `backup take` keeps trying by default: long enough for an election or two, and a restart. */
const TAKE_WAIT_MS_DEFAULT = 60_000;
/** How long a transfer may stall before it is broken off and started again. */
const TAKE_IDLE_TIMEOUT_MS_DEFAULT = 30_000;

function parseMs(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`expected milliseconds, a whole number >= 1, got "${value}"`);
  return n;
}

const FILE_EXIT_CODES = `
Exit status: 0 the backup is sound; 1 it is damaged, truncated or not a KVRaft backup
(the message names the section: header, body or trailer, and the byte); 2 usage (no
such file).`;

/** kvraft backup take / verify / describe / list / restore / remove. */
export function registerBackupCommand(program: Command): void {
  const backup = program.command("backup").description("take verified backups of a cluster, inspect them, found a new cluster from one")
    .addHelpText("after", `
A backup is one file: a header (cluster id, revision, Raft index and term, members,
KVRaft version, when it was taken), the leader's snapshot, and a trailer with CRC32C
checksums of every part, so that a damaged or truncated copy is refused, never restored.

Examples:
  kvraft backup take --to backups/orders-2026-01-31.kvbackup
  kvraft backup verify backups/orders-2026-01-31.kvbackup
  kvraft backup list backups
  kvraft backup restore backups/orders-2026-01-31.kvbackup --data-dir restored

Copy a backup elsewhere as any file (cp, rsync, an object store's CLI); run
\`kvraft backup verify\` on the copy before you rely on it.`);

  withClusterOptions(backup.command("take"))
    .description("stream the leader's snapshot into a backup file; FILE appears only once it is whole and verified")
    .requiredOption("--to <file>", "the backup file to write (must not exist; FILE.partial is used while it is written)")
    .option("--wait <ms>", "how long to wait for a leader and retry broken transfers before giving up (exit 3)", parseMs, TAKE_WAIT_MS_DEFAULT)
    .option("--idle-timeout <ms>", "how long a transfer may go without a byte before it is started again", parseMs, TAKE_IDLE_TIMEOUT_MS_DEFAULT)
    .option("--termination-message-path <file>", "also write the outcome as JSON here ({phase, file, fileBytes, revision, raftIndex, raftTerm, clusterId, durationMs, message}); for a Kubernetes Job, /dev/termination-log")
    .addHelpText("after", `
The leader serves the snapshot, streamed as it encodes it; take asks the leader first
(any member would forward the request, but buffers the answer). While there is no
leader, take waits and says why on stderr; a transfer that breaks (the leader dies)
starts again on the new leader. What arrives is checked against the size and CRC32C the
member announced, written to FILE.partial, read back and verified, then renamed to FILE:
FILE never names a partial backup. Progress goes to stderr when it is a terminal.

Examples:
  kvraft backup take --to nightly.kvbackup --endpoints host1:8080,host2:8080 --token-file admin.token
  kvraft backup take --to nightly.kvbackup --output json   # {file, fileBytes, clusterId, revision, raftIndex, raftTerm, answeredBy, durationMs}

Needs an admin token on a secured cluster. Exit status: 0 taken; 2 usage (FILE exists);
3 no leader or no complete transfer within --wait (FILE not written); 4 refused.`)
    .action(run(async (flags: import("./backup-take.js").TakeFlags) => {
      const { takeBackup } = await import("./backup-take.js");
      await takeBackup(flags);
    }));

  backup.command("verify").argument("<file>", "a backup file")
    .description("read a backup whole, check every checksum and its format, and print its metadata")
    .addOption(outputOption())
    .addHelpText("after", FILE_EXIT_CODES)
    .action(run(async (file: string, flags: { output: Output }) => {
      const { verifyCommand } = await import("./backup-files.js");
      await verifyCommand(file, flags.output);
    }));

  backup.command("describe").argument("<file>", "a backup file")
    .description("print a backup's metadata from its header (checked), without reading the body; verify reads it all")
    .addOption(outputOption())
    .addHelpText("after", FILE_EXIT_CODES)
    .action(run(async (file: string, flags: { output: Output }) => {
      const { describeCommand } = await import("./backup-files.js");
      await describeCommand(file, flags.output);
    }));

  backup.command("list").argument("<dir>", "a directory of backups")
    .description("list the backups in a directory, oldest first, by their headers (other files are skipped)")
    .addOption(outputOption())
    .action(run(async (dir: string, flags: { output: Output }) => {
      const { listCommand } = await import("./backup-files.js");
      await listCommand(dir, flags.output);
    }));

  backup.command("remove").argument("<file>", "a backup file")
    .description("delete a backup (and the FILE.partial a failed take left); refuses a file that is not a KVRaft backup")
    .addHelpText("after", `
A scheduled backup's prune Job runs this on its claim. A file already gone is no error.
Exit status: 0 removed or already gone; 1 not a KVRaft backup (nothing removed).`)
    .action(run(async (file: string) => {
      const { removeCommand } = await import("./backup-remove.js");
      await removeCommand(file);
    }));

  backup.command("restore").argument("<file>", "a backup file")
    .description("verify a backup, then make a NEW one-member cluster from it in an empty data dir")
    .requiredOption("--data-dir <dir>", "an empty (or missing) directory for the new member's data")
    .option("--id <n>", "the new member's id", parseNumber, 1)
    .option("--cluster-id <id>", "the new cluster's id (default: a random one; the operator gives the KVRaftCluster's uid)")
    .option("--termination-message-path <file>", "also write the outcome as JSON here ({phase, revision, clusterId of the source, durationMs, message}); for a Kubernetes Job, /dev/termination-log")
    .addOption(outputOption())
    .addHelpText("after", `
Nothing is written unless every checksum of the backup holds. The new cluster has a new
cluster id and a one-member configuration; grow it with \`kvraft members add\` and new
members started with --initial-cluster-state existing.

Example:
  kvraft backup restore nightly.kvbackup --data-dir restored
  kvraft server --id 1 --data-dir restored --peers 1=127.0.0.1:7001
${FILE_EXIT_CODES}`)
    .action(run(async (file: string, flags: { dataDir: string; id: number; output: Output } & import("./backup-files.js").RestoreOptions) => {
      const { restoreCommand } = await import("./backup-files.js");
      await restoreCommand(file, flags.dataDir, flags.id, flags.output, flags);
    }));
}
