import type { ClockEntries } from "./vector-clock.js";

/**
 * What KVRaft's trace events say, so that a send and its receive can be paired across
 * hosts: every message carries the sender's clock, and its id is the sender's host and
 * own count at the send (`HOST#n`), which is unique in a run. Event lines read
 *
 *   send KIND to=HOST msg=HOST#n [req=ID] [details...]
 *   recv KIND from=HOST msg=HOST#n [req=ID] [details...]
 *
 * and any other line is a local event (`apply`, `commit`, `elected`, ...). Pure.
 */

/** The id of a message sent by `host` whose send event has `clock`. */
export function messageId(host: string, clock: ClockEntries): string {
  return `${host}#${clock[host] ?? 0}`;
}

export interface MessageEventFields {
  /** A short name of the message: a Raft message type, a client operation, `forward`, `reply`. */
  readonly kind: string;
  /** The other host: the receiver of a send, the sender of a receive. */
  readonly peer: string;
  /** `messageId` of the send. */
  readonly messageId: string;
  /** The request this message serves, end to end (client → follower → leader → apply → reply). */
  readonly requestId?: string;
  /** Free text after the fields (`term=3 index=12`). */
  readonly details?: string;
}

export function sendEventText(fields: MessageEventFields): string {
  return eventText("send", "to", fields);
}

export function receiveEventText(fields: MessageEventFields): string {
  return eventText("recv", "from", fields);
}

function eventText(verb: string, peerField: string, fields: MessageEventFields): string {
  const parts = [verb, fields.kind, `${peerField}=${fields.peer}`, `msg=${fields.messageId}`];
  if (fields.requestId !== undefined) parts.push(`req=${fields.requestId}`);
  if (fields.details !== undefined && fields.details !== "") parts.push(fields.details);
  return parts.join(" ");
}

export interface ParsedMessageEvent extends MessageEventFields {
  readonly direction: "send" | "recv";
}

const MESSAGE_EVENT = /^(send|recv) (\S+) (?:to|from)=(\S+) msg=(\S+)(?: req=(\S+))?(?: (.*))?$/;

/** The fields of a send or receive event's text; undefined for a local event. */
export function parseMessageEvent(text: string): ParsedMessageEvent | undefined {
  const match = MESSAGE_EVENT.exec(text);
  if (match === null) return undefined;
  const [, direction, kind, peer, id, requestId, details] = match;
  return {
    direction: direction as "send" | "recv", kind: kind ?? "", peer: peer ?? "", messageId: id ?? "",
    ...(requestId === undefined ? {} : { requestId }), ...(details === undefined ? {} : { details }),
  };
}
