/**
 * The action of a verb whose implementation is imported only when the verb runs. Every
 * verb's definition (arguments, options, help) is registered at start, but `kvraft --help`
 * or `kvraft get` must not pay for loading the server, the simulator, express or
 * prom-client: each `*-command.ts` defines its verb and its `*-run.ts` does the work.
 * The implementation returns the process's exit status.
 */
export function loadOnRun<A extends unknown[]>(load: () => Promise<(...args: A) => Promise<number>>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const runVerb = await load();
    process.exitCode = await runVerb(...args);
  };
}
