import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import type { ClusterFileSecurity } from "../local/cluster-file.js";
import { type ClientTlsOptions, validateTlsOptions, validateToken } from "../security/client-credentials.js";

/**
 * How the CLI proves itself to a cluster and checks the cluster is the right one: the
 * flags etcdctl has (--cacert, --cert, --key) plus a token, each also from the
 * environment, and for the local cluster (`kvraft local`) the CA and tokens its
 * cluster.json names.
 */
export interface CredentialFlags {
  cacert?: string;
  cert?: string;
  key?: string;
  tokenFile?: string;
}

/** What a verb needs of the token: admin verbs take the local cluster's admin token. */
export type Need = "data" | "admin";

export interface Credentials {
  /** Set: bare HOST:PORT endpoints are https, checked against `tls.ca`. */
  readonly tls: ClientTlsOptions | undefined;
  readonly token: string | undefined;
  /** Where the token came from, for errors ("--token-file t", "KVRAFT_TOKEN"). */
  readonly tokenSource: string | undefined;
}

/** What the CLI reads of a local cluster's cluster.json (written by src/local/cluster-file.ts). */
export interface LocalCluster {
  readonly file: string;
  readonly coordinator: string | undefined;
  readonly httpEndpoints: readonly string[];
  readonly security: ClusterFileSecurity | undefined;
}

export class CredentialsError extends Error {
  override readonly name = "CredentialsError";
}

/** `<dir>/cluster.json` when it exists and is readable as one; undefined otherwise (no local cluster here). */
export async function readLocalCluster(clusterDir: string): Promise<LocalCluster | undefined> {
  const file = join(clusterDir, "cluster.json");
  let parsed: { coordinator?: unknown; members?: { http?: unknown }[]; security?: Partial<ClusterFileSecurity> };
  try {
    parsed = JSON.parse(await readFile(file, "utf8")) as typeof parsed;
  } catch {
    return undefined;
  }
  const httpEndpoints = (parsed.members ?? []).map((m) => m.http).filter((h): h is string => typeof h === "string");
  const security = parsed.security;
  const complete = security !== undefined && typeof security.caFile === "string" && typeof security.tokenFile === "string" && typeof security.adminTokenFile === "string";
  const inDir = (path: string): string => (isAbsolute(path) ? path : resolve(dirname(file), path));
  return {
    file, httpEndpoints, coordinator: typeof parsed.coordinator === "string" ? parsed.coordinator : undefined,
    security: complete ? { ...security, caFile: inDir(security.caFile as string), tokenFile: inDir(security.tokenFile as string), adminTokenFile: inDir(security.adminTokenFile as string) } as ClusterFileSecurity : undefined,
  };
}

/**
 * The TLS settings and token for a verb. Flags and the environment win; the local
 * cluster's files fill what they leave out when `local` is the cluster being talked to.
 */
export async function loadCredentials(flags: CredentialFlags, local: LocalCluster | undefined, need: Need): Promise<Credentials> {
  const security = local?.security;
  if ((flags.cert === undefined) !== (flags.key === undefined)) throw new CredentialsError("--cert and --key go together (a client certificate needs its key): give both or neither");
  // --cacert, else the local cluster's CA; --cert/--key may come with either.
  const ca = flags.cacert !== undefined
    ? { ca: await readPem(flags.cacert, "--cacert"), caSource: `--cacert ${flags.cacert}` }
    : security !== undefined && local !== undefined
      ? { ca: await readPem(security.caFile, `the CA ${shown(security.caFile)} named in ${shown(local.file)}`), caSource: `${shown(security.caFile)} (from ${shown(local.file)})` }
      : undefined;
  const pair = flags.cert === undefined || flags.key === undefined ? undefined : { cert: await readPem(flags.cert, "--cert"), key: await readPem(flags.key, "--key") };
  const tls: ClientTlsOptions | undefined = ca === undefined && pair === undefined ? undefined : { ...ca, ...pair };
  if (tls !== undefined) validateTlsOptions(tls, "the CLI");

  const envToken = process.env["KVRAFT_TOKEN"]?.trim() ?? "";
  const tokenFile = flags.tokenFile ?? (envToken === "" && security !== undefined ? (need === "admin" ? security.adminTokenFile : security.tokenFile) : undefined);
  if (tokenFile !== undefined) {
    const source = flags.tokenFile === undefined ? `${shown(tokenFile)} (from ${shown(local?.file ?? "cluster.json")})` : `--token-file ${tokenFile}`;
    return { tls, token: await readToken(tokenFile, source), tokenSource: source };
  }
  if (envToken !== "") {
    validateToken(envToken, "KVRAFT_TOKEN");
    return { tls, token: envToken, tokenSource: "KVRAFT_TOKEN" };
  }
  return { tls, token: undefined, tokenSource: undefined };
}

async function readPem(file: string, what: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new CredentialsError(`${what}: ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (!text.includes("-----BEGIN ")) throw new CredentialsError(`${what}: ${file} holds no PEM block (-----BEGIN ...): give the PEM file`);
  return text;
}

/** The whole file is the token (one trailing newline or spaces allowed), as --admin-token-file is. */
async function readToken(file: string, source: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new CredentialsError(`the token file ${source} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const token = text.trim();
  if (token === "") throw new CredentialsError(`the token file ${source} is empty: it should hold the token alone`);
  try {
    validateToken(token, `the token in ${source}`);
  } catch (error) {
    throw new CredentialsError((error as Error).message);
  }
  return token;
}

/** A path as the user would type it from here. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === "" || rel.startsWith("..") || isAbsolute(rel) ? path : rel;
}
