/**
 * `covergenre pipeline` (= `npm start`): the whole study on the covers the data root provides,
 * every step cached by content, ending with a short summary and the report's path.
 */
import type { Command } from "../framework";
import { intOpt, stringOpt, stringsOpt } from "../framework";
import { PIPELINE_DEFAULTS, runPipeline, summaryLines } from "../../pipeline";
import { mlpInputSetsOpt } from "./study";

export const pipelineCommand: Command = {
  name: "pipeline",
  summary: "run the whole study (features → refine → study → best checkpoint → report); cached, resumable",
  usage: "covergenre pipeline [--covers <dir> ...] [--folds N] [--repeats N] [--quick] [--out reports/] [--json]",
  options: {
    covers: { type: "string", multiple: true, description: "covers folder (<Genre>/<id>.jpeg crawl, or images/ + labels.csv); repeat it to study several collections together", defaultText: "$COVERGENRE_COVERS (':'-separated), else datasets/covers and every labelled collection of the data root" },
    folds: { type: "string", description: "cross-validation folds", defaultText: `${PIPELINE_DEFAULTS.folds} (quick: ${PIPELINE_DEFAULTS.quickFolds})` },
    repeats: { type: "string", description: "cross-validation repeats", defaultText: `${PIPELINE_DEFAULTS.repeats} (quick: ${PIPELINE_DEFAULTS.quickRepeats})` },
    quick: { type: "boolean", description: "quick variant: a subset of covers and a reduced protocol (CI, smoke tests)" },
    limit: { type: "string", description: "use only N covers, spread evenly over the listing (every genre stays in)", defaultText: `all (quick: ${PIPELINE_DEFAULTS.quickCovers})` },
    out: { type: "string", description: "report folder: index.html, results.json, pipeline.json", defaultText: "reports/" },
    table: { type: "string", description: "feature table path", defaultText: "datasets/features/covers.csv for the data root's covers" },
    checkpoints: { type: "string", description: "parent folder of the best checkpoint", defaultText: "checkpoints/" },
    workers: { type: "string", description: "worker threads for feature extraction and for the study's folds", defaultText: "CPUs, at most 4" },
    seed: { type: "string", description: "random seed of the folds and heads", defaultText: String(PIPELINE_DEFAULTS.seed) },
    mlp: { type: "string", description: "comma-separated all-covers input sets that also get the MLP(256) head as a variant, or none", defaultText: "img+face+clr" },
    "thesis-head": { type: "boolean", description: "also train the study's own Flatten head on mixed7 maps (adds InceptionV3 maps to the features; slow: ≈ 30 s/epoch/1000 covers)" },
    force: { type: "boolean", description: "recompute every step even when nothing changed" },
  },
  details:
    "Each step records a hash of what it depends on in <out>/pipeline.json; a re-run skips unchanged steps, and a changed\n" +
    "setting recomputes only the steps it affects. Ctrl-C stops cleanly; run the same command again to resume.\n" +
    "Environment: COVERGENRE_QUICK=1 is the same as --quick.",
  async run(ctx) {
    const v = ctx.values;
    const quick = Boolean(v.quick) || process.env.COVERGENRE_QUICK === "1";
    const workers = stringOpt(v, "workers") !== undefined ? intOpt(v, "workers", 1, 0, 64) : undefined;
    const outcome = await runPipeline({
      covers: stringsOpt(v, "covers"),
      data: stringOpt(v, "data"),
      folds: stringOpt(v, "folds") !== undefined ? intOpt(v, "folds", PIPELINE_DEFAULTS.folds, 2, 50) : undefined,
      repeats: stringOpt(v, "repeats") !== undefined ? intOpt(v, "repeats", PIPELINE_DEFAULTS.repeats, 1, 50) : undefined,
      limit: stringOpt(v, "limit") !== undefined ? intOpt(v, "limit", 0, 1) : undefined,
      quick,
      outDir: stringOpt(v, "out"),
      tablePath: stringOpt(v, "table"),
      checkpointsDir: stringOpt(v, "checkpoints"),
      seed: stringOpt(v, "seed") !== undefined ? intOpt(v, "seed", PIPELINE_DEFAULTS.seed, 0) : undefined,
      force: Boolean(v.force),
      thesisHead: Boolean(v["thesis-head"]),
      ...(stringOpt(v, "mlp") !== undefined ? { studyConfig: { mlpInputSets: mlpInputSetsOpt(stringOpt(v, "mlp")!) } } : {}),
      features: workers !== undefined ? { workers } : undefined,
      studyWorkers: workers,
      log: ctx.log,
    });
    if (ctx.json) {
      ctx.printJson({
        answer: outcome.results.answer,
        report: outcome.reportPath,
        results: outcome.resultsPath,
        table: outcome.tablePath,
        bestCheckpoint: outcome.results.bestCheckpoint,
        steps: outcome.steps,
        totalSeconds: outcome.totalSeconds,
      });
    } else {
      for (const line of summaryLines(outcome)) ctx.print(line);
    }
    return 0;
  },
};
