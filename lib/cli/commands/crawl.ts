/**
 * `covergenre crawl --dump <masters.xml[.gz]> --out <dir>`: download rated covers from Discogs in
 * the study's layout, politely and resumably (see lib/discogs/crawl.ts). Ctrl-C stops cleanly;
 * re-running the same command continues where it stopped.
 */
import type { Command } from "../framework";
import { choiceOpt, intOpt, requireOpt, stringOpt } from "../framework";
import { crawl, CrawlStopped, DEFAULT_USER_AGENT, type CrawlSummary } from "../../discogs/crawl";
import { readIdsFile } from "../../discogs/plan";
import { DumpError } from "../../discogs/dump";
import { UserError, UsageError } from "../../util/errors";

function printSummary(s: CrawlSummary, print: (l: string) => void): void {
  const p = s.plan;
  print(`dump: ${p.dumpMasters} masters, ${p.withGenres} with genres; eligible ${p.eligible}; already done ${p.alreadyDone}; to visit ${p.todo}`);
  if (p.idsNotInDump) print(`ids not in this dump: ${p.idsNotInDump}`);
  if (s.estimate) {
    print(
      `requests at most: ${s.estimate.apiRequests} API, ${s.estimate.imageRequests} image, ${s.estimate.webRequests} web page — about ${s.estimate.human} at the default rate`,
    );
  }
  if (Object.keys(p.todoByGenre).length) print(`to visit by genre: ${Object.entries(p.todoByGenre).map(([g, n]) => `${g} ${n}`).join(", ")}`);
  if (s.dryRun) return;
  print(`processed ${s.processed} in ${s.seconds.toFixed(1)} s: ${Object.entries(s.counts).map(([k, v]) => `${k} ${v}`).join(", ") || "nothing"}`);
  print(`requests: ${s.requests.api} API, ${s.requests.image} image, ${s.requests.web} web; ${s.status429} answered 429; ${s.retries} retries`);
  if (s.interrupted) print(`interrupted: ${s.dropped} in-flight masters dropped; run the same command again to continue`);
  print(`manifest: ${s.manifest}`);
}

export const crawlCommand: Command = {
  name: "crawl",
  summary: "download rated album covers from Discogs (dump + API), resumable and rate-limit exact",
  usage: "DISCOGS_TOKEN=… covergenre crawl --dump <masters.xml[.gz]> --out <dir> [options]",
  options: {
    dump: { type: "string", description: "Discogs masters dump (.xml or .xml.gz)" },
    out: { type: "string", description: "output folder (covers in <Genre>/<id>.jpeg and multi/<A+B>/<id>.jpeg, plus manifest.csv)" },
    "api-base": { type: "string", description: "Discogs API base URL", defaultText: "https://api.discogs.com" },
    "web-base": { type: "string", description: "Discogs web base URL (for --rating-source page)", defaultText: "https://www.discogs.com" },
    concurrency: { type: "string", description: "masters worked on at once (the rate limit sets the pace)", defaultText: "2" },
    "rating-source": { type: "string", description: "api (/releases/{main_release}/rating) or page (the study's JSON-LD)", defaultText: "api" },
    "min-ratings": { type: "string", description: "fixed minimum rating count (0 = no check)", defaultText: "study rule: 50 if Electronic or Rock, else 15" },
    ids: { type: "string", description: "only these master ids: CSV with master_release/master_id/id column, or one id per line" },
    "from-id": { type: "string", description: "lowest master id" },
    "to-id": { type: "string", description: "highest master id" },
    limit: { type: "string", description: "at most N eligible masters (dump order; the same set on re-runs)" },
    "image-size": { type: "string", description: "full (≤ 600 px) or 150", defaultText: "full" },
    "dry-run": { type: "boolean", description: "only read the dump and print the plan (no network, no token needed)" },
    "user-agent": { type: "string", description: "User-Agent sent to Discogs", defaultText: DEFAULT_USER_AGENT },
  },
  details: [
    "The token is read from the environment variable DISCOGS_TOKEN and never printed.",
    "Requests are paced by the X-Discogs-Ratelimit headers (moving 60 s window; 60/min authenticated by default).",
    "manifest.csv statuses: downloaded, below_threshold, no_rating, not_found, no_image, invalid_image, failed (retried on the next run).",
    "Ctrl-C / SIGTERM: stops within seconds, drops in-flight items, flushes the manifest; exit code 130.",
  ].join("\n"),
  async run(ctx) {
    const dump = requireOpt(ctx.values, "dump");
    const dryRun = Boolean(ctx.values["dry-run"]);
    const out = dryRun ? stringOpt(ctx.values, "out") ?? "." : requireOpt(ctx.values, "out");
    const idsFile = stringOpt(ctx.values, "ids");
    let ids: Set<number> | undefined;
    if (idsFile) {
      try {
        ids = readIdsFile(idsFile);
      } catch (err) {
        throw new UserError((err as Error).message);
      }
      ctx.log(`crawl: ${ids.size} master ids from ${idsFile}`);
    }
    const fromId = ctx.values["from-id"] !== undefined ? intOpt(ctx.values, "from-id", 0, 1) : undefined;
    const toId = ctx.values["to-id"] !== undefined ? intOpt(ctx.values, "to-id", 0, 1) : undefined;
    if (fromId !== undefined && toId !== undefined && fromId > toId) throw new UsageError(`--from-id ${fromId} is above --to-id ${toId}`);
    const userAgent = stringOpt(ctx.values, "user-agent") ?? DEFAULT_USER_AGENT;
    if (!userAgent.trim()) throw new UsageError("--user-agent must not be empty (Discogs requires a unique one)");

    const controller = new AbortController();
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals === 1) {
        ctx.log(`crawl: ${sig} — stopping: in-flight items are dropped, the manifest is kept (${sig} again to quit at once)`);
        controller.abort(new Error(sig));
      } else {
        process.exit(130);
      }
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    let summary: CrawlSummary;
    try {
      summary = await crawl({
        dump,
        out,
        token: dryRun ? undefined : process.env.DISCOGS_TOKEN,
        apiBase: stringOpt(ctx.values, "api-base"),
        webBase: stringOpt(ctx.values, "web-base"),
        concurrency: intOpt(ctx.values, "concurrency", 2, 1, 16),
        ratingSource: choiceOpt(ctx.values, "rating-source", ["api", "page"] as const, "api"),
        minRatings: ctx.values["min-ratings"] !== undefined ? intOpt(ctx.values, "min-ratings", 0, 0) : undefined,
        ids,
        fromId,
        toId,
        limit: ctx.values.limit !== undefined ? intOpt(ctx.values, "limit", 0, 1) : undefined,
        imageSize: choiceOpt(ctx.values, "image-size", ["full", "150"] as const, "full"),
        dryRun,
        userAgent,
        signal: controller.signal,
        log: ctx.log,
      });
    } catch (err) {
      if (err instanceof CrawlStopped || err instanceof DumpError) throw new UserError(err.message);
      throw err;
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
    if (ctx.json) ctx.printJson(summary);
    else printSummary(summary, ctx.print);
    return summary.interrupted ? 130 : 0;
  },
};
