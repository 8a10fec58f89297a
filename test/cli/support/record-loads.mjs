// Preloaded with `node --import`: registers a module hook that appends every module URL the
// program loads to the file named by KVRAFT_TEST_LOADS_FILE, one a line. The test of lazy
// verbs reads it to check what `kvraft --help` and friends load.
import { register } from "node:module";

register("./record-loads-hooks.mjs", import.meta.url);
