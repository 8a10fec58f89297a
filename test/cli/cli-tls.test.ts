import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CA_CERT_FILE, clientCertFiles, memberCertFiles, writeClusterPki } from "../../src/security/cluster-pki.js";
import { CLI } from "../support/process-cluster.js";

const RW = "r".repeat(64);
const RO = "o".repeat(64);
const ADMIN = "a".repeat(64);

interface Run { code: number | null; stdout: string; stderr: string }
interface Seen { method: string; url: string; authorization: string | undefined }

/**
 * The CLI's --cacert, --cert/--key, --token-file and KVRAFT_* variables, and the local
 * cluster's CA and tokens found through cluster.json, against an https stand-in for a
 * member that checks tokens and roles the way the servers answer (401 / 403 with a
 * KVRaft error body). The servers' own TLS is tested with them; this is the CLI's side.
 */
describe("kvraft CLI: TLS and tokens", () => {
  let dir: string;
  let server: Server;
  let mtls: Server;
  let endpoint: string;
  let mtlsEndpoint: string;
  const seen: Seen[] = [];

  function kvraft(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
    return new Promise((resolve) => {
      const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
      for (const name of ["KVRAFT_ENDPOINTS", "KVRAFT_COORD", "KVRAFT_CACERT", "KVRAFT_CERT", "KVRAFT_KEY", "KVRAFT_TOKEN", "KVRAFT_TOKEN_FILE"]) {
        if (env[name] === undefined) delete childEnv[name];
      }
      const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, stdio: ["ignore", "pipe", "pipe"], env: childEnv });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => { stdout += c.toString(); });
      child.stderr.on("data", (c: Buffer) => { stderr += c.toString(); });
      child.once("close", (code) => resolve({ code, stdout, stderr }));
    });
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kvraft-cli-tls-"));
    const pki = join(dir, ".kvraft");
    await writeClusterPki(pki, { clusterId: "c", memberIds: [1], clientRoles: ["read-write"], validDays: 1 });
    await writeClusterPki(join(dir, "other"), { clusterId: "c", memberIds: [1], validDays: 1 });
    const files = memberCertFiles(pki, 1);
    server = createServer({ cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) }, (req, res) => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", authorization: req.headers.authorization });
      const role = { [`Bearer ${RW}`]: "read-write", [`Bearer ${RO}`]: "read-only", [`Bearer ${ADMIN}`]: "admin" }[req.headers.authorization ?? ""];
      const fail = (status: number, code: string, message: string): void => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code, message } }));
      };
      if (role === undefined) return fail(401, "UNAUTHENTICATED", "no such token");
      const admin = (req.url ?? "").startsWith("/v1/admin/");
      if ((admin && role !== "admin") || (req.method !== "GET" && role === "read-only")) return fail(403, "PERMISSION_DENIED", `role ${role} may not ${req.method ?? ""} ${req.url ?? ""}`);
      if (admin) {
        res.writeHead(200, { "content-type": "application/json" });
        return void res.end(JSON.stringify({ changed: true, configIndex: 9, voters: [1, 2, 3], learners: [] }));
      }
      res.writeHead(200, { "content-type": "application/octet-stream", "x-kvraft-version": "1", "x-kvraft-revision": "7" });
      res.end(req.method === "GET" ? "hello" : JSON.stringify({ revision: 7, version: 1 }));
    });
    // A member started with --client-cert-auth: no client certificate of the CA, no connection.
    mtls = createServer({ cert: readFileSync(files.certFile), key: readFileSync(files.keyFile), ca: readFileSync(join(pki, CA_CERT_FILE)), requestCert: true, rejectUnauthorized: true }, (_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream", "x-kvraft-version": "1", "x-kvraft-revision": "7" });
      res.end("by-certificate");
    });
    await Promise.all([server, mtls].map((s) => new Promise<void>((resolve) => s.listen(0, "127.0.0.1", () => resolve()))));
    endpoint = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    mtlsEndpoint = `127.0.0.1:${(mtls.address() as AddressInfo).port}`;
    await writeFile(join(dir, "rw.token"), `${RW}\n`);
    await writeFile(join(dir, "ro.token"), `${RO}\n`);
    await writeFile(join(dir, "empty.token"), "\n");
  });

  afterAll(async () => {
    await Promise.all([server, mtls].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    await rm(dir, { recursive: true, force: true });
  });

  it("--cacert makes host:port https, and --token-file sends the token as a bearer", async () => {
    const run = await kvraft(["get", "greeting", "--endpoints", endpoint, "--cacert", ".kvraft/ca.crt", "--token-file", "rw.token"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe("hello\n");
    expect(seen.at(-1)?.authorization).toBe(`Bearer ${RW}`);
  });

  it("the same from KVRAFT_CACERT and KVRAFT_TOKEN, with an https:// endpoint", async () => {
    const run = await kvraft(["get", "greeting", "--endpoints", `https://${endpoint}`], { KVRAFT_CACERT: join(dir, ".kvraft", CA_CERT_FILE), KVRAFT_TOKEN: RW });
    expect(run.code, run.stderr).toBe(0);
    expect(seen.at(-1)?.authorization).toBe(`Bearer ${RW}`);
  });

  it("a certificate the CA in --cacert did not sign: exit 4, saying so, and no token sent", async () => {
    const before = seen.length;
    const run = await kvraft(["get", "greeting", "--endpoints", endpoint, "--cacert", "other/ca.crt", "--token-file", "rw.token"]);
    expect(run.code).toBe(4);
    expect(run.stderr).toContain("the server's certificate is not signed by the CA in --cacert other/ca.crt");
    expect(seen.length).toBe(before);
  });

  it("a refused token (401) and a role too weak (403) exit 4 and say which", async () => {
    await writeFile(join(dir, "wrong.token"), "w".repeat(64));
    const refused = await kvraft(["get", "greeting", "--endpoints", endpoint, "--cacert", ".kvraft/ca.crt", "--token-file", "wrong.token"]);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain("the token was refused (401) (the server said: no such token): the token from --token-file wrong.token");
    const missing = await kvraft(["get", "greeting", "--endpoints", endpoint, "--cacert", ".kvraft/ca.crt"]);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain("the cluster wants a token and none was given (401)");
    const weak = await kvraft(["put", "greeting", "hi", "--endpoints", endpoint, "--cacert", ".kvraft/ca.crt", "--token-file", "ro.token"]);
    expect(weak.code).toBe(4);
    expect(weak.stderr).toContain("the token's role is too weak for this (403)");
  });

  it("--cert and --key present a client certificate to a member that requires one; without them the error says it wants one", async () => {
    const { certFile, keyFile } = clientCertFiles(join(dir, ".kvraft"), "read-write");
    const run = await kvraft(["get", "k", "--endpoints", mtlsEndpoint, "--cacert", ".kvraft/ca.crt", "--cert", certFile, "--key", keyFile]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe("by-certificate\n");
    // The refusal comes at once; the timeout only has to outlast the CLI's own start on a loaded machine.
    const without = await kvraft(["get", "k", "--endpoints", mtlsEndpoint, "--cacert", ".kvraft/ca.crt", "--timeout", "10000"]);
    expect(without.code).toBe(4);
    expect(without.stderr).toContain("the server refused this client's certificate");
    expect(without.stderr).toContain("it wants a client certificate signed by its CA (--cert and --key)");
  });

  it("plain http to an https port says to give the CA", async () => {
    // The request is retried until the timeout; 500 ms was spent on the CLI's own start
    // when the whole suite loaded the machine ("no answer within 1 ms").
    const run = await kvraft(["get", "greeting", "--endpoints", endpoint, "--timeout", "3000"]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/give --cacert/);
  });

  it("bad credential files are usage errors naming the file", async () => {
    const empty = await kvraft(["get", "k", "--endpoints", endpoint, "--cacert", ".kvraft/ca.crt", "--token-file", "empty.token"]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain("the token file --token-file empty.token is empty");
    const noCa = await kvraft(["get", "k", "--endpoints", endpoint, "--cacert", "missing.crt"]);
    expect(noCa.code).toBe(2);
    expect(noCa.stderr).toContain("--cacert: missing.crt cannot be read (ENOENT)");
    const halfPair = await kvraft(["get", "k", "--endpoints", endpoint, "--cert", ".kvraft/member-1.crt"]);
    expect(halfPair.code).toBe(2);
    expect(halfPair.stderr).toContain("--cert and --key go together");
  });

  it("the local cluster's cluster.json gives the CA and the tokens: read-write for data verbs, admin for admin verbs", async () => {
    await mkdir(join(dir, ".kvraft"), { recursive: true });
    await writeFile(join(dir, ".kvraft", "admin.token"), `${ADMIN}\n`, { mode: 0o600 });
    await writeFile(join(dir, ".kvraft", "read-write.token"), `${RW}\n`, { mode: 0o600 });
    await writeFile(join(dir, ".kvraft", "cluster.json"), JSON.stringify({
      clusterId: "c", basePort: 7000, coordinator: "http://127.0.0.1:1",
      members: [{ id: 1, peer: "127.0.0.1:1", http: endpoint, memcached: "127.0.0.1:1", client: "127.0.0.1:1", dataDir: join(dir, ".kvraft", "member-1") }],
      security: { scheme: "https", caFile: join(dir, ".kvraft", "ca.crt"), tokenFile: "read-write.token", adminTokenFile: join(dir, ".kvraft", "admin.token"), readOnlyTokenFile: "read-only.token" },
    }));
    const put = await kvraft(["put", "greeting", "hi"]);
    expect(put.code, put.stderr).toBe(0);
    expect(seen.at(-1)).toMatchObject({ method: "PUT", authorization: `Bearer ${RW}` });
    const remove = await kvraft(["members", "remove", "4"]);
    expect(remove.code, remove.stderr).toBe(0);
    expect(seen.at(-1)).toMatchObject({ method: "DELETE", url: "/v1/admin/members/4", authorization: `Bearer ${ADMIN}` });
    // --endpoints naming the local members still finds the CA; --token-file overrides the file's token.
    const explicit = await kvraft(["get", "greeting", "--endpoints", endpoint, "--token-file", "ro.token"]);
    expect(explicit.code, explicit.stderr).toBe(0);
    expect(seen.at(-1)?.authorization).toBe(`Bearer ${RO}`);
  });

  it("--help teaches the flags and the exit status", async () => {
    const help = await kvraft(["get", "--help"]);
    for (const text of ["--cacert <file>", "--cert <file>", "--key <file>", "--token-file <file>", "KVRAFT_TOKEN", "Exit status 4"]) expect(help.stdout).toContain(text);
  });
});
