// The hooks behind record-loads.mjs. They run in the loader's own thread, so they write
// straight to the file (synchronously: the program may exit right after its last import).
import { appendFileSync } from "node:fs";
import process from "node:process";

const file = process.env["KVRAFT_TEST_LOADS_FILE"];

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (file !== undefined) appendFileSync(file, `${resolved.url}\n`);
  return resolved;
}
