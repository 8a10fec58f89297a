import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { run } from "./shell.js";

/** A day is far more than any test run; a short life keeps a leaked key worthless. */
const VALIDITY_DAYS = "1";

/** The files of one rig's public key infrastructure, all made fresh for each run. */
export interface RigPki {
  readonly caCert: string;
  readonly caKey: string;
  readonly servingCert: string;
  readonly servingKey: string;
  readonly adminCert: string;
  readonly adminKey: string;
  /** Signs and verifies service account tokens (kubectl create token, projected tokens). */
  readonly serviceAccountKey: string;
  readonly serviceAccountPub: string;
}

/** Names and addresses the apiserver answers to: loopback, and its in-cluster Service. */
export interface ServingNames {
  readonly serviceIp: string;
  /** The address the apiserver listens on when real nodes must reach it (default: loopback only). */
  readonly bindAddress?: string;
}

async function openssl(args: readonly string[]): Promise<void> {
  await run("openssl", args, { what: `openssl ${args[0]}`, installHint: "install the openssl package (apt-get install openssl)" });
}

function ecKeyArgs(keyFile: string): string[] {
  return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", keyFile];
}

async function signLeaf(dir: string, pki: { caCert: string; caKey: string }, name: string, subject: string, extensions: string): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const extFile = join(dir, `${name}.ext`);
  await writeFile(extFile, extensions);
  await openssl(["req", "-new", ...ecKeyArgs(key), "-subj", subject, "-out", csr]);
  await openssl(["x509", "-req", "-in", csr, "-CA", pki.caCert, "-CAkey", pki.caKey, "-set_serial", `0x${randomBytes(16).toString("hex")}`,
    "-days", VALIDITY_DAYS, "-sha256", "-extfile", extFile, "-out", cert]);
  return { cert, key };
}

/**
 * A CA, the apiserver's serving certificate, an admin client certificate (group
 * system:masters, so it may also impersonate anyone) and the service account signing key.
 */
export async function makeRigPki(dir: string, names: ServingNames): Promise<RigPki> {
  const caKey = join(dir, "ca.key");
  const caCert = join(dir, "ca.crt");
  await openssl(["req", "-x509", ...ecKeyArgs(caKey), "-subj", "/CN=kvraft-test-rig-ca", "-days", VALIDITY_DAYS, "-sha256",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", caCert]);
  const ca = { caCert, caKey };
  const dnsNames = ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"];
  const addresses = ["127.0.0.1", names.serviceIp, ...(names.bindAddress === undefined ? [] : [names.bindAddress])];
  const altNames = [...dnsNames.map((n) => `DNS:${n}`), ...addresses.map((a) => `IP:${a}`)].join(",");
  const serving = await signLeaf(dir, ca, "apiserver", "/CN=kube-apiserver",
    `keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${altNames}\n`);
  const admin = await signLeaf(dir, ca, "admin", "/O=system:masters/CN=kvraft-test-rig-admin",
    "keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n");
  const serviceAccountKey = join(dir, "service-account.key");
  const serviceAccountPub = join(dir, "service-account.pub");
  await openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", serviceAccountKey]);
  await openssl(["pkey", "-in", serviceAccountKey, "-pubout", "-out", serviceAccountPub]);
  return {
    caCert, caKey, servingCert: serving.cert, servingKey: serving.key, adminCert: admin.cert, adminKey: admin.key,
    serviceAccountKey, serviceAccountPub,
  };
}

/**
 * A client certificate signed by the rig's CA: who a kubelet, kube-proxy or CoreDNS is to
 * the apiserver (the subject's CN is the user, each O a group).
 */
export function makeClientCertificate(pki: RigPki, name: string, subject: string): Promise<{ cert: string; key: string }> {
  return signLeaf(dirname(pki.caCert), { caCert: pki.caCert, caKey: pki.caKey }, name, subject,
    "keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n");
}

/** PEM file contents, base64-encoded as a kubeconfig embeds them. */
export async function base64File(file: string): Promise<string> {
  return (await readFile(file)).toString("base64");
}
