import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SERVICE_ACCOUNT_TOKEN_PATH, findKubeConfig } from "../../src/operator/controller/kubeconfig-source.js";
import { CLI } from "../support/process-cluster.js";

/** The old operator never exited here (it retried forever): past this the test kills it and fails. */
const EXIT_WAIT_MS = 10_000;

describe("finding the kubeconfig the way kubectl does", () => {
  const lookup = (env: Record<string, string>, files: string[], flag?: string) =>
    findKubeConfig({ flag, env, home: "/home/u", exists: (path) => files.includes(path) });

  it("takes --kubeconfig, then $KUBECONFIG, then ~/.kube/config, then the service account", () => {
    expect(lookup({ KUBECONFIG: "/k" }, ["/home/u/.kube/config"], "/f")).toEqual({ kind: "flag", path: "/f" });
    expect(lookup({ KUBECONFIG: "/k" }, ["/home/u/.kube/config"])).toEqual({ kind: "env", path: "/k" });
    expect(lookup({ KUBECONFIG: "" }, ["/home/u/.kube/config"])).toEqual({ kind: "home", path: "/home/u/.kube/config" });
    expect(lookup({ KUBERNETES_SERVICE_HOST: "10.0.0.1" }, [SERVICE_ACCOUNT_TOKEN_PATH])).toEqual({ kind: "in-cluster" });
  });

  it("with none of them, says what to do", () => {
    const found = lookup({ KUBERNETES_SERVICE_HOST: "10.0.0.1" }, []);
    expect(found.kind).toBe("none");
    expect(found.kind === "none" && found.message).toMatch(/pass --kubeconfig or run in a cluster$/);
  });
});

/** Issue 16: started without a kubeconfig, the operator retried forever with a TLS error. */
describe("kvraft operator with no kubeconfig anywhere (the built binary)", () => {
  it("exits 2 at once and says to pass --kubeconfig or run in a cluster", async () => {
    const home = await mkdtemp(join(tmpdir(), "kvraft-empty-home-"));
    try {
      const env: Record<string, string> = {};
      for (const [name, value] of Object.entries(process.env)) {
        if (value !== undefined && name !== "KUBECONFIG" && name !== "KUBERNETES_SERVICE_HOST" && !name.startsWith("KVRAFT_OPERATOR_")) env[name] = value;
      }
      env["HOME"] = home;
      const child = spawn(process.execPath, [CLI, "operator", "--metrics-port", "0"], { env, stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => { stderr += chunk.toString("utf8"); });
      child.stdout.resume();
      const started = performance.now();
      const timer = setTimeout(() => child.kill("SIGKILL"), EXIT_WAIT_MS);
      const code = await new Promise<number | null>((resolve) => child.once("exit", (exitCode) => resolve(exitCode)));
      clearTimeout(timer);
      console.log(`kvraft operator without a kubeconfig: exit ${code} after ${Math.round(performance.now() - started)} ms: ${stderr.trim()}`);
      expect(code).toBe(2);
      expect(stderr).toContain("pass --kubeconfig or run in a cluster");
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  }, 20_000);

  it("exits 2 when --kubeconfig names a file that does not load, saying which file (a KubeconfigError, the flag's fault)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kvraft-bad-kubeconfig-"));
    try {
      const path = join(dir, "missing.kubeconfig");
      const child = spawn(process.execPath, [CLI, "operator", "--metrics-port", "0", "--kubeconfig", path], { stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => { stderr += chunk.toString("utf8"); });
      child.stdout.resume();
      const timer = setTimeout(() => child.kill("SIGKILL"), EXIT_WAIT_MS);
      const code = await new Promise<number | null>((resolve) => child.once("exit", (exitCode) => resolve(exitCode)));
      clearTimeout(timer);
      expect(code, stderr).toBe(2);
      expect(stderr).toContain(`cannot load the kubeconfig ${path}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 20_000);
});
