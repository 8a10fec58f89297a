import type { SeededRandom } from "../../src/raft/random.js";
import { waitFor } from "../support/wait.js";
import type { NetnsCluster } from "./cluster.js";
import type { NetnsNetwork } from "./netns.js";
import { shuffle } from "./seeded.js";

/** Every fault the nemesis injects; the figures count each (membership counts its steps). */
export const FAULT_KINDS = [
  "kill", "kill-leader", "pause", "partition-minority", "partition-leader", "partition-one-way",
  "loss", "slow-link", "transfer-leadership", "membership", "coordinator-kill",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
export const MEMBERSHIP_STEPS = ["member-remove", "member-add-learner", "member-promote"] as const;
export type FaultCounter = Record<string, number>;

/** How long a fault stays before it is healed, and the quiet gap after it. */
const ACTIVE_MS = [1000, 3500] as const;
const QUIET_MS = [500, 1500] as const;
/** A membership change refused (quorum at risk, a change in flight) is retried until this. */
const ADMIN_RETRY_MS = 15_000;

/**
 * Injects one fault at a time, chosen from the seed: the kinds are dealt in a seeded
 * shuffled order, again and again, so a run of 30 s or more meets every kind. After each
 * fault it heals (network, paused and killed processes, the coordinator) and waits a
 * quiet gap. A membership cycle left half done (its steps can be refused) is finished in
 * `healAll`, so the cluster ends with every server a voter.
 */
export class Nemesis {
  readonly counts: FaultCounter = {};
  readonly problems: string[] = [];
  private deck: FaultKind[] = [];
  /** A member removed from the configuration and not yet promoted back. */
  private outsider: number | undefined;

  constructor(
    private readonly cluster: NetnsCluster,
    private readonly network: NetnsNetwork,
    private readonly random: SeededRandom,
    private readonly log: (line: string) => void,
    /** The kinds dealt; all of them unless a test narrows it. */
    private readonly kinds: readonly FaultKind[] = FAULT_KINDS,
  ) {
    if (kinds.length === 0) throw new RangeError("the nemesis needs at least one fault kind");
  }

  /** Faults until `deadline` (Date.now() ms), each healed before the next. */
  async run(deadline: number): Promise<void> {
    while (Date.now() < deadline) {
      const kind = this.nextKind();
      const active = this.between(ACTIVE_MS);
      try {
        const heal = await this.inject(kind);
        await this.sleep(active);
        await heal();
      } catch (error) {
        this.problems.push(`${kind}: ${(error as Error).message}`);
        this.log(`fault ${kind} could not be completed: ${(error as Error).message}`);
      }
      await this.healAll();
      await this.sleep(this.between(QUIET_MS));
    }
  }

  /** Removes every fault: network, paused and dead processes, the coordinator, a half-done membership cycle. */
  async healAll(): Promise<void> {
    await this.network.heal();
    for (const id of [...this.cluster.paused]) this.cluster.resume(id);
    for (const id of this.cluster.options.serverIds) {
      if (!this.cluster.running(id) && id !== this.outsider) this.cluster.start(id);
    }
    if (!this.cluster.coordinatorRunning()) this.cluster.startCoordinator();
    if (this.outsider !== undefined) await this.readmit(this.outsider);
  }

  private nextKind(): FaultKind {
    if (this.deck.length === 0) {
      this.deck = shuffle([...this.kinds], this.random);
    }
    return this.deck.pop() as FaultKind;
  }

  private count(kind: string): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
  }

  /** Applies the fault; returns what undoes it. */
  private async inject(kind: FaultKind): Promise<() => Promise<void>> {
    const ids = this.cluster.options.serverIds;
    const leader = await this.cluster.leader();
    const anyServer = this.pick(ids);
    const nothing = async (): Promise<void> => undefined;
    let heal = nothing;
    switch (kind) {
      case "kill":
      case "kill-leader": {
        const victim = kind === "kill-leader" && leader !== undefined ? leader : anyServer;
        await this.cluster.kill(victim);
        heal = async () => this.cluster.start(victim);
        this.log(`SIGKILL server ${victim}${victim === leader ? " (the leader)" : ""}`);
        break;
      }
      case "pause": {
        const victim = this.random.int(2) === 0 && leader !== undefined ? leader : anyServer;
        this.cluster.pause(victim);
        heal = async () => this.cluster.resume(victim);
        this.log(`SIGSTOP server ${victim}${victim === leader ? " (the leader)" : ""}`);
        break;
      }
      case "partition-minority":
      case "partition-leader": {
        const minoritySize = Math.floor((ids.length - 1) / 2);
        const shuffled = shuffle(ids.filter((id) => id !== leader), this.random);
        const minority = kind === "partition-leader" && leader !== undefined
          ? [leader, ...shuffled.slice(0, minoritySize - 1)]
          : shuffled.slice(0, minoritySize);
        const majority = ids.filter((id) => !minority.includes(id));
        await this.network.partition(minority, majority);
        this.log(`partition [${minority.join(",")}] | [${majority.join(",")}]${leader !== undefined && minority.includes(leader) ? " (leader in the minority)" : ""}`);
        break;
      }
      case "partition-one-way": {
        if (leader !== undefined && this.random.int(2) === 0) {
          for (const id of ids) if (id !== leader) await this.network.dropFrom(leader, id);
          this.log(`one-way: leader ${leader} hears nobody (others still hear it)`);
        } else {
          const from = leader ?? anyServer;
          const to = this.pick(ids.filter((id) => id !== from));
          await this.network.dropFrom(to, from);
          this.log(`one-way: server ${to} stops hearing server ${from}`);
        }
        break;
      }
      case "loss": {
        for (const id of shuffle([...ids], this.random).slice(0, 1 + this.random.int(2))) {
          const probability = 0.1 + this.random.int(25) / 100;
          await this.network.loss(id, probability);
          this.log(`loss ${Math.round(probability * 100)}% into server ${id}`);
        }
        break;
      }
      case "slow-link": {
        for (const id of shuffle([...ids], this.random).slice(0, 1 + this.random.int(2))) {
          const rate = 64 + this.random.int(200);
          await this.network.slow(id, rate);
          this.log(`slow link out of server ${id}: ${rate} kbit/s`);
        }
        break;
      }
      case "transfer-leadership": {
        const target = this.random.int(2) === 0 ? undefined : this.pick(ids.filter((id) => id !== leader));
        const answer = await this.cluster.admin("POST", "/v1/admin/transfer-leadership", target === undefined ? {} : { to: target });
        if (answer.status !== 200) throw new Error(`transfer refused: HTTP ${answer.status} ${JSON.stringify(answer.json)}`);
        this.log(`leadership transfer from ${leader ?? "?"} to ${JSON.stringify(answer.json)}`);
        break;
      }
      case "membership": {
        const candidates = ids.filter((id) => id !== leader && this.cluster.running(id));
        if (candidates.length === 0) throw new Error("no follower to remove");
        await this.removeAndReadmit(this.pick(candidates));
        break;
      }
      case "coordinator-kill":
        await this.cluster.killCoordinator();
        heal = async () => this.cluster.startCoordinator();
        this.log("SIGKILL the coordinator");
        break;
    }
    this.count(kind);
    return heal;
  }

  /** Removes a follower, wipes it, starts it empty, adds it back as a learner and promotes it. */
  private async removeAndReadmit(id: number): Promise<void> {
    await this.adminUntilAccepted("DELETE", `/v1/admin/members/${id}`);
    this.outsider = id;
    this.count("member-remove");
    this.log(`member ${id} removed`);
    await this.cluster.kill(id);
    await this.cluster.wipe(id);
    this.cluster.start(id, ["--initial-cluster-state", "existing"]);
    await this.readmit(id);
  }

  private async readmit(id: number): Promise<void> {
    if (!this.cluster.running(id)) this.cluster.start(id, ["--initial-cluster-state", "existing"]);
    const added = await this.adminUntilAccepted("POST", `/v1/admin/members/${id}/learner`);
    if (added) this.count("member-add-learner");
    await waitFor(`member ${id} to catch up as a learner`, async () => {
      const [status, leader] = await Promise.all([this.cluster.status(id), this.leaderStatus()]);
      return status.membership !== "none" && !status.nonVoting && status.appliedIndex >= leader.commitIndex - 50 ? true : undefined;
    }, 30_000, 200);
    const promoted = await this.adminUntilAccepted("POST", `/v1/admin/members/${id}/promote`);
    if (promoted) this.count("member-promote");
    this.outsider = undefined;
    this.log(`member ${id} back as a learner and promoted`);
  }

  private async leaderStatus(): Promise<{ commitIndex: number }> {
    const leader = await this.cluster.leader();
    if (leader === undefined) throw new Error("no leader");
    return this.cluster.status(leader);
  }

  /** True when the call changed the configuration, false when it was already so. */
  private async adminUntilAccepted(method: "POST" | "DELETE", path: string): Promise<boolean> {
    const answer = await waitFor(`${method} ${path} to be accepted`, async () => {
      const reply = await this.cluster.admin(method, path);
      return reply.status === 200 ? reply : undefined;
    }, ADMIN_RETRY_MS, 250);
    return (answer.json as { changed?: boolean } | undefined)?.changed !== false;
  }

  private pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("invariant: picking from nothing");
    return items[this.random.int(items.length)] as T;
  }

  private between([low, high]: readonly [number, number]): number {
    return low + this.random.int(high - low + 1);
  }

  /** The nemesis's own schedule (how long a fault lasts): not synchronisation. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}
