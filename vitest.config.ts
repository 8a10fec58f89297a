import { configDefaults, defineConfig } from "vitest/config";

/**
 * Two groups, run one after the other. The real-pods scenarios (test/realpods) start a
 * whole Kubernetes with three real nodes on two cores: run beside the other suites, their
 * probes and timeouts would measure the machine's load, not KVRaft. They run last, alone.
 */
const REAL_PODS = "test/realpods/**/*.test.ts";

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    globalSetup: ["test/support/global-setup.ts"],
    projects: [
      { extends: true, test: { name: "suites", include: ["test/**/*.test.ts"], exclude: [...configDefaults.exclude, REAL_PODS] } },
      // One dev cluster per machine: its files run one at a time.
      { extends: true, test: { name: "real-pods", include: [REAL_PODS], sequence: { groupOrder: 1 }, fileParallelism: false } },
    ],
  },
});
