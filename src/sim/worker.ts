import { parentPort, workerData } from "node:worker_threads";
import { runSimulation } from "./core/simulation.js";
import type { PlantName } from "./core/plants.js";
import type { Situations } from "./core/situations.js";
import { summarize, type SeedSummary } from "./summary.js";
import { emptyStats } from "./core/types.js";

/** A worker thread: runs the seeds the runner hands it, one message per seed. */
interface Job {
  readonly plant: PlantName | undefined;
  readonly minSteps: number | undefined;
  readonly situations: Partial<Situations> | undefined;
}

const job = workerData as Job;
// A seed's report carries an error's name and message only, and the client library and
// the KV service make errors by the thousand per seed (every retry, refusal and timeout):
// capturing their stacks was 3% of a run. A seed replayed alone (--seed S) keeps them.
Error.stackTraceLimit = 0;
const port = parentPort;
if (port === null) throw new Error("sim worker: must run in a worker thread");
port.on("message", (seed: number | null) => {
  if (seed === null) {
    port.close();
    return;
  }
  void summaryOf(seed).then((summary) => port.postMessage(summary));
});

async function summaryOf(seed: number): Promise<SeedSummary> {
  try {
    return summarize(await runSimulation({ seed, plant: job.plant, minSteps: job.minSteps, situations: job.situations }));
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { seed, violation: { invariant: "simulator-crash", message, step: 0, timeMs: 0 }, missingCoverage: [], stats: emptyStats(), operations: 0 };
  }
}
