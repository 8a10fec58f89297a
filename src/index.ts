/**
 * The package's public surface: the client library. Everything else (server,
 * coordinator, operator, simulator) is reached through the `kvraft` program.
 */
export * from "./client/index.js";
