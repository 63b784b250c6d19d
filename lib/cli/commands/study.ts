/**
 * `covergenre study`: the whole protocol on a feature table → `<out>/results.json` (+ the HTML
 * report from lib/report) and the best checkpoint.
 */
import * as path from "node:path";
import type { Command } from "../framework";
import { choiceOpt, intOpt, stringOpt } from "../framework";
import { datasetsDir, checkpointsDir, resolveDataRoot, defaultFeatureTable } from "../../paths";
import { readFeatureSet } from "../../features/store";
import { writeJsonAtomic } from "../../util/fsx";
import { ALL_INPUT_SETS, defaultStudyConfig, runStudy, thesisTablesDir } from "../../train/study";
import { UsageError } from "../../util/errors";
import { DEFAULT_HEAD } from "../../train/heads";
import { defaultFoldWorkers } from "../../train/pool";
import { thesisHeadRunner, thesisHeadSettings, DEFAULT_THESIS_HEAD } from "../../train/thesisHead";
import { writeReport } from "../../report";

/** `--mlp img,img+face+clr` (or none): input sets checked against the study's all-covers sets. */
export function mlpInputSetsOpt(raw: string): string[] {
  if (raw.trim() === "" || raw.trim() === "none") return [];
  const sets = raw.split(",").map((x) => x.trim()).filter(Boolean);
  for (const x of sets) if (!ALL_INPUT_SETS.includes(x)) throw new UsageError(`--mlp ${x}: not one of the all-covers input sets (${ALL_INPUT_SETS.join(", ")})`);
  return sets;
}

export const studyCommand: Command = {
  name: "study",
  summary: "cross-validate every input set, compare with/without faces, write results.json, the report and the best checkpoint",
  usage: "covergenre study [--table <csv>] [--out <dir>] [--folds 5] [--repeats 2] [--workers N] [--quick] [--thesis-head] [--json]",
  options: {
    table: { type: "string", description: "feature table (covergenre features)", defaultText: "datasets/features/covers.csv" },
    out: { type: "string", description: "folder for results.json and index.html", defaultText: "datasets/study" },
    folds: { type: "string", description: "cross-validation folds", defaultText: "5 (quick: 3)" },
    repeats: { type: "string", description: "cross-validation repeats", defaultText: "2 (quick: 1)" },
    seed: { type: "string", description: "seed of folds, splits and heads", defaultText: "42" },
    head: { type: "string", description: "default head: logistic or mlp", defaultText: "logistic" },
    genres: { type: "string", description: "comma-separated genres to keep", defaultText: "the study's 7 major genres" },
    backbones: { type: "string", description: "comma-separated embeddings for the img block", defaultText: "mobilenet_v1 when the table has it, else every one in the table" },
    checkpoint: { type: "string", description: "name of the best checkpoint under checkpoints/", defaultText: "best" },
    "thesis-head": { type: "boolean", description: "train the study's Flatten head (single split + small CV, ≈ 25 min on 2 cores; each fit is cached: re-run to resume). Without it, fits cached by an earlier run are shown" },
    "thesis-rows": { type: "string", description: "a stratified subset of this many covers with faces for the Flatten head, or all", defaultText: "1016 (the study's)" },
    "thesis-cv": { type: "string", description: "Flatten head: CV folds after the single split (0 = none)", defaultText: "3" },
    "no-variants": { type: "boolean", description: "skip the head/backbone variants on all covers" },
    mlp: { type: "string", description: "comma-separated all-covers input sets that also get the MLP(256) head as a variant, or none", defaultText: "img+face+clr" },
    workers: { type: "string", description: "worker threads for the folds (0 or 1: all in this thread; same numbers either way)", defaultText: `CPUs, at most 4 (here ${defaultFoldWorkers()})` },
    quick: { type: "boolean", description: "reduced protocol for CI (also COVERGENRE_QUICK=1)" },
  },
  async run(ctx) {
    const v = ctx.values;
    const quick = Boolean(v.quick) || process.env.COVERGENRE_QUICK === "1";
    const table = path.resolve(stringOpt(v, "table") ?? defaultFeatureTable());
    const out = path.resolve(stringOpt(v, "out") ?? path.join(datasetsDir(), "study"));
    const headKind = choiceOpt(v, "head", ["logistic", "mlp"] as const, "logistic");
    const fset = await readFeatureSet(table);
    const workers = intOpt(v, "workers", defaultFoldWorkers(), 0, 64);
    const dataRoot = resolveDataRoot({ data: stringOpt(v, "data") }).dir;
    const config = defaultStudyConfig({
      folds: intOpt(v, "folds", quick ? 3 : 5, 2, 50),
      repeats: intOpt(v, "repeats", quick ? 1 : 2, 1, 50),
      seed: intOpt(v, "seed", 42, 0),
      quick,
      head: headKind === "mlp" ? { ...DEFAULT_HEAD, hidden: 256, dropout: 0.5, l2: 1e-3 } : DEFAULT_HEAD,
      ...(stringOpt(v, "genres") ? { genres: stringOpt(v, "genres")!.split(",").map((s) => s.trim()) } : {}),
      ...(stringOpt(v, "backbones") ? { imgBackbones: stringOpt(v, "backbones")!.split(",").map((s) => s.trim()) } : {}),
      variants: !v["no-variants"] && !quick,
      ...(stringOpt(v, "mlp") !== undefined ? { mlpInputSets: mlpInputSetsOpt(stringOpt(v, "mlp")!) } : {}),
      thesisTables: thesisTablesDir(dataRoot),
      thesisHead: thesisHeadRunner(
        thesisHeadSettings({
          train: Boolean(v["thesis-head"]),
          quick,
          ...(stringOpt(v, "thesis-rows") ? { maxRows: stringOpt(v, "thesis-rows") === "all" ? null : intOpt(v, "thesis-rows", 1016, 50) } : {}),
          ...(stringOpt(v, "thesis-cv") ? { cvFolds: intOpt(v, "thesis-cv", DEFAULT_THESIS_HEAD.cvFolds, 0, 10) } : {}),
          workers,
        }),
      ),
      checkpointDir: path.join(checkpointsDir(), stringOpt(v, "checkpoint") ?? "best"),
      workers,
      log: ctx.log,
    });
    const { results } = await runStudy(fset, config);
    await writeJsonAtomic(path.join(out, "results.json"), results);
    let report: string | null = null;
    try {
      report = await writeReport(results, out);
    } catch (err) {
      ctx.log(`study: the HTML report could not be written: ${(err as Error).message}`);
    }
    if (ctx.json) {
      ctx.printJson({ results: path.join(out, "results.json"), report, bestCheckpoint: results.bestCheckpoint, answer: results.answer, seconds: results.timings.totalSeconds, workers: results.timings.workers });
      return 0;
    }
    const f = (x: number) => x.toFixed(3);
    ctx.print(`covers ${results.dataset.rows} (${results.dataset.facesRows} with faces), genres: ${results.dataset.genres.join(", ")}`);
    ctx.print(`predict-all micro-F1 ${f(results.baselines.predictAll.microF1.mean)}`);
    for (const [name, r] of Object.entries(results.allCovers)) ctx.print(`all covers ${name.padEnd(14)} micro-F1 ${f(r.microF1.mean)} [${r.microF1.ci.map(f).join(", ")}]  AUC ${f(r.rocAucMacro.mean)}`);
    for (const c of Object.values(results.collections ?? {})) {
      const img = c.allCovers.img;
      if (img) ctx.print(`  ${c.collection} (${c.rows} covers) img micro-F1 ${f(img.microF1.mean)}  AUC ${f(img.rocAucMacro.mean)}  (predict-all ${f(c.baselines.predictAll.microF1.mean)})`);
    }
    for (const d of results.transfer?.directions ?? []) ctx.print(`transfer ${d.train} → ${d.test}: micro-F1 ${f(d.transfer.microF1.mean)} vs ${f(d.within.microF1.mean)} within (${d.delta.microF1.delta >= 0 ? "+" : ""}${f(d.delta.microF1.delta)})`);
    for (const e of results.extraData ?? []) ctx.print(`extra covers for ${e.target}: micro-F1 ${f(e.own.microF1.mean)} → ${f(e.withExtra.microF1.mean)} (${e.delta.microF1.delta >= 0 ? "+" : ""}${f(e.delta.microF1.delta)})`);
    ctx.print(`faces: ${results.answer.faces.split(". ")[0]}.`);
    ctx.print(`results: ${path.join(out, "results.json")}${report ? `, report: ${report}` : ""}`);
    ctx.print(`best checkpoint: ${results.bestCheckpoint} (${results.bestCheckpointInputSet})`);
    return 0;
  },
};
