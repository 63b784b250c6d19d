/**
 * Multi-label metrics, written out because no JS library has them (sklearn's definitions are the
 * reference: micro/macro F1, ROC-AUC by ranks, average precision as a step sum, LRAP, Hamming loss,
 * subset accuracy) plus top-1 accuracy and bootstrap intervals.
 *
 * All functions take row-major matrices: `y[i * k + j]` (0/1), `scores[i * k + j]` in [0, 1] and
 * `pred[i * k + j]` (0/1).
 */
import { makeRng } from "../util/rng";

export interface PointMetrics {
  microF1: number;
  macroF1: number;
  microPrecision: number;
  microRecall: number;
  rocAucMacro: number;
  lrap: number;
  hammingLoss: number;
  subsetAccuracy: number;
  top1Accuracy: number;
  perGenre: { precision: number; recall: number; f1: number; auc: number | null; averagePrecision: number | null; support: number }[];
}

/** 0/1 decisions from scores and one threshold per genre (predict when score ≥ threshold). */
export function applyThresholds(scores: Float32Array, n: number, k: number, thresholds: ArrayLike<number>): Uint8Array {
  const pred = new Uint8Array(n * k);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) pred[i * k + j] = scores[i * k + j] >= thresholds[j] ? 1 : 0;
  return pred;
}

function f1Of(tp: number, fp: number, fn: number): number {
  const denom = 2 * tp + fp + fn;
  return denom === 0 ? 0 : (2 * tp) / denom;
}

/** ROC-AUC of one column by the Mann-Whitney rank statistic (ties get average ranks); null if one class. */
export function rocAuc(y: ArrayLike<number>, s: ArrayLike<number>): number | null {
  const n = y.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => s[a] - s[b]);
  let pos = 0;
  for (let i = 0; i < n; i++) pos += y[i] ? 1 : 0;
  const neg = n - pos;
  if (pos === 0 || neg === 0) return null;
  let rankSumPos = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && s[order[j + 1]] === s[order[i]]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) if (y[order[t]]) rankSumPos += avgRank;
    i = j + 1;
  }
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** One cut of a descending sweep: predicting every row scored ≥ `threshold` (the first `kept` rows) positive. */
export interface SweepCut {
  threshold: number;
  tp: number;
  fp: number;
  kept: number;
}

/**
 * Walk one column's distinct scores from high to low, ties together, with the true/false positives
 * of predicting everything at or above each score. The shared core of PR curves and F1 thresholds.
 */
export function descendingSweep(y: ArrayLike<number>, s: ArrayLike<number>): { pos: number; order: number[]; cuts: SweepCut[] } {
  const n = y.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => s[b] - s[a]);
  let pos = 0;
  for (let i = 0; i < n; i++) pos += y[i] ? 1 : 0;
  const cuts: SweepCut[] = [];
  let tp = 0;
  let fp = 0;
  let i = 0;
  while (i < n) {
    const threshold = s[order[i]];
    while (i < n && s[order[i]] === threshold) {
      if (y[order[i]]) tp++;
      else fp++;
      i++;
    }
    cuts.push({ threshold, tp, fp, kept: i });
  }
  return { pos, order, cuts };
}

/** Precision-recall curve of one column (thresholds = distinct scores, high to low). */
export function prCurve(y: ArrayLike<number>, s: ArrayLike<number>): { precision: number[]; recall: number[]; thresholds: number[]; averagePrecision: number | null } {
  const { pos, cuts } = descendingSweep(y, s);
  const precision: number[] = [];
  const recall: number[] = [];
  const thresholds: number[] = [];
  if (pos === 0) return { precision, recall, thresholds, averagePrecision: null };
  let ap = 0;
  let prevRecall = 0;
  for (const { threshold, tp, fp } of cuts) {
    const p = tp / (tp + fp);
    const r = tp / pos;
    ap += (r - prevRecall) * p;
    prevRecall = r;
    precision.push(p);
    recall.push(r);
    thresholds.push(threshold);
  }
  return { precision, recall, thresholds, averagePrecision: ap };
}

/** Label ranking average precision (sklearn's definition; rows without labels count as 1). */
export function lrap(y: Uint8Array, scores: Float32Array, n: number, k: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    let relevant = 0;
    for (let j = 0; j < k; j++) relevant += y[i * k + j];
    if (relevant === 0 || relevant === k) {
      sum += 1;
      continue;
    }
    let rowScore = 0;
    for (let j = 0; j < k; j++) {
      if (!y[i * k + j]) continue;
      const sj = scores[i * k + j];
      let rankAll = 0;
      let rankRel = 0;
      for (let l = 0; l < k; l++) {
        if (scores[i * k + l] >= sj) {
          rankAll++;
          if (y[i * k + l]) rankRel++;
        }
      }
      rowScore += rankRel / rankAll;
    }
    sum += rowScore / relevant;
  }
  return n === 0 ? 0 : sum / n;
}

/** Every metric at once for one set of predictions. */
export function evaluate(y: Uint8Array, scores: Float32Array, pred: Uint8Array, n: number, k: number): PointMetrics {
  let tpAll = 0;
  let fpAll = 0;
  let fnAll = 0;
  let wrong = 0;
  let exact = 0;
  let top1 = 0;
  const tp = new Array(k).fill(0);
  const fp = new Array(k).fill(0);
  const fn = new Array(k).fill(0);
  for (let i = 0; i < n; i++) {
    let rowExact = true;
    let best = -1;
    let bestScore = -Infinity;
    for (let j = 0; j < k; j++) {
      const t = y[i * k + j];
      const p = pred[i * k + j];
      if (t && p) tp[j]++;
      else if (!t && p) fp[j]++;
      else if (t && !p) fn[j]++;
      if (t !== p) {
        wrong++;
        rowExact = false;
      }
      if (scores[i * k + j] > bestScore) {
        bestScore = scores[i * k + j];
        best = j;
      }
    }
    if (rowExact) exact++;
    if (best >= 0 && y[i * k + best]) top1++;
  }
  const perGenre: PointMetrics["perGenre"] = [];
  const aucs: number[] = [];
  let macroF1 = 0;
  for (let j = 0; j < k; j++) {
    tpAll += tp[j];
    fpAll += fp[j];
    fnAll += fn[j];
    const col = new Uint8Array(n);
    const sc = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      col[i] = y[i * k + j];
      sc[i] = scores[i * k + j];
    }
    const auc = rocAuc(col, sc);
    if (auc !== null) aucs.push(auc);
    const f1 = f1Of(tp[j], fp[j], fn[j]);
    macroF1 += f1;
    perGenre.push({
      precision: tp[j] + fp[j] === 0 ? 0 : tp[j] / (tp[j] + fp[j]),
      recall: tp[j] + fn[j] === 0 ? 0 : tp[j] / (tp[j] + fn[j]),
      f1,
      auc,
      averagePrecision: prCurve(col, sc).averagePrecision,
      support: tp[j] + fn[j],
    });
  }
  return {
    microF1: f1Of(tpAll, fpAll, fnAll),
    macroF1: k === 0 ? 0 : macroF1 / k,
    microPrecision: tpAll + fpAll === 0 ? 0 : tpAll / (tpAll + fpAll),
    microRecall: tpAll + fnAll === 0 ? 0 : tpAll / (tpAll + fnAll),
    rocAucMacro: aucs.length === 0 ? NaN : aucs.reduce((a, b) => a + b, 0) / aucs.length,
    lrap: lrap(y, scores, n, k),
    hammingLoss: n * k === 0 ? 0 : wrong / (n * k),
    subsetAccuracy: n === 0 ? 0 : exact / n,
    top1Accuracy: n === 0 ? 0 : top1 / n,
    perGenre,
  };
}

/** The scalar metric names of {@link PointMetrics}. */
export const SCALAR_METRICS = [
  "microF1",
  "macroF1",
  "microPrecision",
  "microRecall",
  "rocAucMacro",
  "lrap",
  "hammingLoss",
  "subsetAccuracy",
  "top1Accuracy",
] as const;
export type ScalarMetric = (typeof SCALAR_METRICS)[number];

/**
 * Percentile bootstrap 95 % intervals over rows (for single-split results, where there are no folds
 * to spread over). Seeded; `samples` resamples.
 */
export function bootstrapIntervals(
  y: Uint8Array,
  scores: Float32Array,
  pred: Uint8Array,
  n: number,
  k: number,
  samples = 200,
  seed = 1,
): Record<ScalarMetric, [number, number]> {
  const rng = makeRng(seed);
  const values: Record<string, number[]> = Object.fromEntries(SCALAR_METRICS.map((m) => [m, []]));
  const yb = new Uint8Array(n * k);
  const sb = new Float32Array(n * k);
  const pb = new Uint8Array(n * k);
  for (let b = 0; b < samples; b++) {
    for (let i = 0; i < n; i++) {
      const r = Math.floor(rng() * n);
      for (let j = 0; j < k; j++) {
        yb[i * k + j] = y[r * k + j];
        sb[i * k + j] = scores[r * k + j];
        pb[i * k + j] = pred[r * k + j];
      }
    }
    const m = evaluate(yb, sb, pb, n, k);
    for (const key of SCALAR_METRICS) if (Number.isFinite(m[key])) values[key].push(m[key]);
  }
  const out = {} as Record<ScalarMetric, [number, number]>;
  for (const key of SCALAR_METRICS) out[key] = percentileInterval(values[key]);
  return out;
}

export function percentileInterval(values: number[], level = 0.95): [number, number] {
  if (values.length === 0) return [NaN, NaN];
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => {
    const pos = q * (sorted.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
  };
  const alpha = (1 - level) / 2;
  return [at(alpha), at(1 - alpha)];
}
