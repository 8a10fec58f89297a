import type { KubeObject, PodView, StatefulSetView } from "../types.js";

/** Objects whose controller (owner with controller: true) has this uid. */
export function ownedBy<T extends KubeObject>(objects: readonly T[], ownerUid: string | undefined): T[] {
  if (ownerUid === undefined) return [];
  return objects.filter((o) => o.metadata.ownerReferences?.some((r) => r.uid === ownerUid && r.controller === true) === true);
}

interface PodShape {
  readonly spec?: { readonly containers?: readonly { readonly env?: readonly { readonly name?: string; readonly value?: string }[] }[] };
  readonly status?: {
    readonly phase?: string;
    readonly conditions?: readonly { readonly type?: string; readonly status?: string }[];
    readonly containerStatuses?: readonly { readonly restartCount?: number }[];
  };
}

interface StatefulSetShape {
  readonly spec?: { readonly replicas?: number; readonly updateStrategy?: { readonly rollingUpdate?: { readonly partition?: number } } };
  readonly status?: { readonly readyReplicas?: number; readonly currentRevision?: string; readonly updateRevision?: string };
}

/** The ordinal of a StatefulSet pod from its name (`SET-i`); undefined for a name of another shape. */
export function ordinalOf(podName: string, statefulSetName: string): number | undefined {
  const prefix = `${statefulSetName}-`;
  if (!podName.startsWith(prefix)) return undefined;
  const rest = podName.slice(prefix.length);
  return /^(0|[1-9][0-9]*)$/.test(rest) ? Number(rest) : undefined;
}

export function podView(pod: KubeObject, statefulSetName: string): PodView | undefined {
  const ordinal = ordinalOf(pod.metadata.name, statefulSetName);
  if (ordinal === undefined) return undefined;
  const status = (pod as PodShape).status ?? {};
  const revision = pod.metadata.labels?.["controller-revision-hash"];
  const clusterId = (pod as PodShape).spec?.containers?.flatMap((c) => c.env ?? []).find((e) => e.name === "KVRAFT_CLUSTER_ID")?.value;
  return {
    ordinal,
    name: pod.metadata.name,
    phase: status.phase ?? "Pending",
    ready: status.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true,
    terminating: pod.metadata.deletionTimestamp !== undefined,
    restartCount: (status.containerStatuses ?? []).reduce((sum, c) => sum + (c.restartCount ?? 0), 0),
    ...(revision === undefined ? {} : { revision }),
    ...(clusterId === undefined ? {} : { clusterId }),
  };
}

/** The set's pods that the planner may reason about, in ordinal order. */
export function podViews(pods: readonly KubeObject[], statefulSet: KubeObject): PodView[] {
  return ownedBy(pods, statefulSet.metadata.uid)
    .map((p) => podView(p, statefulSet.metadata.name))
    .filter((p): p is PodView => p !== undefined)
    .sort((a, b) => a.ordinal - b.ordinal);
}

export function statefulSetView(statefulSet: KubeObject): StatefulSetView {
  const { spec, status } = statefulSet as StatefulSetShape;
  const partition = spec?.updateStrategy?.rollingUpdate?.partition;
  return {
    replicas: spec?.replicas ?? 0,
    readyReplicas: status?.readyReplicas ?? 0,
    ...(status?.currentRevision === undefined ? {} : { currentRevision: status.currentRevision }),
    ...(status?.updateRevision === undefined ? {} : { updateRevision: status.updateRevision }),
    ...(partition === undefined ? {} : { partition }),
  };
}
