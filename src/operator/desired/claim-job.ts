import type { V1Container, V1Volume } from "@kubernetes/client-node";
import type { KubeObject, OwnerReference } from "../types.js";
import { RUN_AS_ID } from "./server-pod.js";

/** The pod and container security of every Job the operator runs against a backup claim (take, prune). */
export const CLAIM_JOB_POD_SECURITY = { runAsNonRoot: true, runAsUser: RUN_AS_ID, runAsGroup: RUN_AS_ID, fsGroup: RUN_AS_ID, seccompProfile: { type: "RuntimeDefault" } } as const;
export const CLAIM_JOB_CONTAINER_SECURITY = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } };

/**
 * What every pod of the operator's Jobs has: it runs once (a new pod per try, never
 * restarted in place), calls no Kubernetes API (no token), and runs as the image's user,
 * who owns what it writes to a claim.
 */
export const CLAIM_JOB_POD = { restartPolicy: "Never", automountServiceAccountToken: false, securityContext: CLAIM_JOB_POD_SECURITY } as const;

export interface ClaimJobShape {
  readonly name: string;
  readonly namespace: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly owner: OwnerReference;
  /** Pods the Job may start before it fails. */
  readonly backoffLimit: number;
  /** The Job gives up after this long whatever its pods do. */
  readonly deadlineSeconds: number;
  /** The API server deletes the finished Job after this long; undefined keeps it (its owner's deletion removes it). */
  readonly ttlSecondsAfterFinished?: number;
  readonly container: V1Container;
  readonly volumes: readonly V1Volume[];
}

/**
 * A Job of one container that runs once (never restarted in place: a new pod per try),
 * without the service account's token, as the non-root user of the image, owned by the
 * object it serves. The backup Job and the prune Job are both of this shape.
 */
export function claimJob(shape: ClaimJobShape): KubeObject {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: shape.name, namespace: shape.namespace, labels: { ...shape.labels },
      ...(shape.annotations === undefined ? {} : { annotations: { ...shape.annotations } }),
      ownerReferences: [shape.owner],
    },
    spec: {
      backoffLimit: shape.backoffLimit,
      activeDeadlineSeconds: shape.deadlineSeconds,
      ...(shape.ttlSecondsAfterFinished === undefined ? {} : { ttlSecondsAfterFinished: shape.ttlSecondsAfterFinished }),
      template: {
        metadata: { labels: { ...shape.labels } },
        spec: {
          ...CLAIM_JOB_POD,
          containers: [shape.container],
          volumes: [...shape.volumes],
        },
      },
    },
  };
}
