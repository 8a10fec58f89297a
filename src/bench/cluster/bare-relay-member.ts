/**
 * One process of the bare relay (bare-relay.ts), started with fork(): a follower that
 * makes each record durable and answers with an acknowledgement, or a leader that sends
 * each client record to both followers, makes it durable itself and answers the client
 * once its own write and one follower's acknowledgement are in. No Raft, no codec, no
 * state machine: what remains is the cost of the messages and the durable writes.
 *
 * argv: role ("leader" | "follower"), data dir, and for the leader the followers' ports
 * as JSON. Sends its listening port to the parent over IPC.
 */
import { constants, openSync, closeSync, ftruncateSync, fsyncSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { createConnection, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { ACK_BYTES, FILE_BYTES, RECORD_BYTES, REPLY_BYTES } from "./bare-relay-shape.js";

const [role, dir, peersJson] = process.argv.slice(2);

/** A preallocated file written with O_DSYNC: each write returns once durable, as the WAL's do. */
class DurableFile {
  private offset = 0;

  private constructor(private readonly handle: FileHandle) {}

  static async create(path: string): Promise<DurableFile> {
    const fd = openSync(path, "w");
    ftruncateSync(fd, FILE_BYTES);
    fsyncSync(fd);
    closeSync(fd);
    return new DurableFile(await open(path, constants.O_WRONLY | constants.O_DSYNC));
  }

  async write(record: Buffer): Promise<void> {
    if (this.offset + record.length > FILE_BYTES) this.offset = 0;
    await this.handle.write(record, 0, record.length, this.offset);
    this.offset += record.length;
  }
}

/** Calls `onRecord` for each whole record of `size` bytes the socket delivers. */
function onRecords(socket: Socket, size: number, onRecord: (record: Buffer) => void): void {
  let pending: Buffer = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= size) {
      onRecord(pending.subarray(0, size));
      pending = pending.subarray(size);
    }
  });
}

async function listen(onSocket: (socket: Socket) => void): Promise<void> {
  const server = createServer({ noDelay: true }, onSocket);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  process.send?.((server.address() as { port: number }).port);
}

async function follower(file: DurableFile): Promise<void> {
  const ack = Buffer.alloc(ACK_BYTES);
  await listen((socket) => onRecords(socket, RECORD_BYTES, (record) => {
    void file.write(record).then(() => socket.write(ack));
  }));
}

async function leader(file: DurableFile, followerPorts: readonly number[]): Promise<void> {
  const followers = await Promise.all(followerPorts.map((port) => new Promise<Socket>((resolve, reject) => {
    const socket = createConnection({ port, host: "127.0.0.1", noDelay: true }, () => resolve(socket));
    socket.once("error", reject);
  })));
  // One client, one record at a time. Acknowledgements come back in order on each
  // follower's connection, so record n is acknowledged by a follower once n have come
  // from it: a late answer to the previous record never counts for the current one.
  let records = 0;
  const acked = followers.map(() => 0);
  let current: { record: number; durable: boolean; answered: boolean; client: Socket } | undefined;
  const reply = Buffer.alloc(REPLY_BYTES);
  const answerIfDone = (): void => {
    if (current === undefined || current.answered || !current.durable) return;
    const record = current.record;
    if (!acked.some((count) => count >= record)) return;
    current.answered = true;
    current.client.write(reply);
  };
  followers.forEach((socket, i) => onRecords(socket, ACK_BYTES, () => {
    acked[i] = (acked[i] ?? 0) + 1;
    answerIfDone();
  }));
  await listen((client) => onRecords(client, RECORD_BYTES, (record) => {
    const state = { record: ++records, durable: false, answered: false, client };
    current = state;
    void file.write(record).then(() => {
      state.durable = true;
      answerIfDone();
    });
    for (const socket of followers) socket.write(record);
  }));
}

if (dir === undefined || (role !== "leader" && role !== "follower")) {
  throw new Error("usage: bare-relay-member leader|follower <dir> [followers' ports as JSON]");
}
const file = await DurableFile.create(join(dir, `bare-relay-${role}-${process.pid}.dat`));
if (role === "follower") await follower(file);
else await leader(file, JSON.parse(peersJson ?? "[]") as number[]);
