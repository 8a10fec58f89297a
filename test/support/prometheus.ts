/**
 * A real Prometheus server (built from its Go module, tools/go/prometheus) for tests: the
 * caller writes its scrape configuration; this starts it on a free loopback port with its
 * data in `dir`, waits until it is ready, queries it over its HTTP API and stops it.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freeLoopbackPorts } from "../../src/bench/cluster/ports.js";
import { RigProcess } from "../../src/devcluster/process.js";
import { waitFor } from "./wait.js";

const READY_TIMEOUT_MS = 60_000;
const QUERY_TIMEOUT_MS = 10_000;

/** One series of an instant query's answer. */
export interface Sample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

export class Prometheus {
  private constructor(private readonly process: RigProcess, readonly url: string) {}

  /** Starts `binary` with `configYaml` as its configuration file; `dir` holds the config, the TSDB and the log. */
  static async start(binary: string, dir: string, configYaml: string): Promise<Prometheus> {
    mkdirSync(join(dir, "data"), { recursive: true });
    const config = join(dir, "prometheus.yml");
    writeFileSync(config, configYaml);
    const [port] = await freeLoopbackPorts(1) as [number];
    const proc = new RigProcess("prometheus", binary, [
      `--config.file=${config}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`,
    ], join(dir, "prometheus.log"));
    const prometheus = new Prometheus(proc, `http://127.0.0.1:${port}`);
    try {
      await waitFor("Prometheus to be ready", async () => (await fetch(`${prometheus.url}/-/ready`).catch(() => undefined))?.ok || undefined,
        READY_TIMEOUT_MS, 250, () => proc.assertAlive());
    } catch (error) {
      await proc.stop();
      throw error;
    }
    return prometheus;
  }

  /** Instant query; the result's series (empty: no data). A query Prometheus refuses throws, with its reason. */
  async query(expr: string): Promise<Sample[]> {
    const response = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(expr)}`, { signal: AbortSignal.timeout(QUERY_TIMEOUT_MS) });
    const body = await response.json() as { status: string; error?: string; data?: { result: Sample[] } };
    if (body.status !== "success") throw new Error(`Prometheus refused ${expr}: ${body.error ?? response.status}`);
    return body.data?.result ?? [];
  }

  /** How many scrape targets are up, by pod. */
  async upTargets(): Promise<string[]> {
    const series = await this.query("up == 1");
    return series.map((s) => s.metric["pod"] ?? "?").sort();
  }

  stop(): Promise<void> {
    return this.process.stop(5_000);
  }
}
