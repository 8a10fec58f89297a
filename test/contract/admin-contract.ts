import { describe, expect, it } from "vitest";

/**
 * The admin API's contract, written once and run against every implementation: the
 * real server and the test double the operator's tests use. A target is a member's
 * HTTP base URL on a cluster of three voters (ids 1..3), whose cluster id is known.
 */
export interface AdminTarget {
  readonly baseUrl: string;
  readonly clusterId: string;
}

interface MembersAnswer { clusterId: string; voters: number[]; learners: number[]; leaderId: number }
interface ChangeAnswer { changed: boolean; configIndex: number; voters: number[]; learners: number[] }

export function adminContract(name: string, target: () => AdminTarget): void {
  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
    const response = await fetch(`${target().baseUrl}${path}`, {
      method, headers: { "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };

  describe(`admin API contract: ${name}`, () => {
    it("lists the configuration with the cluster id and the leader", async () => {
      const { status, json } = await call("GET", "/v1/admin/members");
      expect(status).toBe(200);
      const members = json as unknown as MembersAnswer;
      expect(members.clusterId).toBe(target().clusterId);
      expect(members.voters).toEqual([1, 2, 3]);
      expect(members.learners).toEqual([]);
      expect([1, 2, 3]).toContain(members.leaderId);
    });

    it("adding a member that is already there succeeds and changes nothing", async () => {
      const { status, json } = await call("POST", "/v1/admin/members/2/learner", { clusterId: target().clusterId });
      expect(status).toBe(200);
      expect((json as unknown as ChangeAnswer).changed).toBe(false);
      expect((json as unknown as ChangeAnswer).voters).toEqual([1, 2, 3]);
    });

    it("removing a member that is not there succeeds and changes nothing", async () => {
      const { status, json } = await call("DELETE", "/v1/admin/members/9");
      expect(status).toBe(200);
      expect((json as unknown as ChangeAnswer).changed).toBe(false);
    });

    it("adds a learner, answers the configuration index it produced, then removes it", async () => {
      const added = await call("POST", "/v1/admin/members/7/learner", { clusterId: target().clusterId });
      expect(added.status).toBe(200);
      const change = added.json as unknown as ChangeAnswer;
      expect(change.changed).toBe(true);
      expect(change.learners).toContain(7);
      expect(change.configIndex).toBeGreaterThan(0);
      const again = await call("POST", "/v1/admin/members/7/learner", { clusterId: target().clusterId });
      expect((again.json as unknown as ChangeAnswer).changed).toBe(false);
      const removed = await call("DELETE", "/v1/admin/members/7");
      expect(removed.status).toBe(200);
      expect((removed.json as unknown as ChangeAnswer).learners).not.toContain(7);
    });

    it("refuses a call keyed by another cluster's id with 409 CLUSTER_MISMATCH", async () => {
      const { status, json } = await call("POST", "/v1/admin/members/7/learner", { clusterId: "someone-else" });
      expect(status).toBe(409);
      expect((json["error"] as { code: string }).code).toBe("CLUSTER_MISMATCH");
    });

    it("refuses to promote a member that is not a learner, with an error a person can act on", async () => {
      const { status, json } = await call("POST", "/v1/admin/members/8/promote", { clusterId: target().clusterId });
      expect(status).toBe(400);
      expect((json["error"] as { code: string }).code).toBe("INVALID_ARGUMENT");
      expect(String((json["error"] as { message: string }).message)).toMatch(/learner/);
    });

    it("rejects a member id that is not a whole number >= 1 with 400", async () => {
      const { status } = await call("DELETE", "/v1/admin/members/zero");
      expect(status).toBe(400);
    });
  });
}
