import { describe, expect, it } from "vitest";
import { FreshCache } from "../../src/operator/controller/fresh-cache.js";
import { resourceTypeOf } from "../../src/operator/controller/resources.js";
import type { KubeObject } from "../../src/operator/types.js";

const SET = resourceTypeOf("apps/v1", "StatefulSet");
const set = (resourceVersion: string, replicas: number): KubeObject =>
  ({ apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "demo", namespace: "ns", resourceVersion }, spec: { replicas } });

class FakeInformer {
  current: KubeObject | undefined;
  get(): KubeObject | undefined { return this.current; }
  list(): KubeObject[] { return this.current === undefined ? [] : [this.current]; }
}

describe("the cache the reconciler reads", () => {
  it("returns what the operator just wrote until the informer has it or something newer", () => {
    const informer = new FakeInformer();
    informer.current = set("10", 3);
    const cache = new FreshCache(informer);
    expect(cache.get(SET, "ns", "demo")?.["spec"]).toEqual({ replicas: 3 });
    cache.remember(SET, set("12", 4));
    expect(cache.get(SET, "ns", "demo")?.["spec"]).toEqual({ replicas: 4 }); // the informer lags
    expect(cache.list(SET, "ns").map((o) => o["spec"])).toEqual([{ replicas: 4 }]);
    informer.current = set("15", 5); // someone changed it after our write
    expect(cache.get(SET, "ns", "demo")?.["spec"]).toEqual({ replicas: 5 });
    informer.current = set("12", 4);
    expect(cache.get(SET, "ns", "demo")?.metadata.resourceVersion).toBe("12"); // the overlay is gone for good
  });

  it("an object of a kind no informer watches is remembered as written", () => {
    const informer = Object.assign(new FakeInformer(), { watches: () => false });
    const cache = new FreshCache(informer);
    cache.remember(SET, set("3", 3));
    expect(cache.get(SET, "ns", "demo")?.metadata.resourceVersion).toBe("3");
  });

  it("a written object the informer has not listed yet is still seen", () => {
    const informer = new FakeInformer();
    const cache = new FreshCache(informer);
    cache.remember(SET, set("3", 3));
    expect(cache.get(SET, "ns", "demo")?.metadata.resourceVersion).toBe("3");
  });
});
