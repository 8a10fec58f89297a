/**
 * Deliberately broken behaviour for the fault tests (test/faults/), which must show that
 * their judge rejects a history from a server that breaks linearizability. Off unless the
 * environment variable KVRAFT_TEST_PLANT names a plant; read once, at startup, and
 * announced on stderr so that nobody runs a planted server without knowing.
 *
 *   stale-follower-reads: a follower serves linearizable reads from its own state at
 *   once, without the ReadIndex round trip to the leader (and so can return stale data).
 */
export const TEST_PLANTS = ["stale-follower-reads"] as const;
export type TestPlant = (typeof TEST_PLANTS)[number];

/** Read once, when the server loads this module (at startup, through replica-service.ts). */
const ACTIVE: TestPlant | undefined = readPlant();

function readPlant(): TestPlant | undefined {
  const name = process.env["KVRAFT_TEST_PLANT"];
  if (name === undefined || name === "") return undefined;
  if (!(TEST_PLANTS as readonly string[]).includes(name)) {
    throw new Error(`KVRAFT_TEST_PLANT=${name} names no plant (known: ${TEST_PLANTS.join(", ")}): unset it to run a correct server`);
  }
  process.stderr.write(`\n!!! KVRAFT_TEST_PLANT=${name}: this server is DELIBERATELY BROKEN for a test; never use it for data !!!\n\n`);
  return name as TestPlant;
}

/** True when the named plant is switched on in this process. */
export function testPlantActive(plant: TestPlant): boolean {
  return ACTIVE === plant;
}
