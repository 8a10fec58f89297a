import { writeFile } from "node:fs/promises";
import { stringify } from "yaml";
import { base64File } from "./certs.js";

/** How a kubeconfig's user proves who it is: the admin's client certificate, or a bearer token. */
export type KubeCredentials =
  | { readonly kind: "certificate"; readonly certFile: string; readonly keyFile: string }
  | { readonly kind: "token"; readonly token: string };

/**
 * Writes a kubeconfig with one cluster, one user and one current context, certificates
 * embedded so the file stands alone (client libraries and kubectl both read it).
 */
export async function writeKubeconfig(file: string, server: string, caCertFile: string, userName: string, credentials: KubeCredentials): Promise<void> {
  const user = credentials.kind === "certificate"
    ? { "client-certificate-data": await base64File(credentials.certFile), "client-key-data": await base64File(credentials.keyFile) }
    : { token: credentials.token };
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "kvraft-test-rig", cluster: { server, "certificate-authority-data": await base64File(caCertFile) } }],
    users: [{ name: userName, user }],
    contexts: [{ name: userName, context: { cluster: "kvraft-test-rig", user: userName, namespace: "default" } }],
    "current-context": userName,
    preferences: {},
  };
  await writeFile(file, stringify(config), { mode: 0o600 });
}
