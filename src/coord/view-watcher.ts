import type { ClusterView } from "./cluster-view.js";
import type { Registry } from "./registry.js";
import type { CoordEvent } from "./view-changes.js";
import { viewChanges } from "./view-changes.js";
import type { ViewHistory } from "./view-history.js";
import type { ViewStream } from "./view-stream.js";

export interface ViewWatcherOptions {
  readonly registry: Registry;
  readonly history: ViewHistory;
  readonly stream: ViewStream;
  /** An unchanged view is sent again after this long, so "last heard" ages move. */
  readonly refreshMs: number;
  readonly onEvent?: (event: CoordEvent) => void;
}

/**
 * Reads the view and tells everyone who follows it what changed: the program (typed
 * events), the history ring, and the status streams. It is called after every accepted
 * report (a new leader shows at once) and on the coordinator's watch tick (time alone
 * makes a member unreachable; no report says so).
 */
export class ViewWatcher {
  private shown: ClusterView[] = [];
  /** The view last sent to the streams without its ages, to send again only on a change. */
  private sentShape = "";
  private sentAtMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: ViewWatcherOptions) {}

  look(nowMs: number): void {
    const { registry, history, stream, onEvent } = this.options;
    registry.forget(nowMs);
    const next = registry.view(nowMs);
    const events = viewChanges(this.shown, next);
    this.shown = next;
    if (onEvent !== undefined) for (const event of events) onEvent(event);
    const added = history.record(events, nowMs);
    if (stream.subscriberCount === 0) {
      // Nobody follows: the next reader starts from a snapshot anyway.
      this.sentShape = "";
      return;
    }
    stream.publishChanges(added);
    const shape = JSON.stringify(next.map(withoutAges));
    if (shape !== this.sentShape || nowMs - this.sentAtMs >= this.options.refreshMs) {
      stream.publishView({ atMs: nowMs, clusters: next });
      this.sentShape = shape;
      this.sentAtMs = nowMs;
    }
  }
}

/** The view minus what changes with every heartbeat by itself. */
function withoutAges(view: ClusterView): unknown {
  return { ...view, members: view.members.map(({ lastHeartbeatMsAgo: _age, ...rest }) => rest) };
}
