/**
 * The shape of `results.json`, written by `covergenre study` and rendered by the report
 * (lib/report). This file is the contract between the two: the study fills it, the report and the
 * notebooks only read it. Every number in it was measured in the run that wrote it.
 *
 * Conventions:
 * - A 95 % interval is always `[lo, hi]`.
 * - Cross-validated metrics are the mean over all folds × repeats; their interval is the corrected
 *   resampled t interval of Nadeau & Bengio (2003), which widens the naive across-fold interval for
 *   the overlap of training sets. Single-split metrics carry a bootstrap interval over test rows.
 * - Genre names are Discogs spellings ("Funk / Soul", "Folk, World, & Country").
 * - Input-set names join input blocks with "+" in a fixed order: img, face, clr (e.g. "img+face+clr").
 */
import { SCALAR_METRICS } from "./metrics";

/** A 95 % interval [lo, hi]. */
export type Interval = [number, number];

/** A point estimate with its 95 % interval (and the per-fold values it came from, when CV). */
export interface Estimate {
  mean: number;
  ci: Interval;
  /** One value per fold × repeat (CV only), in the order of `protocol.folds`. */
  perFold?: number[];
}

/** Per-genre quality, at the thresholds the protocol used (tuned inside training folds). */
export interface GenreMetrics {
  precision: number;
  recall: number;
  f1: number;
  /** ROC-AUC; null when the evaluation rows hold only one class for this genre. */
  auc: number | null;
  /** Average precision (area under the PR curve); null like auc. */
  averagePrecision: number | null;
  /** Positive rows of this genre in the evaluated rows (summed over the folds of one repeat). */
  support: number;
  /** Mean threshold used for this genre (tuned inside training folds; 0.5 when not tuned). */
  threshold: number;
}

/** All metrics of one model on one population. */
export interface MetricSet {
  microF1: Estimate;
  macroF1: Estimate;
  microPrecision: Estimate;
  microRecall: Estimate;
  /** Macro ROC-AUC over genres that have both classes in the evaluated rows. */
  rocAucMacro: Estimate;
  /** Label ranking average precision (threshold-free). */
  lrap: Estimate;
  /** Fraction of wrong (row, genre) decisions: lower is better. */
  hammingLoss: Estimate;
  /** Fraction of rows whose predicted genre set is exactly right. */
  subsetAccuracy: Estimate;
  /** Fraction of rows whose highest-scoring genre is one of its true genres. */
  top1Accuracy: Estimate;
  perGenre: Record<string, GenreMetrics>;
}

/** A precision-recall curve of one genre (out-of-fold scores of the first repeat). */
export interface PrCurve {
  precision: number[];
  recall: number[];
  /** Score thresholds, same length as precision/recall. */
  thresholds: number[];
  averagePrecision: number | null;
}

/** One epoch of a training run (the thesis head, or a pooled head in the checkpoint fit). */
export interface LearningCurvePoint {
  epoch: number;
  loss: number;
  valLoss: number | null;
  learningRate: number;
}

/**
 * How the score grows with the number of training covers: the same folds and test rows, each
 * training fold cut to a stratified fraction of itself. Answers "would more covers help, and how
 * much?" — the classic learning curve (the epoch curves are in `learningCurves`).
 */
export interface DataSizeCurve {
  inputSet: string;
  population: "all";
  points: { fraction: number; trainRows: number; microF1: Estimate; macroF1: Estimate; rocAucMacro: Estimate }[];
  /** Least-squares slope of the mean against log2(training covers): the gain per doubling of the data. */
  perDoubling: { microF1: number; rocAucMacro: number };
}

export interface LearningCurve {
  /** e.g. "thesis img (single split)", "best checkpoint". */
  name: string;
  points: LearningCurvePoint[];
  /** Epoch whose weights were kept (early stopping restores the best validation loss). */
  bestEpoch: number;
  stoppedEarly: boolean;
}

/** One cover of the example grid: true vs predicted genres (out-of-fold, never a training row). */
export interface ExamplePrediction {
  /** Absolute path of the cover image. */
  path: string;
  /** The cover's collection (its folder's name); absent in results written before collections existed. */
  collection?: string;
  masterId: string;
  trueGenres: string[];
  predictedGenres: string[];
  scores: Record<string, number>;
}

/** Everything measured for one input set on one population. */
export interface InputSetResult extends MetricSet {
  /** Input blocks, e.g. ["img", "face", "clr"]. */
  blocks: string[];
  /** Feature dimensions after encoding (before standardisation). */
  dims: number;
  /** Head used ("logistic", "mlp256", ...). */
  head: string;
  /** Backbone embedding(s) used for the img block, e.g. ["mobilenet_v1", "inception_v3"]. */
  backbones: string[];
  /** Precision-recall curves per genre (out-of-fold scores of repeat 1). */
  prCurves?: Record<string, PrCurve>;
  /** Seconds spent on all folds of this input set. */
  seconds: number;
}

/** A paired comparison of two input sets on identical rows and folds. */
export interface Comparison {
  /** The richer model, e.g. "img+face". */
  a: string;
  /** The model it is compared with, e.g. "img". */
  b: string;
  population: "faces" | "all";
  /** Metric compared (a key of MetricSet, e.g. "microF1", "rocAucMacro"). */
  metric: string;
  /** Mean over folds of (a − b). Positive: a is better (for hammingLoss, lower is better: see `higherIsBetter`). */
  delta: number;
  /** Corrected resampled t interval of the delta (Nadeau & Bengio 2003). */
  ci: Interval;
  /** Two-sided p of the corrected resampled t-test, before correction. */
  p: number;
  /** Holm-adjusted p across all comparisons of the study. */
  pHolm: number;
  higherIsBetter: boolean;
  /** One sentence a lecturer can say, e.g. "Adding faces changes micro-F1 by +0.004 (95 % CI −0.01 to +0.02): no detectable effect." */
  words: string;
}

/** The study's own architecture (InceptionV3 mixed7 → Flatten → Dense(1024) → sigmoids). */
export interface ThesisHeadResult {
  backbone: string;
  architecture: string;
  /** As the study did: one seeded random split (900/116-style), thresholds 0.5 and tuned. */
  singleSplit: Record<
    string,
    {
      trainRows: number;
      testRows: number;
      seed: number;
      /** Metrics at the study's threshold 0.5. */
      at05: MetricSet;
      /** Metrics with per-genre thresholds tuned on the training rows' validation part. */
      tuned: MetricSet;
      epochs: number;
      seconds: number;
    }
  >;
  /** A small CV of the same head on the same population (folds × repeats given here). */
  cv: Record<string, MetricSet> | null;
  cvProtocol: { folds: number; repeats: number } | null;
  learningCurves: LearningCurve[];
  /** The face + colour model on the study's own 1,016-row tables (DeepFace features, 7 genres). */
  thesisTables: {
    source: string;
    rows: number;
    genres: string[];
    inputs: string[];
    head: string;
    /** One seeded 900/116-style split, threshold 0.5 (how the study evaluated). */
    singleSplit: MetricSet;
    /** Same split, thresholds tuned inside the training rows. */
    singleSplitTuned: MetricSet;
    /** k-fold × r CV with tuned thresholds: the honest number beside the single split. */
    cv: MetricSet;
    baselines: { predictAll: MetricSet; prior: MetricSet };
    /** What the study reported on these rows (from thesis/SOURCE.md), for side-by-side display. */
    reported: { microPrecision: number; microRecall: number; microF1: number; model: string }[];
  } | null;
  /** Why a part was not run (e.g. no inception maps, fits not trained yet) and which covers it ran on, or null. */
  skipped: string | null;
}

/** One collection (covers folder) of the table, as the study saw it. */
export interface CollectionInfo {
  /** The folder's name: the key of its rows everywhere (with the cover id). */
  name: string;
  dir: string;
  /** Usable rows (all covers) and rows with a face. */
  rows: number;
  facesRows: number;
  /** Positive rows per scored genre (all covers). */
  genreCounts: Record<string, number>;
  /** Mean genres per cover, and the share of covers with two or more. */
  labelCardinality: number;
  multiLabelShare: number;
  /** Median width and height of its images in pixels (what each backbone then resizes). */
  medianSize: { width: number; height: number };
}

export interface DatasetInfo {
  table: string;
  /** The first collection's folder (see `collections` for all). */
  coversDir: string;
  /** Every collection of the table, in table order (absent in results written before collections existed). */
  collections?: CollectionInfo[];
  /** Rows in the table, and rows usable (no feature error, ≥ 1 kept genre). */
  rowsInTable: number;
  rows: number;
  /** Rows with ≥ 1 face (the study's population). */
  facesRows: number;
  /** Genres trained and evaluated (those with examples). */
  genres: string[];
  /** Genres asked for but without (enough) examples, and why they were dropped. */
  droppedGenres: { genre: string; reason: string }[];
  /** Positive rows per genre, on all covers and on the faces population. */
  genreCounts: Record<string, { all: number; faces: number }>;
  /** Mean number of genres per cover. */
  labelCardinality: { all: number; faces: number };
  /** Rows dropped and why (feature errors, no kept genre). */
  droppedRows: { reason: string; count: number }[];
}

export interface FoldInfo {
  repeat: number;
  fold: number;
  trainSize: number;
  testSize: number;
}

export interface ProtocolInfo {
  folds: number;
  repeats: number;
  seed: number;
  stratification: string;
  thresholds: string;
  ciMethod: string;
  comparisonTest: string;
  /** Default head of the pooled-feature protocol, with its hyper-parameters. */
  head: Record<string, unknown>;
  /** Backbone embeddings available in the table. */
  backbones: string[];
  /** The img block of every input set uses these embeddings (concatenated). */
  imgBackbones: string[];
  testTimeFlip: boolean;
  quick: boolean;
  /** Fold sizes (identical for every input set: the same row-index lists are reused). */
  foldSizes: FoldInfo[];
  /** Faces population and all-covers population use separate fold lists, each reused across its input sets. */
  populations: { faces: number; all: number };
}

export interface BaselineResults {
  /** Predict every genre for every cover. */
  predictAll: MetricSet;
  /** Score each genre by its training-fold frequency (thresholds tuned like the models). */
  prior: MetricSet;
}

/** A difference between two models on identical test rows, with its corrected-t interval. */
export interface PairedDelta {
  /** Mean over folds of (a − b). */
  delta: number;
  ci: Interval;
  /** Two-sided p of the corrected resampled t-test. */
  p: number;
}

/**
 * Per-collection metrics inside the union CV: each fold's test rows of one collection, scored by
 * the model trained on that fold's training rows of every collection, at that fold's thresholds.
 */
export interface CollectionScores {
  collection: string;
  rows: number;
  /** All-covers input sets, same keys as `allCovers`. */
  allCovers: Record<string, MetricSet>;
  baselines: { predictAll: MetricSet };
}

/** One direction of the transfer protocol: train on one collection, test on the other. */
export interface TransferDirection {
  train: string;
  test: string;
  /** Rows of the training collection (all used) and of the test collection (scored, per fold). */
  trainRows: number;
  testRows: number;
  /** Trained on every row of `train` (thresholds from its inner CV), scored on the test folds of `test`. */
  transfer: MetricSet;
  /** Within-collection CV: trained on `test`'s own training folds, scored on the same test folds. */
  within: MetricSet;
  /** Predict every shared genre on the same test rows. */
  predictAll: MetricSet;
  /** transfer − within, paired by test fold. */
  delta: { microF1: PairedDelta; rocAucMacro: PairedDelta };
  words: string;
}

/** Does what a model learns on one collection carry over to another? (results.json → transfer) */
export interface TransferResult {
  inputSet: string;
  /** Genres scored: those with enough positives in every collection. */
  genres: string[];
  /** Folds: the union CV's, restricted to each collection (so they are stratified within it too). */
  directions: TransferDirection[];
}

/**
 * Real extra data instead of extrapolation: on the test folds of `target`, its own training folds
 * vs the same plus every row of the `extra` collections (results.json → extraData).
 */
export interface ExtraDataResult {
  target: string;
  extra: string[];
  inputSet: string;
  /** The target's scored genres (extra rows are labelled on these genres only). */
  genres: string[];
  /** Mean training rows per fold: own, and own + extra. */
  ownTrainRows: number;
  withExtraTrainRows: number;
  own: MetricSet;
  withExtra: MetricSet;
  /** withExtra − own, paired by test fold. */
  delta: { microF1: PairedDelta; rocAucMacro: PairedDelta };
  words: string;
}

/** results.json */
export interface StudyResults {
  /** Schema version of this file. */
  version: 1;
  createdAt: string;
  dataset: DatasetInfo;
  protocol: ProtocolInfo;
  /** On all covers. */
  baselines: BaselineResults;
  /** Same baselines on the faces population. */
  baselinesFaces: BaselineResults;
  /** Input sets on the faces population: img, face, clr, face+clr, img+face, img+clr, img+face+clr. */
  inputSets: Record<string, InputSetResult>;
  /** Input sets on all covers: img, img+clr, img+face (face block includes a has-face indicator), … */
  allCovers: Record<string, InputSetResult>;
  /** Head/backbone variants on all covers (e.g. logistic vs MLP, one backbone vs both, flip TTA). */
  variants: Record<string, InputSetResult>;
  thesisHead: ThesisHeadResult | null;
  comparisons: Comparison[];
  /** Plain-language answer to "do faces help?" built from `comparisons`. */
  answer: { faces: string; colour: string };
  /** Path of the checkpoint trained on all covers with the best all-covers input set (null if not written). */
  bestCheckpoint: string | null;
  bestCheckpointInputSet: string | null;
  /** CV metrics of that configuration (same shape as an input-set result). */
  bestCheckpointCv: MetricSet | null;
  learningCurves: LearningCurve[];
  /** Scores against training-set size (absent in results written before it existed; null when not run). */
  dataSizeCurve?: DataSizeCurve | null;
  /** Per-collection metrics of the union CV, by collection name (absent before collections existed; {} with one collection). */
  collections?: Record<string, CollectionScores>;
  /** Train on one collection, test on another (null with fewer than two collections or no shared genres). */
  transfer?: TransferResult | null;
  /** Each collection's own training folds vs the same plus the other collections ([] with one collection). */
  extraData?: ExtraDataResult[];
  /** A grid of out-of-fold predictions of the best all-covers model. */
  examples: ExamplePrediction[];
  /**
   * Wall times: the whole study and its steps (seconds), and how many fold worker threads ran the
   * pooled-head folds (1: all in the calling thread; absent in results written before workers existed).
   */
  timings: { totalSeconds: number; steps: Record<string, number>; workers?: number };
  /** Non-fatal problems met on the way (skipped parts, rows with errors), in words. */
  notes: string[];
}

/** Keys of MetricSet that hold an Estimate, in display order: the scalar metrics `metrics.ts` computes. */
export const ESTIMATE_KEYS = SCALAR_METRICS;

export type EstimateKey = (typeof ESTIMATE_KEYS)[number];

/** Whether a larger value of the metric is better (only Hamming loss is the other way round). */
export function higherIsBetter(metric: EstimateKey | string): boolean {
  return metric !== "hammingLoss";
}
