/**
 * The crawl: for each planned master, check its rating count against the threshold, fetch its
 * cover URL, download and verify the image, write it in the study's layout and record the
 * decision in the manifest. Polite (paced by the rate-limit headers), resumable (manifest),
 * interruptible (signal: stop taking work, cancel the items in flight without recording them).
 */
import * as path from "node:path";
import { coverRelativePath } from "./genres";
import { DiscogsHttp, type RequestKind } from "./http";
import { RatePacer, type Clock } from "./pacer";
import { Manifest, type CrawlStatus, type ManifestRow } from "./manifest";
import { planCrawl, thresholdFor, type CrawlPlan, type PlanFilter } from "./plan";
import { checkImage, fetchMasterImages, fetchPageRating, fetchReleaseRating, pickCover, type ImageSize } from "./api";
import { writeFileAtomic } from "../util/fsx";
import { Progress, formatDuration } from "../util/progress";
import { describeError } from "../util/errors";
import { redactSecrets } from "../util/secrets";

/** Everything a crawl can be told; defaults are the polite, study-faithful choices. */
export interface CrawlConfig extends PlanFilter {
  /** Masters dump (`.xml` or `.xml.gz`). */
  dump: string;
  /** Output folder: covers in the study's layout plus `manifest.csv`. */
  out: string;
  /** Discogs personal token (env DISCOGS_TOKEN); required unless `dryRun`. */
  token?: string;
  /** Default https://api.discogs.com */
  apiBase?: string;
  /** Default https://www.discogs.com */
  webBase?: string;
  /** Masters worked on at once (default 2): the pacers, not this, set the request rate. */
  concurrency?: number;
  /** Where the rating count comes from (default "api"; "page" is the study's JSON-LD). */
  ratingSource?: "api" | "page";
  /** Cover size: "full" (uri, ≤ 600 px, default) or "150" (uri150). */
  imageSize?: ImageSize;
  /** Only plan, never touch the network. */
  dryRun?: boolean;
  /** A unique User-Agent (Discogs requires one). */
  userAgent?: string;
  /** Starting per-window limits until the server advertises its own (defaults 60 API, 60 images, 30 pages). */
  limits?: Partial<Record<RequestKind, number>>;
  /** Rate window (default 60 s; tests shrink it). */
  windowMs?: number;
  timeoutMs?: number;
  retries?: number;
  backoffBaseMs?: number;
  /** Stop taking new work (SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Log lines (stderr in the CLI); every line is passed through secret redaction. */
  log?: (line: string) => void;
  /** Progress output stream (default stderr). */
  progressStream?: NodeJS.WritableStream & { isTTY?: boolean };
  clock?: Clock;
}

/** Discogs asks for a unique, descriptive User-Agent; users should add a contact with --user-agent. */
export const DEFAULT_USER_AGENT = "covergenre/0.1 (album-cover genre research crawler)";

export interface CrawlSummary {
  dryRun: boolean;
  out: string;
  manifest: string;
  plan: Omit<CrawlPlan, "todo"> & { todo: number };
  /** Requests the plan needs at most, and the time that takes at the default rates. */
  estimate?: { apiRequests: number; imageRequests: number; webRequests: number; seconds: number; human: string };
  processed: number;
  counts: Partial<Record<CrawlStatus, number>>;
  /** Items started but not finished because of a stop (retried next run). */
  dropped: number;
  interrupted: boolean;
  requests: Record<RequestKind, number>;
  status429: number;
  retries: number;
  seconds: number;
}

/** The crawl stopped on purpose because continuing cannot work (e.g. no authentication). */
export class CrawlStopped extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CrawlStopped";
  }
}

export const NO_TOKEN_MESSAGE =
  "DISCOGS_TOKEN is not set. Without a token Discogs returns empty image URLs, so no cover can be downloaded. " +
  "Create a personal access token at https://www.discogs.com/settings/developers and run: DISCOGS_TOKEN=<token> covergenre crawl …  " +
  "(use --dry-run to see the plan without a token)";

const EMPTY_URIS_MESSAGE =
  "Discogs returned empty image URLs: the request was not authenticated (token wrong, revoked, or not sent). Stopping early — check DISCOGS_TOKEN.";

function estimate(plan: CrawlPlan, cfg: CrawlConfig): NonNullable<CrawlSummary["estimate"]> {
  const n = plan.todo.length;
  let ratingChecks = 0;
  for (let i = 0; i < n; i++) if (thresholdFor(plan.todo.get(i).genres, cfg.minRatings) > 0) ratingChecks++;
  const web = cfg.ratingSource === "page" ? ratingChecks : 0;
  const api = (cfg.ratingSource === "page" ? 0 : ratingChecks) + n; // upper bound: every master passes
  const image = n;
  const apiLimit = cfg.limits?.api ?? 60;
  const seconds = Math.max(api / Math.max(1, apiLimit - 1), image / Math.max(1, (cfg.limits?.image ?? 60) - 1), web / Math.max(1, (cfg.limits?.web ?? 30) - 1)) * ((cfg.windowMs ?? 60_000) / 1000);
  return { apiRequests: api, imageRequests: image, webRequests: web, seconds, human: formatDuration(seconds) };
}

/** Run (or with `dryRun`, only plan) a crawl. Throws CrawlStopped when it cannot go on. */
export async function crawl(cfg: CrawlConfig): Promise<CrawlSummary> {
  const t0 = Date.now();
  const token = cfg.token || undefined;
  const log = (line: string) => cfg.log?.(redactSecrets(line, token ? [token] : []));
  const out = path.resolve(cfg.out);
  const manifestFile = path.join(out, "manifest.csv");
  if (!cfg.dryRun && !token) throw new CrawlStopped(NO_TOKEN_MESSAGE);

  const manifest = cfg.dryRun ? null : Manifest.open(manifestFile);
  if (manifest && (manifest.repaired.tornLine || manifest.repaired.duplicates || manifest.repaired.badLines)) {
    log(`crawl: repaired ${manifestFile} (torn last line: ${manifest.repaired.tornLine}, duplicates folded: ${manifest.repaired.duplicates}, bad lines: ${manifest.repaired.badLines})`);
  }
  try {
    const plan = await planCrawl(cfg.dump, cfg, manifest ?? undefined, cfg.signal);
    const { todo, ...planRest } = plan;
    const summary: CrawlSummary = {
      dryRun: Boolean(cfg.dryRun),
      out,
      manifest: manifestFile,
      plan: { ...planRest, todo: todo.length },
      estimate: estimate(plan, cfg),
      processed: 0,
      counts: {},
      dropped: 0,
      interrupted: false,
      requests: { api: 0, image: 0, web: 0 },
      status429: 0,
      retries: 0,
      seconds: 0,
    };
    for (const e of plan.dumpErrors.slice(0, 10)) log(`crawl: skipped broken dump record: ${e}`);
    if (cfg.dryRun || todo.length === 0) {
      summary.seconds = (Date.now() - t0) / 1000;
      return summary;
    }

    const windowMs = cfg.windowMs ?? 60_000;
    const clock = cfg.clock;
    const pacers: Record<RequestKind, RatePacer> = {
      api: new RatePacer({ limit: cfg.limits?.api ?? 60, windowMs, clock }),
      image: new RatePacer({ limit: cfg.limits?.image ?? 60, windowMs, clock }),
      web: new RatePacer({ limit: cfg.limits?.web ?? 30, windowMs, clock }),
    };
    const http = new DiscogsHttp(
      { userAgent: cfg.userAgent ?? DEFAULT_USER_AGENT, token, timeoutMs: cfg.timeoutMs, retries: cfg.retries, backoffBaseMs: cfg.backoffBaseMs },
      pacers,
    );
    const ep = { apiBase: cfg.apiBase ?? "https://api.discogs.com", webBase: cfg.webBase ?? "https://www.discogs.com" };
    const size: ImageSize = cfg.imageSize ?? "full";

    // A stop drops the items in flight (their requests are cancelled and nothing is recorded, so
    // the next run does them again): the fastest clean exit, and it never records half an item.
    const stopper = new AbortController();
    let stopError: CrawlStopped | null = null;
    const stop = (reason: Error) => {
      if (!stopper.signal.aborted) stopper.abort(reason);
    };
    const onOuterAbort = () => {
      summary.interrupted = true;
      stop(new Error("interrupted"));
    };
    if (cfg.signal?.aborted) onOuterAbort();
    cfg.signal?.addEventListener("abort", onOuterAbort, { once: true });

    const progress = new Progress("crawl", todo.length, { unit: "masters", stream: cfg.progressStream });
    log(
      `crawl: ${todo.length} masters to visit (${plan.alreadyDone} already done${plan.retrying ? `, ${plan.retrying} failed before and retried` : ""}); ` +
        `up to ${summary.estimate!.apiRequests} API requests, about ${summary.estimate!.human} at the default rate`,
    );

    const record = (row: Omit<ManifestRow, "updatedAt">) => {
      manifest!.append({ ...row, error: redactSecrets(row.error, token ? [token] : []), updatedAt: new Date().toISOString() });
      summary.processed++;
      summary.counts[row.status] = (summary.counts[row.status] ?? 0) + 1;
      progress.tick(row.status);
    };

    const visit = async (item: { id: number; mainRelease: number | null; genres: string[] }) => {
      const threshold = thresholdFor(item.genres, cfg.minRatings);
      const base = { masterId: item.id, mainRelease: item.mainRelease, genres: item.genres, minRatings: threshold, path: "", error: "" };
      let ratingCount: number | null = null;
      if (threshold > 0) {
        if (cfg.ratingSource === "page") ratingCount = await fetchPageRating(http, ep, item.id, stopper.signal);
        else if (item.mainRelease != null) ratingCount = await fetchReleaseRating(http, ep, item.mainRelease, stopper.signal);
        if (ratingCount == null) {
          const why = cfg.ratingSource === "page" ? "the master page has no aggregateRating" : item.mainRelease == null ? "the dump gives no main_release" : `release ${item.mainRelease} has no rating`;
          return record({ ...base, ratingCount, status: "no_rating", error: why });
        }
        if (ratingCount < threshold) return record({ ...base, ratingCount, status: "below_threshold" });
      }
      const images = await fetchMasterImages(http, ep, item.id, stopper.signal);
      if (images === null) return record({ ...base, ratingCount, status: "not_found", error: `GET /masters/${item.id}: 404` });
      const cover = pickCover(images, size);
      if (!cover) return record({ ...base, ratingCount, status: "no_image", error: "the master has no images" });
      if (!cover.url) {
        stopError = new CrawlStopped(EMPTY_URIS_MESSAGE);
        stop(stopError);
        throw stopError;
      }
      const res = await http.get(cover.url, "image", stopper.signal);
      if (res.status === 404) return record({ ...base, ratingCount, status: "no_image", error: "image URL answered 404" });
      const check = await checkImage(res.body, res.contentType, `master ${item.id}'s cover`);
      if (!check.ok || !check.jpeg) return record({ ...base, ratingCount, status: "invalid_image", error: check.reason ?? "not an image" });
      const rel = coverRelativePath(item.id, item.genres);
      const abs = path.resolve(out, rel);
      if (!abs.startsWith(out + path.sep)) throw new Error(`cover path ${rel} leads outside ${out}`); // defence in depth
      await writeFileAtomic(abs, check.jpeg);
      return record({ ...base, ratingCount, status: "downloaded", path: rel });
    };

    let next = 0;
    const worker = async () => {
      while (!stopper.signal.aborted && next < todo.length) {
        const item = todo.get(next++);
        try {
          await visit(item);
        } catch (err) {
          if (err instanceof CrawlStopped) return;
          if (stopper.signal.aborted) {
            // stopped in the middle: not recorded, so the next run does it again
            summary.dropped++;
            continue;
          }
          record({
            masterId: item.id,
            mainRelease: item.mainRelease,
            genres: item.genres,
            ratingCount: null,
            minRatings: thresholdFor(item.genres, cfg.minRatings),
            status: "failed",
            path: "",
            error: describeError(err),
          });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, cfg.concurrency ?? 2) }, worker));
    cfg.signal?.removeEventListener("abort", onOuterAbort);
    progress.finish();
    Object.assign(summary, { requests: { ...http.counters.requests }, status429: http.counters.status429, retries: http.counters.retries });
    summary.seconds = (Date.now() - t0) / 1000;
    if (stopError) throw stopError;
    return summary;
  } finally {
    manifest?.close();
  }
}
