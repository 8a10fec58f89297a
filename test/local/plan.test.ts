import { describe, expect, it } from "vitest";
import { bannerLines } from "../../src/local/banner.js";
import { coordinatorArgs, initialClusterState, planLocalCluster, plannedPorts, serverArgs } from "../../src/local/plan.js";

const plan = planLocalCluster({ clusterDir: "/home/me/project/.kvraft", clusterId: "id-1", servers: 3, basePort: 7000 });
const plainPlan = planLocalCluster({ clusterDir: "/home/me/project/.kvraft", clusterId: "id-1", servers: 3, basePort: 7000, tls: false });

describe("kvraft local: the plan", () => {
  it("lays ports out by role: coordinator at base, member i at base+10+i (peer), +20+i (http), +30+i (memcached), +40+i (client)", () => {
    expect(plan.coordinatorPort).toBe(7000);
    expect(plan.members.map((m) => [m.id, m.peerPort, m.httpPort, m.memcachedPort, m.clientPort, m.dataDir])).toEqual([
      [1, 7011, 7021, 7031, 7041, "/home/me/project/.kvraft/member-1"],
      [2, 7012, 7022, 7032, 7042, "/home/me/project/.kvraft/member-2"],
      [3, 7013, 7023, 7033, 7043, "/home/me/project/.kvraft/member-3"],
    ]);
    expect(plannedPorts(plan)).toContainEqual({ port: 7022, role: "member 2 http" });
    expect(new Set(plannedPorts(plan).map((p) => p.port)).size).toBe(13);
  });

  it("refuses sizes other than 3, 5, 7 and bases whose range does not fit, saying why", () => {
    expect(() => planLocalCluster({ clusterDir: "d", clusterId: "i", servers: 4, basePort: 7000 })).toThrow(/--servers must be 3, 5, 7/);
    expect(() => planLocalCluster({ clusterDir: "d", clusterId: "i", servers: 3, basePort: 65500 })).toThrow(/--base-port must be 1024\.\.65488/);
    expect(() => planLocalCluster({ clusterDir: "d", clusterId: "i", servers: 3, basePort: 80 })).toThrow(/--base-port/);
    expect(planLocalCluster({ clusterDir: "d", clusterId: "i", servers: 7, basePort: 65488 }).members[6]?.clientPort).toBe(65535);
  });

  it("starts each member with the cluster flags, its ports, the coordinator and info logs", () => {
    const args = serverArgs(plan, plan.members[1] as (typeof plan.members)[number], "new");
    const flag = (name: string): string | undefined => args[args.indexOf(name) + 1];
    expect(args[0]).toBe("server");
    expect(flag("--id")).toBe("2");
    expect(flag("--peers")).toBe("1=127.0.0.1:7011,2=127.0.0.1:7012,3=127.0.0.1:7013");
    expect(flag("--cluster-id")).toBe("id-1");
    expect(flag("--initial-cluster-state")).toBe("new");
    expect(flag("--coord")).toBe("https://127.0.0.1:7000");
    expect(flag("--http-port")).toBe("7022");
    expect(flag("--log-level")).toBe("info");
  });

  it("is secure by default: each member serves its own certificate, checks peers against the CA, and wants tokens", () => {
    const args = serverArgs(plan, plan.members[1] as (typeof plan.members)[number], "new");
    const flag = (name: string): string | undefined => args[args.indexOf(name) + 1];
    const dir = "/home/me/project/.kvraft";
    expect([flag("--cert-file"), flag("--key-file"), flag("--trusted-ca-file")]).toEqual([`${dir}/member-2.crt`, `${dir}/member-2.key`, `${dir}/ca.crt`]);
    expect([flag("--peer-cert-file"), flag("--peer-key-file"), flag("--peer-trusted-ca-file")]).toEqual([`${dir}/member-2.crt`, `${dir}/member-2.key`, `${dir}/ca.crt`]);
    expect([flag("--auth-token-file"), flag("--admin-token-file")]).toEqual([`${dir}/tokens.csv`, `${dir}/admin.token`]);
    // The coordinator serves HTTPS and takes reports only with member certificates of the CA.
    const coord = coordinatorArgs(plan);
    expect(coord.slice(coord.indexOf("--cert-file"))).toEqual(["--cert-file", `${dir}/coordinator.crt`, "--key-file", `${dir}/coordinator.key`, "--trusted-ca-file", `${dir}/ca.crt`]);
    // The benchmark's plan (no security) runs plain, as before.
    const plain = serverArgs(plainPlan, plainPlan.members[1] as (typeof plan.members)[number], "new");
    expect(plain.filter((arg) => /cert|token|ca-file/.test(arg))).toEqual([]);
    expect(plain[plain.indexOf("--coord") + 1]).toBe("http://127.0.0.1:7000");
  });

  it("with --trace-dir, gives each member DIR/member-ID.log and the coordinator DIR/coordinator.log; without, no --trace-log", () => {
    const traced = planLocalCluster({ clusterDir: "/home/me/project/.kvraft", clusterId: "id-1", servers: 3, basePort: 7000, traceDir: "/home/me/traces" });
    for (const member of traced.members) {
      const args = serverArgs(traced, member, "new");
      expect(args[args.indexOf("--trace-log") + 1]).toBe(`/home/me/traces/member-${member.id}.log`);
    }
    const coord = coordinatorArgs(traced);
    expect(coord[coord.indexOf("--trace-log") + 1]).toBe("/home/me/traces/coordinator.log");
    expect([...coordinatorArgs(plan), ...serverArgs(plan, plan.members[0] as (typeof plan.members)[number], "new")]).not.toContain("--trace-log");
  });

  // hasData, everHadData (seen with data earlier in this run), founding (no member had data at start)
  const states: [boolean, boolean, boolean, "new" | "existing", string][] = [
    [true, true, false, "new", "a dir with data ignores the flag"],
    [false, false, true, "new", "an empty dir while the cluster is founded is a founder"],
    [false, true, true, "existing", "a dir whose data was lost during the run waits to be added back"],
    [false, false, false, "existing", "an empty dir of a cluster founded earlier waits to be added back"],
  ];
  for (const [hasData, everHadData, founding, expected, why] of states) {
    it(`initial cluster state: ${why}`, () => {
      expect(initialClusterState({ hasData, everHadData, founding })).toBe(expected);
    });
  }

  it("the banner says where everything listens and how to try it (without TLS)", () => {
    const lines = bannerLines({
      plan: plainPlan, leader: { id: 2, term: 3 }, cwd: "/home/me/project", cliPath: "/home/me/project/dist/cli.js",
      pids: new Map([["coord", 10], ["m1", 11], ["m2", 12], ["m3", 13]]),
    });
    expect(lines).toContain("KVRaft local cluster id-1: 3 servers, data in .kvraft");
    expect(lines).toContain("  leader: member 2 (term 3)");
    expect(lines).toContain("  node dist/cli.js put greeting hello");
    expect(lines).toContain("  curl -X PUT --data-binary hello http://127.0.0.1:7021/v1/kv/greeting");
    expect(lines).toContain("  printf 'get greeting\\r\\n' | nc 127.0.0.1 7031");
    expect(lines.some((line) => line.startsWith("  member 3 ") && line.endsWith("pid 13"))).toBe(true);
    expect(lines).toContain("Endpoints and the cluster id are in .kvraft/cluster.json.");
  });

  it("the banner with TLS: https addresses, curl lines with the CA and a token file (never a token), and where the files are", () => {
    const lines = bannerLines({
      plan, leader: { id: 2, term: 3 }, cwd: "/home/me/project", cliPath: "/home/me/project/dist/cli.js",
      pids: new Map([["coord", 10], ["m1", 11], ["m2", 12], ["m3", 13]]),
    });
    expect(lines).toContain("  curl --cacert .kvraft/ca.crt -H \"Authorization: Bearer $(cat .kvraft/read-write.token)\" -X PUT --data-binary hello https://127.0.0.1:7021/v1/kv/greeting");
    expect(lines.some((line) => line.startsWith("  curl --cacert .kvraft/ca.crt -H \"Authorization: Bearer $(cat .kvraft/read-only.token)\" https://127.0.0.1:7022/v1/kv/greeting"))).toBe(true);
    expect(lines.some((line) => line.startsWith("  member 1     https 127.0.0.1:7021 "))).toBe(true);
    expect(lines.some((line) => line.includes(".kvraft/admin.token"))).toBe(true);
    expect(lines.join("\n")).not.toMatch(/http:\/\/127\.0\.0\.1:702/);
    expect(lines).toContain("Endpoints, the CA, the token files and the cluster id are in .kvraft/cluster.json.");
    expect(lines).toContain("  curl -s --cacert .kvraft/ca.crt https://127.0.0.1:7000/v1/cluster");
    expect(lines).toContain("  printf 'set auth 0 0 64\\r\\n%s\\r\\nget greeting\\r\\nquit\\r\\n' \"$(cat .kvraft/read-only.token)\" | openssl s_client -quiet -CAfile .kvraft/ca.crt -connect 127.0.0.1:7031");
  });
});
