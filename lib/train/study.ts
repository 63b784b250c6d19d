/**
 * The whole study: refine the feature table into the two populations, cross-validate every input
 * set on identical folds, compare with the corrected resampled t-test + Holm, rerun the face +
 * colour model on the study's own tables, train the best checkpoint, and return results.json.
 *
 * Protocol (documented in results.json → protocol): iterative stratification k folds × r repeats,
 * the same row-index folds for every input set of a population; standardisation and per-genre
 * thresholds fitted inside training folds only; baselines on the same folds.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { writeOofScores } from "../explain/gallery";
import type { FeatureSet } from "../features/store";
import { MAJOR_GENRES } from "../discogs/genres";
import { initTf } from "../tf";
import { Progress } from "../util/progress";
import type { BaselineResults, Comparison, DataSizeCurve, DatasetInfo, ExtraDataResult, TransferResult, ExamplePrediction, InputSetResult, LearningCurve, MetricSet, StudyResults, ThesisHeadResult } from "./results";
import { buildDataset, defaultImgBackbones, parseInputSet, takeLabels, usableRows, type BlockName, type LabelledDataset } from "./dataset";
import { repeatedStratifiedFolds, stratifiedHoldout, type Fold } from "./stratify";
import { DEFAULT_CV, aggregate, crossValidate, crossValidateAsync, pooledScorer, predictAllScorer, priorScorer, prCurves, singleSplitMetrics, testTrainRatio, type CvOutcome, type FoldRunner, type Scorer } from "./cv";
import { DEFAULT_HEAD, headName, type PooledHeadConfig } from "./heads";
import { answerFrom, compareInputSets, type ComparisonRequest } from "./compare";
import { readThesisTables } from "./thesisTables";
import { thesisHeadNotRun } from "./thesisHead";
import { bootstrapIntervals } from "./metrics";
import { tuneThresholds } from "./thresholds";
import { buildMeta, saveCheckpoint, trainFinalHead } from "./checkpoint";
import { defaultFoldWorkers, startFoldPool, type FoldPool } from "./pool";
import { InterruptedError } from "../util/errors";
import { collectionNames, describeCollections, foldLabels, runExtraData, runTransfer, scoresByCollection, type CollectionRun } from "./collections";

/** The MLP variant: 0.438 / 0.705 at 40 epochs on the img input (see DEFAULT_HEAD); 20 epochs keep the study's time in budget. */
const MLP_VARIANT = (head: PooledHeadConfig): PooledHeadConfig => ({ ...head, hidden: 256, dropout: 0.5, l2: 6e-5, learningRate: 1e-3, epochs: 20 });

export const FACES_INPUT_SETS = ["img", "face", "clr", "face+clr", "img+face", "img+clr", "img+face+clr"];
export const ALL_INPUT_SETS = ["img", "img+clr", "img+face", "img+face+clr"];

export interface StudyConfig {
  folds: number;
  repeats: number;
  seed: number;
  /** Genres asked for (the study's 7 major genres by default). */
  genres: string[];
  /** A genre needs at least this many positive covers in a population to be trained and scored. */
  minPositives: number;
  head: PooledHeadConfig;
  /** Embeddings concatenated into the img block; "auto" = {@link defaultImgBackbones} (MobileNet v1 when present). */
  imgBackbones: string[] | "auto";
  /** Also measure head/backbone variants on all covers. */
  variants: boolean;
  /**
   * All-covers input sets that also get the MLP(256) head as a variant. Default ["img+face+clr"],
   * the best configuration on the shared collections; `img [mlp256]` scored below it, takes part in
   * no comparison and costs minutes of every main run (README, Results), so it is one flag away:
   * `--mlp img,img+face+clr`.
   */
  mlpInputSets: string[];
  /**
   * Fractions of each training fold for the data-size curve (img on all covers; 1 is the study's
   * own result and always included). Empty: no curve. Costs about their sum times one input set.
   */
  dataFractions: number[];
  /**
   * With several collections: transfer between them and own vs own + extra training covers
   * (lib/train/collections.ts). Costs about 2 x collections x folds img fits. Default true.
   */
  collectionSteps: boolean;
  /** Folder of the study's own tables (facial/clr/y_label.csv), or null to skip. */
  thesisTables: string | null;
  /** Run the study's Flatten head (needs inception maps in the table); see thesisHead.ts. */
  thesisHead: ((fs: FeatureSet, faces: LabelledDataset, log: (s: string) => void) => Promise<Omit<ThesisHeadResult, "thesisTables">>) | null;
  /** Where to write the best checkpoint (null: do not write one). */
  checkpointDir: string | null;
  /** Covers in the example grid. */
  examples: number;
  quick: boolean;
  /**
   * Worker threads for the pooled-head folds (lib/train/pool.ts): each fold of each input set is one
   * job, so both cores of the development machine train at once; results are bit-identical to the
   * sequential path. Measured on the 3,763 covers, idle 2-core machine: whole study 514 s → 340 s
   * (1.51x; MLP variants 1.72x, the small faces-population sets 1.25x). Not 2x mostly because a
   * fold takes ≈ 1.27x longer while the other core runs one too (4 identical folds: 5.4 s one after
   * the other, 3.4 s two at a time), which no scheduling changes.
   * 0 or 1: every fold in this thread — the reference path, for tests and notebooks that want no
   * threads. Baselines, the study's own tables, the Flatten head and the final checkpoint always run
   * in this thread. Default {@link defaultFoldWorkers}: one per CPU, at most 4 (2 on the development
   * machine; why, see there).
   */
  workers: number;
  log: (line: string) => void;
}

export function defaultStudyConfig(overrides: Partial<StudyConfig> = {}): StudyConfig {
  return {
    folds: 5,
    repeats: 2,
    seed: 42,
    genres: [...MAJOR_GENRES],
    minPositives: 10,
    head: DEFAULT_HEAD,
    imgBackbones: "auto",
    variants: true,
    mlpInputSets: ["img+face+clr"],
    dataFractions: overrides.quick ? [0.5] : [0.125, 0.25, 0.5],
    collectionSteps: true,
    thesisTables: null,
    thesisHead: null,
    checkpointDir: null,
    examples: 24,
    quick: false,
    workers: defaultFoldWorkers(),
    log: (s) => process.stderr.write(s + "\n"),
    ...overrides,
  };
}

/** Genres with enough positives among `rows`, and the dropped ones with the reason. */
export function keptGenres(fs: FeatureSet, rows: number[], genres: string[], minPositives: number): { kept: string[]; dropped: { genre: string; reason: string }[] } {
  const kept: string[] = [];
  const dropped: { genre: string; reason: string }[] = [];
  for (const g of genres) {
    const count = rows.filter((r) => fs.rows[r].genres.includes(g)).length;
    if (count >= minPositives) kept.push(g);
    else dropped.push({ genre: g, reason: count === 0 ? "no covers with this genre in the table" : `only ${count} covers (< ${minPositives}): too few to train and score` });
  }
  return { kept, dropped };
}

function baselines(ds: LabelledDataset, folds: Fold[], seed: number): BaselineResults {
  // Neither needs a tuned threshold: predict-all scores 1, the prior draws 0/1 (see priorScorer).
  return {
    predictAll: aggregate(crossValidate(ds, folds, predictAllScorer, { ...DEFAULT_CV, thresholds: 0.5, seed }), ds.genres),
    prior: aggregate(crossValidate(ds, folds, priorScorer, { ...DEFAULT_CV, thresholds: 0.5, seed }), ds.genres),
  };
}

export interface InputSetRun {
  head: PooledHeadConfig;
  /** Embeddings in the img block (recorded in the result). */
  backbones: string[];
  seed: number;
  /** Counts finished folds under the input set's name. */
  progress?: Progress;
  /** Where the folds run (a fold pool); null/absent: in this thread. */
  pool?: FoldRunner | null;
  /** For error messages; default `input set <name>`. */
  label?: string;
}

/**
 * Relative cost of one fold, so the progress ETA does not count a 1,800-d MLP fold like a 6-d
 * logistic one. Fitted to the input-set times of a study on the 3,763 covers: a logistic fold
 * ≈ overhead + training rows × dims; an MLP (256 hidden) fold ≈ 5.4x the logistic one on the same inputs.
 */
export function foldCost(trainRows: number, dims: number, head: PooledHeadConfig): number {
  const logistic = 1 + 1.7e-6 * trainRows * dims;
  return head.hidden > 0 ? 5.4 * logistic : logistic;
}

/** Training rows of a set of folds (they differ by a row at most), for {@link foldCost}. */
function trainRowsOf(folds: Fold[]): number {
  return folds[0]?.train.length ?? 0;
}

function dimsOf(ds: LabelledDataset, blocks: BlockName[]): number {
  return blocks.reduce((a, b) => a + (ds.blocks[b]?.dim ?? 0), 0);
}

/** Cross-validate one input set on `folds` and aggregate it into its results.json entry. */
export async function runInputSet(ds: LabelledDataset, folds: Fold[], name: string, run: InputSetRun): Promise<{ result: InputSetResult; cv: CvOutcome }> {
  const { head, backbones, progress } = run;
  const blocks = parseInputSet(name);
  const dims = dimsOf(ds, blocks);
  const cost = foldCost(trainRowsOf(folds), dims, head);
  const cv = await crossValidateAsync(
    ds,
    folds,
    pooledScorer(blocks, head),
    { ...DEFAULT_CV, seed: run.seed, label: run.label ?? `input set ${name}`, onFold: () => progress?.tick(name, 1, cost) },
    run.pool,
  );
  return {
    result: { ...aggregate(cv, ds.genres), blocks, dims, head: headName(head), backbones: blocks.includes("img") ? backbones : [], prCurves: prCurves(ds, cv.oof), seconds: cv.seconds },
    cv,
  };
}

/** Wall time of the study's named steps (results.json → timings.steps). */
class StepClock {
  readonly t0 = Date.now();
  readonly steps: Record<string, number> = {};
  async time<T>(name: string, work: () => Promise<T> | T): Promise<T> {
    const since = Date.now();
    const out = await work();
    this.steps[name] = (Date.now() - since) / 1000;
    return out;
  }
}

/** The two populations of one study, refined from the table, with their folds. */
interface Populations {
  kept: string[];
  rows: number[];
  all: LabelledDataset;
  faces: LabelledDataset;
  dataset: DatasetInfo;
  collections: string[];
  foldsAll: Fold[];
  foldsFaces: Fold[];
}

/**
 * Refine: rows usable for the requested genres, the genres kept (those with examples), both
 * populations, what the report says about them, and the folds — stratified by label set and, with
 * several collections, by collection (see foldLabels); the same folds serve every input set.
 */
function studyPopulations(fset: FeatureSet, config: StudyConfig, imgBackbones: string[], notes: string[]): Populations {
  const usable0 = usableRows(fset, config.genres);
  const { kept, dropped } = keptGenres(fset, usable0.rows, config.genres, config.minPositives);
  for (const d of dropped) notes.push(`Genre "${d.genre}" dropped: ${d.reason}.`);
  const { rows, dropped: droppedRows } = usableRows(fset, kept);
  const all = buildDataset(fset, rows, { genres: kept, imgBackbones, population: "all" });
  const faces = buildDataset(fset, rows, { genres: kept, imgBackbones, population: "faces" });
  const facesKept = keptGenres(fset, faces.sourceRows, kept, config.minPositives);
  if (facesKept.dropped.length) notes.push(`On the faces population, ${facesKept.dropped.map((d) => `${d.genre} (${d.reason})`).join("; ")}: kept for comparability, its per-genre numbers are unreliable.`);
  config.log(`study: ${all.n} covers (${faces.n} with a face), genres ${kept.join(", ")}; img = ${imgBackbones.join(" + ")}`);

  const genreCounts: DatasetInfo["genreCounts"] = {};
  kept.forEach((g, j) => {
    let a = 0;
    let f = 0;
    for (let i = 0; i < all.n; i++) a += all.y[i * all.k + j];
    for (let i = 0; i < faces.n; i++) f += faces.y[i * faces.k + j];
    genreCounts[g] = { all: a, faces: f };
  });
  const cardinality = (ds: LabelledDataset) => (ds.n === 0 ? 0 : ds.y.reduce((a, b) => a + b, 0) / ds.n);
  const dataset: DatasetInfo = {
    table: fset.tablePath,
    coversDir: fset.coversDir,
    rowsInTable: fset.rows.length,
    rows: all.n,
    facesRows: faces.n,
    genres: kept,
    droppedGenres: dropped,
    genreCounts,
    labelCardinality: { all: cardinality(all), faces: cardinality(faces) },
    droppedRows,
    collections: describeCollections(fset, all, faces),
  };
  const collections = collectionNames(all);
  if (collections.length > 1) config.log(`study: collections ${dataset.collections!.map((c) => `${c.name} (${c.rows})`).join(", ")}; folds stratified by genre within each`);

  const foldsAll = repeatedStratifiedFolds(foldLabels(all), config.folds, config.repeats, config.seed);
  const foldsFaces = faces.n >= config.folds * 2 ? repeatedStratifiedFolds(foldLabels(faces), config.folds, config.repeats, config.seed) : [];
  if (foldsFaces.length === 0) notes.push(`Only ${faces.n} covers have a face: the faces population was not evaluated.`);
  return { kept, rows, all, faces, dataset, collections, foldsAll, foldsFaces };
}

type VariantSpec = { name: string; head: PooledHeadConfig; backbones: string[]; inputSet: string };

/** Head/backbone variants on all covers: the MLP head, and every other backbone of the table alone and concatenated. */
function variantSpecsOf(config: StudyConfig, imgBackbones: string[], available: string[]): VariantSpec[] {
  if (!config.variants) return [];
  const mlp = (inputSet: string): VariantSpec => ({ name: `${inputSet} [mlp256]`, head: MLP_VARIANT(config.head), backbones: imgBackbones, inputSet });
  const specs: VariantSpec[] = config.mlpInputSets.filter((s) => s !== "img+face+clr").map(mlp);
  const others = available.filter((b) => !imgBackbones.includes(b));
  for (const b of imgBackbones.length > 1 ? imgBackbones : others) specs.push({ name: `img [${b} only]`, head: config.head, backbones: [b], inputSet: "img" });
  if (others.length) specs.push({ name: `img [${[...imgBackbones, ...others].join(" + ")}]`, head: config.head, backbones: [...imgBackbones, ...others], inputSet: "img" });
  if (config.mlpInputSets.includes("img+face+clr")) specs.push(mlp("img+face+clr"));
  return specs;
}

/** Everything the pooled-head folds produce. */
interface PooledRuns {
  inputSets: Record<string, InputSetResult>;
  allCovers: Record<string, InputSetResult>;
  cvs: Record<string, CvOutcome>;
  variants: Record<string, InputSetResult>;
  variantCfg: Record<string, VariantSpec>;
  dataSizeCurve: DataSizeCurve | null;
  transfer: TransferResult | null;
  extraData: ExtraDataResult[];
  workers: number;
}

/**
 * Every pooled-head fold of the study — both populations' input sets, the variants, the data-size
 * curve and, with several collections, transfer and extra data — with one progress line whose ETA
 * follows each fold's estimated cost, on worker threads when config.workers > 1 (see
 * StudyConfig.workers); Ctrl-C stops the workers.
 */
async function runPooledFolds(fset: FeatureSet, pop: Populations, config: StudyConfig, imgBackbones: string[], variantSpecs: VariantSpec[], clock: StepClock): Promise<PooledRuns> {
  const { all, faces, foldsAll, foldsFaces, collections } = pop;
  const log = config.log;
  const fractions = [...new Set(config.dataFractions.filter((f) => f > 0 && f < 1))].sort((a, b) => a - b);
  // Several collections: per collection a within-collection CV (transfer), an own and an own + extra CV
  // (extra data), and one transfer fit per direction.
  const multi = collections.length > 1 && config.collectionSteps;
  const collectionFolds = multi ? 3 * collections.length * foldsAll.length + collections.length * (collections.length - 1) : 0;
  const totalFolds = (foldsFaces.length ? FACES_INPUT_SETS.length * foldsFaces.length : 0) + (ALL_INPUT_SETS.length + variantSpecs.length + fractions.length) * foldsAll.length + collectionFolds;
  const setDims = (ds: LabelledDataset, inputSet: string) => dimsOf(ds, parseInputSet(inputSet));
  const imgDims = (backbones: string[]) => backbones.reduce((a, b) => a + (fset.embeddings[b]?.dim ?? 0), 0);
  // The same foldCost runInputSet ticks with: training rows of the folds × the input set's dims.
  const faceRows = trainRowsOf(foldsFaces);
  const allRows = trainRowsOf(foldsAll);
  const collectionFoldCost = foldCost(Math.round(allRows / Math.max(1, collections.length)), setDims(all, "img"), config.head);
  const totalWork =
    FACES_INPUT_SETS.reduce((a, s) => a + foldsFaces.length * foldCost(faceRows, setDims(faces, s), config.head), 0) +
    ALL_INPUT_SETS.reduce((a, s) => a + foldsAll.length * foldCost(allRows, setDims(all, s), config.head), 0) +
    variantSpecs.reduce((a, v) => a + foldsAll.length * foldCost(allRows, setDims(all, v.inputSet) - imgDims(imgBackbones) + imgDims(v.backbones), v.head), 0) +
    fractions.reduce((a, f) => a + foldsAll.length * foldCost(Math.round(allRows * f), setDims(all, "img"), config.head), 0) +
    collectionFolds * collectionFoldCost;
  const progress = new Progress("study", totalFolds, { unit: "folds", work: totalWork });

  let pool: FoldPool | null = null;
  if (config.workers > 1) {
    pool = await clock.time("start workers", async () => {
      try {
        return await startFoldPool(config.workers);
      } catch (err) {
        log(`study: the fold workers could not start (${(err as Error).message}); running every fold in this thread`);
        return null;
      }
    });
  }
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) return;
    interrupted = true;
    log("study: interrupted — stopping the fold workers");
    void pool?.terminate(new Error("interrupted (Ctrl-C)"));
  };
  if (pool) process.on("SIGINT", onSigint);
  const out: PooledRuns = { inputSets: {}, allCovers: {}, cvs: {}, variants: {}, variantCfg: {}, dataSizeCurve: null, transfer: null, extraData: [], workers: pool ? pool.size : 1 };
  const run = (label: string): InputSetRun => ({ head: config.head, backbones: imgBackbones, seed: config.seed, progress, pool, label });
  const line = (r: InputSetResult) => `micro-F1 ${r.microF1.mean.toFixed(3)}  AUC ${r.rocAucMacro.mean.toFixed(3)}`;
  try {
    await clock.time("faces population", async () => {
      for (const name of foldsFaces.length ? FACES_INPUT_SETS : []) {
        out.inputSets[name] = (await runInputSet(faces, foldsFaces, name, run(`input set ${name} on the covers with faces`))).result;
        log(`  faces  ${name.padEnd(14)} ${line(out.inputSets[name])}  (${out.inputSets[name].seconds.toFixed(0)} s)`);
      }
      pool?.forget(faces);
    });
    await clock.time("all covers", async () => {
      for (const name of ALL_INPUT_SETS) {
        const r = await runInputSet(all, foldsAll, name, run(`input set ${name} on all covers`));
        out.allCovers[name] = r.result;
        out.cvs[name] = r.cv;
        log(`  all    ${name.padEnd(14)} ${line(r.result)}  (${r.result.seconds.toFixed(0)} s)`);
      }
    });
    await clock.time("variants", async () => {
      for (const v of variantSpecs) {
        const ds = v.backbones.join() === imgBackbones.join() ? all : buildDataset(fset, pop.rows, { genres: pop.kept, imgBackbones: v.backbones, population: "all" });
        const r = await runInputSet(ds, foldsAll, v.inputSet, { ...run(`variant ${v.name} on all covers`), head: v.head, backbones: v.backbones });
        if (ds !== all) pool?.forget(ds);
        out.variants[v.name] = r.result;
        out.cvs[v.name] = r.cv;
        out.variantCfg[v.name] = v;
        log(`  variant ${v.name.padEnd(26)} ${line(r.result)}`);
      }
    });
    if (fractions.length && out.allCovers.img) {
      out.dataSizeCurve = await clock.time("data-size curve", () => runDataSizeCurve(all, foldsAll, fractions, out.allCovers.img, run));
      log(`  data-size curve (img): ${out.dataSizeCurve.points.map((p) => `${p.trainRows} covers ${p.microF1.mean.toFixed(3)}`).join(", ")}; ${out.dataSizeCurve.perDoubling.microF1.toFixed(3)} micro-F1 per doubling`);
    }
    if (multi) {
      const collectionRun: CollectionRun = { inputSet: "img", head: config.head, seed: config.seed, pool, onStep: () => progress.tick("collections", 1, collectionFoldCost) };
      Object.assign(out, await clock.time("transfer and extra data", () => runCollectionSteps(fset, all, foldsAll, imgBackbones, config, collectionRun)));
    }
    await pool?.close();
  } catch (err) {
    await pool?.terminate();
    if (interrupted) throw new InterruptedError("the study was interrupted (Ctrl-C) before it wrote any result; re-run the same command to start it again");
    throw err;
  } finally {
    process.removeListener("SIGINT", onSigint);
    progress.finish();
  }
  return out;
}

/** Does adding faces (colour) to a model help, on identical folds? The paired comparisons and the answer in words. */
function compareFacesAndColour(runs: PooledRuns, pop: Populations): { comparisons: Comparison[]; answer: StudyResults["answer"] } {
  const requests: ComparisonRequest[] = [];
  for (const metric of ["microF1", "rocAucMacro"]) {
    if (pop.foldsFaces.length) {
      requests.push({ a: "img+face", b: "img", population: "faces", metric });
      requests.push({ a: "img+face+clr", b: "img+clr", population: "faces", metric });
      requests.push({ a: "img+clr", b: "img", population: "faces", metric });
      requests.push({ a: "face+clr", b: "clr", population: "faces", metric });
    }
    requests.push({ a: "img+face", b: "img", population: "all", metric });
    requests.push({ a: "img+clr", b: "img", population: "all", metric });
  }
  const comparisons: Comparison[] = compareInputSets(
    requests,
    (p, name) => (p === "faces" ? runs.inputSets[name] : runs.allCovers[name]),
    (p) => testTrainRatio(p === "faces" ? pop.foldsFaces : pop.foldsAll),
  );
  const isFace = (c: Comparison) => c.a.includes("face") && !c.b.includes("face");
  return {
    comparisons,
    answer: {
      faces: answerFrom(comparisons.filter(isFace), "faces"),
      colour: answerFrom(comparisons.filter((c) => c.a.includes("clr") && !c.b.includes("clr")), "colour"),
    },
  };
}

type Candidate = { key: string; result: InputSetResult; inputSet: string; head: PooledHeadConfig; backbones: string[] };

/** The best all-covers configuration by mean micro-F1 (input sets and variants), and its dataset. */
function pickBest(fset: FeatureSet, pop: Populations, runs: PooledRuns, config: StudyConfig, imgBackbones: string[], notes: string[]): { best: Candidate; bestDs: LabelledDataset } {
  const candidates: Candidate[] = [
    ...ALL_INPUT_SETS.map((n) => ({ key: n, result: runs.allCovers[n], inputSet: n, head: config.head, backbones: imgBackbones })),
    ...Object.entries(runs.variants).map(([n, r]) => ({ key: n, result: r, ...runs.variantCfg[n] })),
  ];
  const best = candidates.reduce((a, c) => (c.result.microF1.mean > a.result.microF1.mean ? c : a));
  if (candidates.length > 1) notes.push(`The best configuration (${best.key}) was picked among ${candidates.length} on the same folds: its CV numbers are slightly optimistic.`);
  const bestDs = best.backbones.join() === imgBackbones.join() ? pop.all : buildDataset(fset, pop.rows, { genres: pop.kept, imgBackbones: best.backbones, population: "all" });
  return { best, bestDs };
}

/** The study's own tables (face + colour on its 1,016 rows) and its Flatten head, each optional and never fatal. */
async function runThesisParts(fset: FeatureSet, pop: Populations, config: StudyConfig, clock: StepClock, notes: string[]): Promise<ThesisHeadResult | null> {
  const tables = await clock.time("thesis tables", async () => {
    if (!config.thesisTables) return null;
    try {
      const t = await runThesisTables(config.thesisTables, config);
      config.log(`  thesis tables face+clr: single split micro-F1 ${t.singleSplit.microF1.mean.toFixed(3)} (0.5) / ${t.singleSplitTuned.microF1.mean.toFixed(3)} (tuned); CV ${t.cv.microF1.mean.toFixed(3)}; predict-all ${t.baselines.predictAll.microF1.mean.toFixed(3)}`);
      return t;
    } catch (err) {
      notes.push(`The study's own tables were not evaluated: ${(err as Error).message}`);
      return null;
    }
  });
  return clock.time("thesis head", async () => {
    let thesisHead: ThesisHeadResult | null = null;
    if (config.thesisHead && pop.foldsFaces.length) {
      try {
        thesisHead = { ...(await config.thesisHead(fset, pop.faces, config.log)), thesisTables: tables };
      } catch (err) {
        notes.push(`The study's Flatten head was not run: ${(err as Error).message}`);
      }
    }
    if (!thesisHead && tables) thesisHead = { ...thesisHeadNotRun(config.thesisHead ? "see notes" : "the Flatten head was not requested (use --thesis-head)"), thesisTables: tables };
    return thesisHead;
  });
}

/** The best configuration trained on all covers, saved as a checkpoint predict can use (null without config.checkpointDir). */
async function writeBestCheckpoint(fset: FeatureSet, best: Candidate, bestDs: LabelledDataset, config: StudyConfig, clock: StepClock): Promise<{ dir: string; curve: LearningCurve } | null> {
  const dir = config.checkpointDir;
  if (!dir) return null;
  return clock.time("checkpoint", async () => {
    const trained = trainFinalHead(bestDs, best.inputSet, best.head, config.seed);
    const meta = buildMeta({ ds: bestDs, inputSet: best.inputSet, imgBackbones: best.backbones, head: best.head, trained, table: fset.tablePath, cv: { microF1: best.result.microF1, macroF1: best.result.macroF1, rocAucMacro: best.result.rocAucMacro } });
    await saveCheckpoint(dir, meta, trained.weights);
    config.log(`  best checkpoint: ${best.key} → ${path.resolve(dir)}`);
    return { dir: path.resolve(dir), curve: trained.curve };
  });
}

/** The protocol in results.json: how folds, thresholds, intervals and tests were made. */
function protocolInfo(config: StudyConfig, pop: Populations, available: string[], imgBackbones: string[]): StudyResults["protocol"] {
  return {
    folds: config.folds,
    repeats: config.repeats,
    seed: config.seed,
    stratification: "iterative stratification for multi-label data (Sechidis et al. 2011), seeded per repeat",
    thresholds: DEFAULT_CV.innerFolds >= 2 ? `per genre, F1-optimal on inner ${DEFAULT_CV.innerFolds}-fold out-of-fold scores of each training fold (never on test rows)` : `per genre, F1-optimal on a stratified ${Math.round(DEFAULT_CV.innerFraction * 100)} % hold-out of each training fold (never on test rows)`,
    ciMethod: "mean over folds × repeats; 95 % corrected resampled t interval (Nadeau & Bengio 2003)",
    comparisonTest: "paired corrected resampled t-test on identical folds, Holm correction across all comparisons",
    head: { ...config.head, name: headName(config.head), standardisation: "fitted on training rows only" },
    backbones: available,
    imgBackbones,
    testTimeFlip: false,
    quick: config.quick,
    foldSizes: pop.foldsAll.map((f) => ({ repeat: f.repeat, fold: f.fold, trainSize: f.train.length, testSize: f.test.length })),
    populations: { faces: pop.faces.n, all: pop.all.n },
  };
}

/**
 * Run the study on a FeatureSet, step by step: refine into two populations with their folds,
 * baselines, every pooled-head fold (input sets, variants, data-size curve, collections), the
 * faces and colour comparisons, the best configuration, the study's own tables and Flatten head,
 * the best checkpoint — then results.json's content.
 */
export async function runStudy(fset: FeatureSet, config: StudyConfig): Promise<{ results: StudyResults; bestDataset: LabelledDataset; bestInputSet: string; bestHead: PooledHeadConfig; bestBackbones: string[] }> {
  await initTf();
  const clock = new StepClock();
  const notes: string[] = [];
  const available = Object.keys(fset.embeddings);
  const imgBackbones = config.imgBackbones === "auto" ? defaultImgBackbones(available) : config.imgBackbones;
  if (imgBackbones.length === 0) throw new Error(`the feature table ${fset.tablePath} has no pooled embeddings: build it with an embedding backbone`);

  const pop = studyPopulations(fset, config, imgBackbones, notes);
  const { baselinesAll, baselinesFaces } = await clock.time("baselines", () => {
    const onAll = baselines(pop.all, pop.foldsAll, config.seed);
    return { baselinesAll: onAll, baselinesFaces: pop.foldsFaces.length ? baselines(pop.faces, pop.foldsFaces, config.seed) : onAll };
  });
  const runs = await runPooledFolds(fset, pop, config, imgBackbones, variantSpecsOf(config, imgBackbones, available), clock);
  const { comparisons, answer } = compareFacesAndColour(runs, pop);
  const { best, bestDs } = pickBest(fset, pop, runs, config, imgBackbones, notes);
  const examples = pickExamples(bestDs, runs.cvs[best.key], config.examples, config.seed);
  const thesisHead = await runThesisParts(fset, pop, config, clock, notes);
  const checkpoint = await writeBestCheckpoint(fset, best, bestDs, config, clock);
  // Beside the checkpoint: its configuration's out-of-fold scores (the gallery of `covergenre serve`).
  if (checkpoint) await writeOofScores(checkpoint.dir, bestDs, runs.cvs[best.key], best.key);

  const results: StudyResults = {
    version: 1,
    createdAt: new Date().toISOString(),
    dataset: pop.dataset,
    protocol: protocolInfo(config, pop, available, imgBackbones),
    baselines: baselinesAll,
    baselinesFaces,
    inputSets: runs.inputSets,
    allCovers: runs.allCovers,
    variants: runs.variants,
    thesisHead,
    comparisons,
    answer,
    bestCheckpoint: checkpoint?.dir ?? null,
    bestCheckpointInputSet: best.key,
    bestCheckpointCv: stripCurves(best.result),
    learningCurves: [...(thesisHead?.learningCurves ?? []), ...(checkpoint ? [checkpoint.curve] : [])],
    dataSizeCurve: runs.dataSizeCurve,
    // Every all-covers input set, and the best configuration when it is a variant (its checkpoint is what predict uses).
    collections: pop.collections.length > 1 ? scoresByCollection(pop.all, Object.fromEntries([...new Set([...ALL_INPUT_SETS, best.key])].map((n) => [n, runs.cvs[n]])), pop.foldsAll) : {},
    transfer: runs.transfer,
    extraData: runs.extraData,
    examples,
    timings: { totalSeconds: (Date.now() - clock.t0) / 1000, steps: clock.steps, workers: runs.workers },
    notes,
  };
  return { results, bestDataset: bestDs, bestInputSet: best.inputSet, bestHead: best.head, bestBackbones: best.backbones };
}

/** The multi-collection steps of the study: transfer between collections, then own vs own + extra covers. */
async function runCollectionSteps(fset: FeatureSet, all: LabelledDataset, foldsAll: Fold[], imgBackbones: string[], config: StudyConfig, run: CollectionRun): Promise<{ transfer: TransferResult | null; extraData: ExtraDataResult[] }> {
  const t = await runTransfer(fset, all, foldsAll, imgBackbones, config.minPositives, run);
  if (t && t.dataset !== all) run.pool?.forget?.(t.dataset);
  for (const d of t?.result.directions ?? []) config.log(`  transfer ${d.train} → ${d.test}: micro-F1 ${d.transfer.microF1.mean.toFixed(3)} vs within ${d.within.microF1.mean.toFixed(3)} (${d.delta.microF1.delta >= 0 ? "+" : ""}${d.delta.microF1.delta.toFixed(3)})`);
  const extra = await runExtraData(fset, all, foldsAll, imgBackbones, config.minPositives, run, t?.within);
  for (const ds of extra.datasets) if (ds !== all) run.pool?.forget?.(ds);
  for (const e of extra.results) config.log(`  extra data for ${e.target}: micro-F1 ${e.own.microF1.mean.toFixed(3)} → ${e.withExtra.microF1.mean.toFixed(3)} (${e.delta.microF1.delta >= 0 ? "+" : ""}${e.delta.microF1.delta.toFixed(3)})`);
  return { transfer: t?.result ?? null, extraData: extra.results };
}

/**
 * The data-size curve of `img` on all covers: every fold's training rows cut to a stratified
 * `fraction` of themselves (seeded per fold), the test folds untouched; `full` (the study's own img
 * result) is the point at 1. The slope per doubling is a least-squares fit on log2(training covers).
 */
export async function runDataSizeCurve(ds: LabelledDataset, folds: Fold[], fractions: number[], full: InputSetResult, run: (label: string) => InputSetRun): Promise<DataSizeCurve> {
  const meanTrain = (fs: Fold[]) => Math.round(fs.reduce((a, f) => a + f.train.length, 0) / Math.max(1, fs.length));
  const points: DataSizeCurve["points"] = [];
  for (const fraction of fractions) {
    const cut = folds.map((f) => {
      const keep = stratifiedHoldout({ y: takeLabels(ds, f.train), n: f.train.length, k: ds.k }, fraction, 1000 + 100 * f.repeat + f.fold).test;
      return { ...f, train: keep.map((i) => f.train[i]).sort((a, b) => a - b) };
    });
    const r = (await runInputSet(ds, cut, "img", run(`data-size curve: img on ${Math.round(fraction * 100)} % of each training fold`))).result;
    points.push({ fraction, trainRows: meanTrain(cut), microF1: r.microF1, macroF1: r.macroF1, rocAucMacro: r.rocAucMacro });
  }
  points.push({ fraction: 1, trainRows: meanTrain(folds), microF1: full.microF1, macroF1: full.macroF1, rocAucMacro: full.rocAucMacro });
  const slope = (key: "microF1" | "rocAucMacro") => {
    const xs = points.map((p) => Math.log2(p.trainRows));
    const ys = points.map((p) => p[key].mean);
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
    const my = ys.reduce((a, b) => a + b, 0) / ys.length;
    const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
    return sxx > 0 ? xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0) / sxx : 0;
  };
  return { inputSet: "img", population: "all", points, perDoubling: { microF1: slope("microF1"), rocAucMacro: slope("rocAucMacro") } };
}

function stripCurves(r: InputSetResult): MetricSet {
  const { prCurves: _p, blocks: _b, dims: _d, head: _h, backbones: _bb, seconds: _s, ...rest } = r;
  return rest;
}

/** A spread of out-of-fold predictions: rows chosen at random (seeded), one per cover. */
function pickExamples(ds: LabelledDataset, cv: CvOutcome, count: number, seed: number): ExamplePrediction[] {
  const order = stratifiedHoldout({ y: ds.y, n: ds.n, k: ds.k }, Math.min(0.9, Math.max(1 / ds.n, (count * 1.5 + 2) / ds.n)), seed).test.slice(0, count);
  return order.map((r) => ({
    path: ds.paths[r],
    collection: ds.collections[r],
    masterId: ds.ids[r],
    trueGenres: ds.genres.filter((_, j) => ds.y[r * ds.k + j]),
    predictedGenres: ds.genres.filter((_, j) => cv.oofPred[r * ds.k + j]),
    scores: Object.fromEntries(ds.genres.map((g, j) => [g, Number(cv.oof[r * ds.k + j].toFixed(4))])),
  }));
}

/** The study's reported numbers on its own 1,016 rows (thesis/SOURCE.md). */
export const THESIS_REPORTED = [
  { model: "InceptionV3 + Flatten + Dense(1024), image only", microPrecision: 0.5625, microRecall: 0.172, microF1: (2 * 0.5625 * 0.172) / (0.5625 + 0.172) },
  { model: "same + face (16) + colour (3)", microPrecision: 0.75, microRecall: 0.057, microF1: (2 * 0.75 * 0.057) / (0.75 + 0.057) },
];

/** Face + colour model on the study's own tables: its single split (as the study did) next to CV. */
export async function runThesisTables(dir: string, config: StudyConfig): Promise<NonNullable<ThesisHeadResult["thesisTables"]>> {
  const ds = await readThesisTables(dir);
  const blocks: ("face" | "clr")[] = ["face", "clr"];
  const split = stratifiedHoldout({ y: ds.y, n: ds.n, k: ds.k }, 116 / 1016, config.seed);
  const scorer: Scorer = pooledScorer(blocks, config.head);
  const scores = scorer(ds, split.train, split.test, config.seed);
  const yTest = takeLabels(ds, split.test);
  const boot = (y: Uint8Array, s: Float32Array, p: Uint8Array) => bootstrapIntervals(y, s, p, split.test.length, ds.k, 300, config.seed);
  const singleSplit = singleSplitMetrics(yTest, scores, split.test.length, ds.genres, new Array(ds.k).fill(0.5), boot);
  // Tuned: thresholds from an inner hold-out of the 900 training rows.
  const inner = stratifiedHoldout({ y: takeLabels(ds, split.train), n: split.train.length, k: ds.k }, 0.2, config.seed + 1);
  const innerTrain = inner.train.map((i) => split.train[i]);
  const innerVal = inner.test.map((i) => split.train[i]);
  const thresholds = tuneThresholds(takeLabels(ds, innerVal), scorer(ds, innerTrain, innerVal, config.seed), innerVal.length, ds.k);
  const singleSplitTuned = singleSplitMetrics(yTest, scores, split.test.length, ds.genres, thresholds, boot);
  const folds = repeatedStratifiedFolds({ y: ds.y, n: ds.n, k: ds.k }, config.folds, config.repeats, config.seed);
  const cv = aggregate(crossValidate(ds, folds, scorer, { ...DEFAULT_CV, seed: config.seed }), ds.genres);
  return {
    source: path.resolve(dir),
    rows: ds.n,
    genres: ds.genres,
    inputs: [...(ds.blocks.face?.columns ?? []), ...(ds.blocks.clr?.columns ?? [])],
    head: headName(config.head),
    singleSplit,
    singleSplitTuned,
    cv,
    baselines: baselines(ds, folds, config.seed),
    reported: THESIS_REPORTED,
  };
}

export function thesisTablesDir(dataRoot: string): string | null {
  const dir = path.join(dataRoot, "thesis");
  return fs.existsSync(path.join(dir, "facial.csv")) ? dir : null;
}

export type { LearningCurve };
