import type { KubeRest } from "./kube-rest.js";
import { isConflict, isNotFound } from "./kube-rest.js";
import type { ElectionTiming, LeaseSpec, Observed } from "./leader-election.js";
import { checkTiming, decide } from "./leader-election.js";
import { collectionPath, objectPath, resourceTypeOf } from "./resources.js";

const LEASE_TYPE = resourceTypeOf("coordination.k8s.io/v1", "Lease");

export interface LeaseElectorOptions {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly timing: ElectionTiming;
  readonly onStartedLeading: () => void;
  /** Leadership lost (could not renew in time, or another replica holds the Lease). */
  readonly onStoppedLeading: (why: string) => void;
  readonly onError: (error: unknown) => void;
}

interface LeaseObject {
  readonly metadata: { readonly resourceVersion?: string };
  readonly spec?: LeaseSpec;
}

/**
 * Acquires and renews the Lease every retry period. Writes carry the resourceVersion
 * they read, so two replicas racing for an expired lease cannot both win: the API
 * server refuses the second write with a conflict.
 */
export class LeaseElector {
  private leading = false;
  private lastRenewMs = 0;
  private observed: Observed | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private round: Promise<void> = Promise.resolve();

  constructor(private readonly rest: KubeRest, private readonly options: LeaseElectorOptions) {
    checkTiming(options.timing);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.schedule(0);
  }

  /** Stops campaigning; a leader releases the Lease so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.round;
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.rest.request<LeaseObject>("GET", this.path());
      if (lease.spec?.holderIdentity !== this.options.identity) return;
      await this.rest.request("PUT", this.path(), {
        body: { ...this.leaseBody({ ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1 }), metadata: { ...this.meta(), resourceVersion: lease.metadata.resourceVersion } },
      });
    } catch (error) {
      this.options.onError(error);
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.round = this.tryAcquireOrRenew().finally(() => this.schedule(this.options.timing.retryPeriodMs));
    }, delayMs);
  }

  private async tryAcquireOrRenew(): Promise<void> {
    const now = Date.now();
    try {
      const lease = await this.readLease();
      const { decision, observed } = decide({
        lease: lease?.spec ?? (lease === undefined ? undefined : {}), identity: this.options.identity,
        leaseDurationSeconds: this.options.timing.leaseDurationSeconds, nowMs: now, previous: this.observed,
      });
      this.observed = observed;
      if (decision.action === "follow") {
        if (this.leading) this.stepDown(`the Lease is held by ${decision.holder}`);
        return;
      }
      if (decision.action === "create") {
        await this.rest.request("POST", collectionPath(LEASE_TYPE, this.options.namespace), { body: this.leaseBody(decision.spec) });
      } else {
        await this.rest.request("PUT", this.path(), {
          body: { ...this.leaseBody(decision.spec), metadata: { ...this.meta(), resourceVersion: lease?.metadata.resourceVersion } },
        });
      }
      this.lastRenewMs = now;
      if (!this.leading && !this.stopped) {
        this.leading = true;
        this.options.onStartedLeading();
      }
    } catch (error) {
      // A conflict is another replica writing first: the normal way to lose a race, not an error.
      if (!isConflict(error)) this.options.onError(error);
      if (this.leading && Date.now() - this.lastRenewMs > this.options.timing.renewDeadlineMs) {
        this.stepDown(`could not renew the Lease for ${this.options.timing.renewDeadlineMs} ms`);
      }
    }
  }

  private stepDown(why: string): void {
    this.leading = false;
    this.options.onStoppedLeading(why);
  }

  private async readLease(): Promise<LeaseObject | undefined> {
    try {
      return await this.rest.request<LeaseObject>("GET", this.path());
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private path(): string {
    return objectPath(LEASE_TYPE, this.options.name, this.options.namespace);
  }

  private meta(): { name: string; namespace: string } {
    return { name: this.options.name, namespace: this.options.namespace };
  }

  private leaseBody(spec: LeaseSpec): Record<string, unknown> {
    return { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: this.meta(), spec };
  }
}
