import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RIG_DIR_PREFIX, recordOwner, sweepAbandonedRigs } from "../../src/devcluster/leftovers.js";
import { RigProcess } from "../../src/devcluster/process.js";
import { runKubectl } from "../../src/devcluster/kubectl.js";
import { kwokConfig } from "../../src/devcluster/kwok.js";
import { execFileSync } from "node:child_process";
import { parseAllDocuments } from "yaml";
import { makeRigPki } from "../../src/devcluster/certs.js";
import { waitFor } from "../support/wait.js";

// The rig's plumbing, without the control plane: how it reports a dying process, how it
// bounds a command, and how it cleans up after a run that was killed outright.

const roots: string[] = [];
const children: ChildProcess[] = [];

function tempRoot(): string {
  const root = mkdtempSync(join(tmpdir(), "kvraft-rig-support-"));
  roots.push(root);
  return root;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
}

afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

describe("RigProcess", () => {
  it("reports a process that died on its own with the tail of its log", async () => {
    const log = join(tempRoot(), "boom.log");
    const proc = new RigProcess("boom", "sh", ["-c", "echo 'listen tcp 127.0.0.1:1: bind: address already in use'; exit 3"], log);
    await proc.exited;
    expect(proc.diedEarly()).toBe("exit code 3");
    expect(() => proc.assertAlive()).toThrow(/boom exited \(exit code 3\)[\s\S]*address already in use/);
  });

  it("is not 'dead early' once asked to stop, and escalates to SIGKILL when SIGTERM is ignored", async () => {
    const log = join(tempRoot(), "stubborn.log");
    const proc = new RigProcess("stubborn", "sh", ["-c", "trap '' TERM; echo started; while :; do sleep 0.1; done"], log);
    await waitFor("the process to start", () => proc.tail().includes("started") || undefined, 10_000);
    await proc.stop(300);
    expect(proc.isRunning()).toBe(false);
    expect(proc.diedEarly()).toBeUndefined();
    expect(() => proc.assertAlive()).not.toThrow();
  });
});

describe("runKubectl", () => {
  it("kills a command that outlives its timeout and says so", async () => {
    const result = await runKubectl("sleep", ["30"], { timeoutMs: 200 });
    expect(result.timedOut).toBe(true);
    expect(result.code).toBeNull();
  });

  it("passes stdin and returns stdout, stderr and the exit code", async () => {
    const result = await runKubectl("sh", ["-c", "cat; echo oops >&2; exit 4"], { input: "hello" });
    expect(result).toMatchObject({ stdout: "hello", stderr: "oops\n", code: 4, timedOut: false });
  });
});

describe("sweepAbandonedRigs", () => {
  it("kills what a dead owner left running from its rig directory, and deletes the directory", async () => {
    const root = tempRoot();
    const dir = join(root, `${RIG_DIR_PREFIX}abc123`);
    mkdirSync(dir);
    // A stand-in for a leftover apiserver: a process whose command line names the directory.
    const leftover = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)", join(dir, "etcd")], { stdio: "ignore" });
    children.push(leftover);
    const bystander = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    children.push(bystander);
    const deadOwner = spawn("true");
    await exited(deadOwner);
    recordOwner(dir, [leftover.pid as number, bystander.pid as number], deadOwner.pid);

    expect(sweepAbandonedRigs(root)).toBe(1);
    await exited(leftover);
    expect(leftover.signalCode).toBe("SIGKILL");
    expect(existsSync(dir)).toBe(false);
    // A pid that does not run from the directory (reused, or never ours) is left alone.
    expect(bystander.exitCode === null && bystander.signalCode === null).toBe(true);
  });

  it("leaves a live owner's rig alone", () => {
    const root = tempRoot();
    const dir = join(root, `${RIG_DIR_PREFIX}live01`);
    mkdirSync(dir);
    recordOwner(dir, []);
    expect(sweepAbandonedRigs(root)).toBe(0);
    expect(existsSync(dir)).toBe(true);
  });
});

describe("kwokConfig", () => {
  it("appends the rig's volume stages to kwok's own as separate YAML documents", () => {
    const docs = parseAllDocuments(kwokConfig("---\napiVersion: kwok.x-k8s.io/v1alpha1\nkind: Stage\nmetadata:\n  name: pod-ready\n"));
    const names = docs.map((d) => (d.toJS() as { metadata: { name: string } }).metadata.name);
    expect(names).toEqual(["pod-ready", "kvraft-rig-pvc-provision", "kvraft-rig-pv-reclaim"]);
    for (const doc of docs) expect(doc.errors).toEqual([]);
  });
});

describe("makeRigPki", () => {
  it("issues a serving certificate for loopback and the in-cluster name, and an admin in system:masters, both from its CA", async () => {
    const dir = tempRoot();
    const pki = await makeRigPki(dir, { serviceIp: "10.96.0.1" });
    const verified = execFileSync("openssl", ["verify", "-CAfile", pki.caCert, pki.servingCert, pki.adminCert], { encoding: "utf8" });
    expect(verified).toContain(`${pki.servingCert}: OK`);
    expect(verified).toContain(`${pki.adminCert}: OK`);
    const serving = execFileSync("openssl", ["x509", "-in", pki.servingCert, "-noout", "-ext", "subjectAltName,extendedKeyUsage"], { encoding: "utf8" });
    for (const name of ["IP Address:127.0.0.1", "IP Address:10.96.0.1", "DNS:localhost", "DNS:kubernetes.default.svc", "TLS Web Server Authentication"]) {
      expect(serving).toContain(name);
    }
    const admin = execFileSync("openssl", ["x509", "-in", pki.adminCert, "-noout", "-subject", "-ext", "extendedKeyUsage"], { encoding: "utf8" });
    expect(admin).toContain("O = system:masters");
    expect(admin).toContain("TLS Web Client Authentication");
  });
});
