import { httpBase } from "./address.js";
import { AdminError, UnavailableError } from "./errors.js";
import { describeAuthRefusal, httpCall, httpTarget } from "../security/https-call.js";
import type { ClientTlsOptions } from "../security/client-credentials.js";

export interface MemberList {
  readonly clusterId: string;
  readonly voters: readonly number[];
  readonly learners: readonly number[];
  readonly leaderId: number;
}

export interface MembershipChange {
  /** False when the cluster already had the requested shape (the calls are idempotent). */
  readonly changed: boolean;
  readonly configIndex: number;
  readonly voters: readonly number[];
  readonly learners: readonly number[];
}

export interface AdminOptions {
  /** A member's HTTP address (host:port): where admin calls go; members proxy them to the leader. */
  readonly httpAddress: () => Promise<string>;
  readonly token: string | undefined;
  /** With it, admin calls go over https (a bare host:port included). */
  readonly tls?: ClientTlsOptions | undefined;
  readonly deadlineMs: number;
}

/**
 * The admin verbs, over a member's HTTP API (/v1/admin/..., see the server's
 * admin-routes.ts): membership and leadership. They are rare and idempotent, so they
 * use plain HTTP instead of the binary protocol.
 */
export class AdminApi {
  constructor(private readonly options: AdminOptions) {}

  memberList(): Promise<MemberList> {
    return this.call("GET", "/v1/admin/members") as Promise<MemberList>;
  }

  addLearner(memberId: number): Promise<MembershipChange> {
    return this.call("POST", `/v1/admin/members/${memberPath(memberId)}/learner`, {}) as Promise<MembershipChange>;
  }

  promote(memberId: number): Promise<MembershipChange> {
    return this.call("POST", `/v1/admin/members/${memberPath(memberId)}/promote`, {}) as Promise<MembershipChange>;
  }

  removeMember(memberId: number): Promise<MembershipChange> {
    return this.call("DELETE", `/v1/admin/members/${memberPath(memberId)}`) as Promise<MembershipChange>;
  }

  /** Moves leadership to `to`, or (without it) to the most up-to-date follower. */
  transferLeadership(to?: number): Promise<{ readonly transferringTo: number }> {
    return this.call("POST", "/v1/admin/transfer-leadership", to === undefined ? {} : { to: memberPath(to) }) as Promise<{ transferringTo: number }>;
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const address = await this.options.httpAddress();
    const base = /^https?:\/\//i.test(address) || this.options.tls === undefined ? httpBase(address) : `https://${address}`;
    let response: Response;
    try {
      response = await adminFetch(`${base}${path}`, method, body, this.options);
    } catch (error) {
      throw new UnavailableError(`${method} ${base}${path} failed: ${(error as Error).message}`, { cause: error });
    }
    const json = (await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    if (!response.ok) {
      const refusal = describeAuthRefusal(response.status, json.error?.message ?? "", this.options.token === undefined ? undefined : "the adminToken (or token) option");
      throw new AdminError(response.status, json.error?.code ?? `HTTP_${response.status}`, `${method} ${path}: ${refusal ?? json.error?.message ?? `answered ${response.status}`}`);
    }
    return json;
  }
}

function memberPath(memberId: number): number {
  if (!Number.isSafeInteger(memberId) || memberId < 1) throw new RangeError(`a member id is a whole number >= 1, got ${memberId}`);
  return memberId;
}

/**
 * One admin API request: JSON body when given, the bearer token when there is one, and a
 * deadline. Shared by the CLI's client and the operator, which each turn failures into
 * their own errors. An https:// URL is checked against `tls.ca` (node:https: fetch
 * cannot be given a CA); the answer is a fetch Response either way.
 */
export async function adminFetch(url: string, method: string, body: unknown, options: { readonly token?: string | undefined; readonly deadlineMs: number; readonly tls?: ClientTlsOptions | undefined }): Promise<Response> {
  const parsed = new URL(url);
  const target = httpTarget(`${parsed.protocol}//${parsed.host}`, `${parsed.pathname}${parsed.search}`, options.tls);
  const answer = await httpCall(target, {
    method, timeoutMs: options.deadlineMs, tls: options.tls, token: options.token,
    ...(body === undefined ? {} : { body: new TextEncoder().encode(JSON.stringify(body)), headers: { "content-type": "application/json" } }),
  });
  // A Response cannot carry a body with these statuses.
  const bodyless = answer.status === 204 || answer.status === 304;
  return new Response(bodyless ? null : answer.body, { status: answer.status, headers: answer.headers });
}
