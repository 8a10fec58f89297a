import { rm, stat } from "node:fs/promises";
import { CliError } from "./cluster-access.js";
import { EXIT_NOT_A_SOUND_BACKUP, readHeader } from "./backup-files.js";

/**
 * `kvraft backup remove FILE`: deletes a backup, and the `FILE.partial` a take that died
 * may have left beside it. Only a file whose header reads as a KVRaft backup is removed,
 * so that a wrong path cannot delete anything else; a file already gone is no error, so
 * that a prune Job that runs again succeeds.
 */
export async function removeCommand(file: string): Promise<void> {
  await rm(`${file}.partial`, { force: true });
  if (!(await exists(file))) {
    process.stdout.write(`${file} is already gone\n`);
    return;
  }
  try {
    await readHeader(file);
  } catch (error) {
    if (error instanceof CliError && error.exitCode === EXIT_NOT_A_SOUND_BACKUP) {
      throw new CliError(EXIT_NOT_A_SOUND_BACKUP, `${error.message}; not removed: remove it by hand if it is yours`);
    }
    throw error;
  }
  await rm(file);
  process.stdout.write(`removed ${file}\n`);
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code === "ENOENT") return false;
    throw error;
  }
}
