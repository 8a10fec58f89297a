import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

/** A probe answer is small ("ok", a JSON health line); more than this is not a health answer. */
const MAX_BODY_BYTES = 64 * 1024;
const PROBE_TIMEOUT_MS = 5_000;

export interface ProbeTls {
  /** PEM of the CA to trust; omitted for a component's self-signed serving certificate on loopback. */
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

/**
 * GETs a health endpoint and returns its body when the status is 200, or undefined
 * otherwise (connection refused, not ready yet): the shape `waitFor` polls on.
 */
export function probe(url: string, tls?: ProbeTls): Promise<string | undefined> {
  return new Promise((resolve) => {
    const isHttps = url.startsWith("https:");
    const options = isHttps ? { ...tls, rejectUnauthorized: tls?.ca !== undefined, timeout: PROBE_TIMEOUT_MS } : { timeout: PROBE_TIMEOUT_MS };
    const req = (isHttps ? httpsRequest : httpRequest)(url, options, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        if (body.length < MAX_BODY_BYTES) body += chunk;
      });
      res.on("end", () => resolve(res.statusCode === 200 ? body : undefined));
      res.on("error", () => resolve(undefined));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
    req.end();
  });
}
