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
  /** Every membership call it accepted, in order, for tests to assert on. */
  readonly calls: { method: string; path: string }[] = [];

  private constructor(private readonly server: Server, readonly url: string, private readonly clusterId: string, voters: readonly number[]) {
    this.voters = [...voters];
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
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    const port = (server.address() as { port: number }).port;
    const double = new AdminDouble(server, `http://127.0.0.1:${port}`, options.clusterId, options.voters);
    holder.double = double;
    return double;
  }

  private members(res: Response): void {
    res.json({ clusterId: this.clusterId, voters: this.voters, learners: this.learners, leaderId: this.voters[0] ?? 0 });
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
      }
      this.configIndex++;
    }
    res.json({ changed: !done, configIndex: this.configIndex, voters: this.voters, learners: this.learners });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
