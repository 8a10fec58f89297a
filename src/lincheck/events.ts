/**
 * The call and return events of one key's operations, as a doubly linked list that the
 * search edits in place: `lift` takes an operation's two events out when it is
 * linearized, `unlift` puts them back when the search backtracks. Lifts and unlifts
 * happen in stack order, which is what lets a removed node keep its own links and be
 * relinked without a search (as in Knuth's dancing links).
 */

/** What the list needs of an operation. */
export interface EventTimes {
  readonly callTime: number;
  readonly returnTime: number;
}

/**
 * The event list, as arrays indexed by node: node 0 is the head sentinel and node
 * `2n + 1` the tail sentinel; nodes in between are events in time order.
 */
export interface EventList {
  readonly next: Int32Array;
  readonly prev: Int32Array;
  /** The operation id of each event node (-1 for the sentinels). */
  readonly operationOf: Int32Array;
  /** 1 for a call event, 0 for a return event or a sentinel. */
  readonly isCall: Uint8Array;
  readonly callNodeOf: Int32Array;
  readonly returnNodeOf: Int32Array;
}

interface Event {
  readonly time: number;
  readonly isCall: boolean;
  readonly id: number;
}

/**
 * Orders events by time. At equal times calls come first, so an operation called at the
 * instant another returned counts as overlapping it: with clocks of finite resolution the
 * two events may have happened in either order, and the checker must not report a
 * violation that a finer clock would have shown to be none.
 */
function compareEvents(a: Event, b: Event): number {
  if (a.time !== b.time) return a.time < b.time ? -1 : 1;
  if (a.isCall !== b.isCall) return a.isCall ? -1 : 1;
  return a.id - b.id; // Any fixed order will do; this one makes the search deterministic.
}

export function buildEventList(operations: readonly EventTimes[]): EventList {
  const n = operations.length;
  const events: Event[] = [];
  operations.forEach((operation, id) => {
    events.push({ time: operation.callTime, isCall: true, id });
    events.push({ time: operation.returnTime, isCall: false, id });
  });
  events.sort(compareEvents);
  const nodeCount = 2 * n + 2;
  const list: EventList = {
    next: new Int32Array(nodeCount),
    prev: new Int32Array(nodeCount),
    operationOf: new Int32Array(nodeCount).fill(-1),
    isCall: new Uint8Array(nodeCount),
    callNodeOf: new Int32Array(n),
    returnNodeOf: new Int32Array(n),
  };
  for (let node = 0; node < nodeCount; node++) {
    list.next[node] = node + 1;
    list.prev[node] = node - 1;
  }
  events.forEach((event, index) => {
    const node = index + 1;
    list.operationOf[node] = event.id;
    list.isCall[node] = event.isCall ? 1 : 0;
    if (event.isCall) list.callNodeOf[event.id] = node;
    else list.returnNodeOf[event.id] = node;
  });
  return list;
}

function unlink(list: EventList, node: number): void {
  list.next[list.prev[node]!] = list.next[node]!;
  list.prev[list.next[node]!] = list.prev[node]!;
}

/** Reinserts a node unlinked last-in-first-out: its own prev/next were left intact. */
function relink(list: EventList, node: number): void {
  list.next[list.prev[node]!] = node;
  list.prev[list.next[node]!] = node;
}

export function lift(list: EventList, id: number): void {
  unlink(list, list.callNodeOf[id]!);
  unlink(list, list.returnNodeOf[id]!);
}

export function unlift(list: EventList, id: number): void {
  relink(list, list.returnNodeOf[id]!);
  relink(list, list.callNodeOf[id]!);
}
