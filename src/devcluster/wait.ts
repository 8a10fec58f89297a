/**
 * Waits for a condition with a deadline; never a bare sleep as synchronisation. A check
 * that throws is retried (the last error is quoted at the deadline); `fatal`, called
 * before each check, ends the wait at once when it throws (a process the wait depends
 * on has died: no point in waiting for the deadline).
 */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000, pollMs = 50, fatal?: () => void): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    fatal?.();
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError === undefined ? "" : ` (last error: ${(lastError as Error).message})`}`);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
