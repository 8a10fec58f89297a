import { Command, CommanderError } from "commander";
import { registerBenchCommand } from "./bench-command.js";
import { registerLocalCommand } from "./local-command.js";
import { registerAdminCommands } from "./admin-commands.js";
import { registerCoordCommand } from "./coord-command.js";
import { registerKvCommands } from "./kv-commands.js";
import { registerSnapshotCommand } from "./snapshot-command.js";
import { registerBackupCommand } from "./backup-command.js";
import { registerWatchCommand } from "./watch-command.js";
import { registerServerCommand } from "./server-command.js";
import { registerSimCommand } from "./sim-command.js";
import { registerTraceCommand } from "./trace-command.js";
import { registerOperatorCommand } from "./operator-command.js";
import { registerDevClusterCommand } from "./dev-cluster-command.js";
import { VERSION } from "../version.js";
import { registerCompletionCommand } from "./completion-command.js";

/** Exit codes: 0 ok, 1 not found / failed check, 2 usage, 3 cluster unavailable. */
export const EXIT_USAGE = 2;

export function buildProgram(): Command {
  const program = new Command("kvraft")
    .description("KVRaft: a linearizable, replicated key-value store built on Raft")
    .version(VERSION, "-V, --version", "print the version of kvraft")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  registerKvCommands(program);
  registerWatchCommand(program);
  registerSnapshotCommand(program);
  registerBackupCommand(program);
  registerAdminCommands(program);
  registerServerCommand(program);
  registerCoordCommand(program);
  registerLocalCommand(program);
  registerSimCommand(program);
  registerTraceCommand(program);
  registerBenchCommand(program);
  registerOperatorCommand(program);
  registerDevClusterCommand(program);
  // Last: the script it prints covers every verb registered above.
  registerCompletionCommand(program);
  return program;
}

/**
 * `kvraft status | head -2`: head closes the pipe, the next write fails with EPIPE, and
 * without a listener Node prints the error's stack. The reader has what it wanted, so
 * the program ends quietly with the status it had.
 */
function exitQuietlyOnBrokenPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listenerCount("error") > 0) continue;
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE") process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
      throw error;
    });
  }
}

export async function runCli(argv: readonly string[]): Promise<number> {
  exitQuietlyOnBrokenPipe();
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are not errors; everything else commander throws is usage.
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    throw error;
  }
}
