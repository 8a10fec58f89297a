import { type ChildProcess, fork } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createConnection, type Socket } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RECORD_BYTES, REPLY_BYTES } from "./bare-relay-shape.js";
import { median } from "./measure.js";

const MEMBER = fileURLToPath(new URL("./bare-relay-member.js", import.meta.url));
const WARMUP_WRITES = 300;
const MEMBER_START_TIMEOUT_MS = 10_000;
const WRITE_TIMEOUT_MS = 5_000;

export interface BareRelayFigures {
  readonly p50Ms: number;
  readonly writes: number;
}

/**
 * The floor under put-1 on this machine, measured: one client sends a record to a leader
 * process, which sends it to two follower processes while writing it durably itself
 * (O_DSYNC, as the WAL does); each follower writes it durably and acknowledges; the
 * leader answers once its own write and one acknowledgement are in. These are the
 * messages and durable writes of one replicated write, on the same disk and cores, with
 * no Raft, codec or state machine: what KVRaft adds above it is its own cost.
 */
export async function measureBareRelay(parentDir: string, writes: number): Promise<BareRelayFigures> {
  const dir = await mkdtemp(join(parentDir, "bare-relay-"));
  const members: ChildProcess[] = [];
  let client: Socket | undefined;
  try {
    const followerPorts = [await startMember(members, ["follower", dir]), await startMember(members, ["follower", dir])];
    const leaderPort = await startMember(members, ["leader", dir, JSON.stringify(followerPorts)]);
    client = await connect(leaderPort);
    const record = Buffer.alloc(RECORD_BYTES, 0x61);
    for (let i = 0; i < WARMUP_WRITES; i++) await roundTrip(client, record);
    const samples: number[] = [];
    for (let i = 0; i < writes; i++) {
      const started = performance.now();
      await roundTrip(client, record);
      samples.push(performance.now() - started);
    }
    return { p50Ms: median(samples), writes };
  } finally {
    client?.destroy();
    await Promise.all(members.map(stop));
    await rm(dir, { recursive: true, force: true });
  }
}

function startMember(members: ChildProcess[], args: readonly string[]): Promise<number> {
  const child = fork(MEMBER, [...args], { stdio: ["ignore", "ignore", "pipe", "ipc"] });
  members.push(child);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the bare relay's ${args[0]} did not start within ${MEMBER_START_TIMEOUT_MS} ms`)), MEMBER_START_TIMEOUT_MS);
    child.once("message", (port) => {
      clearTimeout(timer);
      resolve(Number(port));
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the bare relay's ${args[0]} exited (${signal ?? `code ${code}`}) before it listened: ${stderr.trim() || "no output"}`));
    });
  });
}

function connect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ port, host: "127.0.0.1", noDelay: true }, () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Sends one record and waits for the whole reply. */
function roundTrip(socket: Socket, record: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    let received = 0;
    const timer = setTimeout(() => done(new Error(`the bare relay gave no reply within ${WRITE_TIMEOUT_MS} ms`)), WRITE_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received >= REPLY_BYTES) done(undefined);
    };
    const onClose = (): void => done(new Error("the bare relay's leader closed the connection"));
    function done(error: Error | undefined): void {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
      if (error === undefined) resolve();
      else reject(error);
    }
    socket.on("data", onData);
    socket.once("close", onClose);
    socket.write(record);
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}
