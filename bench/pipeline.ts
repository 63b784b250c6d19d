/**
 * `npm run bench:pipeline`: the main job's cache at work, timed in one run on real covers:
 *   1. cold   — a fresh feature cache, table and report folder (everything computed);
 *   2. warm   — the same command again (every step reused: the ratio is the point);
 *   3. change — a different --folds (features reused, study + report recomputed);
 * plus the report on its own (writeReport) and PNG export per figure in headless Chromium.
 *
 * Covers: the data root's shared covers (or --covers), the first --limit of them (default 200; 0 = all,
 * which is the full cold run the ≤ 15 min goal is about). Study protocol: --folds/--repeats
 * (default 3 × 1 with the subset, 5 × 2 with --limit 0). Prints one JSON document at the end.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { runPipeline, type PipelineConfig } from "../lib/pipeline";
import { reportFigures, writeReport } from "../lib/report";
import { exportFiguresPng, findChromium } from "../lib/report/browser";
import { formatDuration } from "../lib/util/progress";

const { values } = parseArgs({
  options: {
    covers: { type: "string" },
    limit: { type: "string" },
    folds: { type: "string" },
    repeats: { type: "string" },
    workers: { type: "string" },
    keep: { type: "boolean" },
  },
});

async function main(): Promise<void> {
  const limit = Number(values.limit ?? 200);
  const full = limit === 0;
  const folds = Number(values.folds ?? (full ? 5 : 3));
  const repeats = Number(values.repeats ?? (full ? 2 : 1));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cg-bench-pipeline-"));
  const log = (l: string) => process.stderr.write(l + "\n");
  const base: PipelineConfig = {
    covers: values.covers,
    ...(full ? {} : { limit }),
    folds,
    repeats,
    outDir: path.join(tmp, "reports"),
    tablePath: path.join(tmp, "features", "covers.csv"),
    checkpointsDir: path.join(tmp, "checkpoints"),
    // a fresh cache: this is the cold run a new user gets
    features: { cacheDir: path.join(tmp, "features", "covers.cache"), ...(values.workers ? { workers: Number(values.workers) } : {}) },
    log,
  };
  const load = () => os.loadavg()[0].toFixed(1);
  try {
    const out: Record<string, unknown> = { covers: null, folds, repeats, cpus: os.cpus().length, loadBefore: load() };
    const cold = await runPipeline(base);
    out.covers = cold.features?.rows;
    out.cold = { seconds: cold.totalSeconds, steps: Object.fromEntries(cold.steps.map((s) => [s.name, s.seconds])), loadAfter: load() };
    const warm = await runPipeline(base);
    // Not all cached means an input changed between the runs — e.g. someone edited lib/train, whose
    // source is part of the study key. The ratio is then not the cache's: say so.
    out.warm = { seconds: warm.totalSeconds, allCached: warm.steps.every((s) => s.cached), recomputed: warm.steps.filter((s) => !s.cached).map((s) => s.name) };
    const changed = await runPipeline({ ...base, folds: folds + 1 });
    out.changedFolds = { seconds: changed.totalSeconds, recomputed: changed.steps.filter((s) => !s.cached).map((s) => s.name) };
    out.warmOverCold = warm.totalSeconds / cold.totalSeconds;
    out.changedOverCold = changed.totalSeconds / cold.totalSeconds;

    const t = Date.now();
    await writeReport(changed.results, path.join(tmp, "report-only"));
    out.reportSeconds = (Date.now() - t) / 1000;
    if (findChromium()) {
      const figs = reportFigures(changed.results).slice(0, 4);
      const t2 = Date.now();
      await exportFiguresPng(figs.map((f) => ({ figure: f.figure, file: path.join(tmp, "png", `${f.name}.png`) })));
      out.pngSecondsPerFigure = (Date.now() - t2) / 1000 / figs.length;
      out.pngFigures = figs.length;
    } else {
      out.png = "skipped: no Chromium installed";
    }
    log(
      `\ncold ${formatDuration(cold.totalSeconds)} · warm ${warm.totalSeconds.toFixed(2)} s (${((warm.totalSeconds / cold.totalSeconds) * 100).toFixed(2)} % of cold) · ` +
        `changed --folds ${formatDuration(changed.totalSeconds)} (${((changed.totalSeconds / cold.totalSeconds) * 100).toFixed(1)} % of cold, recomputed ${(out.changedFolds as { recomputed: string[] }).recomputed.join("+")})`,
    );
    process.stdout.write(JSON.stringify(out, null, 2) + "\n");
  } finally {
    if (!values.keep) fs.rmSync(tmp, { recursive: true, force: true });
    else log(`kept ${tmp}`);
  }
}

main().catch((err) => {
  process.stderr.write(`bench:pipeline failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
