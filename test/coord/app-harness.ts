import type { CoordEvent, CoordinatorOptions, RunningCoordinator } from "../../src/coord/index.js";
import { startCoordinator } from "../../src/coord/index.js";

/**
 * One in-process coordinator at a time on a port picked at run time, the events it
 * reported, and calls to its HTTP API. `stop()` in an afterEach ends it even when a
 * test failed.
 */
export class CoordinatorUnderTest {
  running: RunningCoordinator | undefined;
  readonly events: CoordEvent[] = [];

  constructor(private readonly defaults: CoordinatorOptions = {}) {}

  readonly start = async (options: CoordinatorOptions = {}): Promise<RunningCoordinator> => {
    this.running = await startCoordinator({ host: "127.0.0.1", port: 0, onEvent: (e) => this.events.push(e), ...this.defaults, ...options });
    return this.running;
  };

  readonly post = (path: string, body: unknown): Promise<Response> =>
    fetch(`${this.running?.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

  readonly get = (path: string): Promise<Response> => fetch(`${this.running?.url}${path}`);

  readonly stop = async (): Promise<void> => {
    await this.running?.stop();
    this.running = undefined;
    this.events.length = 0;
  };
}
