import type { Command } from "commander";
import type { ServerStatus } from "../server/status.js";
import type { AccessOptions } from "./cluster-access.js";
import { CliError, discoverEndpoints, withClusterOptions, errorMessage, EXIT, json, request } from "./cluster-access.js";
import { parseNumber, print, run } from "./kv-commands.js";

interface Flags extends AccessOptions { output: "table" | "json" }

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
    .addHelpText("after", "\nExamples:\n  kvraft status\n  kvraft status --output json   # the server's status schema, as the leader sees it"))
    .action(run(async (flags: Flags) => {
      const status = await leaderStatus(flags);
      if (flags.output === "json") return print(status);
      printStatusTable(status);
    }));

  const members = program.command("members").description("list, add, promote or remove members (Raft membership)")
    .addHelpText("after", "\nExamples:\n  kvraft members list\n  kvraft members add 4        # learner, catch up, then voter\n  kvraft members remove 4");
  withClusterOptions(members.command("list").description("the configuration: voters and learners"))
    .action(run(async (flags: Flags) => {
      const status = await leaderStatus(flags);
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
      const endpoints = await discoverEndpoints(flags);
      const member = Number(id);
      const added = await request(endpoints, "POST", `/v1/admin/members/${member}/learner`, "{}", flags.timeout);
      if (added.status >= 400) throw new CliError(added.status === 409 ? EXIT.notFound : EXIT.unavailable, `add member ${id}: ${errorMessage(added)}`);
      process.stdout.write(`member ${member} is a learner; waiting for it to catch up\n`);
      if (flags.learnerOnly === true) return;
      const startedMs = Date.now();
      const deadline = startedMs + flags.catchUpTimeout * 1000;
      for (;;) {
        const promoted = await request(endpoints, "POST", `/v1/admin/members/${member}/promote`, "{}", flags.timeout);
        if (promoted.status < 400) {
          const result = json<{ voters: number[] }>(promoted);
          process.stdout.write(`member ${member} is a voter: voters [${result.voters.join(", ")}]\n`);
          return;
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
        const status = await leaderStatus(flags).catch(() => undefined);
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
        const answer = await request(await discoverEndpoints(flags), method, `/v1/admin/members/${Number(id)}${suffix}`, "{}", flags.timeout);
        if (answer.status >= 400) throw new CliError(answer.status === 409 ? EXIT.notFound : EXIT.unavailable, `${verb} member ${id}: ${errorMessage(answer)}`);
        const result = json<{ changed: boolean; configIndex: number; voters: number[]; learners: number[] }>(answer);
        if (flags.output === "json") return print(result);
        process.stdout.write(`${result.changed ? "OK" : "nothing to do"}: voters [${result.voters.join(", ")}], learners [${result.learners.join(", ")}] (configuration index ${result.configIndex})\n`);
      }));
  }

  withClusterOptions(program.command("transfer-leader").description("hand leadership to another voter (default: the most up-to-date one)")
    .option("--to <id>", "the member to hand leadership to", parseNumber)
    .addHelpText("after", "\nExamples:\n  kvraft transfer-leader\n  kvraft transfer-leader --to 2 --output json   # {\"transferringTo\": 2}"))
    .action(run(async (flags: Flags & { to?: number }) => {
      const answer = await request(await discoverEndpoints(flags), "POST", "/v1/admin/transfer-leadership", JSON.stringify(flags.to === undefined ? {} : { to: flags.to }), flags.timeout);
      if (answer.status >= 400) throw new CliError(EXIT.unavailable, `transfer-leader: ${errorMessage(answer)}`);
      const result = json<{ transferringTo: number }>(answer);
      if (flags.output === "json") return print(result);
      process.stdout.write(`leadership is moving to member ${result.transferringTo}\n`);
    }));
}


/** The leader's status (it alone knows every member's match and lag), else any member's. */
async function leaderStatus(flags: Flags): Promise<ServerStatus> {
  const endpoints = await discoverEndpoints(flags);
  const any = json<ServerStatus>(await request(endpoints, "GET", "/v1/status", undefined, flags.timeout));
  if (any.role === "leader" || any.leaderId === 0) return any;
  const leaderHttp = any.members.find((m) => m.id === any.leaderId)?.addresses.http;
  if (leaderHttp === undefined) return any;
  try {
    return json<ServerStatus>(await request([leaderHttp], "GET", "/v1/status", undefined, 2000));
  } catch {
    return any;
  }
}

function printStatusTable(status: ServerStatus): void {
  process.stdout.write(`cluster ${status.clusterId}: leader ${status.leaderId === 0 ? "none" : status.leaderId}, term ${status.term}, commit ${status.commitIndex}\n\n`);
  const rows = [["ID", "MEMBERSHIP", "ROLE", "MATCH", "LAG", "STATE", "HTTP", "PEER"]];
  for (const m of status.members) {
    const role = m.id === status.leaderId ? "leader" : m.id === status.memberId ? status.role : "follower";
    rows.push([String(m.id), m.membership, role, String(m.matchIndex ?? "-"), String(m.lag ?? "-"),
      m.replication === undefined ? "-" : `${m.replication}${m.active === false ? " (silent)" : ""}${m.nonVoting === true ? " non-voting" : ""}`,
      m.addresses.http ?? "-", m.addresses.peer ?? "-"]);
  }
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((row) => (row[col] ?? "").length))) ?? [];
  for (const row of rows) process.stdout.write(`${row.map((cell, col) => cell.padEnd(widths[col] ?? 0)).join("  ").trimEnd()}\n`);
}
