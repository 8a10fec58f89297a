import type { Command } from "commander";

export function registerLocalCommand(program: Command): void {
  program.command("local")
    .description("run a whole local cluster (coordinator + servers) with data under ./.kvraft/ (what `npm start` runs)")
    .action(() => {
      process.stdout.write([
        "kvraft local: no cluster yet.",
        "The server, coordinator and local cluster are still being built; what runs today is",
        "the Raft core and its simulator:",
        "  node dist/cli.js sim --seeds 100          # seeded fault schedules, safety checked at every step",
        "  node dist/cli.js bench core               # entries per second through the core alone",
        "",
      ].join("\n"));
    });
}
