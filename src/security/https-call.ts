import { type IncomingMessage, request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { type ClientTlsOptions, describeTlsFailure, tlsConnectOptions } from "./client-credentials.js";

/**
 * One HTTP(S) request to a KVRaft member or coordinator, with the cluster's CA and a
 * bearer token. node:http(s), not fetch: fetch cannot be given a CA without a
 * dispatcher package, and it parses the path as a WHATWG URL, which removes `.` and `..`
 * segments (`%2E%2E` included) while a key is bytes, never a path.
 */
export interface HttpTarget {
  readonly secure: boolean;
  readonly host: string;
  readonly port: number;
  /** Sent as is (already escaped). */
  readonly path: string;
}

export interface HttpCallOptions {
  readonly method: string;
  readonly body?: Uint8Array | undefined;
  readonly headers?: Readonly<Record<string, string>>;
  readonly tls?: ClientTlsOptions | undefined;
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string | undefined;
  /** Bounds the whole exchange, the body included. */
  readonly timeoutMs: number;
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Uint8Array;
}

export class HttpTimeoutError extends Error {
  override readonly name = "HttpTimeoutError";
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

/** A TLS failure said plainly (which check failed and what to give instead); `cause` is Node's error. */
export class TlsFailureError extends Error {
  override readonly name = "TlsFailureError";
}

/** `http://h:p`, `https://h:p`, `h:p` (http, or https when `tls` is given) and `[v6]:p`, plus a path. */
export function httpTarget(base: string, path: string, tls: ClientTlsOptions | undefined): HttpTarget {
  const scheme = /^(https?):\/\//i.exec(base)?.[1]?.toLowerCase();
  const rest = base.replace(/^https?:\/\//i, "").replace(/\/+$/, "");
  const secure = scheme === undefined ? tls !== undefined : scheme === "https";
  const match = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest) ?? /^([^:[\]/]+)(?::(\d+))?$/.exec(rest);
  if (match === null) throw new RangeError(`"${base}" is not HOST:PORT or an http(s):// URL of one`);
  return { secure, host: match[1] as string, port: Number(match[2] ?? (secure ? 443 : 80)), path };
}

/**
 * The request and its answer's head, within `timeoutMs`; the body is a stream the caller
 * reads or destroys, without a deadline (a watch may stay quiet for hours).
 */
export function openHttp(target: HttpTarget, options: HttpCallOptions): Promise<IncomingMessage> {
  const payload = options.body === undefined ? undefined : Buffer.from(options.body.buffer, options.body.byteOffset, options.body.byteLength);
  const headers: Record<string, string> = {
    ...options.headers,
    ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
    // The length always: node:http sends a DELETE's body with neither a length nor
    // chunking, and the server then reads that body as a second (bad) request.
    ...(payload === undefined ? {} : { "content-length": String(payload.length) }),
  };
  return new Promise((resolve, reject) => {
    const common = { host: target.host, port: target.port, path: target.path, method: options.method, headers };
    const onResponse = (res: IncomingMessage): void => {
      clearTimeout(timer);
      resolve(res);
    };
    const req = target.secure
      ? httpsRequest({ ...common, ...tlsConnectOptions(options.tls ?? {}, target.host), agent: false }, onResponse)
      : httpRequest(common, onResponse);
    const timer = setTimeout(() => req.destroy(new HttpTimeoutError(options.timeoutMs)), options.timeoutMs);
    req.on("error", (error) => {
      clearTimeout(timer);
      const tlsProblem = describeTlsFailure(error, target.secure ? options.tls ?? {} : undefined);
      reject(tlsProblem === undefined ? error : new TlsFailureError(`https://${target.host}:${target.port}: ${tlsProblem}`, { cause: error }));
    });
    req.end(payload);
  });
}

/** One request and its whole answer, within `timeoutMs`. */
export async function httpCall(target: HttpTarget, options: HttpCallOptions): Promise<HttpAnswer> {
  const deadline = Date.now() + options.timeoutMs;
  const res = await openHttp(target, options);
  const parts: Buffer[] = [];
  const timer = setTimeout(() => res.destroy(new HttpTimeoutError(options.timeoutMs)), Math.max(0, deadline - Date.now()));
  try {
    for await (const chunk of res) parts.push(chunk as Buffer);
  } finally {
    clearTimeout(timer);
  }
  return { status: res.statusCode ?? 0, headers: headersOf(res), body: new Uint8Array(Buffer.concat(parts)) };
}

export function headersOf(res: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  return headers;
}

/**
 * What a 401 or 403 means, or undefined for other statuses. `tokenSource` names where
 * the token came from ("--token-file t", "the token option").
 */
export function describeAuthRefusal(status: number, serverMessage: string, tokenSource: string | undefined): string | undefined {
  const said = serverMessage === "" ? "" : ` (the server said: ${serverMessage})`;
  if (status === 401) {
    return tokenSource === undefined
      ? `the cluster wants a token and none was given (401)${said}: give one (--token-file, KVRAFT_TOKEN_FILE or KVRAFT_TOKEN; kvraft local writes them under its cluster dir)`
      : `the token was refused (401)${said}: the token from ${tokenSource} is not one the cluster knows; check the file, or that it is this cluster's`;
  }
  if (status === 403) {
    return `the token's role is too weak for this (403)${said}: reads need read-only, writes read-write, membership and snapshots admin; use a token with that role`;
  }
  return undefined;
}
