import { RatePacer, rateHeaders } from "../../lib/discogs/pacer";
import { FakeClock } from "./fakeClock";

/**
 * A simulated Discogs: a moving-window counter over request arrival times that answers 429 when
 * the window is full and reports Used/Remaining like the real headers.
 */
class SimServer {
  arrivals: number[] = [];
  rejected = 0;
  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private clock: FakeClock,
  ) {}
  hit(): { ok: boolean; used: number } {
    const now = this.clock.now();
    const inWindow = this.arrivals.filter((t) => t > now - this.windowMs).length;
    if (inWindow >= this.limit) {
      this.rejected++;
      return { ok: false, used: inWindow };
    }
    this.arrivals.push(now);
    return { ok: true, used: inWindow + 1 };
  }
  /** Largest number of accepted requests in any window. */
  maxInWindow(): number {
    let max = 0;
    for (let i = 0, j = 0; i < this.arrivals.length; i++) {
      while (this.arrivals[i] - this.arrivals[j] >= this.windowMs) j++;
      max = Math.max(max, i - j + 1);
    }
    return max;
  }
}

async function drive(opts: { n: number; workers: number; serverLimit: number; clientLimit: number; latencyMs: number; foreignEveryMs?: number }) {
  const clock = new FakeClock();
  const server = new SimServer(opts.serverLimit, 60_000, clock);
  const pacer = new RatePacer({ limit: opts.clientLimit, windowMs: 60_000, clock });
  let next = 0;
  let retries = 0;
  const worker = async () => {
    while (next < opts.n) {
      next++;
      for (;;) {
        await pacer.acquire();
        await clock.sleep(opts.latencyMs / 2); // request travels
        const r = server.hit();
        await clock.sleep(opts.latencyMs / 2); // response travels
        pacer.observe({ limit: opts.serverLimit, used: r.used, remaining: opts.serverLimit - r.used });
        if (r.ok) break;
        retries++;
        pacer.penalize();
      }
    }
  };
  const work = Promise.all(Array.from({ length: opts.workers }, worker));
  await clock.run(work);
  return { server, clock, retries, pacer };
}

describe("RatePacer (virtual time)", () => {
  test("1,200 requests at 60/min: never a 429, and ≥ 95 % of the allowed rate is used", async () => {
    const { server, clock } = await drive({ n: 1200, workers: 3, serverLimit: 60, clientLimit: 60, latencyMs: 400 });
    expect(server.rejected).toBe(0);
    expect(server.arrivals).toHaveLength(1200);
    expect(server.maxInWindow()).toBeLessThanOrEqual(60);
    const minutes = clock.now() / 60_000;
    const perMinute = 1200 / minutes;
    console.log(`pacer: 1200 requests in ${minutes.toFixed(2)} virtual minutes = ${perMinute.toFixed(1)}/min of 60 allowed`);
    expect(perMinute).toBeGreaterThanOrEqual(57);
    expect(perMinute).toBeLessThanOrEqual(60);
  });

  test("obeys a lower limit advertised by the server (25/min) although configured for 60", async () => {
    const { server } = await drive({ n: 100, workers: 2, serverLimit: 25, clientLimit: 60, latencyMs: 200 });
    // The first response teaches the limit; with 2 workers at most a couple of requests are already out.
    expect(server.rejected).toBe(0);
    expect(server.maxInWindow()).toBeLessThanOrEqual(25);
  });

  test("requests counted by the server but not sent by us (another program) slow us down", async () => {
    const clock = new FakeClock();
    const pacer = new RatePacer({ limit: 60, clock });
    await clock.run(pacer.acquire());
    // The server says 50 are used although we sent 1: only 8 more may go (limit 60 - safety 1 - 51).
    pacer.observe({ limit: 60, used: 51, remaining: 9 });
    expect(pacer.inWindow()).toBe(51);
    let sent = 0;
    const burst = (async () => {
      for (let i = 0; i < 9; i++) {
        await pacer.acquire();
        sent++;
      }
    })();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(sent).toBe(8);
    expect(pacer.delay()).toBeGreaterThan(59_000);
    await clock.run(burst);
    expect(clock.now()).toBeGreaterThanOrEqual(60_000);
  });

  test("a 429 makes the pacer wait a full window", async () => {
    const clock = new FakeClock();
    const pacer = new RatePacer({ limit: 60, clock });
    await clock.run(pacer.acquire());
    pacer.penalize();
    const before = clock.now();
    await clock.run(pacer.acquire());
    expect(clock.now() - before).toBeGreaterThanOrEqual(60_000);
  });

  test("an aborted waiter does not block the queue", async () => {
    const clock = new FakeClock();
    const pacer = new RatePacer({ limit: 2, safety: 1, clock });
    await clock.run(pacer.acquire());
    const ctl = new AbortController();
    const waiting = pacer.acquire(ctl.signal);
    ctl.abort(new Error("stop"));
    await expect(waiting).rejects.toThrow("stop");
    await clock.run(pacer.acquire());
    expect(pacer.granted).toBe(2);
  });

  test("rateHeaders reads the Discogs headers", () => {
    const h = new Headers({ "X-Discogs-Ratelimit": "60", "X-Discogs-Ratelimit-Used": "3", "X-Discogs-Ratelimit-Remaining": "57" });
    expect(rateHeaders(h)).toEqual({ limit: 60, used: 3, remaining: 57 });
    expect(rateHeaders(new Headers())).toEqual({ limit: undefined, used: undefined, remaining: undefined });
  });
});
