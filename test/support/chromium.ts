import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";

/** Debian's chromium on PATH, or undefined when it is not installed. */
export function findChromium(): string | undefined {
  try {
    return execFileSync("sh", ["-c", "command -v chromium"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** A DevTools Protocol answer is not waited for longer than this. */
const CALL_TIMEOUT_MS = 15_000;
/** Browser.close is given this long before the browser's process group is killed. */
const CLOSE_WAIT_MS = 5000;

interface Pending { resolve: (result: Record<string, unknown>) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }

/**
 * Headless Chromium driven over the DevTools Protocol on a pipe (--remote-debugging-pipe:
 * JSON messages ended by a NUL byte, Chromium reading fd 3 and writing fd 4): no browser
 * download, no WebSocket, no driver library. It runs in its own process group with its
 * own profile directory, both removed by close().
 */
export class HeadlessChromium {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess, private readonly profileDir: string) {
    const output = child.stdio[4] as Readable;
    let buffered = Buffer.alloc(0);
    output.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      let end: number;
      while ((end = buffered.indexOf(0)) >= 0) {
        this.answer(JSON.parse(buffered.subarray(0, end).toString("utf8")) as { id?: number; result?: Record<string, unknown>; error?: { message: string } });
        buffered = buffered.subarray(end + 1);
      }
    });
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    void this.exited.then(() => {
      for (const [id, call] of this.pending) call.reject(new Error(`chromium exited before answering call ${id}`));
    });
  }

  /** `extraArgs`: e.g. --ignore-certificate-errors-spki-list for a test CA's server. */
  static async start(binary: string, extraArgs: readonly string[] = []): Promise<HeadlessChromium> {
    const profileDir = await mkdtemp(join(tmpdir(), "kvraft-chromium-"));
    const args = [
      "--headless=new", "--remote-debugging-pipe", `--user-data-dir=${profileDir}`,
      "--no-first-run", "--no-default-browser-check", "--disable-gpu", "--disable-extensions",
      "--disable-background-networking", "--disable-sync", "--disable-dev-shm-usage", "--mute-audio",
      "--window-size=1200,800",
      // Chromium's sandbox refuses to run as root (CI runs as root); the pages opened are the test's own.
      ...(process.getuid?.() === 0 ? ["--no-sandbox"] : []),
      ...extraArgs,
      "about:blank",
    ];
    const child = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"], detached: true });
    const stderr: string[] = [];
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr.push(chunk.toString("utf8"));
      if (stderr.length > 200) stderr.splice(0, 100);
    });
    const browser = new HeadlessChromium(child, profileDir);
    try {
      await browser.call("Browser.getVersion");
    } catch (error) {
      await browser.close();
      throw new Error(`chromium (${binary}) did not answer the DevTools Protocol: ${(error as Error).message}\n${stderr.join("").slice(-2000)}`);
    }
    return browser;
  }

  call(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no answer from chromium within ${CALL_TIMEOUT_MS} ms`));
      }, CALL_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      (this.child.stdio[3] as Writable).write(`${JSON.stringify({ id, method, params, ...(sessionId === undefined ? {} : { sessionId }) })}\0`);
    });
  }

  /** A new tab showing `url`; answers the session id to talk to it. */
  async openTab(url: string): Promise<string> {
    const { targetId } = await this.call("Target.createTarget", { url }) as { targetId: string };
    const { sessionId } = await this.call("Target.attachToTarget", { targetId, flatten: true }) as { sessionId: string };
    return sessionId;
  }

  /** Runs an expression in the tab and answers its value (a promise is awaited). */
  async evaluate<T>(sessionId: string, expression: string): Promise<T> {
    const answer = await this.call("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true }, sessionId) as { result: { value?: T }; exceptionDetails?: { text: string } };
    if (answer.exceptionDetails !== undefined) throw new Error(`the page threw: ${answer.exceptionDetails.text}`);
    return answer.result.value as T;
  }

  async screenshotPng(sessionId: string): Promise<Buffer> {
    const { data } = await this.call("Page.captureScreenshot", { format: "png" }, sessionId) as { data: string };
    return Buffer.from(data, "base64");
  }

  /** Closes the browser (its whole process group if it does not go) and removes its profile. */
  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      await Promise.race([this.call("Browser.close").catch(() => undefined), new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS))]);
      const gone = await Promise.race([this.exited.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), CLOSE_WAIT_MS))]);
      if (!gone && this.child.pid !== undefined) {
        // The group this test started (detached above): the browser and its renderers.
        process.kill(-this.child.pid, "SIGKILL");
        await this.exited;
      }
    }
    this.killLeftovers();
    await rm(this.profileDir, { recursive: true, force: true });
  }

  /** A renderer that outlived its browser, in the process group this test started. */
  private killLeftovers(): void {
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, "SIGKILL");
    } catch {
      // ESRCH: the group is empty, as it should be.
    }
  }

  private answer(message: { id?: number; result?: Record<string, unknown>; error?: { message: string } }): void {
    if (message.id === undefined) return;
    const call = this.pending.get(message.id);
    if (call === undefined) return;
    this.pending.delete(message.id);
    clearTimeout(call.timer);
    if (message.error !== undefined) call.reject(new Error(message.error.message));
    else call.resolve(message.result ?? {});
  }
}
