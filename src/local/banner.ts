import { isAbsolute, join, relative } from "node:path";
import { CLUSTER_FILE } from "./cluster-file.js";
import type { LeaderSeen } from "./leader.js";
import type { LocalPlan } from "./plan.js";
import { coordinatorUrl, LOCAL_HOST, memberHttpUrl } from "./plan.js";
import { LOCAL_TOKEN_CHARS } from "./security-files.js";

export interface BannerInputs {
  readonly plan: LocalPlan;
  readonly leader: LeaderSeen | undefined;
  readonly pids: ReadonlyMap<string, number | undefined>;
  /** Where the user's shell is, so paths are shown the way they would type them. */
  readonly cwd: string;
  /** The cli the children run (dist/cli.js). */
  readonly cliPath: string;
}

/**
 * What `kvraft local` prints once the cluster is up: where everything listens, and
 * three ways to try it from another terminal. Pure, so its wording is tested.
 *
 * With TLS it names the token files, never a token: a banner ends up in scrollback,
 * screen shares and CI logs, and `$(cat file)` keeps the curl lines copy-pasteable.
 */
export function bannerLines(inputs: BannerInputs): string[] {
  const { plan } = inputs;
  const shown = (path: string): string => {
    const rel = relative(inputs.cwd, path);
    return rel === "" ? "." : rel.startsWith("..") || isAbsolute(rel) ? path : rel;
  };
  const first = plan.members[0];
  const second = plan.members[1] ?? first;
  if (first === undefined || second === undefined) throw new Error(`a local cluster has members; the plan for ${plan.clusterDir} has none`);
  const pid = (name: string): string => String(inputs.pids.get(name) ?? "-");
  const security = plan.security;
  const http = (m: typeof first): string => memberHttpUrl(plan, m);
  // curl's options for the CA and a token, with paths as the user would type them.
  const auth = (tokenFile: string): string => security === undefined ? "" : `--cacert ${shown(security.caFile)} -H "Authorization: Bearer $(cat ${shown(tokenFile)})" `;
  const tryLines = security === undefined
    ? [
        `  curl -X PUT --data-binary hello ${http(first)}/v1/kv/greeting`,
        `  curl ${http(second)}/v1/kv/greeting      # any member answers: followers forward to the leader`,
        `  printf 'get greeting\\r\\n' | nc ${LOCAL_HOST} ${first.memcachedPort}`,
      ]
    : [
        `  curl ${auth(security.readWriteTokenFile)}-X PUT --data-binary hello ${http(first)}/v1/kv/greeting`,
        `  curl ${auth(security.readOnlyTokenFile)}${http(second)}/v1/kv/greeting      # any member answers; a read-only token cannot write`,
        // memcached 1.6's text-protocol authentication: a `set` whose value is the token.
        `  printf 'set auth 0 0 ${LOCAL_TOKEN_CHARS}\\r\\n%s\\r\\nget greeting\\r\\nquit\\r\\n' "$(cat ${shown(security.readOnlyTokenFile)})" | openssl s_client -quiet -CAfile ${shown(security.caFile)} -connect ${LOCAL_HOST}:${first.memcachedPort}`,
      ];
  const lines = [
    "",
    `KVRaft local cluster ${plan.clusterId}: ${plan.members.length} servers, data in ${shown(plan.clusterDir)}`,
    `  coordinator  ${coordinatorUrl(plan)}  (GET /v1/cluster: who leads and who is there; / in a browser: the live status page)  pid ${pid("coord")}`,
    ...plan.members.map((m) =>
      `  member ${m.id}     ${security === undefined ? "http" : "https"} ${LOCAL_HOST}:${m.httpPort}  memcached ${LOCAL_HOST}:${m.memcachedPort}  peer ${LOCAL_HOST}:${m.peerPort}  client ${LOCAL_HOST}:${m.clientPort}  pid ${pid(`m${m.id}`)}`),
    inputs.leader === undefined
      ? "  leader: none yet (the members are still electing; the log below shows when one wins)"
      : `  leader: member ${inputs.leader.id} (term ${inputs.leader.term})`,
    ...(security === undefined ? [] : [
      `  TLS on every member port, certificates from the CA ${shown(security.caFile)}; every request needs a token:`,
      `  ${shown(security.readWriteTokenFile)} (read-write, the CLI's default), ${shown(security.readOnlyTokenFile)}, ${shown(security.adminTokenFile)} (membership, snapshots)`,
    ]),
    "",
    "Try it from another terminal:",
    `  node ${shown(inputs.cliPath)} put greeting hello${security === undefined ? "" : "      # finds the CA and the token in cluster.json"}`,
    ...tryLines,
    `  curl -s ${security === undefined ? "" : `--cacert ${shown(security.caFile)} `}${coordinatorUrl(plan)}/v1/cluster`,
    `  node ${shown(inputs.cliPath)} status --watch      # the cluster live: roles, terms, lag, elections`,
    "  kill -9 <a member's pid>      # it is restarted with its data, as a StatefulSet would",
    "",
    `Endpoints${security === undefined ? "" : ", the CA, the token files"} and the cluster id are in ${shown(join(plan.clusterDir, CLUSTER_FILE))}.`,
    "Ctrl-C stops everything (followers first, then the leader); starting again resumes with the same data.",
    "",
  ];
  return lines;
}
