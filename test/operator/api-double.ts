import { KubeConfig } from "@kubernetes/client-node";
import { KubeApiError, KubeRest, type RequestOptions } from "../../src/operator/controller/kube-rest.js";

export interface Sent { method: string; path: string; body: unknown }

/**
 * The API server as the backup reconcilers and the bootstrap gate see it: objects by path (a GET
 * of a missing one is a 404; a collection is an object `{ items }` at its path, the query
 * ignored), writes recorded, an apply stored as sent; the pods collection answers `pods`.
 */
export class ApiDouble extends KubeRest {
  readonly sent: Sent[] = [];
  readonly objects = new Map<string, Record<string, unknown>>();
  pods: Record<string, unknown>[] = [];

  constructor() {
    const kc = new KubeConfig();
    kc.loadFromOptions({ clusters: [{ name: "c", server: "http://127.0.0.1:1" }], users: [{ name: "u" }], contexts: [{ name: "c", cluster: "c", user: "u" }], currentContext: "c" });
    super(kc);
  }

  override async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    if (method === "GET") {
      if (path.endsWith("/pods")) return { items: this.pods } as T;
      const found = this.objects.get(path);
      if (found === undefined) throw new KubeApiError(404, "NotFound", `${path} not found`);
      return found as T;
    }
    this.sent.push({ method, path, body: options.body });
    if (method === "PATCH" && !path.includes("/events/")) this.objects.set(path, options.body as Record<string, unknown>);
    return options.body as T;
  }

  writesTo(path: string): Sent[] {
    return this.sent.filter((s) => s.path === path);
  }

  eventReasons(): string[] {
    return this.sent.filter((s) => s.path.includes("/events")).map((s) => (s.body as { reason: string }).reason);
  }
}
