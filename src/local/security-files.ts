import { join } from "node:path";

/**
 * Where a local cluster keeps its CA, certificates and tokens: at the top of its cluster
 * dir, beside cluster.json, so that the CA is `.kvraft/ca.crt` as curl is told to use
 * it. Pure paths (the plan and the CLI's help use them without loading the PKI code);
 * the files are made by prepareLocalSecurity (local-security.ts).
 *
 *   ca.crt, ca.key                 the cluster's CA (ca.key never leaves this dir)
 *   member-<id>.crt, .key          each member's certificate: peer identity and serving
 *   coordinator.crt, .key          the coordinator's HTTPS certificate
 *   tokens.csv                     --auth-token-file: token,name,role per line
 *   admin.token                    --admin-token-file, and the CLI's admin verbs
 *   read-write.token               the CLI's and curl's default token
 *   read-only.token                a token that may only read
 *
 * Keys and tokens are readable by the owner only (0600).
 */
/** Characters of a generated token: 32 random bytes in hex, as `openssl rand -hex 32`. */
export const LOCAL_TOKEN_CHARS = 64;

export interface LocalSecurityFiles {
  readonly dir: string;
  readonly caFile: string;
  readonly caKeyFile: string;
  readonly coordinatorCertFile: string;
  readonly coordinatorKeyFile: string;
  readonly tokensFile: string;
  readonly adminTokenFile: string;
  readonly readWriteTokenFile: string;
  readonly readOnlyTokenFile: string;
}

export function localSecurityFiles(clusterDir: string): LocalSecurityFiles {
  return {
    dir: clusterDir,
    // The names writeClusterPki (src/security/cluster-pki.ts) writes; a test keeps them equal.
    caFile: join(clusterDir, "ca.crt"),
    caKeyFile: join(clusterDir, "ca.key"),
    coordinatorCertFile: join(clusterDir, "coordinator.crt"),
    coordinatorKeyFile: join(clusterDir, "coordinator.key"),
    tokensFile: join(clusterDir, "tokens.csv"),
    adminTokenFile: join(clusterDir, "admin.token"),
    readWriteTokenFile: join(clusterDir, "read-write.token"),
    readOnlyTokenFile: join(clusterDir, "read-only.token"),
  };
}

/** A member's certificate and key, as writeClusterPki names them. */
export function localMemberCertFiles(files: LocalSecurityFiles, memberId: number): { certFile: string; keyFile: string } {
  return { certFile: join(files.dir, `member-${memberId}.crt`), keyFile: join(files.dir, `member-${memberId}.key`) };
}

/**
 * A member's security flags: its certificate on the client ports (HTTPS, binary,
 * memcached) and on the peer port (mutual TLS with the cluster's CA), the client tokens
 * and the admin token.
 */
export function memberSecurityArgs(files: LocalSecurityFiles, memberId: number): string[] {
  const { certFile, keyFile } = localMemberCertFiles(files, memberId);
  return [
    "--cert-file", certFile, "--key-file", keyFile, "--trusted-ca-file", files.caFile,
    "--peer-cert-file", certFile, "--peer-key-file", keyFile, "--peer-trusted-ca-file", files.caFile,
    "--auth-token-file", files.tokensFile, "--admin-token-file", files.adminTokenFile,
  ];
}

/**
 * The coordinator's flags: HTTPS with its own certificate, and reports taken only from
 * members, proven by their member certificates of the cluster's CA (a forged report
 * could otherwise name any leader).
 */
export function coordinatorSecurityArgs(files: LocalSecurityFiles): string[] {
  return ["--cert-file", files.coordinatorCertFile, "--key-file", files.coordinatorKeyFile, "--trusted-ca-file", files.caFile];
}
