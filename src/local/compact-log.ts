/**
 * Turns one line a child wrote (pino JSON, or plain text on stderr) into the short form
 * `kvraft local` streams, e.g. "leader in term 3". Pure, so the wording is tested
 * without processes. Returns undefined for lines not worth a person's attention.
 */

/** A longer line is cut: the full detail stays available by running the member alone. */
export const COMPACT_LINE_CHARS_MAX = 300;

/** pino's numeric levels. */
const LEVEL_INFO = 30;
const LEVEL_WARN = 40;
const LEVEL_ERROR = 50;

const RAFT_ROLES = new Set(["leader", "follower", "candidate", "pre-candidate"]);

type Fields = Record<string, unknown>;

export function compactLine(line: string): string | undefined {
  const trimmed = line.trim();
  if (trimmed === "") return undefined;
  const fields = parseObject(trimmed);
  if (fields === undefined || typeof fields.msg !== "string") return cut(trimmed);
  const level = typeof fields.level === "number" ? fields.level : LEVEL_INFO;
  if (level < LEVEL_INFO) return undefined;
  const text = describe(fields, fields.msg);
  if (level >= LEVEL_ERROR) return cut(`error: ${text}${errorDetail(fields)}`);
  if (level >= LEVEL_WARN) return cut(`warn: ${text}`);
  return cut(text);
}

function describe(fields: Fields, msg: string): string {
  const { role, term, leader } = fields;
  if (typeof role === "string" && RAFT_ROLES.has(role) && typeof term === "number") {
    if (role === "leader") return `leader in term ${term}`;
    return typeof leader === "number" && leader > 0 ? `${role} in term ${term}, leader m${leader}` : `${role} in term ${term}, no leader yet`;
  }
  if (/ serving: /.test(msg) && typeof fields.http === "number") {
    return `serving: http :${fields.http}, memcached :${String(fields.memcached)}, peer :${String(fields.peer)}`;
  }
  const event = fields.event;
  if (typeof event === "object" && event !== null) {
    const { type, index } = event as Fields;
    if (type === "snapshot-saved" && typeof index === "number") return `snapshot saved at index ${index}`;
    if (type === "snapshot-installed" && typeof index === "number") return `snapshot installed from the leader at index ${index}`;
    return `${msg}${eventContext(event as Fields)}`;
  }
  return msg;
}

/** Which peer and stage a transport event is about: the part of it that tells one from another. */
function eventContext(event: Fields): string {
  const parts = [
    ...(typeof event.peerId === "number" && event.peerId > 0 ? [`m${event.peerId}`] : []),
    ...(typeof event.stage === "string" ? [event.stage] : []),
    ...(typeof event.reason === "string" ? [event.reason] : []),
  ];
  return parts.length === 0 ? "" : ` (${parts.join(", ")})`;
}

function errorDetail(fields: Fields): string {
  const err = fields.err;
  if (typeof err !== "object" || err === null) return "";
  const message = (err as Fields).message;
  return typeof message === "string" && !String(fields.msg).includes(message) ? ` (${message})` : "";
}

function parseObject(text: string): Fields | undefined {
  if (!text.startsWith("{")) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Fields) : undefined;
  } catch {
    return undefined;
  }
}

function cut(text: string): string {
  return text.length <= COMPACT_LINE_CHARS_MAX ? text : `${text.slice(0, COMPACT_LINE_CHARS_MAX - 1)}…`;
}

/**
 * Collapses a line repeated back to back by the same child (a member retrying a peer
 * that is down says so every few hundred ms) into the first one plus a count, shown
 * when that child says something else.
 */
export class RepeatFilter {
  private readonly last = new Map<string, { text: string; repeats: number }>();

  /** The lines to print for `text` from `source`, in order (none while it repeats). */
  accept(source: string, text: string): string[] {
    const previous = this.last.get(source);
    if (previous !== undefined && previous.text === text) {
      previous.repeats += 1;
      return [];
    }
    this.last.set(source, { text, repeats: 0 });
    return previous === undefined || previous.repeats === 0 ? [text] : [`(its previous line repeated ${previous.repeats} more times)`, text];
  }
}
