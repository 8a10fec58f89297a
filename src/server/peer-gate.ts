import type { Logger } from "pino";
import type { TraceStamp } from "../trace/index.js";
import type { Message } from "../raft/messages.js";
import type { NodeId } from "../raft/types.js";
import { TlsMaterial } from "../security/tls-material.js";
import {
  type PeerAddress, REFUSE_CODES, type RefuseCode, type TcpTransport, type TransportEvent, type TransportHandlers, type TransportOptions,
} from "../transport/index.js";
import type { ServerConfig } from "./config.js";
import type { MemberDirectory } from "./member-directory.js";
import type { ReplicaMetrics } from "./replica-metrics.js";

/**
 * Who may talk to this member on the peer port, and what is believed of what they say.
 *
 * - With `--peer-cert-file` (ServerConfig.tls.peer) the port is mutual TLS: a caller is
 *   the member its certificate names (transport/peer-tls.ts). Without it a caller is
 *   whoever its HELLO claims to be: kept for tests and loopback, with a warning at start.
 * - Only members (voters and learners of this member's configuration) are accepted
 *   after the handshake, and only their messages are stepped; a message is also checked
 *   at the edge (raft/message-checks.ts) so that nothing a peer sends can break a Raft
 *   invariant. A member whose configuration is still empty (it joined with no data and
 *   has no snapshot yet) accepts any caller the handshake admitted. A member that hears
 *   no leader admits a few callers outside its configuration (GUEST_CONNECTIONS_MAX;
 *   with TLS only proven ones) and takes only a leader's messages from them: the
 *   leader may be a member added while it was away, which it cannot know of before it
 *   has that leader's log.
 * - Endpoints a caller advertises in its HELLO go to the member directory (followers
 *   forward clients there, with the admin token) only from a member the certificate
 *   proved, or in plain mode from a member or an id the directory does not know yet (a
 *   member about to join says where it is): an unknown id never replaces a known entry.
 * - Refusals are logged (sampled: the 1st, 2nd, 4th, 8th... of each reason) and counted
 *   in kvraft_transport_refused_total{reason}, whose reasons are a fixed set.
 */

/** Members not (yet) in the configuration whose announced peer address is kept: enough for a few joining at once. */
export const ANNOUNCED_PEERS_MAX = 16;
/**
 * Inbound connections of callers outside the configuration held at once: a member
 * that hears no leader admits a few, since the leader may be one added while it was
 * away (raft/message-checks.ts). Bounded, so made-up ids cannot take every connection.
 */
export const GUEST_CONNECTIONS_MAX = 4;

export type RefusalReason = RefuseCode | "rejected-message" | "tls-handshake" | "connection-limit";
const REFUSAL_REASONS: readonly RefusalReason[] = [...REFUSE_CODES, "rejected-message", "tls-handshake", "connection-limit"];

export interface PeerGateDeps {
  readonly config: Pick<ServerConfig, "id" | "peers" | "tls">;
  readonly directory: Pick<MemberDirectory, "learn" | "addresses">;
  readonly log: Logger;
  /** The member's Raft, once started: its configuration and its edge checks. */
  readonly raft: () => PeerGateRaft | undefined;
}

/** What the gate asks of the member's Raft (the Replica). */
export interface PeerGateRaft {
  status(): { voters: readonly NodeId[]; learners: readonly NodeId[] };
  refusalOf(m: Message): string | undefined;
  followsNoLiveLeader(): boolean;
  receive(m: Message, stamp?: TraceStamp): void;
  connectionLost(peerId: NodeId): void;
}

export class PeerGate {
  private readonly tls: TlsMaterial | undefined;
  private transport: TcpTransport | undefined;
  private readonly refusals = new Map<RefusalReason, number>(REFUSAL_REASONS.map((reason) => [reason, 0]));
  /** Ids whose peer address was learned while they were not members (bounded by ANNOUNCED_PEERS_MAX). */
  private readonly announced = new Set<NodeId>();
  /** Non-members with an open inbound connection (bounded by GUEST_CONNECTIONS_MAX). */
  private readonly guests = new Set<NodeId>();

  constructor(private readonly deps: PeerGateDeps) {
    const files = deps.config.tls.peer;
    if (files !== undefined && files.trustedCaFile === undefined) {
      // The system's CAs would let any publicly issued certificate with a member URI in.
      throw new RangeError("peer TLS needs the cluster's CA: pass --peer-trusted-ca-file with --peer-cert-file");
    }
    this.tls = files === undefined ? undefined : TlsMaterial.load(files);
    if (this.tls === undefined) {
      deps.log.warn("the peer port is not authenticated (no --peer-cert-file): any process that can reach it and knows the cluster id can act as a member; use plain peers only on loopback or in tests");
    }
  }

  /** The transport's TLS setting and the other members' addresses from --peers. */
  transportOptions(): Pick<TransportOptions, "tls" | "peers"> {
    const { config } = this.deps;
    const peers: PeerAddress[] = [...config.peers].filter(([id]) => id !== config.id).map(([id, endpoint]) => ({ id, ...endpoint }));
    return { ...(this.tls === undefined ? {} : { tls: this.tls }), peers };
  }

  handlers(): TransportHandlers {
    return {
      onMessage: (m, stamp) => this.deps.raft()?.receive(m, stamp),
      refusalOf: (m) => this.deps.raft()?.refusalOf(m),
      isMember: (id) => this.isMember(id),
      admits: (id, authenticated) => this.admits(id, authenticated),
      onEvent: (event) => this.onEvent(event),
    };
  }

  /** The transport this gate serves: it adds peer addresses that members announce. */
  attach(transport: TcpTransport): void {
    this.transport = transport;
  }

  registerMetrics(metrics: ReplicaMetrics): void {
    metrics.labelledCounter("kvraft_transport_refused_total",
      "Peer connections and messages refused: by the handshake (code), by the edge checks (rejected-message), by TLS (tls-handshake).",
      ["reason"], () => [...this.refusals].map(([reason, value]) => ({ labels: { reason }, value })));
  }

  close(): void {
    this.tls?.close();
  }

  /**
   * A voter or learner of the configuration; while there is none (before Raft has
   * started, or a member that joined with no data), an id of the --peers list. Others
   * may still be admitted as guests (`admits`), but get no stats.
   */
  isMember(id: NodeId): boolean {
    const raft = this.deps.raft();
    if (raft === undefined) return this.deps.config.peers.has(id);
    const { voters, learners } = raft.status();
    if (voters.length === 0 && learners.length === 0) return this.deps.config.peers.has(id);
    return voters.includes(id) || learners.includes(id);
  }

  /**
   * A member; or, while this member hears no leader, a caller its certificate proves
   * (plain mode: any caller), up to GUEST_CONNECTIONS_MAX at once: it may be a leader
   * added while this member was away. Its messages are still checked one by one.
   */
  admits(id: NodeId, authenticated: boolean): boolean {
    if (this.isMember(id)) return true;
    if (this.tls !== undefined && !authenticated) return false;
    if (!this.guests.has(id) && this.guests.size >= GUEST_CONNECTIONS_MAX) return false;
    return this.deps.raft()?.followsNoLiveLeader() ?? false;
  }

  private onEvent(event: TransportEvent): void {
    const { log } = this.deps;
    switch (event.type) {
      case "connected":
        if (event.direction !== "inbound") return;
        if (this.isMember(event.peerId)) {
          if (event.advertise !== undefined) this.learnFromMember(event.peerId, event.advertise);
        } else {
          this.guests.add(event.peerId);
          if (event.advertise !== undefined) this.learnFromNewcomer(event.peerId, event.advertise, event.authenticated);
        }
        return;
      case "disconnected":
        if (event.direction === "inbound") this.guests.delete(event.peerId);
        // A leader killed (or its pod deleted) closes its connections: the followers
        // need not wait out a whole election timeout to replace it.
        this.deps.raft()?.connectionLost(event.peerId);
        return;
      case "refused":
        if (event.direction === "inbound") {
          this.count(event.code, { event }, `peer port: refused ${event.remoteAddress} (claims member ${event.peerId}): ${event.code}: ${event.reason}`);
          if (event.code === "not-a-member" && event.advertise !== undefined) this.learnFromNewcomer(event.peerId, event.advertise, event.authenticated === true);
        } else {
          log.warn({ event }, `transport: member ${event.peerId} refused this member: ${event.code}: ${event.reason}`);
        }
        return;
      case "dropped":
        if (event.reason === "rejected") {
          this.count("rejected-message", { event }, `peer port: refused a ${event.messageType} from member ${event.peerId} and closed its connection: ${event.detail ?? ""}`);
        }
        return;
      case "error":
        if (event.stage === "tls") this.count("tls-handshake", { event }, `peer port: ${event.error.message}`);
        else if (event.stage === "limit") this.count("connection-limit", { event }, `peer port: ${event.error.message}`);
        else log.warn({ event }, `transport: ${event.type}`);
        return;
      default:
        return;
    }
  }

  private count(reason: RefusalReason, details: object, message: string): void {
    const total = (this.refusals.get(reason) ?? 0) + 1;
    this.refusals.set(reason, total);
    // Powers of two: a flood of refusals costs a log line per doubling, not per connection.
    if ((total & (total - 1)) === 0) this.deps.log.warn({ ...details, reason, total }, `${message} (${total} so far)`);
  }

  /** A member passed the handshake: with TLS its certificate proved it; in plain mode its claim is all there is. */
  private learnFromMember(id: NodeId, advertise: Readonly<Record<string, string>>): void {
    this.announced.delete(id);
    this.deps.directory.learn(id, advertise);
    this.learnPeerAddress(id, advertise["peer"]);
  }

  /**
   * A caller that is not a member yet, about to be added: its peer address is noted so
   * that the leader can reach it once it is added. With TLS only if its certificate
   * proved it; in plain mode only for an id the directory does not know, so that a
   * stranger cannot readdress a known member. At most ANNOUNCED_PEERS_MAX such ids.
   */
  private learnFromNewcomer(id: NodeId, advertise: Readonly<Record<string, string>>, authenticated: boolean): void {
    if (this.tls !== undefined && !authenticated) return;
    const known = Object.keys(this.deps.directory.addresses(id)).length > 0;
    if (this.tls === undefined && known && !this.announced.has(id)) return;
    if (!this.announced.has(id) && this.announced.size >= ANNOUNCED_PEERS_MAX) return;
    this.announced.add(id);
    this.deps.directory.learn(id, advertise);
    this.learnPeerAddress(id, advertise["peer"]);
  }

  // A member this one was not started with (one added later) tells us its peer address
  // in its handshake: from then on we can reach it, whoever leads.
  private learnPeerAddress(id: NodeId, address: string | undefined): void {
    const transport = this.transport;
    const match = address === undefined ? null : /^(.+):(\d+)$/.exec(address);
    if (transport === undefined || match === null || id === this.deps.config.id || transport.peerList().some((p) => p.id === id)) return;
    const port = Number(match[2]);
    if (port < 1 || port > 65_535) return;
    transport.setPeers([...transport.peerList(), { id, host: match[1] as string, port }]);
    this.deps.log.info({ member: id, peer: address }, `learned the peer address of member ${id}: ${address}`);
  }
}
