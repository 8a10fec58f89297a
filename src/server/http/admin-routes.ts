import express from "express";
import type { Request, RequestHandler, Response, Router } from "express";
import { bestSuccessor, promotionVerdict, quorumAfterRemovalProblem } from "../../raft/membership-rules.js";
import type { ConfChange, NodeId } from "../../raft/types.js";
import { VERSION } from "../../version.js";
import type { Replica } from "../replica.js";
import { isHealthy } from "../build-status.js";
import { sendError, sendServiceError } from "./errors.js";
import { streamSnapshot } from "./snapshot-stream.js";

export interface AdminOptions {
  readonly clusterId: string;
  /**
   * Lets a request through or refuses it (HttpAuth.admin(): the admin role, looked up by
   * token digest in the TokenStore, so the comparison leaks neither the token nor its
   * length; without any token, loopback callers and members only).
   */
  readonly authorize: RequestHandler;
  /** Proxies the request to the leader (admin changes are made there). */
  readonly proxyToLeader: (req: Request, res: Response) => Promise<void>;
}

/**
 * /v1/admin: membership and leadership, shared by the CLI and the operator. Every call
 * is idempotent and keyed by member id and cluster id (adding a member that is there
 * succeeds, removing one that is gone succeeds) and answers the configuration index it
 * produced (or the current one when there was nothing to do).
 */
export function adminRoutes(replica: Replica, options: AdminOptions): Router {
  const router = express.Router();
  router.use("/v1/admin", options.authorize, express.json({ limit: 64 * 1024 }));

  router.get("/v1/admin/members", (_req, res) => {
    const config = replica.configuration();
    res.json({ clusterId: options.clusterId, voters: config.voters, learners: config.learners, leaderId: replica.status().leader });
  });

  const change = (type: ConfChange["type"]) => async (req: Request, res: Response): Promise<void> => {
    const id = Number(req.params["id"]);
    if (!Number.isSafeInteger(id) || id < 1) return sendError(res, 400, "INVALID_ARGUMENT", `member id must be a whole number >= 1, got "${String(req.params["id"])}"`);
    const clusterId = (req.body as Record<string, unknown> | undefined)?.["clusterId"] ?? req.query["clusterId"];
    if (clusterId !== undefined && clusterId !== options.clusterId) {
      // The refusal does not name this member's cluster: the caller said which one it meant.
      return sendError(res, 409, "CLUSTER_MISMATCH", `this member does not belong to cluster ${String(clusterId)}: check which cluster you are talking to`);
    }
    if (replica.status().role !== "leader") return options.proxyToLeader(req, res);
    const config = replica.configuration();
    const done = type === "add-learner" ? config.voters.includes(id) || config.learners.includes(id)
      : type === "promote" ? config.voters.includes(id)
        : !config.voters.includes(id) && !config.learners.includes(id);
    if (done) {
      res.json({ changed: false, configIndex: replica.status().commit, voters: config.voters, learners: config.learners });
      return;
    }
    if (type === "remove" && config.voters.includes(id)) {
      const problem = quorumAfterRemoval(replica, id);
      if (problem !== undefined) return sendError(res, 409, "QUORUM_AT_RISK", problem);
    }
    if (type === "promote" && config.learners.includes(id)) {
      // Judged here first so the caller gets a code and a reason it can act on; the core
      // judges again by the same rule when the change is proposed.
      const verdict = learnerVerdict(replica, id);
      if (!verdict.ready) return sendError(res, 409, "LEARNER_NOT_READY", verdict.message, { reason: verdict.reason, retryable: verdict.reason !== "never-acknowledged" });
    }
    try {
      const { index } = await replica.proposeConfChange({ type, nodeId: id });
      const after = replica.configuration();
      res.json({ changed: true, configIndex: index, voters: after.voters, learners: after.learners });
    } catch (error) {
      sendServiceError(res, error);
    }
  };
  router.post("/v1/admin/members/:id/learner", change("add-learner"));
  router.post("/v1/admin/members/:id/promote", change("promote"));
  router.delete("/v1/admin/members/:id", change("remove"));

  router.post("/v1/admin/transfer-leadership", async (req, res) => {
    if (replica.status().role !== "leader") return options.proxyToLeader(req, res);
    const requested = Number((req.body as Record<string, unknown> | undefined)?.["to"] ?? 0);
    const to = requested > 0 ? requested : mostUpToDateFollower(replica);
    if (to === undefined) return sendError(res, 409, "NO_TARGET", "no other voter is available to take over leadership");
    const result = replica.transferLeadership(to);
    if (!result.ok) return sendError(res, 409, "TRANSFER_REFUSED", result.error.message);
    res.json({ transferringTo: to });
  });

  // The state machine as applied on the leader, for `kvraft snapshot save` and `backup
  // take`: the raw versioned snapshot format, streamed as it is encoded (snapshot-stream.ts),
  // its revision and where it stands in headers, its CRC32C in a trailer. Captured after a
  // ReadIndex round and the apply it asks for, as a linearizable read is: a leader fresh
  // from an election (a take starting again after the old leader died) has not yet applied
  // what its predecessor acknowledged, and a snapshot taken then would lack those writes.
  router.get("/v1/admin/snapshot", async (req, res) => {
    if (replica.status().role !== "leader") return options.proxyToLeader(req, res);
    try {
      await replica.waitApplied(await replica.readIndex());
    } catch (error) {
      return sendServiceError(res, error);
    }
    const encoder = replica.state().beginSnapshot();
    res.setHeader("X-Kvraft-Revision", String(encoder.appliedIndex));
    res.setHeader("X-Kvraft-Cluster-Id", options.clusterId);
    setBackupHeaders(res, replica, encoder.appliedIndex);
    await streamSnapshot(res, encoder);
  });

  return router;
}

/**
 * What `kvraft backup take` records beside the snapshot: the term of its last entry (0
 * once compacted), the configuration and the version.
 */
function setBackupHeaders(res: Response, replica: Replica, index: number): void {
  const config = replica.configuration();
  res.setHeader("X-Kvraft-Term", String(replica.logTerm(index) ?? 0));
  res.setHeader("X-Kvraft-Voters", config.voters.join(","));
  res.setHeader("X-Kvraft-Learners", config.learners.join(","));
  res.setHeader("X-Kvraft-Version", VERSION);
}

/** A removal must leave a majority of the remaining voters healthy. */
function quorumAfterRemoval(replica: Replica, id: NodeId): string | undefined {
  const status = replica.status();
  return quorumAfterRemovalProblem(status.voters, id, (v) => v === status.id || status.progress.some((p) => p.id === v && isHealthy(p)));
}

/** The shared promotion rule, fed with the leader's progress for the learner. */
function learnerVerdict(replica: Replica, id: NodeId): ReturnType<typeof promotionVerdict> {
  const status = replica.status();
  const p = status.progress.find((candidate) => candidate.id === id);
  const view = p === undefined
    ? { id, match: 0, acknowledged: false, heardRecently: false, nonVoting: false }
    : { id, match: p.match, acknowledged: p.acknowledged, heardRecently: p.heardRecently, nonVoting: p.nonVoting };
  return promotionVerdict(view, status.commit);
}

export function mostUpToDateFollower(replica: Replica): NodeId | undefined {
  const status = replica.status();
  return bestSuccessor(status.progress.filter((p) => p.id !== status.id && status.voters.includes(p.id) && isHealthy(p)))?.id;
}
