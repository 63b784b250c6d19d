import type { Clock } from "../../lib/discogs/pacer";

/**
 * Virtual time for pacing tests: `sleep` registers a timer; `run` lets all pending promise work
 * settle, then jumps to the earliest timer, until the given work is done.
 */
export class FakeClock implements Clock {
  t = 0;
  private timers: { at: number; resolve: () => void; reject: (e: unknown) => void }[] = [];

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = { at: this.t + Math.max(0, ms), resolve, reject };
      this.timers.push(timer);
      signal?.addEventListener("abort", () => {
        this.timers = this.timers.filter((x) => x !== timer);
        reject(signal.reason);
      });
    });
  }

  async run<T>(work: Promise<T>): Promise<T> {
    let done = false;
    const result = work.finally(() => {
      done = true;
    });
    for (;;) {
      await new Promise((r) => setImmediate(r));
      if (done) return result;
      if (this.timers.length === 0) continue;
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers.shift()!;
      this.t = Math.max(this.t, next.at);
      next.resolve();
    }
  }
}
