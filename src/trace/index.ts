export * from "./vector-clock.js";
export * from "./govector-log.js";
export * from "./message-events.js";
export * from "./check-trace.js";
export * from "./tracer.js";
export * from "./stamp-text.js";
export * from "./request-context.js";
