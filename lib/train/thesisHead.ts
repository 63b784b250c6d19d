/**
 * The study's own head, faithfully: InceptionV3 mixed7 map (7×7×768 at 150×150) → Flatten →
 * Dense(1024, relu) → one sigmoid per genre; the fused variant concatenates the face and colour
 * inputs after Flatten. Binary cross-entropy, Adam, reduce-LR-on-plateau (×0.5, patience 3), early
 * stopping (patience 10, best weights restored), batch 32.
 *
 * The maps are computed once by `covergenre features` and read from the table's sidecar: the
 * backbone never runs during training. The head has 38.5 M weights, so batches are built on the
 * fly from one Float32Array and every tensor is disposed per step (the wasm heap is 4 GB).
 * Run as the study ran it (one seeded 900/116-style split, on a stratified 1,016 of the covers with
 * faces) plus a small CV; the fits run on worker threads and are cached, so the reproduction is
 * trained once per feature table and then shown by every study, the notebook and `npm start`.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Worker } from "node:worker_threads";
import { tf } from "../tf";
import { sidecarPaths } from "../features/schema";
import { InterruptedError, UserError } from "../util/errors";
import { writeJsonAtomic } from "../util/fsx";
import { packageVersion } from "../util/packages";
import { Progress } from "../util/progress";
import { sharedCopy, startTsWorker } from "../util/tsWorker";
import { defaultFoldWorkers } from "./pool";
import { hasMapsFor, readMapsByKey, type FeatureSet } from "../features/store";
import { coverKey } from "../features/covers";
import { buildFeatureTable } from "../features/build";
import { defaultFeatureConfig } from "../features/config";
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
  /** Use a stratified subset of this many covers with faces (the study had 1,016); null = all. */
  maxRows: number | null;
  seed: number;
  /**
   * Threads that train fits side by side. Each holds its own wasm engine with the 38.5 M-weight
   * head, Adam's two moments and the best weights (≈ 0.9 GB), so more threads than cores only
   * costs memory. 1 = the calling thread.
   */
  workers: number;
  /**
   * Keep every finished fit beside the feature table (`<stem>.thesis-head/`) and reuse it: a
   * stopped run resumes, and later studies show the reproduction without training it again.
   */
  cache: boolean;
  /**
   * false: report only fits already in the cache, train nothing (what `npm start` and the notebook
   * do by default — a cold run of the head takes ≈ 25 min on 2 cores).
   */
  train: boolean;
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
  maxRows: 1016,
  seed: 42,
  workers: defaultFoldWorkers(),
  cache: true,
  train: true,
};

/**
 * The head's settings for one run — the one place the CLI, `npm start` and the notebook get them.
 * `train: false` shows only fits already cached for the table (the default everywhere except
 * `--thesis-head`: a cold reproduction takes ≈ 25 min on 2 cores). Quick runs (CI) use 300
 * covers, 2 epochs and no CV.
 */
export function thesisHeadSettings(opts: { train: boolean; quick?: boolean; maxRows?: number | null; cvFolds?: number; workers?: number }): ThesisHeadConfig {
  const base: ThesisHeadConfig = opts.quick ? { ...DEFAULT_THESIS_HEAD, maxEpochs: 2, cvFolds: 0, maxRows: 300 } : DEFAULT_THESIS_HEAD;
  return {
    ...base,
    train: opts.train,
    ...(opts.maxRows !== undefined ? { maxRows: opts.maxRows } : {}),
    ...(opts.cvFolds !== undefined ? { cvFolds: opts.cvFolds } : {}),
    ...(opts.workers !== undefined ? { workers: Math.max(1, opts.workers) } : {}),
  };
}

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

/** The maps and labels every fit reads (in a worker: views of shared memory). */
export interface ThesisData {
  maps: Float32Array;
  mapDim: number;
  y: Uint8Array;
  k: number;
}

/**
 * One fit of the head, planned in full on the calling thread: which rows fit, validate (early
 * stopping, LR schedule, thresholds) and are scored, and the face + colour inputs already
 * standardised on the fitting rows. Running it needs nothing else, so it can run on any thread
 * and its result can be cached under a key of its contents.
 */
export interface ThesisFitJob {
  name: string;
  inputSet: string;
  fit: number[];
  val: number[];
  test: number[];
  /** Face + colour inputs of every row (standardised on `fit`), or null for image only. */
  aux: Float32Array | null;
  auxDim: number;
}

export interface ThesisFitResult {
  /** Scores of the `test` rows, row-major [test.length, k]. */
  scores: Float32Array;
  thresholds: number[];
  curve: LearningCurve;
  seconds: number;
}

/** Plan a fit on `train` (a stratified validation part is split off), scored on `test`. */
export function planThesisFit(ds: LabelledDataset, inputSet: string, train: number[], test: number[], cfg: ThesisHeadConfig, name: string): ThesisFitJob {
  const inner = stratifiedHoldout({ y: takeLabels(ds, train), n: train.length, k: ds.k }, cfg.valFraction, cfg.seed);
  const fit = inner.train.map((i) => train[i]);
  const val = inner.test.map((i) => train[i]);
  if (inputSet === "img") return { name, inputSet, fit, val, test, aux: null, auxDim: 0 };
  const all = take(ds, ["face", "clr"], ds.sourceRows.map((_, i) => i));
  const f = take(ds, ["face", "clr"], fit);
  return { name, inputSet, fit, val, test, aux: applyScaler(all.x, all.n, all.d, fitScaler(f.x, f.n, f.d)), auxDim: all.d };
}

/** Train one planned fit, tune thresholds on its validation rows, score its test rows (any thread). */
export async function runThesisFit(data: ThesisData, job: ThesisFitJob, cfg: ThesisHeadConfig, log?: (s: string) => void): Promise<ThesisFitResult> {
  const d: FlatData = { ...data, aux: job.aux, auxDim: job.auxDim };
  const t0 = Date.now();
  const { model, curve } = await trainThesisHead(d, job.fit, job.val, cfg, job.name, log);
  try {
    const thresholds = tuneThresholds(takeLabels(d, job.val), predictRows(model, d, job.val), job.val.length, d.k);
    const scores = predictRows(model, d, job.test);
    return { scores, thresholds, curve, seconds: (Date.now() - t0) / 1000 };
  } finally {
    disposeModel(model);
  }
}

/**
 * Bump when the head's training or scoring changes its outputs: cached fits made before are then
 * trained again. (Everything else that changes a fit — rows, maps, labels, face inputs, settings,
 * tfjs version, backend — is part of the key already.)
 */
export const THESIS_HEAD_REVISION = 1;

function digest(parts: (string | ArrayBufferView)[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(typeof p === "string" ? p : new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  return h.digest("hex");
}

/** The cache key of a fit: a hash of everything its result depends on. */
export function thesisFitKey(job: ThesisFitJob, cfg: ThesisHeadConfig, dataDigest: string): string {
  const settings = {
    rev: THESIS_HEAD_REVISION,
    tfjs: packageVersion("@tensorflow/tfjs"),
    backend: tf.getBackend(),
    cfg: [cfg.maxEpochs, cfg.patience, cfg.lrPatience, cfg.lrFactor, cfg.learningRate, cfg.batchSize, cfg.hidden, cfg.seed],
    inputSet: job.inputSet,
    rows: [job.fit, job.val, job.test],
  };
  return digest([dataDigest, JSON.stringify(settings), ...(job.aux ? [job.aux] : [])]).slice(0, 24);
}

interface CachedFit {
  key: string;
  name: string;
  scores: number[];
  thresholds: number[];
  curve: LearningCurve;
  seconds: number;
  trainedAt: string;
}

function readCachedFit(dir: string, key: string, job: ThesisFitJob, k: number): ThesisFitResult | null {
  const file = path.join(dir, `${key}.json`);
  if (!fs.existsSync(file)) return null;
  try {
    const c = JSON.parse(fs.readFileSync(file, "utf8")) as CachedFit;
    if (c.key !== key || c.scores.length !== job.test.length * k || c.thresholds.length !== k) return null;
    return { scores: Float32Array.from(c.scores), thresholds: c.thresholds, curve: { ...c.curve, name: job.name }, seconds: c.seconds };
  } catch {
    return null; // a damaged entry is trained again (and overwritten atomically)
  }
}

/** Where the finished fits of a feature table are kept: `<table stem>.thesis-head/` beside it. */
export function thesisFitCacheDir(tablePath: string): string {
  return sidecarPaths(tablePath).table.replace(/\.csv$/i, "") + ".thesis-head";
}

/** Keys of the fits cached for a table: part of `npm start`'s study step key, so fits trained since the last run show up. */
export function cachedThesisFitKeys(tablePath: string): string[] {
  const dir = thesisFitCacheDir(tablePath);
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
}

/**
 * Run planned fits: cached ones are read, the rest trained — on `cfg.workers` threads side by
 * side when there are several (each thread its own wasm engine; identical numbers to this thread)
 * — and each is cached as soon as it finishes, so a stopped run resumes where it was. With
 * `cfg.train` false nothing is trained: missing fits come back null.
 */
export async function runThesisFits(data: ThesisData, jobs: ThesisFitJob[], cfg: ThesisHeadConfig, cacheDir: string | null, log: (s: string) => void): Promise<(ThesisFitResult | null)[]> {
  const dataDigest = digest([data.maps, data.y, String(data.k)]);
  const keys = jobs.map((j) => thesisFitKey(j, cfg, dataDigest));
  const results: (ThesisFitResult | null)[] = jobs.map((j, i) => (cacheDir ? readCachedFit(cacheDir, keys[i], j, data.k) : null));
  const todo = jobs.map((_, i) => i).filter((i) => !results[i]);
  const cached = jobs.length - todo.length;
  if (cached) log(`  thesis head: ${cached} of ${jobs.length} fits read from ${cacheDir}`);
  if (!todo.length || !cfg.train) return results;
  const threads = Math.max(1, Math.min(cfg.workers, todo.length));
  log(`  thesis head: training ${todo.length} fit${todo.length === 1 ? "" : "s"} on ${threads} thread${threads === 1 ? "" : "s"}${cacheDir ? ` (each kept in ${cacheDir} when done: a stopped run resumes)` : ""}`);
  const progress = new Progress("thesis head", todo.length, { unit: "fits" });
  const done = async (i: number, r: ThesisFitResult) => {
    results[i] = r;
    progress.tick();
    if (!cacheDir) return;
    const entry: CachedFit = { key: keys[i], name: jobs[i].name, scores: Array.from(r.scores), thresholds: r.thresholds, curve: r.curve, seconds: r.seconds, trainedAt: new Date().toISOString() };
    await writeJsonAtomic(path.join(cacheDir, `${keys[i]}.json`), entry);
  };
  try {
    if (threads > 1) await trainOnWorkers(data, todo.map((i) => ({ index: i, job: jobs[i] })), cfg, threads, log, done);
    else for (const i of todo) await done(i, await runThesisFit(data, jobs[i], cfg, log));
  } finally {
    progress.finish();
  }
  return results;
}

/** Messages of lib/train/thesisWorker.ts (one shape with optional fields: no union narrowing needed). */
export interface ToThesisWorker {
  type: "fit" | "close";
  id?: number;
  job?: ThesisFitJob;
}
export interface FromThesisWorker {
  type: "ready" | "failed" | "log" | "result" | "error";
  id?: number;
  backend?: string;
  line?: string;
  error?: string;
  result?: ThesisFitResult;
}
export interface ThesisWorkerInput {
  backend: string;
  data: ThesisData;
  cfg: ThesisHeadConfig;
}

/**
 * Fits on worker threads: the maps go to every worker once, as shared memory; one fit per worker
 * at a time from a common queue. Ctrl-C stops the workers at once (finished fits are already
 * cached) and rejects with an InterruptedError.
 */
async function trainOnWorkers(data: ThesisData, queue: { index: number; job: ThesisFitJob }[], cfg: ThesisHeadConfig, threads: number, log: (s: string) => void, done: (i: number, r: ThesisFitResult) => Promise<void>): Promise<void> {
  const backend = tf.getBackend();
  const sharedData: ThesisData = { ...data, maps: sharedCopy(data.maps), y: sharedCopy(data.y) };
  const workers: Worker[] = [];
  let stop: ((e: Error) => void) | null = null;
  const onSigint = () => stop?.(new InterruptedError("the thesis head was interrupted (Ctrl-C); its finished fits are kept: re-run the same command to resume"));
  process.on("SIGINT", onSigint);
  try {
    await new Promise<void>((resolve, reject) => {
      let running = 0;
      let failed = false;
      stop = (e) => {
        if (failed) return;
        failed = true;
        reject(e);
      };
      const next = (w: Worker) => {
        const item = queue.shift();
        if (!item || failed) {
          w.postMessage({ type: "close" } satisfies ToThesisWorker);
          if (running === 0 && !queue.length) resolve();
          return;
        }
        running++;
        w.postMessage({ type: "fit", id: item.index, job: item.job } satisfies ToThesisWorker);
      };
      for (let t = 0; t < threads; t++) {
        const w = startTsWorker<ThesisWorkerInput>(path.join(__dirname, "thesisWorker.ts"), { backend, data: sharedData, cfg }, `covergenre thesis worker ${t + 1}`);
        workers.push(w);
        w.on("message", (msg: FromThesisWorker) => {
          if (msg.type === "ready") {
            if (msg.backend !== backend) stop?.(new Error(`thesis worker ${t + 1} runs the ${msg.backend} backend, this thread ${backend}`));
            else next(w);
          } else if (msg.type === "failed") stop?.(new Error(`thesis worker ${t + 1} could not start TensorFlow.js: ${msg.error}`));
          else if (msg.type === "log") log(msg.line ?? "");
          else if (msg.type === "error") stop?.(new Error(`thesis head fit ${msg.id}: ${msg.error}`));
          else if (msg.type === "result" && msg.result && msg.id != null) {
            done(msg.id, msg.result).then(
              () => {
                running--;
                next(w);
              },
              (err: Error) => stop?.(err),
            );
          }
        });
        w.on("error", (err) => stop?.(new Error(`thesis worker ${t + 1} crashed: ${err.message}`)));
        w.on("exit", (code) => {
          if (code !== 0) stop?.(new Error(`thesis worker ${t + 1} exited unexpectedly (code ${code})`));
        });
      }
    });
  } finally {
    process.removeListener("SIGINT", onSigint);
    await Promise.all(workers.map((w) => w.terminate().catch(() => undefined)));
  }
}

/** The result of a Flatten head that was not trained or shown, with the reason. */
export function thesisHeadNotRun(skipped: string): Omit<ThesisHeadResult, "thesisTables"> {
  return { backbone: "inception_v3", architecture: "mixed7 → Flatten → Dense(1024, relu) → sigmoid per genre", singleSplit: {}, cv: null, cvProtocol: null, learningCurves: [], skipped };
}

/** The thesis-head part of the study (the `thesisHead` hook of StudyConfig). */
/**
 * The InceptionV3 mixed7 maps of `rows` of `fset`, in order: from the table itself when it stores
 * them (built with `--maps inception_v3`), else from a side table of just these covers
 * (`<stem>.thesis-maps.csv`), built here from the same per-cover cache. The default features leave
 * InceptionV3 out, and the head trains on about a thousand covers: computing maps for those only
 * keeps thousands of covers' worth of backbone time out of every run that does not need them.
 */
export async function flattenHeadMaps(fset: FeatureSet, rows: number[], log: (s: string) => void): Promise<Float32Array> {
  const keys = rows.map((r) => coverKey(fset.rows[r]));
  if (hasMapsFor(fset.tablePath, "inception_v3", keys)) return readMapsByKey(fset.tablePath, "inception_v3", keys);
  if (!fset.collections?.length) throw new UserError(`${fset.tablePath} has no inception_v3 maps and no collection folders to compute them from: rebuild it with \`covergenre features --maps inception_v3\``);
  const side = fset.tablePath.replace(/\.csv$/i, "") + ".thesis-maps.csv";
  if (!hasMapsFor(side, "inception_v3", keys)) {
    const wanted = new Set(keys);
    log(`  thesis head: InceptionV3 mixed7 maps for its ${keys.length} covers → ${side} (cached by content; Ctrl-C and re-run resumes)`);
    const base = defaultFeatureConfig();
    await buildFeatureTable({
      collections: fset.collections,
      tablePath: side,
      select: (c) => wanted.has(coverKey(c)),
      config: { ...base, backbones: ["inception_v3"], maps: ["inception_v3"], faces: false, cacheDir: fset.cacheDir ?? path.join(path.dirname(fset.tablePath), "covers.cache") },
      handleSigint: true,
      log,
    });
  }
  return readMapsByKey(side, "inception_v3", keys);
}

export function thesisHeadRunner(cfg: ThesisHeadConfig = DEFAULT_THESIS_HEAD, readMaps: ((tablePath: string, rows: number[]) => Promise<Float32Array>) | null = null) {
  return async (fset: FeatureSet, facesFull: LabelledDataset, log: (s: string) => void): Promise<Omit<ThesisHeadResult, "thesisTables">> => {
    let ds = facesFull;
    if (cfg.maxRows && ds.n > cfg.maxRows) {
      const keep = stratifiedHoldout({ y: ds.y, n: ds.n, k: ds.k }, cfg.maxRows / ds.n, cfg.seed).test.sort((a, b) => a - b);
      ds = subsetDataset(ds, keep);
    }
    const notTrained = (missing: number, total: number) =>
      `${missing} of ${total} fits not trained yet on this table: run \`npx covergenre study --thesis-head\` once (≈ 25 min on 2 cores); later runs, \`npm start\` and the notebook reuse them`;
    if (!cfg.train && (!cfg.cache || !cachedThesisFitKeys(fset.tablePath).length)) {
      // Nothing to show and nothing to train: do not read (or require) the maps at all.
      const total = cfg.inputSets.length * (1 + (cfg.cvFolds >= 2 ? cfg.cvFolds : 0));
      return thesisHeadNotRun(notTrained(total, total));
    }
    log(`  thesis head: reading ${ds.n} mixed7 maps…`);
    const maps = readMaps ? await readMaps(fset.tablePath, ds.sourceRows) : await flattenHeadMaps(fset, ds.sourceRows, log);
    const mapDim = maps.length / Math.max(1, ds.n);
    const data: ThesisData = { maps, mapDim, y: ds.y, k: ds.k };
    const split = stratifiedHoldout({ y: ds.y, n: ds.n, k: ds.k }, cfg.testFraction, cfg.seed);
    const folds = cfg.cvFolds >= 2 ? repeatedStratifiedFolds({ y: ds.y, n: ds.n, k: ds.k }, cfg.cvFolds, 1, cfg.seed) : [];
    const singleJobs = cfg.inputSets.map((s) => planThesisFit(ds, s, split.train, split.test, cfg, `thesis ${s} (single split)`));
    const cvJobs = cfg.inputSets.flatMap((s) => folds.map((fold) => planThesisFit(ds, s, fold.train, fold.test, cfg, `thesis ${s} fold ${fold.fold + 1}`)));
    const cacheDir = cfg.cache ? thesisFitCacheDir(fset.tablePath) : null;
    const fits = await runThesisFits(data, [...singleJobs, ...cvJobs], cfg, cacheDir, log);
    const singleFits = fits.slice(0, singleJobs.length);
    const cvFits = fits.slice(singleJobs.length);

    const yTest = takeLabels(ds, split.test);
    const boot = (y: Uint8Array, s: Float32Array, p: Uint8Array) => bootstrapIntervals(y, s, p, split.test.length, ds.k, 300, cfg.seed);
    const singleSplit: ThesisHeadResult["singleSplit"] = {};
    const curves: LearningCurve[] = [];
    if (singleFits.every(Boolean)) {
      cfg.inputSets.forEach((inputSet, i) => {
        const r = singleFits[i]!;
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
      });
    }
    let cv: Record<string, MetricSet> | null = null;
    if (folds.length && cvFits.every(Boolean)) {
      cv = {};
      cfg.inputSets.forEach((inputSet, s) => {
        const outcomes: FoldOutcome[] = folds.map((fold, f) => {
          const r = cvFits[s * folds.length + f]!;
          const y = takeLabels(ds, fold.test);
          const pred = applyThresholds(r.scores, fold.test.length, ds.k, r.thresholds);
          return { fold, metrics: evaluate(y, r.scores, pred, fold.test.length, ds.k), thresholds: r.thresholds, scores: r.scores };
        });
        const outcome: CvOutcome = { folds: outcomes, oof: new Float32Array(0), oofPred: new Uint8Array(0), seconds: 0 };
        cv![inputSet] = aggregate(outcome, ds.genres);
        log(`  thesis ${inputSet}: ${cfg.cvFolds}-fold CV micro-F1 ${cv![inputSet].microF1.mean.toFixed(3)}, AUC ${cv![inputSet].rocAucMacro.mean.toFixed(3)}`);
      });
    }
    const missing = fits.filter((f) => !f).length;
    const notes: string[] = [];
    if (cfg.maxRows && facesFull.n > cfg.maxRows) notes.push(`${ds.n} of ${facesFull.n} covers with faces (stratified), as the study's ${cfg.maxRows === 1016 ? "1,016" : cfg.maxRows}`);
    if (missing) notes.push(notTrained(missing, fits.length));
    return {
      backbone: "inception_v3 (nsfwjs bundle, mixed7 at 150x150)",
      architecture: `mixed7 [${mapDim}] → Flatten → Dense(${cfg.hidden}, relu) → ${ds.k} sigmoids; fused: + face & colour after Flatten`,
      singleSplit,
      cv,
      cvProtocol: cv ? { folds: cfg.cvFolds, repeats: 1 } : null,
      learningCurves: curves,
      skipped: notes.length ? notes.join("; ") : null,
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
    collections: rows.map((r) => ds.collections[r]),
    paths: rows.map((r) => ds.paths[r]),
    genres: ds.genres,
    n: rows.length,
    k: ds.k,
    y: takeLabels(ds, rows),
    blocks,
  };
}
