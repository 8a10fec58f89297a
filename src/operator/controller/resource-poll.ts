import type { Logger } from "pino";
import type { ObjectMeta } from "../types.js";
import { isNotFound, type KubeRest } from "./kube-rest.js";
import { collectionPath, type ResourceType } from "./resources.js";

/**
 * Every object of a custom kind in reach (one namespace, or all), handed to `reconcile` in
 * turn; one that fails is logged and tried again at the next poll. Without the kind's CRD
 * installed (404) the feature is simply off; said once, until it is installed.
 */
export async function reconcileEach<T extends { readonly metadata: ObjectMeta }>(
  rest: KubeRest, type: ResourceType, namespace: string | undefined, log: Logger, said: { missing: boolean },
  reconcile: (item: T) => Promise<unknown>,
): Promise<void> {
  let list: { items?: T[] };
  try {
    list = await rest.request<{ items?: T[] }>("GET", collectionPath(type, namespace));
  } catch (error) {
    if (!isNotFound(error)) throw error;
    if (!said.missing) log.info(`the ${type.kind} CRD is not installed: ${type.plural} are off until it is (crds/${type.kind.toLowerCase()}.yaml)`);
    said.missing = true;
    return;
  }
  said.missing = false;
  for (const listed of list.items ?? []) {
    // Items of a LIST may come without apiVersion and kind; Events name the object by them.
    const item: T = { ...listed, apiVersion: type.apiVersion, kind: type.kind };
    try {
      await reconcile(item);
    } catch (error) {
      log.warn({ [type.kind]: `${item.metadata.namespace ?? ""}/${item.metadata.name}`, err: error }, `${type.kind} reconcile failed: trying again at the next poll`);
    }
  }
}

/**
 * A pass run every `intervalMs` while started, one at a time (a pass still running when
 * the next is due makes that one wait for the next tick). Used for kinds that are few and
 * change slowly, where a poll costs less than a watch.
 */
export function pollEvery(intervalMs: number, pass: () => Promise<void>, log: Logger, what: string): { start(): void; stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const poll = (): void => {
    if (running !== undefined) return;
    running = pass()
      .catch((error: unknown) => log.warn({ err: error }, `could not list ${what}: trying again at the next poll`))
      .finally(() => { running = undefined; });
  };
  return {
    start: () => { timer ??= setInterval(poll, intervalMs); },
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
