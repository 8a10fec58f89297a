import { describe, expect, it } from "vitest";
import { readClientTokens } from "../../src/operator/controller/client-tokens.js";
import { KubeApiError, KubeRest } from "../../src/operator/controller/kube-rest.js";
import { desiredObjects } from "../../src/operator/desired/index.js";
import type { KubeObject } from "../../src/operator/types.js";
import { FAKE_CLIENT_TOKENS, makeCluster, OPTIONS, unreachableKubeConfig } from "./fixtures.js";

const PATH = "/api/v1/namespaces/db/secrets/kv-client-tokens";

/** The API server's Secrets, answered to GET by path; the step itself never writes. */
class SecretStore extends KubeRest {
  readonly stored = new Map<string, KubeObject>();
  readonly mutations: string[] = [];
  failWith: KubeApiError | undefined;
  constructor() {
    super(unreachableKubeConfig());
  }
  override async request<T>(method: string, path: string): Promise<T> {
    if (method !== "GET") {
      this.mutations.push(`${method} ${path}`);
      return {} as T;
    }
    if (this.failWith !== undefined) throw this.failWith;
    const found = this.stored.get(path);
    if (found === undefined) throw new KubeApiError(404, "NotFound", `${path} not found`);
    return found as T;
  }
}

const cluster = makeCluster();
/** The Secret as the reconciler would have applied it, with `data` changed by hand. */
function storedSecret(edit: (data: Record<string, string>) => void = () => undefined): KubeObject {
  const secret = desiredObjects(cluster, OPTIONS).find((o) => o.metadata.name === "kv-client-tokens") as KubeObject & { data: Record<string, string> };
  const data = { ...secret.data };
  edit(data);
  return { ...secret, data } as KubeObject;
}
const b64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

describe("the client tokens (controller step)", () => {
  it("a new cluster gets two different random tokens, 32 bytes hex each, and nothing is written here", async () => {
    const rest = new SecretStore();
    const read = await readClientTokens(cluster, rest, undefined);
    expect(read.tokens.readWrite).toMatch(/^[0-9a-f]{64}$/);
    expect(read.tokens.readOnly).toMatch(/^[0-9a-f]{64}$/);
    expect(read.tokens.readWrite).not.toBe(read.tokens.readOnly);
    expect(read.secret).toBeUndefined();
    expect(read.replaced, "a first issue is no replacement").toEqual([]);
    expect(rest.mutations).toEqual([]);
  });

  it("keeps the Secret's tokens (a token a user set by hand too), and returns the Secret for the apply decision", async () => {
    const rest = new SecretStore();
    rest.stored.set(PATH, storedSecret((d) => { d["read-only"] = b64("users-own-Token_0123456789"); }));
    const read = await readClientTokens(cluster, rest, { readWrite: "remembered-but-unused-0000", readOnly: "remembered-but-unused-1111" });
    expect(read.tokens).toMatchObject({ readWrite: FAKE_CLIENT_TOKENS.readWrite, readOnly: "users-own-Token_0123456789" });
    expect(read.secret).toBe(rest.stored.get(PATH));
    // A Secret made before the coordinator token existed gets one, without a warning.
    expect(read.tokens.coordinator).toMatch(/^[0-9a-f]{64}$/);
    expect(read.replaced).toEqual([]);
    rest.stored.set(PATH, storedSecret((d) => { d["coordinator"] = b64("coordinator-token-0123456789"); }));
    expect((await readClientTokens(cluster, rest, undefined)).tokens.coordinator).toBe("coordinator-token-0123456789");
  });

  it("writes a deleted Secret again with the tokens last used for this cluster", async () => {
    const rest = new SecretStore();
    const remembered = { ...FAKE_CLIENT_TOKENS, coordinator: "remembered-coordinator-0123" };
    const read = await readClientTokens(cluster, rest, remembered);
    expect(read.tokens).toEqual(remembered);
    expect(read.replaced).toEqual([]);
  });

  it("replaces a token that is missing or unusable in the Secret, and says which and why", async () => {
    const rest = new SecretStore();
    rest.stored.set(PATH, storedSecret((d) => {
      delete d["read-write"];
      d["read-only"] = b64("bad,token-with-a-comma");
    }));
    const read = await readClientTokens(cluster, rest, FAKE_CLIENT_TOKENS);
    expect(read.tokens.readWrite).toMatch(/^[0-9a-f]{64}$/);
    expect(read.tokens.readOnly).toMatch(/^[0-9a-f]{64}$/);
    expect(read.replaced).toEqual([
      "read-write: missing, a new token was made",
      expect.stringMatching(/^read-only: the token in the Secret holds a character other than .*, a new one was made$/),
    ]);
  });

  it("does not reuse the Secret of another cluster of the same name (a deleted one): new tokens, and it is overwritten", async () => {
    const rest = new SecretStore();
    const other = storedSecret();
    rest.stored.set(PATH, { ...other, metadata: { ...other.metadata, ownerReferences: [{ apiVersion: "kvraft.io/v1alpha1", kind: "KVRaftCluster", name: "kv", uid: "another-uid", controller: true }] } });
    const read = await readClientTokens(cluster, rest, undefined);
    expect(read.secret).toBeUndefined();
    expect(read.tokens.readWrite).not.toBe(FAKE_CLIENT_TOKENS.readWrite);
    expect(read.tokens.readOnly).not.toBe(FAKE_CLIENT_TOKENS.readOnly);
  });

  it("lets an API error other than NotFound through: no new tokens over a Secret it could not read", async () => {
    const rest = new SecretStore();
    rest.failWith = new KubeApiError(403, "Forbidden", "secrets is forbidden");
    await expect(readClientTokens(cluster, rest, undefined)).rejects.toThrow(/forbidden/);
  });
});
