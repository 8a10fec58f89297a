import { writeFile } from "node:fs/promises";

/** Kubernetes keeps at most this much of a termination message. */
const TERMINATION_MESSAGE_BYTES_MAX = 4096;

/**
 * A command's outcome as JSON where Kubernetes reads a container's termination message
 * (the operator reads `backup take`'s and `backup restore`'s there); nothing without a
 * path. A long message is cut so that the JSON stays whole within the kubelet's limit.
 */
export async function writeTerminationMessage(path: string | undefined, outcome: Record<string, unknown>): Promise<void> {
  if (path === undefined) return;
  let text = JSON.stringify(outcome);
  if (Buffer.byteLength(text) > TERMINATION_MESSAGE_BYTES_MAX) {
    const message = String(outcome["message"] ?? "");
    text = JSON.stringify({ ...outcome, message: message.slice(0, TERMINATION_MESSAGE_BYTES_MAX / 2) });
  }
  await writeFile(path, text);
}
