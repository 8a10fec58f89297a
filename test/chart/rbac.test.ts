/**
 * The chart's RBAC, rendered by the real helm: the operator never gets list or watch on
 * Secrets (an informer on them would hold every Secret in reach), and installed for one
 * namespace (operator.watchNamespace) it gets nothing cluster-scoped for namespaced kinds.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { RESOURCE_TYPES } from "../../src/operator/controller/resources.js";
import type { KubeObject } from "../../src/operator/types.js";
import { byKind, HELM_BUILD_TIMEOUT_MS, helm, NAMESPACE, RELEASE, renderChart } from "./chart-render.js";

interface PolicyRule { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }

const rulesOf = (role: KubeObject): PolicyRule[] => (role as unknown as { rules?: PolicyRule[] }).rules ?? [];
const MAIN = `${RELEASE}-kvraft-operator`;

/** Whether a resource (or its subresource) is namespaced, by what the operator knows of it; unknown ones count as namespaced. */
function namespaced(group: string, resource: string): boolean {
  const plural = resource.split("/")[0];
  const known = RESOURCE_TYPES.find((t) => t.plural === plural && (t.apiVersion.includes("/") ? t.apiVersion.split("/")[0] : "") === group);
  return known?.namespaced ?? true;
}

/** Every "verb group/resource" a set of rules grants. */
function grants(rules: readonly PolicyRule[]): Set<string> {
  const out = new Set<string>();
  for (const rule of rules) for (const group of rule.apiGroups) for (const resource of rule.resources) for (const verb of rule.verbs) out.add(`${verb} ${group}/${resource}`);
  return out;
}

describe("the chart's RBAC", () => {
  beforeAll(async () => {
    expect((await helm(["version", "--short"])).stdout).toMatch(/^v3\./);
  }, HELM_BUILD_TIMEOUT_MS);

  it("by default, grants no ClusterRole list or watch on Secrets (nor any wildcard that would)", async () => {
    const objects = await renderChart();
    const clusterRoles = byKind(objects, "ClusterRole");
    expect(clusterRoles.map((r) => r.metadata.name)).toContain(MAIN);
    for (const role of clusterRoles) {
      for (const rule of rulesOf(role)) {
        const onSecrets = rule.apiGroups.some((g) => g === "" || g === "*") && rule.resources.some((r) => r === "secrets" || r === "*");
        if (!onSecrets) continue;
        expect(rule.verbs, `${role.metadata.name}: ${JSON.stringify(rule)}`).not.toContain("list");
        expect(rule.verbs, `${role.metadata.name}: ${JSON.stringify(rule)}`).not.toContain("watch");
        expect(rule.verbs, `${role.metadata.name}: ${JSON.stringify(rule)}`).not.toContain("*");
      }
    }
    // What it does get on Secrets: read its own by name, and apply it.
    const secretGrants = [...grants(rulesOf(clusterRoles.find((r) => r.metadata.name === MAIN) as KubeObject))].filter((g) => g.endsWith(" /secrets")).sort();
    expect(secretGrants).toEqual(["create /secrets", "get /secrets", "patch /secrets"]);
  });

  it("installed for one namespace, makes nothing cluster-scoped for namespaced kinds: a Role and a RoleBinding there", async () => {
    const objects = await renderChart(["operator.watchNamespace=apps"]);
    expect(byKind(objects, "ClusterRoleBinding")).toEqual([]);
    for (const role of byKind(objects, "ClusterRole")) {
      for (const rule of rulesOf(role)) {
        for (const group of rule.apiGroups) for (const resource of rule.resources) {
          expect(namespaced(group, resource), `ClusterRole ${role.metadata.name} grants ${group}/${resource}`).toBe(false);
        }
      }
    }
    const main = byKind(objects, "Role").find((r) => r.metadata.name === MAIN);
    expect(main?.metadata.namespace).toBe("apps");
    const binding = byKind(objects, "RoleBinding").find((b) => b.metadata.name === MAIN);
    expect(binding?.metadata.namespace).toBe("apps");
    expect((binding as unknown as { roleRef: unknown }).roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: MAIN });
    // Every role and binding sits in the watched namespace or, for the Lease, the release's.
    for (const object of [...byKind(objects, "Role"), ...byKind(objects, "RoleBinding")]) {
      expect(["apps", NAMESPACE], `${object.kind}/${object.metadata.name}`).toContain(object.metadata.namespace);
    }
    // The same grants as the cluster-wide install, only narrower in scope.
    const clusterWide = (await renderChart()).find((o) => o.kind === "ClusterRole" && o.metadata.name === MAIN) as KubeObject;
    expect(grants(rulesOf(main as KubeObject))).toEqual(grants(rulesOf(clusterWide)));
  });
});
