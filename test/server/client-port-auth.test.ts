import type { TLSSocket } from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FrameDecoder, decodeResponse, encodeRequest, type Request, type Response } from "../../src/protocol/index.js";
import { SecureCluster, type As } from "../support/secure-cluster.js";
import { waitFor } from "../support/wait.js";

/**
 * Issue 15: the binary client port served anyone. It now speaks TLS, takes a token in
 * HELLO (or the role of a client certificate), refuses a HELLO that proves nothing with
 * UNAUTHENTICATED and closes, and answers a request the role does not allow with
 * PERMISSION_DENIED.
 */
const RO = "readonly-token-0123456789abcdef";
const RW = "readwrite-token-0123456789abcdef";
const TOKENS = `${RO},rita,read-only\n${RW},alice,read-write\n`;
const utf8 = new TextEncoder();

type Body<R> = R extends Request ? Omit<R, "requestId"> : never;

/** One raw connection: frames out, replies collected by request id. */
class RawConnection {
  private readonly decoder = new FrameDecoder(1 << 20);
  readonly replies: Response[] = [];
  closed = false;
  private nextId = 1;

  constructor(private readonly socket: TLSSocket) {
    socket.on("data", (chunk: Buffer) => {
      this.decoder.push(chunk);
      for (let frame = this.decoder.next(); frame !== undefined; frame = this.decoder.next()) this.replies.push(decodeResponse(frame));
    });
    socket.on("close", () => { this.closed = true; });
    socket.on("error", () => undefined);
  }

  async call(request: Body<Request>): Promise<Response> {
    const requestId = this.nextId++;
    this.socket.write(encodeRequest({ ...request, requestId } as Request));
    return waitFor(`the reply to request ${requestId} (${request.kind})`, () => this.replies.find((r) => r.requestId === requestId), 5000, 5);
  }

}

describe("the binary client port with TLS and tokens", () => {
  let cluster: SecureCluster;
  beforeAll(async () => {
    cluster = await SecureCluster.started(1, { tls: true, tokens: TOKENS });
  }, 30_000);
  afterEach(() => cluster.closeSockets());
  afterAll(async () => {
    await cluster?.stop();
  });

  const dial = async (as: As = {}): Promise<RawConnection> => new RawConnection(await cluster.dialTls(1, "client", as));
  const hello = (token?: string): Body<Request> => ({ kind: "hello", clientName: "test", forward: false, ...(token === undefined ? {} : { token }) });
  const put = (key: string, value: string): Body<Request> => ({ kind: "write", command: { type: "put", key: utf8.encode(key), value: utf8.encode(value) } });

  it("refuses a HELLO without a token with UNAUTHENTICATED, and closes", async () => {
    const connection = await dial();
    const reply = await connection.call(hello());
    expect(reply).toMatchObject({ kind: "error", code: "UNAUTHENTICATED", retryable: false });
    expect((reply as { message: string }).message).toMatch(/give a token \(the token in HELLO/);
    await waitFor("the server to close the connection", () => (connection.closed ? true : undefined), 5000);
  });

  it("refuses an unknown token", async () => {
    const connection = await dial();
    expect(await connection.call(hello("not-a-token-of-this-cluster"))).toMatchObject({ kind: "error", code: "UNAUTHENTICATED" });
  });

  it("lets a read-only token read but not write (PERMISSION_DENIED), and a read-write token write", async () => {
    const writer = await dial();
    expect((await writer.call(hello(RW))).kind).toBe("hello-ok");
    expect((await writer.call(put("k", "v"))).kind).toBe("write-ok");
    const reader = await dial();
    expect((await reader.call(hello(RO))).kind).toBe("hello-ok");
    expect(await reader.call(put("k", "w"))).toMatchObject({ kind: "error", code: "PERMISSION_DENIED", message: "token 'rita' has role read-only; write needs read-write", retryable: false });
    expect(await reader.call({ kind: "register-session" })).toMatchObject({ kind: "error", code: "PERMISSION_DENIED" });
    const got = await reader.call({ kind: "get", key: utf8.encode("k"), consistency: "linearizable" });
    expect(got.kind).toBe("get-ok");
    expect(new TextDecoder().decode((got as { kv?: { value: Uint8Array } }).kv?.value)).toBe("v");
  });

  it("takes a client certificate's role in place of a token", async () => {
    const connection = await dial({ role: "read-write" });
    expect((await connection.call(hello())).kind).toBe("hello-ok");
    expect((await connection.call(put("by-cert", "c"))).kind).toBe("write-ok");
  });
});

describe("binary and memcached requests to a follower, with authentication", () => {
  let cluster: SecureCluster;
  beforeAll(async () => {
    cluster = await SecureCluster.started(3, { tls: true, tokens: TOKENS });
  }, 30_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it("are forwarded to the leader naming their caller (the leader would refuse a forward that names nobody)", async () => {
    const leader = await cluster.waitForLeader();
    const follower = [1, 2, 3].find((id) => id !== leader) as number;
    const binary = new RawConnection(await cluster.dialTls(follower, "client"));
    expect((await binary.call({ kind: "hello", clientName: "test", forward: true, token: RW })).kind).toBe("hello-ok");
    expect((await binary.call({ kind: "write", command: { type: "put", key: utf8.encode("fw"), value: utf8.encode("binary") } })).kind).toBe("write-ok");
    const memcached = await cluster.dialTls(follower, "memcached");
    const replies: string[] = [];
    memcached.on("data", (chunk: Buffer) => replies.push(chunk.toString("latin1")));
    memcached.write(`set auth 0 0 ${RW.length + 6}\r\nalice ${RW}\r\nset fm 0 0 9\r\nmemcached\r\nget fw\r\n`);
    const all = await waitFor("the memcached replies", () => (replies.join("").endsWith("END\r\n") ? replies.join("") : undefined), 10_000);
    expect(all).toBe("STORED\r\nSTORED\r\nVALUE fw 0 6\r\nbinary\r\nEND\r\n");
    expect((await cluster.request(leader, "GET", "/v1/kv/fm", { token: RO })).text).toBe("memcached");
  });
});
