/**
 * The study's own head, faithfully: InceptionV3 mixed7 map (7×7×768 at 150×150) → Flatten →
 * Dense(1024, relu) → one sigmoid per genre; the fused variant concatenates the face and colour
 * inputs after Flatten. Binary cross-entropy, Adam, reduce-LR-on-plateau (×0.5, patience 3), early
 * stopping (patience 10, best weights restored), batch 32.
 *
 * The maps are computed once by `covergenre features` and read from the table's sidecar: the
 * backbone never runs during training. The head has 38.5 M weights, so batches are built on the
 * fly from one Float32Array and every tensor is disposed per step (the wasm heap is 4 GB).
 * Run as the study ran it (one seeded 900/116-style split) plus a small CV.
 */
import { tf } from "../tf";
import { readInceptionMaps, type FeatureSet } from "../features/store";
import type { LearningCurve, LearningCurvePoint, MetricSet, ThesisHeadResult } from "./results";
import { applyScaler, fitScaler, take, takeLabels, type LabelledDataset } from "./dataset";
import { repeatedStratifiedFolds, stratifiedHoldout } from "./stratify";
import { bootstrapIntervals } from "./metrics";
import { aggregate, singleSplitMetrics, type CvOutcome, type FoldOutcome } from "./cv";
import { tuneThresholds } from "./thresholds";
import { applyThresholds, evaluate } from "./metrics";
import { makeRng, permutation } from "../util/rng";

export interface ThesisHeadConfig {
  maxEpochs: number;
  /** Early stopping patience (epochs without a better validation loss). */
  patience: number;
  /** Reduce-LR-on-plateau patience and factor. */
  lrPatience: number;
  lrFactor: number;
  learningRate: number;
  batchSize: number;
  hidden: number;
  /** Share of the training rows used for validation (early stopping, LR schedule, thresholds). */
  valFraction: number;
  /** The study's 116 of 1,016 test rows. */
  testFraction: number;
  /** Folds of the small CV (0 = none); one repeat. */
  cvFolds: number;
  /** Input sets: "img" and the fused "img+face+clr". */
  inputSets: string[];
  /** Use at most this many covers (quick runs); null = all. */
  maxRows: number | null;
  seed: number;
}

export const DEFAULT_THESIS_HEAD: ThesisHeadConfig = {
  maxEpochs: 30,
  patience: 10,
  lrPatience: 3,
  lrFactor: 0.5,
  learningRate: 1e-3,
  batchSize: 32,
  hidden: 1024,
  valFraction: 0.1,
  testFraction: 116 / 1016,
  cvFolds: 3,
  inputSets: ["img", "img+face+clr"],
  maxRows: null,
  seed: 42,
};

export interface FlatData {
  maps: Float32Array;
  mapDim: number;
  /** Standardised (on training rows) face+clr inputs, or null for image-only. */
  aux: Float32Array | null;
  auxDim: number;
  y: Uint8Array;
  k: number;
}

function bce(y: Uint8Array, p: Float32Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(1 - 1e-7, Math.max(1e-7, p[i]));
    s -= y[i] ? Math.log(q) : Math.log(1 - q);
  }
  return s / Math.max(1, y.length);
}

function batchTensors(d: FlatData, rows: number[]): tf.Tensor[] {
  const m = new Float32Array(rows.length * d.mapDim);
  rows.forEach((r, i) => m.set(d.maps.subarray(r * d.mapDim, (r + 1) * d.mapDim), i * d.mapDim));
  const xs: tf.Tensor[] = [tf.tensor2d(m, [rows.length, d.mapDim])];
  if (d.aux) {
    const a = new Float32Array(rows.length * d.auxDim);
    rows.forEach((r, i) => a.set(d.aux!.subarray(r * d.auxDim, (r + 1) * d.auxDim), i * d.auxDim));
    xs.push(tf.tensor2d(a, [rows.length, d.auxDim]));
  }
  return xs;
}

export function buildThesisModel(mapDim: number, auxDim: number, k: number, cfg: ThesisHeadConfig): tf.LayersModel {
  const mapIn = tf.input({ shape: [mapDim], name: "mixed7_flat" });
  const inputs = [mapIn];
  let h: tf.SymbolicTensor = mapIn;
  if (auxDim > 0) {
    const auxIn = tf.input({ shape: [auxDim], name: "face_clr" });
    inputs.push(auxIn);
    h = tf.layers.concatenate().apply([mapIn, auxIn]) as tf.SymbolicTensor;
  }
  const dense = tf.layers.dense({ units: cfg.hidden, activation: "relu", kernelInitializer: tf.initializers.glorotUniform({ seed: cfg.seed }) }).apply(h) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: k, activation: "sigmoid", kernelInitializer: tf.initializers.glorotUniform({ seed: cfg.seed + 1 }) }).apply(dense) as tf.SymbolicTensor;
  const model = tf.model({ inputs, outputs: out });
  model.compile({ optimizer: tf.train.adam(cfg.learningRate), loss: "binaryCrossentropy" });
  return model;
}

function predictRows(model: tf.LayersModel, d: FlatData, rows: number[], batch = 64): Float32Array {
  const out = new Float32Array(rows.length * d.k);
  for (let s = 0; s < rows.length; s += batch) {
    const xs = batchTensors(d, rows.slice(s, s + batch));
    const p = model.predict(xs.length === 1 ? xs[0] : xs) as tf.Tensor;
    out.set(p.dataSync(), s * d.k);
    tf.dispose([...xs, p]);
  }
  return out;
}

/** Train with early stopping and LR-on-plateau on `val`; returns the best-val-loss model's curve. */
export async function trainThesisHead(d: FlatData, train: number[], val: number[], cfg: ThesisHeadConfig, name: string, log?: (s: string) => void): Promise<{ model: tf.LayersModel; curve: LearningCurve }> {
  const model = buildThesisModel(d.mapDim, d.aux ? d.auxDim : 0, d.k, cfg);
  const rng = makeRng(cfg.seed);
  const yVal = new Uint8Array(val.length * d.k);
  val.forEach((r, i) => yVal.set(d.y.subarray(r * d.k, (r + 1) * d.k), i * d.k));
  let lr = cfg.learningRate;
  let best = Infinity;
  let bestEpoch = 0;
  let bestWeights: Float32Array[] | null = null;
  let sinceBest = 0;
  let sinceLr = 0;
  const points: LearningCurvePoint[] = [];
  for (let epoch = 1; epoch <= cfg.maxEpochs; epoch++) {
    const order = permutation(train.length, rng).map((i) => train[i]);
    let lossSum = 0;
    let batches = 0;
    for (let s = 0; s < order.length; s += cfg.batchSize) {
      const rows = order.slice(s, s + cfg.batchSize);
      const xs = batchTensors(d, rows);
      const yb = new Float32Array(rows.length * d.k);
      rows.forEach((r, i) => yb.set(Float32Array.from(d.y.subarray(r * d.k, (r + 1) * d.k)), i * d.k));
      const yt = tf.tensor2d(yb, [rows.length, d.k]);
      const loss = (await model.trainOnBatch(xs.length === 1 ? xs[0] : xs, yt)) as number;
      tf.dispose([...xs, yt]);
      lossSum += loss;
      batches++;
    }
    const valLoss = val.length ? bce(yVal, predictRows(model, d, val)) : lossSum / batches;
    points.push({ epoch, loss: lossSum / batches, valLoss: val.length ? valLoss : null, learningRate: lr });
    log?.(`    ${name} epoch ${epoch}: loss ${(lossSum / batches).toFixed(4)} val ${valLoss.toFixed(4)} lr ${lr.toExponential(1)}`);
    if (valLoss < best - 1e-4) {
      best = valLoss;
      bestEpoch = epoch;
      bestWeights = model.getWeights().map((w) => w.dataSync().slice() as Float32Array);
      sinceBest = 0;
      sinceLr = 0;
    } else {
      sinceBest++;
      sinceLr++;
      if (sinceLr >= cfg.lrPatience) {
        lr *= cfg.lrFactor;
        (model.optimizer as unknown as { learningRate: number }).learningRate = lr;
        sinceLr = 0;
      }
      if (sinceBest >= cfg.patience) break;
    }
  }
  if (bestWeights) {
    const shapes = model.getWeights().map((w) => w.shape);
    const tensors = bestWeights.map((a, i) => tf.tensor(a, shapes[i]));
    model.setWeights(tensors);
    tf.dispose(tensors);
  }
  return { model, curve: { name, points, bestEpoch, stoppedEarly: points.length < cfg.maxEpochs } };
}

function disposeModel(model: tf.LayersModel): void {
  model.optimizer?.dispose();
  model.dispose();
}

/** Fit on `train` (with a validation part), score `test`; thresholds tuned on the validation part. */
async function fitAndScore(base: FlatData, ds: LabelledDataset, inputSet: string, train: number[], test: number[], cfg: ThesisHeadConfig, name: string, log?: (s: string) => void) {
  const inner = stratifiedHoldout({ y: takeLabels(ds, train), n: train.length, k: ds.k }, cfg.valFraction, cfg.seed);
  const fit = inner.train.map((i) => train[i]);
  const val = inner.test.map((i) => train[i]);
  let d = base;
  if (inputSet !== "img") {
    // face + colour inputs, standardised on the fitting rows only.
    const all = take(ds, ["face", "clr"], ds.sourceRows.map((_, i) => i));
    const f = take(ds, ["face", "clr"], fit);
    const scaler = fitScaler(f.x, f.n, f.d);
    d = { ...base, aux: applyScaler(all.x, all.n, all.d, scaler), auxDim: all.d };
  }
  const t0 = Date.now();
  const { model, curve } = await trainThesisHead(d, fit, val, cfg, name, log);
  try {
    const thresholds = tuneThresholds(takeLabels(ds, val), predictRows(model, d, val), val.length, ds.k);
    const scores = predictRows(model, d, test);
    return { scores, thresholds, curve, seconds: (Date.now() - t0) / 1000 };
  } finally {
    disposeModel(model);
  }
}

/** The thesis-head part of the study (the `thesisHead` hook of StudyConfig). */
export function thesisHeadRunner(cfg: ThesisHeadConfig = DEFAULT_THESIS_HEAD, readMaps: typeof readInceptionMaps = readInceptionMaps) {
  return async (fset: FeatureSet, facesFull: LabelledDataset, log: (s: string) => void): Promise<Omit<ThesisHeadResult, "thesisTables">> => {
    let ds = facesFull;
    if (cfg.maxRows && ds.n > cfg.maxRows) {
      const keep = stratifiedHoldout({ y: ds.y, n: ds.n, k: ds.k }, cfg.maxRows / ds.n, cfg.seed).test.sort((a, b) => a - b);
      ds = subsetDataset(ds, keep);
    }
    log(`  thesis head: reading ${ds.n} mixed7 maps…`);
    const maps = await readMaps(fset.tablePath, ds.sourceRows);
    const mapDim = maps.length / Math.max(1, ds.n);
    const base: FlatData = { maps, mapDim, aux: null, auxDim: 0, y: ds.y, k: ds.k };
    const split = stratifiedHoldout({ y: ds.y, n: ds.n, k: ds.k }, cfg.testFraction, cfg.seed);
    const yTest = takeLabels(ds, split.test);
    const boot = (y: Uint8Array, s: Float32Array, p: Uint8Array) => bootstrapIntervals(y, s, p, split.test.length, ds.k, 300, cfg.seed);
    const singleSplit: ThesisHeadResult["singleSplit"] = {};
    const curves: LearningCurve[] = [];
    for (const inputSet of cfg.inputSets) {
      const r = await fitAndScore(base, ds, inputSet, split.train, split.test, cfg, `thesis ${inputSet} (single split)`, log);
      curves.push(r.curve);
      singleSplit[inputSet] = {
        trainRows: split.train.length,
        testRows: split.test.length,
        seed: cfg.seed,
        at05: singleSplitMetrics(yTest, r.scores, split.test.length, ds.genres, new Array(ds.k).fill(0.5), boot),
        tuned: singleSplitMetrics(yTest, r.scores, split.test.length, ds.genres, r.thresholds, boot),
        epochs: r.curve.points.length,
        seconds: r.seconds,
      };
      log(`  thesis ${inputSet}: single split micro-F1 ${singleSplit[inputSet].at05.microF1.mean.toFixed(3)} (0.5) / ${singleSplit[inputSet].tuned.microF1.mean.toFixed(3)} (tuned), AUC ${singleSplit[inputSet].tuned.rocAucMacro.mean.toFixed(3)}`);
    }
    let cv: Record<string, MetricSet> | null = null;
    if (cfg.cvFolds >= 2) {
      cv = {};
      const folds = repeatedStratifiedFolds({ y: ds.y, n: ds.n, k: ds.k }, cfg.cvFolds, 1, cfg.seed);
      for (const inputSet of cfg.inputSets) {
        const outcomes: FoldOutcome[] = [];
        for (const fold of folds) {
          const r = await fitAndScore(base, ds, inputSet, fold.train, fold.test, cfg, `thesis ${inputSet} fold ${fold.fold + 1}`, log);
          const y = takeLabels(ds, fold.test);
          const pred = applyThresholds(r.scores, fold.test.length, ds.k, r.thresholds);
          outcomes.push({ fold, metrics: evaluate(y, r.scores, pred, fold.test.length, ds.k), thresholds: r.thresholds, scores: r.scores });
        }
        const outcome: CvOutcome = { folds: outcomes, oof: new Float32Array(0), oofPred: new Uint8Array(0), seconds: 0 };
        cv[inputSet] = aggregate(outcome, ds.genres);
        log(`  thesis ${inputSet}: ${cfg.cvFolds}-fold CV micro-F1 ${cv[inputSet].microF1.mean.toFixed(3)}, AUC ${cv[inputSet].rocAucMacro.mean.toFixed(3)}`);
      }
    }
    return {
      backbone: "inception_v3 (nsfwjs bundle, mixed7 at 150x150)",
      architecture: `mixed7 [${mapDim}] → Flatten → Dense(${cfg.hidden}, relu) → ${ds.k} sigmoids; fused: + face & colour after Flatten`,
      singleSplit,
      cv,
      cvProtocol: cfg.cvFolds >= 2 ? { folds: cfg.cvFolds, repeats: 1 } : null,
      learningCurves: curves,
      skipped: cfg.maxRows && facesFull.n > cfg.maxRows ? `quick run: ${ds.n} of ${facesFull.n} covers with faces, at most ${cfg.maxEpochs} epochs` : null,
    };
  };
}

/** A dataset restricted to some rows (labels and blocks together). */
export function subsetDataset(ds: LabelledDataset, rows: number[]): LabelledDataset {
  const blocks: LabelledDataset["blocks"] = {};
  for (const [name, b] of Object.entries(ds.blocks)) {
    if (!b) continue;
    const data = new Float32Array(rows.length * b.dim);
    rows.forEach((r, i) => data.set(b.data.subarray(r * b.dim, (r + 1) * b.dim), i * b.dim));
    blocks[name as keyof typeof blocks] = { ...b, data };
  }
  return {
    sourceRows: rows.map((r) => ds.sourceRows[r]),
    ids: rows.map((r) => ds.ids[r]),
    paths: rows.map((r) => ds.paths[r]),
    genres: ds.genres,
    n: rows.length,
    k: ds.k,
    y: takeLabels(ds, rows),
    blocks,
  };
}
