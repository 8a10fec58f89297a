/**
 * Wakes idle watches when the next entry applies, with no timer: watch events come only
 * from applied entries (a snapshot installed from the leader is followed by the same
 * report of what applied), so nothing else can give a watch something new to send.
 *
 * All of a member's watches share one waiter on the Replica, so an idle member holds one
 * waiter (counted by appliedWaitersMax) however many watches are open; each watch adds one
 * abort listener to its own signal while it waits and removes it when the wait ends.
 */
export class ApplyWakeup {
  private next: { readonly index: number; readonly applied: Promise<void> } | undefined;

  constructor(
    private readonly waitApplied: (index: number) => Promise<void>,
    private readonly appliedIndex: () => number,
  ) {}

  /**
   * Resolves once an entry past the index applied now has applied, or at once when
   * `signal` aborts; rejects when the member stops (or too many wait: BusyError).
   */
  async afterNextApply(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const applied = this.sharedWait(this.appliedIndex() + 1);
    let onAbort = (): void => undefined;
    const aborted = new Promise<void>((resolve) => {
      onAbort = resolve;
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      await Promise.race([applied, aborted]);
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  private sharedWait(index: number): Promise<void> {
    if (this.next?.index === index) return this.next.applied;
    const next = { index, applied: this.waitApplied(index) };
    // A refused or failed wait is not kept for the next watch (which asks again); handled here
    // too, so a rejection no watch is awaiting any more is never unhandled.
    next.applied.catch(() => {
      if (this.next === next) this.next = undefined;
    });
    this.next = next;
    return next.applied;
  }
}
