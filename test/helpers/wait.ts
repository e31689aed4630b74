/**
 * Waits until `cond` holds, checking every few milliseconds; throws after `timeoutMs`. Tests wait for
 * the state they need instead of sleeping a guessed time, which a loaded CI machine can outlast.
 */
export async function waitFor(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
