/**
 * `covergenre dump-stats --dump <file>`: what a Discogs masters dump holds (genres, multi-label
 * share, years) before anyone spends days crawling it.
 */
import type { Command } from "../framework";
import { intOpt, requireOpt } from "../framework";
import { dumpStats } from "../../discogs/stats";
import { DumpError } from "../../discogs/dump";
import { UserError } from "../../util/errors";

export const dumpStatsCommand: Command = {
  name: "dump-stats",
  summary: "count masters, genres, multi-label share and years in a Discogs masters dump",
  usage: "covergenre dump-stats --dump <masters.xml[.gz]> [--limit N] [--json]",
  options: {
    dump: { type: "string", description: "Discogs masters dump (.xml or .xml.gz)" },
    limit: { type: "string", description: "stop after N masters", defaultText: "all" },
  },
  async run(ctx) {
    const file = requireOpt(ctx.values, "dump");
    const limit = ctx.values.limit !== undefined ? intOpt(ctx.values, "limit", 0, 1) : undefined;
    let stats;
    try {
      stats = await dumpStats(file, {
        limit,
        progressEvery: 200_000,
        onProgress: (n, bytes) => ctx.log(`dump-stats: ${n} masters, ${(bytes / 1e6).toFixed(0)} MB read`),
      });
    } catch (err) {
      if (err instanceof DumpError) throw new UserError(err.message);
      throw err;
    }
    for (const e of stats.errors.slice(0, 20)) ctx.log(`dump-stats: skipped ${e}`);
    if (stats.errors.length > 20) ctx.log(`dump-stats: … and ${stats.errors.length - 20} more broken records`);
    if (ctx.json) {
      ctx.printJson(stats);
      return 0;
    }
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    ctx.print(`${stats.file}: ${stats.masters} masters (${stats.format} format), ${stats.mastersWithGenres} with genres, read in ${stats.seconds.toFixed(2)} s`);
    ctx.print(`multi-label ${pct(stats.multiLabelShare)}, ${stats.labelCardinality.toFixed(2)} genres per master`);
    ctx.print(`genres per master: ${Object.entries(stats.genresPerMaster).map(([k, v]) => `${k} → ${v}`).join(", ")}`);
    ctx.print(`years: ${stats.yearRange ? `${stats.yearRange[0]}–${stats.yearRange[1]}` : "none"} (${stats.yearUnknown} unknown)`);
    ctx.print("genre counts:");
    const width = Math.max(0, ...stats.genres.map((g) => g.length));
    for (const [g, n] of Object.entries(stats.genreCounts)) {
      ctx.print(`  ${g.padEnd(width)}  ${String(n).padStart(8)}  ${pct(n / Math.max(1, stats.mastersWithGenres))}`);
    }
    if (stats.errors.length) ctx.print(`${stats.errors.length} broken records skipped (see stderr)`);
    return 0;
  },
};
