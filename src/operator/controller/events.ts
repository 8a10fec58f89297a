import { randomBytes } from "node:crypto";
import type { KubeObject } from "../types.js";
import type { KubeRest } from "./kube-rest.js";
import { collectionPath, objectPath, resourceTypeOf } from "./resources.js";

export type EventType = "Normal" | "Warning";

export interface RecordedEvent {
  readonly type: EventType;
  readonly reason: string;
  readonly message: string;
}

/** Repeats of one event remembered for folding into a count; older ones are forgotten. */
const REMEMBERED_EVENTS_MAX = 1_000;
const EVENT_TYPE = resourceTypeOf("v1", "Event");

/**
 * Records core/v1 Events on a cluster (what `kubectl describe kvr` shows). A repeat of
 * the same reason and message on the same object bumps the count of the first Event
 * instead of creating another, as kubectl's own recorder does. Recording never fails a
 * reconcile: an Event that cannot be written is logged and dropped.
 */
export class EventRecorder {
  private readonly seen = new Map<string, { name: string; count: number }>();

  constructor(
    private readonly rest: KubeRest,
    private readonly component: string,
    private readonly instance: string,
    private readonly onError: (error: unknown, event: RecordedEvent) => void,
  ) {}

  async record(object: KubeObject, event: RecordedEvent): Promise<void> {
    const namespace = object.metadata.namespace ?? "default";
    const key = `${object.metadata.uid ?? ""}/${event.type}/${event.reason}/${event.message}`;
    const now = new Date().toISOString();
    try {
      const previous = this.seen.get(key);
      if (previous !== undefined) {
        previous.count++;
        await this.rest.request("PATCH", objectPath(EVENT_TYPE, previous.name, namespace), {
          body: { count: previous.count, lastTimestamp: now },
          contentType: "application/merge-patch+json",
        });
        return;
      }
      const name = `${object.metadata.name}.${Date.now().toString(16)}${randomBytes(3).toString("hex")}`;
      await this.rest.request("POST", collectionPath(EVENT_TYPE, namespace), {
        body: {
          apiVersion: "v1",
          kind: "Event",
          metadata: { name, namespace },
          involvedObject: {
            apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name, namespace,
            uid: object.metadata.uid, resourceVersion: object.metadata.resourceVersion,
          },
          type: event.type,
          reason: event.reason,
          message: event.message.slice(0, 1024),
          source: { component: this.component },
          reportingComponent: this.component,
          reportingInstance: this.instance,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
      this.remember(key, name);
    } catch (error) {
      // The event may have expired (events live an hour): start a fresh one next time.
      this.seen.delete(key);
      this.onError(error, event);
    }
  }

  private remember(key: string, name: string): void {
    if (this.seen.size >= REMEMBERED_EVENTS_MAX) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    this.seen.set(key, { name, count: 1 });
  }
}
