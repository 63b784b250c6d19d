/**
 * Polite HTTP for Discogs: every request waits for its pacer, carries the project's User-Agent
 * (and the token only towards the API host), learns from the rate-limit headers, backs off on
 * 429, and retries 5xx / connection resets / timeouts with exponential backoff and jitter before
 * giving up with an error that names the URL — never the token.
 */
import { RatePacer, rateHeaders } from "./pacer";
import { redactSecrets } from "../util/secrets";

/**
 * AbortSignal.any (Node ≥ 20.3). Typed by hand: with both the DOM lib and @types/node loaded,
 * which AbortSignal declaration wins depends on the order tsc reads files in, and one of them
 * lacks `any` — so a clean clone type-checked where this checkout did not.
 */
const anySignal = (signals: AbortSignal[]): AbortSignal => (AbortSignal as unknown as { any(s: AbortSignal[]): AbortSignal }).any(signals);

export type RequestKind = "api" | "image" | "web";

export interface HttpConfig {
  userAgent: string;
  /** Personal access token; sent as `Authorization: Discogs token=…` on API requests only. */
  token?: string;
  /** Per-attempt timeout (default 30 s). */
  timeoutMs?: number;
  /** Retries after the first attempt for 5xx / network errors / timeouts (default 4). */
  retries?: number;
  /** Retries after 429 answers (default 5); each waits out the pacer's window. */
  retries429?: number;
  /** First backoff (default 2 s), doubled per retry, capped at `backoffMaxMs` (default 60 s), ±50 % jitter. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  random?: () => number;
}

export interface HttpResponse {
  status: number;
  contentType: string;
  body: Buffer;
}

/** A request that failed for good (after retries, or a status that retrying cannot fix). */
export class HttpError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export interface HttpCounters {
  requests: Record<RequestKind, number>;
  status429: number;
  retries: number;
}

export class DiscogsHttp {
  readonly counters: HttpCounters = { requests: { api: 0, image: 0, web: 0 }, status429: 0, retries: 0 };

  constructor(
    private readonly config: HttpConfig,
    readonly pacers: Record<RequestKind, RatePacer>,
  ) {}

  private redact(text: string): string {
    return redactSecrets(text, this.config.token ? [this.config.token] : []);
  }

  /**
   * GET `url`, pacing by `kind`. Resolves for 2xx and 404 (the caller decides what "missing"
   * means); throws {@link HttpError} otherwise. `signal` cancels waiting and the request itself.
   */
  async get(url: string, kind: RequestKind, signal?: AbortSignal): Promise<HttpResponse> {
    const cfg = this.config;
    const pacer = this.pacers[kind];
    const retries = cfg.retries ?? 4;
    const retries429 = cfg.retries429 ?? 5;
    const random = cfg.random ?? Math.random;
    const headers: Record<string, string> = { "User-Agent": cfg.userAgent, Accept: kind === "api" ? "application/json" : "*/*" };
    if (kind === "api" && cfg.token) headers.Authorization = `Discogs token=${cfg.token}`;
    let failures = 0;
    let tooMany = 0;
    let lastError = "";
    for (;;) {
      await pacer.acquire(signal);
      this.counters.requests[kind]++;
      let retryable = false;
      try {
        const timeout = AbortSignal.timeout(cfg.timeoutMs ?? 30_000);
        const res = await fetch(url, { headers, signal: signal ? anySignal([signal, timeout]) : timeout, redirect: "follow" });
        pacer.observe(rateHeaders(res.headers));
        const body = Buffer.from(await res.arrayBuffer());
        if (res.status === 429) {
          this.counters.status429++;
          pacer.penalize();
          if (++tooMany > retries429) throw new HttpError(this.redact(`GET ${url}: still 429 Too Many Requests after ${retries429} waits`), 429);
          continue;
        }
        if ((res.status >= 200 && res.status < 300) || res.status === 404) {
          return { status: res.status, contentType: res.headers.get("content-type") ?? "", body };
        }
        lastError = `HTTP ${res.status}`;
        if (res.status >= 500 || res.status === 408) retryable = true;
        else if (res.status === 401 || res.status === 403) {
          throw new HttpError(this.redact(`GET ${url}: HTTP ${res.status} — the token is missing, wrong or revoked`), res.status);
        } else throw new HttpError(this.redact(`GET ${url}: HTTP ${res.status}`), res.status);
      } catch (err) {
        if (err instanceof HttpError) throw err;
        if (signal?.aborted) throw signal.reason ?? err;
        const e = err as Error & { cause?: { code?: string; message?: string } };
        lastError = e.name === "TimeoutError" ? `timed out after ${cfg.timeoutMs ?? 30_000} ms` : `${e.cause?.code ?? e.name}: ${e.cause?.message ?? e.message}`;
        retryable = true;
      }
      if (!retryable) throw new HttpError(this.redact(`GET ${url}: ${lastError}`), null);
      if (failures >= retries) {
        throw new HttpError(this.redact(`GET ${url}: ${lastError} (gave up after ${retries + 1} attempts)`), null);
      }
      const base = Math.min(cfg.backoffMaxMs ?? 60_000, (cfg.backoffBaseMs ?? 2_000) * 2 ** failures);
      failures++;
      this.counters.retries++;
      await pacer.clock.sleep(base * (0.5 + random()), signal);
    }
  }
}
