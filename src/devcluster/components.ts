import { join } from "node:path";
import type { RigPki } from "./certs.js";

/**
 * Command lines of the rig's processes. Everything listens on 127.0.0.1 at ports picked at
 * run time and keeps its state in the rig's own directory, so two rigs (or a crashed one's
 * leftovers) never meet.
 */

export interface RigPorts {
  readonly etcdClient: number;
  readonly etcdPeer: number;
  readonly apiserver: number;
  readonly controllerManager: number;
  readonly scheduler: number;
}

export const SERVICE_CIDR = "10.96.0.0/16";
/** The first address of the service range: the apiserver's own `kubernetes` Service. */
export const APISERVER_SERVICE_IP = "10.96.0.1";
/** Pods' addresses: kwok hands out fake ones; real nodes take a /24 each from it (node-network.ts). */
export const POD_CIDR = "10.244.0.0/16";
const SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local";

/**
 * The controllers the operator, its chart and the rig's own tests lean on. Node lifecycle
 * is left out on purpose: on a loaded machine a late kwok heartbeat would taint a fake node
 * and evict its pods, a failure about the rig rather than the code under test.
 */
export const CONTROLLERS = [
  "serviceaccount-controller", "serviceaccount-token-controller", "root-ca-certificate-publisher-controller",
  "namespace-controller", "garbage-collector-controller",
  "statefulset-controller", "deployment-controller", "replicaset-controller", "job-controller", "ttl-after-finished-controller",
  "disruption-controller", "endpoints-controller", "endpointslice-controller", "service-cidr-controller",
  "persistentvolume-binder-controller", "persistentvolumeclaim-protection-controller", "persistentvolume-protection-controller",
  "clusterrole-aggregation-controller", "pod-garbage-collector-controller",
] as const;

export function etcdArgs(dir: string, ports: RigPorts): string[] {
  const client = `http://127.0.0.1:${ports.etcdClient}`;
  const peer = `http://127.0.0.1:${ports.etcdPeer}`;
  return [
    "--name", "rig", "--data-dir", join(dir, "etcd"),
    "--listen-client-urls", client, "--advertise-client-urls", client,
    "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", `rig=${peer}`,
    // A test's store lives for minutes on a shared machine; fsync would only slow it down.
    "--unsafe-no-fsync", "--log-level", "warn",
  ];
}

/**
 * Where the apiserver listens. With kwok's fake nodes no pod ever calls it, so it listens
 * on loopback and publishes no endpoints for the `kubernetes` Service (a loopback endpoint
 * is invalid). Real pods reach it through that Service: it then listens on, and
 * advertises, an address of the dev cluster's own bridge, never one of the machine's
 * real interfaces (traffic to those could leave the machine).
 */
export type ApiserverAddress = { readonly kind: "loopback" } | { readonly kind: "bridge"; readonly address: string };

export function apiserverArgs(dir: string, ports: RigPorts, pki: RigPki, address: ApiserverAddress = { kind: "loopback" }): string[] {
  const listen = address.kind === "bridge" ? address.address : "127.0.0.1";
  return [
    "--etcd-servers", `http://127.0.0.1:${ports.etcdClient}`,
    "--bind-address", listen, "--advertise-address", listen, "--secure-port", String(ports.apiserver),
    "--endpoint-reconciler-type", address.kind === "bridge" ? "lease" : "none",
    // kubectl logs, exec and port-forward go through the kubelets, which trust the rig's CA.
    "--kubelet-client-certificate", pki.adminCert, "--kubelet-client-key", pki.adminKey,
    // Nodes by address, never by name: a node's name is not in any DNS here, and looking it
    // up would send a query to the machine's resolver, off the machine.
    "--kubelet-preferred-address-types", "InternalIP",
    "--cert-dir", join(dir, "apiserver"),
    "--tls-cert-file", pki.servingCert, "--tls-private-key-file", pki.servingKey, "--client-ca-file", pki.caCert,
    "--service-account-issuer", SERVICE_ACCOUNT_ISSUER,
    "--service-account-key-file", pki.serviceAccountPub, "--service-account-signing-key-file", pki.serviceAccountKey,
    "--service-cluster-ip-range", SERVICE_CIDR,
    // RBAC on, so tests that impersonate a ServiceAccount test the permissions they claim to;
    // the Node authorizer lets each kubelet touch only its own node and pods.
    "--authorization-mode", "Node,RBAC", "--enable-admission-plugins", "NodeRestriction",
    // This plugin taints every new Node not-ready until the node lifecycle controller, left
    // out here (see CONTROLLERS), lifts it; kwok's nodes are Ready from their first status.
    "--disable-admission-plugins", "TaintNodesByCondition",
    // A front-proxy CA makes the extension-apiserver-authentication ConfigMap complete, which
    // the controller manager and scheduler read at start (else they log an error a second).
    // Only a client certificate named front-proxy-client may assert identities by header.
    "--requestheader-client-ca-file", pki.caCert, "--requestheader-allowed-names", "front-proxy-client",
    "--requestheader-username-headers", "X-Remote-User", "--requestheader-group-headers", "X-Remote-Group",
    "--requestheader-extra-headers-prefix", "X-Remote-Extra-",
    "--allow-privileged=true", "--profiling=false", "--v=1",
  ];
}

/** Flags shared by the controller manager and the scheduler: who they are, where they serve /healthz. */
function componentArgs(dir: string, name: string, port: number, kubeconfig: string): string[] {
  return [
    "--kubeconfig", kubeconfig, "--authentication-kubeconfig", kubeconfig, "--authorization-kubeconfig", kubeconfig,
    "--bind-address", "127.0.0.1", "--secure-port", String(port), "--cert-dir", join(dir, name),
    "--leader-elect=false", "--profiling=false", "--v=1",
  ];
}

export function controllerManagerArgs(dir: string, ports: RigPorts, pki: RigPki, kubeconfig: string): string[] {
  return [
    ...componentArgs(dir, "controller-manager", ports.controllerManager, kubeconfig),
    "--controllers", CONTROLLERS.join(","),
    "--service-account-private-key-file", pki.serviceAccountKey, "--root-ca-file", pki.caCert,
    "--service-cluster-ip-range", SERVICE_CIDR,
  ];
}

export function schedulerArgs(dir: string, ports: RigPorts, kubeconfig: string): string[] {
  return componentArgs(dir, "scheduler", ports.scheduler, kubeconfig);
}

/** kwok hands out fake pod addresses from this range, starting after the .1 it names. */
const KWOK_POD_RANGE = "10.244.0.1/16";

export function kwokArgs(kubeconfig: string, configFile: string): string[] {
  return ["--kubeconfig", kubeconfig, "--config", configFile, "--manage-all-nodes=true", "--cidr", KWOK_POD_RANGE, "--node-ip", "127.0.0.1"];
}
