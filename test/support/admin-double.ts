import type { Server } from "node:http";
import express from "express";
import type { Request, Response } from "express";

/**
 * An in-memory stand-in for a cluster's admin API, for tests that drive membership
 * without running servers (the operator's). It keeps one configuration and answers as
 * the real server does; the contract suite in test/contract runs against both.
 */
export class AdminDouble {
  private voters: number[];
  private learners: number[] = [];
  private configIndex = 1;
  private leaderId: number;
  private term = 1;
  /** Every membership call it accepted, in order, for tests to assert on. */
  readonly calls: { method: string; path: string }[] = [];

  private constructor(private readonly server: Server, readonly url: string, private readonly clusterId: string, voters: readonly number[]) {
    this.voters = [...voters];
    this.leaderId = voters[0] ?? 0;
  }

  static async start(options: { clusterId: string; voters: readonly number[] }): Promise<AdminDouble> {
    const app = express();
    app.use(express.json());
    const holder: { double?: AdminDouble } = {};
    app.use((req, _res, next) => {
      holder.double?.calls.push({ method: req.method, path: req.path });
      next();
    });
    app.get("/v1/admin/members", (_req, res) => holder.double?.members(res));
    app.post("/v1/admin/members/:id/learner", (req, res) => holder.double?.change("add-learner", req, res));
    app.post("/v1/admin/members/:id/promote", (req, res) => holder.double?.change("promote", req, res));
    app.delete("/v1/admin/members/:id", (req, res) => holder.double?.change("remove", req, res));
    // The leader's view, as the operator reads it for health, lag, term and commit index:
    // every member of the double is healthy and caught up.
    app.get("/v1/status", (_req, res) => holder.double?.status(res));
    app.post("/v1/admin/transfer-leadership", (req, res) => holder.double?.transfer(req, res));
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    const port = (server.address() as { port: number }).port;
    const double = new AdminDouble(server, `http://127.0.0.1:${port}`, options.clusterId, options.voters);
    holder.double = double;
    return double;
  }

  private members(res: Response): void {
    res.json({ clusterId: this.clusterId, voters: this.voters, learners: this.learners, leaderId: this.leaderId });
  }

  private status(res: Response): void {
    const member = (id: number, membership: "voter" | "learner") =>
      ({ id, membership, addresses: {}, matchIndex: this.configIndex, lag: 0, active: true, nonVoting: false });
    res.json({
      memberId: this.leaderId, clusterId: this.clusterId, role: "leader", membership: "voter", nonVoting: false,
      term: this.term, leaderId: this.leaderId, commitIndex: this.configIndex, appliedIndex: this.configIndex, lastIndex: this.configIndex,
      members: [...this.voters.map((id) => member(id, "voter")), ...this.learners.map((id) => member(id, "learner"))].sort((a, b) => a.id - b.id),
      alarms: [],
    });
  }

  private transfer(req: Request, res: Response): void {
    const to = Number((req.body as Record<string, unknown> | undefined)?.["to"] ?? 0);
    const target = to > 0 ? to : this.voters.find((v) => v !== this.leaderId);
    if (target === undefined || !this.voters.includes(target)) {
      res.status(409).json({ error: { code: "NO_TARGET", message: `member ${String(target)} is not a voter that can take over leadership` } });
      return;
    }
    this.leaderId = target;
    this.term++;
    res.json({ transferringTo: target });
  }

  private change(type: "add-learner" | "promote" | "remove", req: Request, res: Response): void {
    const id = Number(req.params["id"]);
    if (!Number.isSafeInteger(id) || id < 1) {
      res.status(400).json({ error: { code: "INVALID_ARGUMENT", message: `member id must be a whole number >= 1, got "${String(req.params["id"])}"` } });
      return;
    }
    const clusterId = (req.body as Record<string, unknown> | undefined)?.["clusterId"];
    if (clusterId !== undefined && clusterId !== this.clusterId) {
      res.status(409).json({ error: { code: "CLUSTER_MISMATCH", message: `this is cluster ${this.clusterId}, not ${String(clusterId)}` } });
      return;
    }
    const isVoter = this.voters.includes(id);
    const isLearner = this.learners.includes(id);
    const done = type === "add-learner" ? isVoter || isLearner : type === "promote" ? isVoter : !isVoter && !isLearner;
    if (!done) {
      if (type === "promote" && !isLearner) {
        res.status(400).json({ error: { code: "INVALID_ARGUMENT", message: `member ${id} is not a learner: add it as a learner first` } });
        return;
      }
      if (type === "add-learner") this.learners = [...this.learners, id].sort((a, b) => a - b);
      if (type === "promote") {
        this.learners = this.learners.filter((m) => m !== id);
        this.voters = [...this.voters, id].sort((a, b) => a - b);
      }
      if (type === "remove") {
        this.voters = this.voters.filter((m) => m !== id);
        this.learners = this.learners.filter((m) => m !== id);
        if (id === this.leaderId) {
          this.leaderId = this.voters[0] ?? 0; // a removed leader hands over to a remaining voter
          this.term++;
        }
      }
      this.configIndex++;
    }
    res.json({ changed: !done, configIndex: this.configIndex, voters: this.voters, learners: this.learners });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
