import { execFile, spawn } from "node:child_process";
import { access, constants } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/** Debian's etcd-server package: only a fallback (etcd 3.4, an older and slower server). */
const DEBIAN_ETCD = "/usr/bin/etcd";
/** The repository's Go tool builder, found from dist/bench/cluster/ or src/bench/cluster/. */
const GO_TOOLS = fileURLToPath(new URL("../../../tools/go-tools.mjs", import.meta.url));

export interface EtcdBinary {
  readonly path: string;
  /** "3.6.16", from `etcd --version`. */
  readonly version: string;
  /** How it was found, for the output. */
  readonly source: "go-module" | "debian";
}

/**
 * The etcd to compare with: 3.6 built from its Go module by tools/go-tools.mjs (the same
 * tooling as the operator's test control plane; built on first use, then cached), else
 * Debian's /usr/bin/etcd. The builder is run as a command, so that dist does not depend
 * on the tools folder when it is loaded.
 */
export async function findEtcd(log: (line: string) => void): Promise<EtcdBinary> {
  const problems: string[] = [];
  if (await exists(GO_TOOLS, constants.R_OK)) {
    try {
      const path = await buildWithGoTools();
      return { path, version: await etcdVersion(path), source: "go-module" };
    } catch (error) {
      problems.push(`building etcd from its Go module failed: ${(error as Error).message}`);
      log(`${problems[0]}; trying ${DEBIAN_ETCD}`);
    }
  } else {
    problems.push(`${GO_TOOLS} is missing (not a clone of the repository)`);
  }
  if (await exists(DEBIAN_ETCD, constants.X_OK)) return { path: DEBIAN_ETCD, version: await etcdVersion(DEBIAN_ETCD), source: "debian" };
  problems.push(`${DEBIAN_ETCD} is missing`);
  throw new Error(`kvraft bench cluster: no etcd to compare with (${problems.join("; ")}). ` +
    "Install Go and run from a clone (node tools/go-tools.mjs build etcd), or install Debian's etcd-server package.");
}

function buildWithGoTools(): Promise<string> {
  return new Promise((resolve, reject) => {
    // stderr passes through: a cold build takes minutes and says so.
    const child = spawn(process.execPath, [GO_TOOLS, "path", "etcd", "etcd"], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")));
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      if (code === 0 && out.trim() !== "") resolve(out.trim());
      else reject(new Error(`node tools/go-tools.mjs path etcd etcd ended with ${signal ?? `exit ${code ?? "?"}`} (is Go installed?)`));
    });
  });
}

function etcdVersion(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(path, ["--version"], (error, stdout) => {
      if (error !== null) {
        reject(new Error(`${path} --version failed: ${error.message}`));
        return;
      }
      const match = /etcd Version: (\S+)/.exec(stdout);
      resolve(match?.[1] ?? "unknown");
    });
  });
}

async function exists(path: string, mode: number): Promise<boolean> {
  try {
    await access(path, mode);
    return true;
  } catch {
    return false;
  }
}
