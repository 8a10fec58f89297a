import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import type { ServerStatus } from "../protocol/status.js";
import type { AccessOptions } from "./cluster-access.js";
import { CliError, DEFAULT_TIMEOUT_MS, discoverEndpoints, withClusterOptions, errorMessage, EXIT, findCoordinator, json, request } from "./cluster-access.js";
import { parseNumber, print, report, run } from "./kv-commands.js";
import { textTable } from "./text-table.js";

interface Flags extends AccessOptions { output: "table" | "json" }

/** What the admin API answers to a membership change. */
interface ChangeResult { changed: boolean; configIndex: number; voters: number[]; learners: number[] }

/** How long `members add` waits for a learner that has never answered the leader before giving up. */
const NEVER_ACKNOWLEDGED_WAIT_MS = 5000;

/** The admin API's reason for refusing a promotion (LEARNER_NOT_READY), if that is what it said. */
function promotionRefusal(answer: Parameters<typeof json>[0]): string | undefined {
  if (answer.status !== 409) return undefined;
  try {
    return json<{ error?: { code?: string; reason?: string } }>(answer).error?.reason;
  } catch {
    return undefined;
  }
}

/** status, members, transfer-leader: what an operator of the cluster needs. */
export function registerAdminCommands(program: Command): void {
  withClusterOptions(program.command("status").description("members, roles, terms, indexes, lag and the leader")
    .option("--watch", "keep showing the view as it changes, until Ctrl-C")
    .option("--interval <ms>", "with --watch and no coordinator: how often the members are asked", parseInterval, WATCH_INTERVAL_MS_DEFAULT)
    .addHelpText("after", `
Examples:
  kvraft status
  kvraft status --output json   # the server's status schema, as the leader sees it, with answeredBy and leaderKnown
  kvraft status --watch         # a live view; Ctrl-C to stop

The view is the leader's: the members asked are followed to the leader (their leader id
and member directory, then every endpoint in turn). The first line names the leader and
the endpoint that answered; with no leader known it says so and shows the most recent
view any member gave, which may be stale.

--watch follows the coordinator's live stream (GET /v1/events, what its status page at /
shows: every member's role, term, indexes, lag and last heartbeat, the leader starred,
and the recent elections) when a coordinator is known: --coord, KVRAFT_COORD, or the
local cluster's. With --endpoints (or no coordinator) it asks the members every
--interval ms instead and shows the table above. On a terminal the view is redrawn in
place; into a pipe or a file a new frame is appended, with the time, only when something
changed. A lost stream or a failed round is shown and retried; Ctrl-C ends it (exit 0).`))
    .action(run(async (flags: Flags & { watch?: boolean; interval: number }) => {
      if (flags.watch === true) return watchStatus(flags);
      const view = await leaderStatus(flags);
      if (flags.output === "json") return print({ ...view.status, answeredBy: view.answeredBy, leaderKnown: view.leaderKnown });
      process.stdout.write(`${statusLines(view).join("\n")}\n`);
    }));

  const members = program.command("members").description("list, add, promote or remove members (Raft membership)")
    .addHelpText("after", "\nExamples:\n  kvraft members list\n  kvraft members add 4        # learner, catch up, then voter\n  kvraft members remove 4");
  withClusterOptions(members.command("list").description("the configuration: voters and learners"))
    .action(run(async (flags: Flags) => {
      const { status } = await leaderStatus(flags);
      if (flags.output === "json") return print(status.members);
      for (const m of status.members) process.stdout.write(`${m.id}\t${m.membership}\t${m.addresses.peer ?? ""}\n`);
    }));
  withClusterOptions(members.command("add").argument("<id>", "member id")
    .description("add a member: as a learner first; once it has caught up it is promoted to voter")
    .option("--learner-only", "stop after adding it as a learner")
    .option("--catch-up-timeout <seconds>", "how long to wait for it to catch up", parseNumber, 120)
    .addHelpText("after", `
Start the new server first with --initial-cluster-state existing and the cluster id, then:
  kvraft members add 4
It is added as a learner (it receives the log but does not vote), catches up (a snapshot,
then entries), and is promoted once the leader accepts it as caught up.`))
    .action(run(async (id: string, flags: Flags & { learnerOnly?: boolean; catchUpTimeout: number }) => {
      const endpoints = await discoverEndpoints(flags, "admin");
      const member = Number(id);
      const added = await request(endpoints, "POST", `/v1/admin/members/${member}/learner`, "{}", flags.timeout);
      if (added.status >= 400) throw new CliError(added.status === 409 ? EXIT.notFound : EXIT.unavailable, `add member ${id}: ${errorMessage(added)}`);
      const asLearner = json<ChangeResult>(added);
      if (flags.learnerOnly === true) return report(flags.output, { member, membership: "learner", ...asLearner }, `member ${member} is a learner\n`);
      // The JSON output is one object at the end; the progress line is for a reader.
      if (flags.output !== "json") process.stdout.write(`member ${member} is a learner; waiting for it to catch up\n`);
      const startedMs = Date.now();
      const deadline = startedMs + flags.catchUpTimeout * 1000;
      for (;;) {
        const promoted = await request(endpoints, "POST", `/v1/admin/members/${member}/promote`, "{}", flags.timeout);
        if (promoted.status < 400) {
          const result = json<ChangeResult>(promoted);
          return report(flags.output, { member, membership: "voter", ...result }, `member ${member} is a voter: voters [${result.voters.join(", ")}]\n`);
        }
        const reason = promotionRefusal(promoted);
        // A server just started may take a moment to reach the leader; one that has not
        // answered after NEVER_ACKNOWLEDGED_WAIT_MS is not running, and waiting the whole
        // catch-up timeout for it would only hide that.
        const gaveUp = reason === "never-acknowledged" && Date.now() - startedMs > NEVER_ACKNOWLEDGED_WAIT_MS;
        if (gaveUp || Date.now() > deadline) {
          const waited = gaveUp ? `${NEVER_ACKNOWLEDGED_WAIT_MS / 1000} s` : `${flags.catchUpTimeout} s`;
          throw new CliError(EXIT.unavailable, `member ${member} never caught up within ${waited} (${errorMessage(promoted)}); it stays a learner: check that it runs, then \`kvraft members promote ${member}\``);
        }
        const status = (await leaderStatus(flags).catch(() => undefined))?.status;
        const lag = status?.members.find((m) => m.id === member)?.lag;
        if (process.stderr.isTTY === true) process.stderr.write(`\r  catching up: ${lag === undefined ? "?" : lag} entries behind   `);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }));
  for (const [verb, method, suffix, what] of [
    ["add-learner", "POST", "/learner", "add a member as a learner only (see members add)"],
    ["promote", "POST", "/promote", "make a caught-up learner a voter"],
    ["remove", "DELETE", "", "remove a member (refused if it would leave no healthy majority)"],
  ] as const) {
    withClusterOptions(members.command(verb).argument("<id>", "member id").description(what)
      .addHelpText("after", `\nExample:\n  kvraft members ${verb} 4`))
      .action(run(async (id: string, flags: Flags) => {
        const answer = await request(await discoverEndpoints(flags, "admin"), method, `/v1/admin/members/${Number(id)}${suffix}`, "{}", flags.timeout);
        if (answer.status >= 400) throw new CliError(answer.status === 409 ? EXIT.notFound : EXIT.unavailable, `${verb} member ${id}: ${errorMessage(answer)}`);
        const result = json<ChangeResult>(answer);
        report(flags.output, result, `${result.changed ? "OK" : "nothing to do"}: voters [${result.voters.join(", ")}], learners [${result.learners.join(", ")}] (configuration index ${result.configIndex})\n`);
      }));
  }

  withClusterOptions(program.command("transfer-leader").description("hand leadership to another voter (default: the most up-to-date one)")
    .option("--to <id>", "the member to hand leadership to", parseNumber)
    .addHelpText("after", "\nExamples:\n  kvraft transfer-leader\n  kvraft transfer-leader --to 2 --output json   # {\"transferringTo\": 2}"))
    .action(run(async (flags: Flags & { to?: number }) => {
      const answer = await request(await discoverEndpoints(flags, "admin"), "POST", "/v1/admin/transfer-leadership", JSON.stringify(flags.to === undefined ? {} : { to: flags.to }), flags.timeout);
      if (answer.status >= 400) throw new CliError(EXIT.unavailable, `transfer-leader: ${errorMessage(answer)}`);
      const result = json<{ transferringTo: number }>(answer);
      report(flags.output, result, `leadership is moving to member ${result.transferringTo}\n`);
    }));
}


/** How often `status --watch` asks the members when it has no coordinator to follow. */
const WATCH_INTERVAL_MS_DEFAULT = 1000;
const WATCH_INTERVAL_MS_MIN = 100;
const WATCH_INTERVAL_MS_MAX = 3_600_000;

function parseInterval(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < WATCH_INTERVAL_MS_MIN || n > WATCH_INTERVAL_MS_MAX) {
    throw new InvalidArgumentError(`expected milliseconds, a whole number ${WATCH_INTERVAL_MS_MIN}..${WATCH_INTERVAL_MS_MAX}, got "${value}"`);
  }
  return n;
}

/** `kvraft status --watch`: the coordinator's stream when one is known, else the members polled. */
async function watchStatus(flags: Flags & { interval: number }): Promise<void> {
  if (flags.output === "json") throw new CliError(EXIT.usage, "--watch draws a table: leave out --output json (GET /v1/events on the coordinator streams the view as JSON)");
  // Loaded only for --watch: it reads the coordinator's stream (the coord layer), which no other client verb needs.
  const { followCoordinator, pollMembers, WatchStop } = await import("./status-watch.js");
  const { FrameWriter } = await import("./frame-writer.js");
  const writer = new FrameWriter(process.stdout);
  const stop = new WatchStop();
  const forgetSignals = stop.onSignals();
  try {
    const coordinator = await findCoordinator(flags);
    if (coordinator !== undefined) await followCoordinator(coordinator, writer, stop, flags.timeout ?? DEFAULT_TIMEOUT_MS);
    else await pollMembers(async () => statusLines(await leaderStatus(flags)), flags.interval, writer, stop);
  } finally {
    forgetSignals();
  }
}

/** A member's status and where it came from; leaderKnown false: no member named a reachable leader. */
interface StatusView { readonly status: ServerStatus; readonly answeredBy: string; readonly leaderKnown: boolean }

/** How long one member may take to give its status while the CLI looks for the leader. */
const STATUS_PROBE_TIMEOUT_MS = 1000;

/**
 * The leader's status (it alone knows every member's match and lag). The first member
 * that answers may be a follower, or a removed member that knows no leader at all: ask
 * the leader its views name (through their member directory), then every other endpoint
 * and directory address in turn, until a member that leads in the newest term answers.
 * With no leader anywhere, the newest view (highest term, then commit) with leaderKnown false.
 */
async function leaderStatus(flags: Flags): Promise<StatusView> {
  const access = await discoverEndpoints(flags);
  const first = await request(access, "GET", "/v1/status", undefined, flags.timeout);
  const views: StatusView[] = [{ status: json<ServerStatus>(first), answeredBy: first.endpoint, leaderKnown: false }];
  const tried = new Set<string>([first.endpoint]);
  const probeMs = Math.min(flags.timeout ?? DEFAULT_TIMEOUT_MS, STATUS_PROBE_TIMEOUT_MS);
  for (;;) {
    // A member that is no voter (removed, or a learner) may campaign in terms no voter
    // follows: only voters' terms say whether a leader is stale.
    const voters = views.filter((v) => v.status.membership === "voter");
    const newestTerm = Math.max(...(voters.length > 0 ? voters : views).map((v) => v.status.term));
    const leader = views.find((v) => v.status.role === "leader" && v.status.term >= newestTerm);
    if (leader !== undefined) return { ...leader, leaderKnown: true };
    const next = nextToAsk(views, access.endpoints, tried);
    if (next === undefined) break;
    tried.add(next);
    try {
      const answer = await request({ ...access, endpoints: [next] }, "GET", "/v1/status", undefined, probeMs);
      views.push({ status: json<ServerStatus>(answer), answeredBy: answer.endpoint, leaderKnown: false });
    } catch {
      // Down or not KVRaft: the others may still know.
    }
  }
  const newest = [...views].sort((a, b) => b.status.term - a.status.term || b.status.commitIndex - a.status.commitIndex)[0] as StatusView;
  return newest;
}

/** The leader a view names first, then the endpoints given, then every member's address in the directories. */
function nextToAsk(views: readonly StatusView[], endpoints: readonly string[], tried: ReadonlySet<string>): string | undefined {
  const named = views.filter((v) => v.status.leaderId !== 0)
    .sort((a, b) => b.status.term - a.status.term)
    .map((v) => v.status.members.find((m) => m.id === v.status.leaderId)?.addresses.http);
  const directory = views.flatMap((v) => v.status.members.map((m) => m.addresses.http));
  return [...named, ...endpoints, ...directory].find((e): e is string => e !== undefined && !tried.has(e));
}

/** `kvraft status`'s table: the leader's view of every member. */
function statusLines({ status, answeredBy, leaderKnown }: StatusView): string[] {
  const rows = [["ID", "MEMBERSHIP", "ROLE", "MATCH", "LAG", "STATE", "HTTP", "PEER"]];
  for (const m of status.members) {
    const role = m.id === status.leaderId ? "leader" : m.id === status.memberId ? status.role : "follower";
    rows.push([String(m.id), m.membership, role, String(m.matchIndex ?? "-"), String(m.lag ?? "-"),
      m.replication === undefined ? "-" : `${m.replication}${m.active === false ? " (silent)" : ""}${m.nonVoting === true ? " non-voting" : ""}`,
      m.addresses.http ?? "-", m.addresses.peer ?? "-"]);
  }
  return [
    leaderKnown
      ? `view of leader ${status.memberId} (answered by ${answeredBy})`
      : `no leader known: the view of member ${status.memberId} (answered by ${answeredBy}), which may be stale`,
    `cluster ${status.clusterId}: leader ${status.leaderId === 0 ? "none" : status.leaderId}, term ${status.term}, commit ${status.commitIndex}`,
    "",
    ...textTable(rows),
  ];
}
