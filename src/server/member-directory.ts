import type { NodeId } from "../raft/types.js";
import type { ServerConfig } from "./config.js";
import type { MemberAddresses } from "../protocol/status.js";

/**
 * Where each member's endpoints are. This member's own come from its flags (and the
 * ports it bound); others' arrive in the peer transport's handshake, where each member
 * advertises its addresses. The peer addresses from --peers are known from the start.
 */
export class MemberDirectory {
  private readonly known = new Map<NodeId, MemberAddresses>();
  private self: MemberAddresses;

  constructor(private readonly config: ServerConfig) {
    for (const [id, endpoint] of config.peers) this.known.set(id, { peer: `${endpoint.host}:${endpoint.port}` });
    this.self = this.withAdvertised({});
  }

  /** Binds this member's actual addresses (ports may have been picked at start). */
  setSelf(bound: MemberAddresses): void {
    this.self = this.withAdvertised({ ...this.self, ...bound });
  }

  selfAdvertise(): Record<string, string> {
    return Object.fromEntries(Object.entries(this.self).filter((entry): entry is [string, string] => typeof entry[1] === "string"));
  }

  learn(id: NodeId, advertise: Readonly<Record<string, string>>): void {
    const current = this.known.get(id) ?? {};
    const next: Record<string, string> = { ...current } as Record<string, string>;
    for (const key of ["peer", "client", "http", "memcached", "admin"] as const) {
      const value = advertise[key];
      if (typeof value === "string" && value.length > 0) next[key] = value;
    }
    this.known.set(id, next);
  }

  addresses(id: NodeId): MemberAddresses {
    if (id === this.config.id) return this.self;
    return this.known.get(id) ?? {};
  }

  private withAdvertised(base: MemberAddresses): MemberAddresses {
    const a = this.config.advertise;
    return {
      ...base,
      ...(a.peer === undefined ? {} : { peer: a.peer }),
      ...(a.client === undefined ? {} : { client: a.client }),
      ...(a.http === undefined ? {} : { http: a.http }),
      ...(a.memcached === undefined ? {} : { memcached: a.memcached }),
      ...(a.admin === undefined ? {} : { admin: a.admin }),
    };
  }
}
