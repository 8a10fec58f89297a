import type { Request, Response } from "express";
import { PRINCIPAL_HEADER, encodeCallerText } from "../auth/caller.js";
import type { MemberHttpClient } from "../auth/member-http.js";
import { requestContextHeaders } from "../../trace/index.js";
import { callerOf } from "./auth.js";
import { sendError } from "./errors.js";
import { requestContextOfResponse } from "./request-context.js";

/** A proxied admin call carries this header so the leader never proxies it again. */
export const FORWARDED_HEADER = "x-kvraft-forwarded";

/** How long a proxied admin call may take (a snapshot of a large store included). */
export const ADMIN_PROXY_TIMEOUT_MS = 10_000;

export interface LeaderAdminAddress {
  readonly leaderId: number;
  /** The leader's admin address (its admin port, or its HTTP port); undefined until known. */
  readonly address: string | undefined;
}

/**
 * Passes an admin request on to the leader and relays the answer, so that the CLI and
 * the operator may call any member. The member sends it with its own credential (its
 * member certificate over HTTPS, see MemberHttpClient) and names the caller this member
 * authenticated; never the caller's token and never the admin token. A request already
 * forwarded once is not forwarded again (two members that each think the other leads).
 * With authentication on and no member certificate, the leader could not tell this
 * member from anyone, so the caller is sent to the leader instead.
 */
export async function proxyToLeader(req: Request, res: Response, leader: LeaderAdminAddress, members: MemberHttpClient, authRequired: boolean): Promise<void> {
  if (req.get(FORWARDED_HEADER) !== undefined || leader.address === undefined) {
    sendError(res, 503, "NOT_LEADER", "this member is not the leader and the leader is not known yet: retry shortly", { retryable: true });
    return;
  }
  if (authRequired && !members.authenticated) {
    sendError(res, 503, "NOT_LEADER", `this member is not the leader; member ${leader.leaderId} at ${leader.address} is, and members cannot vouch for a caller to each other without member certificates (--cert-file and --peer-cert-file on every member): send the call to the leader`, { leader: { leaderId: leader.leaderId, httpAddress: leader.address }, retryable: false });
    return;
  }
  const caller = callerOf(res);
  try {
    const response = await members.request(leader.address, req.originalUrl, {
      method: req.method,
      headers: {
        "content-type": "application/json",
        [FORWARDED_HEADER]: "1",
        // The same request id in the leader's log lines as in this member's.
        ...requestContextHeaders(requestContextOfResponse(res)),
        ...(caller === undefined ? {} : { [PRINCIPAL_HEADER]: encodeCallerText(caller) }),
      },
      ...(req.method === "GET" || req.method === "HEAD" ? {} : { body: Buffer.from(JSON.stringify(req.body ?? {})) }),
      timeoutMs: ADMIN_PROXY_TIMEOUT_MS,
    });
    // The leader's X-Kvraft-* headers are part of the answer (the snapshot's revision and
    // cluster id travel there): relay them with the body.
    for (const [name, value] of Object.entries(response.headers)) {
      if (name.toLowerCase().startsWith("x-kvraft-") && value !== undefined) res.setHeader(name, value);
    }
    const contentType = response.headers["content-type"];
    res.status(response.status).type(typeof contentType === "string" ? contentType : "application/json").send(response.body);
  } catch (error) {
    sendError(res, 503, "UNAVAILABLE", `forwarding to the leader at ${leader.address} failed: ${(error as Error).message}; retry`, { retryable: true });
  }
}
