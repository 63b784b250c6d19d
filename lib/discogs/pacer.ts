/**
 * Request pacing for Discogs: at most `limit` requests in any moving window (60 s), with the
 * limit and the server's own count taken from the `X-Discogs-Ratelimit*` headers, so the server
 * never has to answer 429 while we still use nearly all of the allowed rate.
 *
 * How: every request we send is logged with its time; a new one may go when fewer than
 * `limit - safety` of ours are younger than the window. The server's `-Used` count can be higher
 * than ours (another program on the same IP): those extra requests are assumed to stay in the
 * window for a full window from when we learnt of them — the conservative choice, since their
 * real times are unknown. A 429 anyway fills the window (wait one full window, then go on).
 *
 * The clock is injectable so the tests simulate minutes of traffic in milliseconds.
 */

/** Time source and sleep; the default is the real clock. */
export interface Clock {
  now(): number;
  /** Resolve after `ms`; reject with the signal's reason if it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason ?? new Error("aborted"));
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, Math.max(0, ms));
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal!.reason ?? new Error("aborted"));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    }),
};

/** The rate-limit headers of one response (absent ones undefined). */
export interface RateHeaders {
  limit?: number;
  used?: number;
  remaining?: number;
}

/** Read `X-Discogs-Ratelimit`, `-Used`, `-Remaining` from a fetch Headers object. */
export function rateHeaders(headers: { get(name: string): string | null }): RateHeaders {
  const num = (name: string) => {
    const v = headers.get(name);
    if (v == null || v.trim() === "") return undefined;
    const n = Number(v);
    return Number.isFinite(n) && n >= 0 ? n : undefined;
  };
  return {
    limit: num("x-discogs-ratelimit"),
    used: num("x-discogs-ratelimit-used"),
    remaining: num("x-discogs-ratelimit-remaining"),
  };
}

export interface PacerConfig {
  /** Requests allowed per window until the server says otherwise (Discogs: 60 authenticated). */
  limit: number;
  /** Window length; Discogs uses a moving 60 s window. */
  windowMs?: number;
  /** Slots kept free for clock skew and requests still travelling (default 1). */
  safety?: number;
  /** Extra wait after a slot expires, for the same reason (default 250 ms). */
  marginMs?: number;
  clock?: Clock;
}

export class RatePacer {
  /** Times of our requests still inside the window (oldest first). */
  private sent: number[] = [];
  /** Expiry times of requests the server counted that we did not send (or a 429 penalty). */
  private foreign: number[] = [];
  private queue: Promise<void> = Promise.resolve();
  limit: number;
  readonly windowMs: number;
  private readonly safety: number;
  private readonly marginMs: number;
  readonly clock: Clock;
  /** Total requests let through, and how long callers waited in total (for reports). */
  granted = 0;
  waitedMs = 0;

  constructor(config: PacerConfig) {
    this.limit = config.limit;
    this.windowMs = config.windowMs ?? 60_000;
    this.safety = config.safety ?? 1;
    this.marginMs = config.marginMs ?? 250;
    this.clock = config.clock ?? realClock;
  }

  private prune(now: number): void {
    const cutoff = now - this.windowMs - this.marginMs;
    let i = 0;
    while (i < this.sent.length && this.sent[i] <= cutoff) i++;
    if (i) this.sent.splice(0, i);
    this.foreign = this.foreign.filter((t) => t > now);
  }

  /** Requests counted against the window right now (ours plus foreign). */
  inWindow(now = this.clock.now()): number {
    this.prune(now);
    return this.sent.length + this.foreign.length;
  }

  /** Milliseconds until a request may go (0 = now). */
  delay(now = this.clock.now()): number {
    this.prune(now);
    const allowed = Math.max(1, this.limit - this.safety);
    const used = this.sent.length + this.foreign.length;
    if (used < allowed) return 0;
    // The (used - allowed + 1) earliest expiries must pass.
    const expiries = [...this.sent.map((t) => t + this.windowMs + this.marginMs), ...this.foreign].sort((a, b) => a - b);
    return Math.max(1, expiries[used - allowed] - now);
  }

  /**
   * Wait for a free slot and take it. Callers are served in order, so concurrent workers cannot
   * overtake each other into the same slot.
   */
  acquire(signal?: AbortSignal): Promise<void> {
    const turn = this.queue.then(async () => {
      const start = this.clock.now();
      for (;;) {
        if (signal?.aborted) throw signal.reason ?? new Error("aborted");
        const wait = this.delay();
        if (wait === 0) break;
        await this.clock.sleep(wait, signal);
      }
      const now = this.clock.now();
      this.waitedMs += now - start;
      this.sent.push(now);
      this.granted++;
    });
    // A caller that gives up (abort) must not block the ones behind it.
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** Learn from a response's headers: the advertised limit, and requests we did not make. */
  observe(h: RateHeaders): void {
    const now = this.clock.now();
    if (h.limit !== undefined && h.limit > 0) this.limit = h.limit;
    const used = h.used ?? (h.limit !== undefined && h.remaining !== undefined ? h.limit - h.remaining : undefined);
    if (used === undefined) return;
    this.prune(now);
    const extra = used - this.sent.length;
    this.foreign = extra > 0 ? new Array<number>(extra).fill(now + this.windowMs + this.marginMs) : [];
  }

  /** The server answered 429: treat the window as full from now on. */
  penalize(): void {
    const now = this.clock.now();
    this.prune(now);
    const missing = Math.max(0, this.limit - this.sent.length);
    this.foreign = new Array<number>(Math.max(missing, this.foreign.length)).fill(now + this.windowMs + this.marginMs);
  }
}
