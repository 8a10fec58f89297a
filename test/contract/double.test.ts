import { afterAll, beforeAll } from "vitest";
import { AdminDouble } from "../support/admin-double.js";
import { adminContract } from "./admin-contract.js";

let double: AdminDouble;
beforeAll(async () => {
  double = await AdminDouble.start({ clusterId: "double-cluster", voters: [1, 2, 3] });
});
afterAll(async () => {
  await double?.stop();
});

adminContract("the test double", () => ({ baseUrl: double.url, clusterId: "double-cluster" }));
