import { adminFetch } from "../../client/admin.js";
import type { NodeId } from "../../raft/types.js";
import type { ServerStatus } from "../../protocol/status.js";
import type { AdminApi, MemberProgressView, MembershipView } from "../types.js";
import { httpsAdminFetch } from "./admin-https.js";

export interface HttpAdminOptions {
  /**
   * Base URLs of members' HTTP APIs, best first (members proxy admin changes to the
   * leader). A call goes to the first that answers: admin calls are idempotent, so trying
   * the next after a connection failure is safe.
   */
  readonly baseUrls: readonly string[];
  /** The cluster's admin token (from its Secret); undefined sends none. */
  readonly token: string | undefined;
  /** The cluster id (the CR's uid) every call is checked against: never change another cluster. */
  readonly clusterId: string;
  readonly deadlineMs: number;
  /**
   * The cluster's CA bundle when its members serve TLS: https:// URLs then trust only it,
   * and a member's certificate must name a member of `clusterId`.
   */
  readonly caPem?: string;
}

export class AdminCallError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = "AdminCallError";
  }
}

interface MemberList {
  readonly clusterId: string;
  readonly voters: readonly number[];
  readonly learners: readonly number[];
  readonly leaderId: number;
}

/**
 * The servers' admin API over HTTP, as the operator uses it (src/server/http/admin-routes.ts
 * is the other side). Any member answers /v1/admin/members (and proxies changes to the
 * leader), but only the leader's /v1/status is the truth: its configuration is the
 * committed one and it alone knows each follower's health and lag. A member that lost its
 * disk, or lags, may still show an old configuration, so the view is the leader's.
 */
export class HttpAdminApi implements AdminApi {
  constructor(private readonly options: HttpAdminOptions) {}

  async members(): Promise<MembershipView> {
    const { base, value: list } = await this.callAny<MemberList>("GET", "/v1/admin/members");
    this.checkCluster(base, list.clusterId);
    const leader = await this.leaderStatus([base, ...this.options.baseUrls.filter((b) => b !== base)]);
    if (leader === undefined) {
      // Members answer but none is or reaches a leader: no one can say who is healthy; the planner waits.
      // A member that came back empty knows no configuration: the view is one that has it.
      const known = list.voters.length > 0 ? list : await this.configuredList(base) ?? list;
      const member = (id: NodeId, role: "voter" | "learner") => ({ id, role, healthy: false });
      return { leaderId: 0, term: 0, commitIndex: 0, members: sortById([...known.voters.map((id) => member(id, "voter")), ...known.learners.map((id) => member(id, "learner"))]) };
    }
    this.checkCluster(base, leader.clusterId);
    // The leader's own configuration: a member that lost its disk or lags may answer an old one.
    return {
      leaderId: leader.memberId,
      term: leader.term,
      commitIndex: leader.commitIndex,
      members: sortById(leader.members.map((m) => ({
        id: m.id,
        role: m.membership,
        healthy: m.id === leader.memberId || m.active === true,
        ...(m.lag === undefined ? {} : { lag: m.lag }),
        ...(m.matchIndex === undefined ? {} : { matchIndex: m.matchIndex }),
        ...(m.nonVoting === true ? { nonVoting: true } : {}),
      }))),
    };
  }

  /** The member list of the first other member that knows a configuration (it has voters). */
  private async configuredList(answered: string): Promise<MemberList | undefined> {
    for (const base of this.options.baseUrls.filter((b) => b !== answered)) {
      const list = await this.call<MemberList>(base, "GET", "/v1/admin/members").catch(() => undefined);
      if (list !== undefined && list.clusterId === this.options.clusterId && list.voters.length > 0) return list;
    }
    return undefined;
  }

  async addLearner(id: NodeId): Promise<void> {
    await this.change("POST", `/v1/admin/members/${memberPath(id)}/learner`);
  }

  async promote(id: NodeId): Promise<void> {
    await this.change("POST", `/v1/admin/members/${memberPath(id)}/promote`);
  }

  async remove(id: NodeId): Promise<void> {
    await this.change("DELETE", `/v1/admin/members/${memberPath(id)}`);
  }

  async transferLeadership(to: NodeId): Promise<void> {
    await this.callAny("POST", "/v1/admin/transfer-leadership", { to: memberPath(to) });
  }

  private async change(method: string, path: string): Promise<void> {
    await this.callAny(method, path, { clusterId: this.options.clusterId });
  }

  /**
   * The leader's own status (it alone knows its followers' progress): asked of each member
   * in turn, and of the leader it names; undefined when none is or reaches a leader.
   */
  private async leaderStatus(bases: readonly string[]): Promise<ServerStatus | undefined> {
    for (const base of bases) {
      let any: ServerStatus;
      try {
        any = await this.call<ServerStatus>(base, "GET", "/v1/status");
      } catch {
        continue;
      }
      if (any.role === "leader") return any;
      const leaderHttp = any.leaderId === 0 ? undefined : any.members.find((m) => m.id === any.leaderId)?.addresses.http;
      if (leaderHttp === undefined) continue;
      try {
        const leader = await this.call<ServerStatus>(leaderHttp.includes("://") ? leaderHttp : `${this.options.caPem === undefined ? "http" : "https"}://${leaderHttp}`, "GET", "/v1/status");
        if (leader.role === "leader") return leader;
      } catch {
        // the named leader is unreachable from here: ask the next member
      }
    }
    return undefined;
  }

  async memberStatuses(): Promise<ReadonlyMap<NodeId, MemberProgressView>> {
    const answers = await Promise.all(this.options.baseUrls.map((base) => this.call<ServerStatus>(base, "GET", "/v1/status").catch(() => undefined)));
    const statuses = new Map<NodeId, MemberProgressView>();
    for (const s of answers) {
      if (s === undefined || s.clusterId !== this.options.clusterId) continue;
      statuses.set(s.memberId, { commitIndex: s.commitIndex, lastIndex: s.lastIndex, term: s.term, nonVoting: s.nonVoting });
    }
    return statuses;
  }

  private checkCluster(base: string, clusterId: string): void {
    if (clusterId !== this.options.clusterId) {
      throw new AdminCallError(409, "CLUSTER_MISMATCH", `the admin API at ${base} belongs to cluster ${clusterId}, not ${this.options.clusterId}: the endpoint reaches another cluster`);
    }
  }

  /** The call on the first member that answers (an HTTP error is an answer; only unreachable moves on). */
  private async callAny<T>(method: string, path: string, body?: unknown): Promise<{ base: string; value: T }> {
    if (this.options.baseUrls.length === 0) throw new AdminCallError(0, "UNAVAILABLE", `${method} ${path}: no member to ask (no server pod exists yet)`);
    const failures: string[] = [];
    for (const base of this.options.baseUrls) {
      try {
        return { base, value: await this.call<T>(base, method, path, body) };
      } catch (error) {
        if (!(error instanceof AdminCallError) || error.code !== "UNAVAILABLE") throw error;
        failures.push(error.message);
      }
    }
    throw new AdminCallError(0, "UNAVAILABLE", `no member answered the admin API: ${failures.join("; ")}`);
  }

  private async call<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
    const url = `${base.replace(/\/+$/, "")}${path}`;
    let response: Response;
    try {
      const caPem = this.options.caPem;
      response = caPem !== undefined && url.startsWith("https://")
        ? await httpsAdminFetch(url, method, body, { ...this.options, tls: { caPem, clusterId: this.options.clusterId } })
        : await adminFetch(url, method, body, this.options);
    } catch (error) {
      throw new AdminCallError(0, "UNAVAILABLE", `${method} ${url} failed: ${(error as Error).message}`);
    }
    const json = (await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    if (!response.ok) {
      throw new AdminCallError(response.status, json.error?.code ?? `HTTP_${response.status}`, `${method} ${url}: ${json.error?.message ?? `answered ${response.status}`}`);
    }
    return json as T;
  }
}

function sortById<T extends { id: number }>(members: T[]): T[] {
  return members.sort((a, b) => a.id - b.id);
}

function memberPath(id: NodeId): number {
  if (!Number.isSafeInteger(id) || id < 1) throw new RangeError(`a member id is a whole number >= 1, got ${id}`);
  return id;
}
