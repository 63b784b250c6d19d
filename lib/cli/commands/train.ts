/** `covergenre train`: fit one configuration on all covers of a table and save a checkpoint (no CV; use `study` to measure). */
import * as path from "node:path";
import type { Command } from "../framework";
import { choiceOpt, stringOpt } from "../framework";
import { checkpointsDir, defaultFeatureTable } from "../../paths";
import { readFeatureSet } from "../../features/store";
import { MAJOR_GENRES } from "../../discogs/genres";
import { buildDataset, parseInputSet, usableRows } from "../../train/dataset";
import { keptGenres } from "../../train/study";
import { DEFAULT_HEAD } from "../../train/heads";
import { buildMeta, saveCheckpoint, trainFinalHead } from "../../train/checkpoint";
import { UsageError } from "../../util/errors";

export const trainCommand: Command = {
  name: "train",
  summary: "train one head on all covers of a feature table and save it as a checkpoint for predict",
  usage: "covergenre train [--table <csv>] [--input-set img+face] [--head logistic|mlp] [--backbones a,b] [--name <checkpoint>] [--json]",
  options: {
    table: { type: "string", description: "feature table", defaultText: "datasets/features/covers.csv" },
    "input-set": { type: "string", description: "blocks joined by +: img, face, clr", defaultText: "img" },
    head: { type: "string", description: "logistic or mlp", defaultText: "logistic" },
    backbones: { type: "string", description: "embeddings for the img block", defaultText: "every one in the table" },
    name: { type: "string", description: "checkpoint folder name under checkpoints/", defaultText: "<input set>-<head>" },
  },
  async run(ctx) {
    const v = ctx.values;
    const table = path.resolve(stringOpt(v, "table") ?? defaultFeatureTable());
    const inputSet = stringOpt(v, "input-set") ?? "img";
    try {
      parseInputSet(inputSet);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const kind = choiceOpt(v, "head", ["logistic", "mlp"] as const, "logistic");
    const head = kind === "mlp" ? { ...DEFAULT_HEAD, hidden: 256, dropout: 0.5, l2: 1e-3 } : DEFAULT_HEAD;
    const fset = await readFeatureSet(table);
    const backbones = stringOpt(v, "backbones")?.split(",").map((s) => s.trim()) ?? Object.keys(fset.embeddings).sort();
    const { kept, dropped } = keptGenres(fset, usableRows(fset, [...MAJOR_GENRES]).rows, [...MAJOR_GENRES], 10);
    for (const d of dropped) ctx.log(`train: genre ${d.genre} dropped: ${d.reason}`);
    const ds = buildDataset(fset, usableRows(fset, kept).rows, { genres: kept, imgBackbones: backbones, population: "all" });
    const trained = trainFinalHead(ds, inputSet, head, 42);
    const dir = path.join(checkpointsDir(), stringOpt(v, "name") ?? `${inputSet}-${kind}`);
    await saveCheckpoint(dir, buildMeta({ ds, inputSet, imgBackbones: backbones, head, trained, table, cv: null }), trained.weights);
    if (ctx.json) ctx.printJson({ checkpoint: dir, genres: kept, rows: ds.n, thresholds: trained.thresholds });
    else ctx.print(`checkpoint ${dir}: ${ds.n} covers, genres ${kept.join(", ")}`);
    return 0;
  },
};
