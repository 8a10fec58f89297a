/**
 * Ports free right now on 127.0.0.1 for the processes a test starts: the benchmark's
 * picker (all held open at once so no two are the same, then released).
 */
export { freeLoopbackPorts as freePorts } from "../../src/bench/cluster/ports.js";
