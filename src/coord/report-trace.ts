import type { Request, Response } from "express";
import { memberHost, stampFromOptionalText, stampToText, TRACE_STAMP_HEADER, type Tracer } from "../trace/index.js";
import type { Heartbeat, HeartbeatKind } from "./heartbeat.js";

/**
 * The coordinator's side of a traced report: the receive of a member's register or
 * heartbeat (merging the stamp in its TRACE_STAMP_HEADER) and the send of the answer
 * (its stamp in the answer's header, which the member's reporter records). Called once
 * the report is authenticated, so a forged report never names a host in the trace. A
 * bad stamp is dropped: the report is recorded as a local event and served as usual.
 */
export function traceReport(tracer: Tracer, kind: HeartbeatKind, heartbeat: Heartbeat, req: Request, res: Response): void {
  if (!tracer.enabled) return;
  const member = memberHost(heartbeat.status.memberId);
  const { role, term, commitIndex } = heartbeat.status;
  tracer.receive({ kind, from: member, stamp: stampFromOptionalText(req.get(TRACE_STAMP_HEADER)), details: `${role} term=${term} commit=${commitIndex}` });
  const stamp = tracer.send({ kind: `${kind}-answer`, to: member });
  if (stamp !== undefined) res.setHeader(TRACE_STAMP_HEADER, stampToText(stamp));
}
