/**
 * Several collections in one study: folds stratified by label set and collection, each
 * collection's scores inside the union CV, transfer between collections, and real extra data.
 *
 * Why these live together: every one of them reads the union's folds through the same lens, a
 * fold restricted to the rows of one collection ({@link restrictFolds}). Because the union's folds
 * are stratified by genre *within* each collection ({@link foldLabels}), such a restriction is
 * itself a stratified k-fold of that collection, so "within-collection CV", "transfer" and "own vs
 * own + extra" are all scored on the same test rows as the union CV, and can be paired fold by fold.
 */
import type { FeatureSet } from "../features/store";
import type { CollectionInfo, CollectionScores, ExtraDataResult, MetricSet, PairedDelta, TransferDirection, TransferResult } from "./results";
import { buildDataset, parseInputSet, takeLabels, type LabelledDataset } from "./dataset";
import type { Fold, LabelMatrix } from "./stratify";
import { aggregate, crossValidate, crossValidateAsync, pooledScorer, predictAllScorer, runFoldScores, testTrainRatio, DEFAULT_CV, type CvOutcome, type FoldOutcome, type FoldRunner } from "./cv";
import type { PooledHeadConfig } from "./heads";
import { applyThresholds, evaluate } from "./metrics";
import { correctedResampledTTest } from "./stats";

/** The collections of a dataset, in order of first appearance (table order). */
export function collectionNames(ds: Pick<LabelledDataset, "collections">): string[] {
  return [...new Set(ds.collections)];
}

/**
 * The label matrix folds are stratified on: with one collection, the genres themselves (so a
 * single-collection study keeps exactly the folds it always had); with several, one column per
 * (collection, genre) pair, so every genre is spread evenly over the folds *inside* every
 * collection (within one cover of its share, in the tests). Each collection's share of a fold
 * follows closely but not exactly: the algorithm balances genre counts, not rows, so covers with
 * several genres leave a few rows of slack.
 */
export function foldLabels(ds: Pick<LabelledDataset, "y" | "n" | "k" | "collections">): LabelMatrix {
  const names = collectionNames(ds);
  if (names.length <= 1) return { y: ds.y, n: ds.n, k: ds.k };
  const k = ds.k * names.length;
  const y = new Uint8Array(ds.n * k);
  const index = new Map(names.map((c, i) => [c, i]));
  for (let i = 0; i < ds.n; i++) {
    const off = i * k + index.get(ds.collections[i])! * ds.k;
    y.set(ds.y.subarray(i * ds.k, (i + 1) * ds.k), off);
  }
  return { y, n: ds.n, k };
}

/** Folds with their training and test rows restricted to `keep` (and extra training rows added). */
export function restrictFolds(folds: Fold[], keep: (row: number) => boolean, extraTrain: number[] = []): Fold[] {
  return folds.map((f) => ({
    ...f,
    train: [...f.train.filter(keep), ...extraTrain].sort((a, b) => a - b),
    test: f.test.filter(keep),
  }));
}

function hasAnyGenre(ds: LabelledDataset, row: number): boolean {
  for (let j = 0; j < ds.k; j++) if (ds.y[row * ds.k + j]) return true;
  return false;
}

/** Rows of `collection` that carry at least one of the dataset's genres. */
export function rowsOfCollection(ds: LabelledDataset, collection: string): number[] {
  const rows: number[] = [];
  for (let i = 0; i < ds.n; i++) if (ds.collections[i] === collection && hasAnyGenre(ds, i)) rows.push(i);
  return rows;
}

/** A CV outcome with each fold's test rows cut to those `keep` accepts, re-evaluated at the fold's own thresholds. */
export function restrictOutcome(ds: LabelledDataset, cv: CvOutcome, keep: (row: number) => boolean): CvOutcome {
  const k = ds.k;
  const folds: FoldOutcome[] = cv.folds.map((o) => {
    const at = o.fold.test.map((r, i) => (keep(r) ? i : -1)).filter((i) => i >= 0);
    const test = at.map((i) => o.fold.test[i]);
    const scores = new Float32Array(at.length * k);
    at.forEach((i, m) => scores.set(o.scores.subarray(i * k, (i + 1) * k), m * k));
    const pred = applyThresholds(scores, test.length, k, o.thresholds);
    return { fold: { ...o.fold, test }, metrics: evaluate(takeLabels(ds, test), scores, pred, test.length, k), thresholds: o.thresholds, scores };
  });
  return { folds, oof: cv.oof, oofPred: cv.oofPred, seconds: cv.seconds };
}

/**
 * Each collection's metrics inside the union CV, for every given CV outcome (input sets) and the
 * predict-all baseline. Intervals use the union folds' test/train ratio: the correction is for the
 * overlap of training sets, which the collection's test rows share with the union.
 */
export function scoresByCollection(ds: LabelledDataset, outcomes: Record<string, CvOutcome>, folds: Fold[]): Record<string, CollectionScores> {
  const ratio = testTrainRatio(folds);
  const predictAll = predictAllOutcome(ds, folds);
  const out: Record<string, CollectionScores> = {};
  for (const c of collectionNames(ds)) {
    const keep = (r: number) => ds.collections[r] === c;
    const allCovers: Record<string, MetricSet> = {};
    for (const [name, cv] of Object.entries(outcomes)) allCovers[name] = aggregate(restrictOutcome(ds, cv, keep), ds.genres, ratio);
    out[c] = {
      collection: c,
      rows: ds.collections.filter((x) => x === c).length,
      allCovers,
      baselines: { predictAll: aggregate(restrictOutcome(ds, predictAll, keep), ds.genres, ratio) },
    };
  }
  return out;
}

/** a − b per fold with the corrected resampled t interval (Nadeau & Bengio), as every comparison of the study. */
export function pairedDelta(a: number[], b: number[], ratio: number): PairedDelta {
  const d = a.map((v, i) => v - b[i]).filter(Number.isFinite);
  const t = correctedResampledTTest(d, ratio);
  return { delta: t.mean, ci: t.ci, p: t.p };
}

function perFold(m: MetricSet, key: "microF1" | "rocAucMacro"): number[] {
  return m[key].perFold ?? [];
}

function deltas(a: MetricSet, b: MetricSet, ratio: number): { microF1: PairedDelta; rocAucMacro: PairedDelta } {
  return { microF1: pairedDelta(perFold(a, "microF1"), perFold(b, "microF1"), ratio), rocAucMacro: pairedDelta(perFold(a, "rocAucMacro"), perFold(b, "rocAucMacro"), ratio) };
}

const f3 = (x: number) => (x > 0 ? `+${x.toFixed(3)}` : x.toFixed(3).replace("-", "−"));
const ciText = (d: PairedDelta) => `${f3(d.delta)}, 95 % CI ${f3(d.ci[0])} to ${f3(d.ci[1])}, p = ${d.p.toFixed(3)}`;
const excludesZero = (d: PairedDelta) => d.ci[0] > 0 || d.ci[1] < 0;

/** Per-collection description for the report and 03.Refine_Divide (counts, cardinality, image sizes). */
export function describeCollections(fset: FeatureSet, all: LabelledDataset, faces: LabelledDataset): CollectionInfo[] {
  const median = (xs: number[]) => {
    const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
    return s.length ? s[Math.floor(s.length / 2)] : NaN;
  };
  return collectionNames(all).map((name) => {
    const rows = all.collections.map((c, i) => (c === name ? i : -1)).filter((i) => i >= 0);
    const genreCounts = Object.fromEntries(all.genres.map((g, j) => [g, rows.reduce((a, i) => a + all.y[i * all.k + j], 0)]));
    const perRow = rows.map((i) => takeLabels(all, [i]).reduce((a, b) => a + b, 0));
    const src = rows.map((i) => fset.rows[all.sourceRows[i]]);
    return {
      name,
      dir: fset.collections?.find((c) => c.name === name)?.dir ?? fset.coversDir,
      rows: rows.length,
      facesRows: faces.collections.filter((c) => c === name).length,
      genreCounts,
      labelCardinality: perRow.length ? perRow.reduce((a, b) => a + b, 0) / perRow.length : 0,
      multiLabelShare: perRow.length ? perRow.filter((x) => x > 1).length / perRow.length : 0,
      medianSize: { width: median(src.map((r) => r.width)), height: median(src.map((r) => r.height)) },
    };
  });
}

/** Genres with at least `minPositives` covers in every collection of `ds` (what transfer can score). */
export function sharedGenres(ds: LabelledDataset, minPositives: number): string[] {
  const names = collectionNames(ds);
  return ds.genres.filter((_, j) =>
    names.every((c) => {
      let n = 0;
      for (let i = 0; i < ds.n; i++) if (ds.collections[i] === c) n += ds.y[i * ds.k + j];
      return n >= minPositives;
    }),
  );
}

/** The same rows as `all` (same indices, so the union folds apply), labelled on `genres` only. */
export function relabel(fset: FeatureSet, all: LabelledDataset, genres: string[], imgBackbones: string[]): LabelledDataset {
  return genres.join("\u0000") === all.genres.join("\u0000") ? all : buildDataset(fset, all.sourceRows, { genres, imgBackbones, population: "all" });
}

export interface CollectionRun {
  inputSet: string;
  head: PooledHeadConfig;
  seed: number;
  pool?: FoldRunner | null;
  /** Called after each finished fold or fit (progress). */
  onStep?: (label: string) => void;
}

async function cv(ds: LabelledDataset, folds: Fold[], run: CollectionRun, label: string): Promise<CvOutcome> {
  return crossValidateAsync(ds, folds, pooledScorer(parseInputSet(run.inputSet), run.head), { ...DEFAULT_CV, seed: run.seed, label, onFold: () => run.onStep?.(label) }, run.pool);
}

/**
 * Train on every row of `train` (thresholds from its own inner CV, as inside any training fold),
 * score `testFolds`' test rows: the model is fitted once, each fold scores its slice.
 */
export function transferOutcome(ds: LabelledDataset, trainRows: number[], testFolds: Fold[], run: CollectionRun): CvOutcome {
  const scorer = pooledScorer(parseInputSet(run.inputSet), run.head);
  const testRows = [...new Set(testFolds.flatMap((f) => f.test))].sort((a, b) => a - b);
  const { thresholds, scores } = runFoldScores(ds, trainRows, testRows, scorer, DEFAULT_CV, run.seed);
  const at = new Map(testRows.map((r, i) => [r, i]));
  const k = ds.k;
  const folds = testFolds.map((fold) => {
    const s = new Float32Array(fold.test.length * k);
    fold.test.forEach((r, m) => s.set(scores.subarray(at.get(r)! * k, (at.get(r)! + 1) * k), m * k));
    const pred = applyThresholds(s, fold.test.length, k, thresholds);
    return { fold: { ...fold, train: trainRows }, metrics: evaluate(takeLabels(ds, fold.test), s, pred, fold.test.length, k), thresholds, scores: s };
  });
  run.onStep?.("transfer");
  return { folds, oof: new Float32Array(0), oofPred: new Uint8Array(0), seconds: 0 };
}

/** Predict every genre on the folds' test rows: the study's predict-all baseline (lib/train/cv.ts), restricted folds and all. */
function predictAllOutcome(ds: LabelledDataset, folds: Fold[]): CvOutcome {
  return crossValidate(ds, folds, predictAllScorer, { ...DEFAULT_CV, thresholds: 0.5 });
}

/**
 * Transfer, both directions between every pair of collections, on the genres all share: train on
 * one collection, test on the other's test folds, beside within-collection CV on the same rows.
 * Null with fewer than two collections or fewer than two shared genres.
 */
/** Within-collection CV outcomes by `<collection>\u0000<genres>`, so extra data reuses transfer's identical "own" CV. */
export type WithinCvs = Map<string, CvOutcome>;
const withinKey = (collection: string, genres: string[]) => [collection, ...genres].join("\u0000");

export async function runTransfer(fset: FeatureSet, all: LabelledDataset, foldsAll: Fold[], imgBackbones: string[], minPositives: number, run: CollectionRun): Promise<{ result: TransferResult; dataset: LabelledDataset; within: WithinCvs } | null> {
  const names = collectionNames(all);
  if (names.length < 2) return null;
  const genres = sharedGenres(all, minPositives);
  if (genres.length < 2) return null;
  const ds = relabel(fset, all, genres, imgBackbones);
  const rows = Object.fromEntries(names.map((c) => [c, rowsOfCollection(ds, c)]));
  const within: Record<string, { folds: Fold[]; cv: CvOutcome }> = {};
  for (const c of names) {
    const member = new Set(rows[c]);
    const folds = restrictFolds(foldsAll, (r) => member.has(r));
    within[c] = { folds, cv: await cv(ds, folds, run, `within-collection CV of ${c}`) };
  }
  const directions: TransferDirection[] = [];
  for (const train of names) {
    for (const test of names) {
      if (train === test) continue;
      const { folds } = within[test];
      const ratio = testTrainRatio(folds);
      const transfer = aggregate(transferOutcome(ds, rows[train], folds, run), genres, ratio);
      const own = aggregate(within[test].cv, genres, ratio);
      const delta = deltas(transfer, own, ratio);
      directions.push({
        train,
        test,
        trainRows: rows[train].length,
        testRows: rows[test].length,
        transfer,
        within: own,
        predictAll: aggregate(predictAllOutcome(ds, folds), genres, ratio),
        delta,
        words: transferWords(train, test, transfer, own, delta, rows[train].length, Math.round(folds.reduce((a, f) => a + f.train.length, 0) / folds.length)),
      });
    }
  }
  return { result: { inputSet: run.inputSet, genres, directions }, dataset: ds, within: new Map(names.map((c) => [withinKey(c, genres), within[c].cv])) };
}

function transferWords(train: string, test: string, transfer: MetricSet, within: MetricSet, d: { microF1: PairedDelta; rocAucMacro: PairedDelta }, trainRows: number, withinRows: number): string {
  const verdict = (x: PairedDelta) => (excludesZero(x) ? (x.delta < 0 ? "a real loss" : "a real gain") : "no detectable difference");
  return (
    `Trained on ${train} (${trainRows} covers) and tested on ${test}, the model scores micro-F1 ${transfer.microF1.mean.toFixed(3)} and macro ROC-AUC ${transfer.rocAucMacro.mean.toFixed(3)}, ` +
    `against ${within.microF1.mean.toFixed(3)} and ${within.rocAucMacro.mean.toFixed(3)} when trained on ${test}'s own training folds (${withinRows} covers) — ` +
    `micro-F1 ${ciText(d.microF1)} (${verdict(d.microF1)}); AUC ${ciText(d.rocAucMacro)} (${verdict(d.rocAucMacro)}).`
  );
}

/**
 * Real extra data instead of extrapolation: for each collection, its own training folds vs the same
 * plus every row of the other collections, on its own test folds and genres.
 */
export async function runExtraData(fset: FeatureSet, all: LabelledDataset, foldsAll: Fold[], imgBackbones: string[], minPositives: number, run: CollectionRun, done: WithinCvs = new Map()): Promise<{ results: ExtraDataResult[]; datasets: LabelledDataset[] }> {
  const names = collectionNames(all);
  const results: ExtraDataResult[] = [];
  const datasets: LabelledDataset[] = [];
  if (names.length < 2) return { results, datasets };
  for (const target of names) {
    const own = all.genres.filter((_, j) => all.collections.reduce((a, c, i) => a + (c === target ? all.y[i * all.k + j] : 0), 0) >= minPositives);
    if (own.length < 2) continue;
    const ds = relabel(fset, all, own, imgBackbones);
    datasets.push(ds);
    const member = new Set(rowsOfCollection(ds, target));
    const extra = names.filter((c) => c !== target);
    const extraRows = extra.flatMap((c) => rowsOfCollection(ds, c));
    const ownFolds = restrictFolds(foldsAll, (r) => member.has(r));
    const plusFolds = restrictFolds(foldsAll, (r) => member.has(r), extraRows);
    const ratio = testTrainRatio(ownFolds);
    // The same rows, genres, folds and head as transfer's within-collection CV give the same outcome: reuse it.
    const reused = done.get(withinKey(target, own));
    if (reused) for (const _ of ownFolds) run.onStep?.(`${target}: own training folds (reused)`);
    const ownCv = reused ?? (await cv(ds, ownFolds, run, `${target}: own training folds`));
    const ownM = aggregate(ownCv, own, ratio);
    const plusM = aggregate(await cv(ds, plusFolds, run, `${target}: own training folds + ${extra.join(", ")}`), own, ratio);
    const delta = deltas(plusM, ownM, ratio);
    const meanTrain = (fs: Fold[]) => Math.round(fs.reduce((a, f) => a + f.train.length, 0) / fs.length);
    const verdict = (d: PairedDelta, metric: string) => (excludesZero(d) ? `${d.delta > 0 ? "they help" : "they hurt"} ${metric}` : `no detectable effect on ${metric}`);
    results.push({
      target,
      extra,
      inputSet: run.inputSet,
      genres: own,
      ownTrainRows: meanTrain(ownFolds),
      withExtraTrainRows: meanTrain(plusFolds),
      own: ownM,
      withExtra: plusM,
      delta,
      words:
        `On ${target}'s test folds, adding ${extra.join(", ")} (${extraRows.length} covers) to its ${meanTrain(ownFolds)} training covers changes micro-F1 by ${ciText(delta.microF1)} ` +
        `and macro ROC-AUC by ${ciText(delta.rocAucMacro)}: ${verdict(delta.microF1, "micro-F1")}, ${verdict(delta.rocAucMacro, "ranking (AUC)")} (intervals not corrected for the other comparisons).`,
    });
  }
  return { results, datasets };
}
