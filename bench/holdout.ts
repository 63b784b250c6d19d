/**
 * `npm run bench:holdout`: do the best checkpoint's predictions on new covers match its CV figures?
 *
 * There are no covers beyond the collections, so new ones are made by holding out a stratified
 * 10 % of every collection (by genre within each collection, as the study's folds). The best
 * configuration of the last study (reports/results.json, checkpoints/best) is retrained exactly as
 * the study trains its checkpoint, on the other 90 %, and saved as a checkpoint. Then `predictFiles`
 * runs the whole path a user runs (decode → faces → colour → backbone → head) on the held-out image
 * files, and the script prints, per collection, the held-out micro-F1 and macro ROC-AUC (bootstrap
 * intervals over covers) next to the study's per-collection CV figures, and the largest difference
 * between the file path's scores and the table path's scores for the same covers.
 *
 * Needs the feature table and results of `npm start` (run it first).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readFeatureSet } from "../lib/features/store";
import { defaultFeatureTable, PROJECT_ROOT } from "../lib/paths";
import { buildDataset, usableRows, takeLabels } from "../lib/train/dataset";
import { foldLabels } from "../lib/train/collections";
import { stratifiedHoldout } from "../lib/train/stratify";
import { subsetDataset } from "../lib/train/thesisHead";
import { buildMeta, loadCheckpoint, saveCheckpoint, scoreWithCheckpoint, trainFinalHead } from "../lib/train/checkpoint";
import { predictFiles } from "../lib/train/predict";
import { applyThresholds, bootstrapIntervals, evaluate } from "../lib/train/metrics";
import type { StudyResults } from "../lib/train/results";
import { initTf } from "../lib/tf";

async function main(): Promise<void> {
  const table = process.env.COVERGENRE_TABLE ?? defaultFeatureTable();
  const resultsFile = path.join(PROJECT_ROOT, "reports", "results.json");
  const best = path.join(PROJECT_ROOT, "checkpoints", "best");
  if (!fs.existsSync(table) || !fs.existsSync(resultsFile) || !fs.existsSync(best)) {
    console.log(`bench:holdout skipped: needs ${table}, ${resultsFile} and ${best} (run \`npm start\` first)`);
    return;
  }
  await initTf();
  const results = JSON.parse(fs.readFileSync(resultsFile, "utf8")) as StudyResults;
  const study = await loadCheckpoint(best);
  const fset = await readFeatureSet(table);
  const genres = results.dataset.genres;
  const all = buildDataset(fset, usableRows(fset, genres).rows, { genres, imgBackbones: study.meta.imgBackbones, population: "all" });
  const split = stratifiedHoldout(foldLabels(all), 0.1, 2026);
  const train = subsetDataset(all, split.train);
  const seed = 42;
  console.log(`bench:holdout: ${study.meta.inputSet} (${study.meta.head.name}) trained on ${split.train.length} covers, ${split.test.length} held out (stratified by genre within each collection)`);
  const trained = trainFinalHead(train, study.meta.inputSet, study.meta.head.config, seed);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cg-holdout-"));
  await saveCheckpoint(dir, buildMeta({ ds: train, inputSet: study.meta.inputSet, imgBackbones: study.meta.imgBackbones, head: study.meta.head.config, trained, table, cv: null }), trained.weights);
  const ckpt = await loadCheckpoint(dir);

  const files = split.test.map((r) => all.paths[r]);
  const t0 = Date.now();
  const predictions = await predictFiles(dir, files);
  const seconds = (Date.now() - t0) / 1000;
  const failed = predictions.filter((p) => p.error);
  const k = genres.length;
  const fromFiles = new Float32Array(split.test.length * k);
  predictions.forEach((p, i) => genres.forEach((g, j) => (fromFiles[i * k + j] = p.scores?.[g] ?? NaN)));
  const fromTable = scoreWithCheckpoint(ckpt, all, split.test).scores;
  let maxDiff = 0;
  for (let i = 0; i < fromFiles.length; i++) if (Number.isFinite(fromFiles[i])) maxDiff = Math.max(maxDiff, Math.abs(fromFiles[i] - fromTable[i]));
  console.log(`predict on ${files.length} image files: ${seconds.toFixed(0)} s, ${failed.length} failed; largest |file-path score − table-path score| ${maxDiff.toExponential(2)} (predictions are rounded to 4 decimals)`);

  const f = (x: number) => x.toFixed(3);
  for (const name of [...new Set(split.test.map((r) => all.collections[r]))]) {
    const at = split.test.map((r, i) => (all.collections[r] === name && !predictions[i].error ? i : -1)).filter((i) => i >= 0);
    const y = takeLabels(all, at.map((i) => split.test[i]));
    const s = new Float32Array(at.length * k);
    at.forEach((i, m) => s.set(fromFiles.subarray(i * k, (i + 1) * k), m * k));
    const pred = applyThresholds(s, at.length, k, ckpt.meta.thresholds);
    const m = evaluate(y, s, pred, at.length, k);
    const ci = bootstrapIntervals(y, s, pred, at.length, k, 500, seed);
    const cv = results.collections?.[name]?.allCovers?.[results.bestCheckpointInputSet ?? study.meta.inputSet];
    const cvText = cv ? `CV ${f(cv.microF1.mean)} [${f(cv.microF1.ci[0])}, ${f(cv.microF1.ci[1])}] / AUC ${f(cv.rocAucMacro.mean)} [${f(cv.rocAucMacro.ci[0])}, ${f(cv.rocAucMacro.ci[1])}]` : "no per-collection CV figure for this input set";
    console.log(
      `  ${name} (${at.length} held-out covers): micro-F1 ${f(m.microF1)} [${f(ci.microF1[0])}, ${f(ci.microF1[1])}], macro AUC ${f(m.rocAucMacro)} [${f(ci.rocAucMacro[0])}, ${f(ci.rocAucMacro[1])}]  vs  ${cvText}`,
    );
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
