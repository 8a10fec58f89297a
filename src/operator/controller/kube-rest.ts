import { KubeconfigError } from "../errors.js";
import http from "node:http";
import https from "node:https";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { KubeConfig } from "@kubernetes/client-node";
import { findKubeConfig } from "./kubeconfig-source.js";

/** What the API server answered when it refused a request (its Status object, condensed). */
export class KubeApiError extends Error {
  constructor(readonly status: number, readonly reason: string, message: string) {
    super(message);
    this.name = "KubeApiError";
  }
}

export interface RequestOptions {
  readonly body?: unknown;
  readonly contentType?: string;
  readonly query?: Readonly<Record<string, string | undefined>>;
  readonly timeoutMs?: number;
}

/** Responses larger than this are refused: a list of one namespace's owned objects is far smaller. */
const RESPONSE_BYTES_MAX = 64 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Loads the kubeconfig the way kubectl does: an explicit file, else $KUBECONFIG or
 * ~/.kube/config, else the pod's service account (in-cluster).
 */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  // Without any kubeconfig the client falls back to http://localhost:8080: say what is missing instead.
  const source = findKubeConfig({ flag: path, env: process.env, home: homedir(), exists: existsSync });
  if (source.kind === "none") throw new KubeconfigError(source.message);
  try {
    if (path !== undefined) kc.loadFromFile(path);
    else kc.loadFromDefault();
  } catch (error) {
    throw new KubeconfigError(`cannot load the kubeconfig${path === undefined ? "" : ` ${path}`}: ${(error as Error).message}`);
  }
  if (kc.getCurrentCluster() === null) {
    throw new KubeconfigError(`no Kubernetes cluster in the kubeconfig${path === undefined ? " (looked at $KUBECONFIG, ~/.kube/config and the in-cluster service account)" : ` ${path}`}: pass --kubeconfig`);
  }
  return kc;
}

/**
 * A small JSON client of the Kubernetes REST API. The typed clients of
 * @kubernetes/client-node cover neither subresources of custom resources nor
 * server-side apply of arbitrary kinds, so the operator speaks REST paths directly,
 * with the kubeconfig's credentials (certificates, tokens, impersonation).
 * It counts the writes it sends, for metrics and for the idempotence test.
 */
export class KubeRest {
  private writeCount = 0;

  constructor(readonly kubeConfig: KubeConfig) {}

  /** How many non-GET requests were sent since start. */
  get writes(): number {
    return this.writeCount;
  }

  get server(): string {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (cluster === null) throw new KubeconfigError("the kubeconfig has no current cluster: set its current-context, or pass --kubeconfig");
    return cluster.server.replace(/\/+$/, "");
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    if (method !== "GET") this.writeCount++;
    const url = new URL(this.server + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, value);
    }
    const requestOptions: https.RequestOptions = { method, headers: { accept: "application/json" } };
    await this.kubeConfig.applyToHTTPSOptions(requestOptions);
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    if (payload !== undefined) {
      requestOptions.headers = { ...requestOptions.headers, "content-type": options.contentType ?? "application/json", "content-length": payload.length };
    }
    const { status, text } = await send(url, requestOptions, payload, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const json: unknown = text === "" ? {} : safeParse(text);
    if (status < 200 || status >= 300) {
      const body = (json ?? {}) as { reason?: string; message?: string };
      throw new KubeApiError(status, body.reason ?? `HTTP${status}`, `${method} ${path}: ${body.message ?? text.slice(0, 300)} (HTTP ${status})`);
    }
    return json as T;
  }
}

function send(url: URL, options: https.RequestOptions, payload: Buffer | undefined, timeoutMs: number): Promise<{ status: number; text: string }> {
  const plain = url.protocol === "http:";
  const transport = plain ? http : https;
  // The kubeconfig's agent carries TLS settings; a plain-HTTP server (a local proxy) needs none.
  if (plain) delete options.agent;
  return new Promise((resolve, reject) => {
    const req = transport.request(url, options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > RESPONSE_BYTES_MAX) {
          req.destroy(new Error(`${options.method ?? "GET"} ${url.pathname}: response larger than ${RESPONSE_BYTES_MAX} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${options.method ?? "GET"} ${url.pathname}: no answer from the API server within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(payload);
  });
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 300) };
  }
}

export function isNotFound(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 404;
}

export function isConflict(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 409;
}

/** GET of one object; undefined when it does not exist (404), any other failure thrown. */
export async function getIfExists<T>(rest: KubeRest, path: string): Promise<T | undefined> {
  try {
    return await rest.request<T>("GET", path);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}
