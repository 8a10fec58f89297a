import type { Request, Response } from "express";
import { FORWARDED_HEADER } from "../forwarding.js";
import { sendError } from "./errors.js";

/**
 * Passes an admin request on to the leader's HTTP endpoint and relays the answer, so
 * that the CLI and the operator may call any member. A request already forwarded once
 * is not forwarded again (two members that each think the other leads).
 */
export async function proxyToLeader(req: Request, res: Response, leaderHttp: string | undefined, token: string | undefined): Promise<void> {
  if (req.get(FORWARDED_HEADER) !== undefined || leaderHttp === undefined) {
    sendError(res, 503, "NOT_LEADER", "this member is not the leader and the leader is not known yet: retry shortly", { retryable: true });
    return;
  }
  try {
    const response = await fetch(`http://${leaderHttp}${req.originalUrl}`, {
      method: req.method,
      headers: {
        "content-type": "application/json",
        [FORWARDED_HEADER]: "1",
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
      ...(req.method === "GET" || req.method === "HEAD" ? {} : { body: JSON.stringify(req.body ?? {}) }),
      signal: AbortSignal.timeout(10_000),
    });
    // The leader's X-Kvraft-* headers are part of the answer (the snapshot's revision and
    // cluster id travel there): relay them with the body.
    for (const [name, value] of response.headers) {
      if (name.toLowerCase().startsWith("x-kvraft-")) res.setHeader(name, value);
    }
    res.status(response.status).type(response.headers.get("content-type") ?? "application/json").send(Buffer.from(await response.arrayBuffer()));
  } catch (error) {
    sendError(res, 503, "UNAVAILABLE", `forwarding to the leader at ${leaderHttp} failed: ${(error as Error).message}; retry`, { retryable: true });
  }
}
