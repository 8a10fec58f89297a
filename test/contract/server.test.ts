import { afterAll, beforeAll } from "vitest";
import { ProcessCluster } from "../support/process-cluster.js";
import { adminContract } from "./admin-contract.js";

let cluster: ProcessCluster;
let leader = 1;
beforeAll(async () => {
  cluster = await ProcessCluster.create(3);
  cluster.startAll();
  leader = await cluster.waitForLeader();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

adminContract("the real server (a follower, which passes calls to the leader)", () => ({
  baseUrl: cluster.http(leader === 1 ? 2 : 1),
  clusterId: cluster.clusterId as string,
}));
