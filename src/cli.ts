#!/usr/bin/env node
/**
 * `kvraft`: one program for every role (server, coordinator, operator, local cluster,
 * simulator, benchmarks) and the client verbs. Each verb lives in src/cli/.
 */
import { runCli } from "./cli/main.js";

process.exitCode = await runCli(process.argv);
