import { iterativeStratification, labelDistributionScore, randomFolds, repeatedStratifiedFolds, stratifiedHoldout, type LabelMatrix } from "../../lib/train/stratify";
import { applyThresholds, evaluate, lrap, prCurve, rocAuc, bootstrapIntervals } from "../../lib/train/metrics";
import { bestF1Threshold, tuneThresholds } from "../../lib/train/thresholds";
import { correctedResampledTTest, holm, studentTCdf, studentTQuantile } from "../../lib/train/stats";
import { makeRng } from "../../lib/util/rng";

/** Synthetic multi-label data with skewed genre frequencies (like covers: a few common, some rare). */
function syntheticLabels(n: number, seed: number, probs = [0.45, 0.3, 0.15, 0.07, 0.03]): LabelMatrix {
  const rng = makeRng(seed);
  const k = probs.length;
  const y = new Uint8Array(n * k);
  for (let i = 0; i < n; i++) {
    let any = false;
    for (let j = 0; j < k; j++) if (rng() < probs[j]) { y[i * k + j] = 1; any = true; }
    if (!any) y[i * k + Math.floor(rng() * k)] = 1;
  }
  return { y, n, k };
}

describe("iterative stratification", () => {
  test("balances labels across folds better than a random split", () => {
    let strat = 0;
    let rand = 0;
    for (let s = 0; s < 8; s++) {
      const labels = syntheticLabels(400, 100 + s);
      strat += labelDistributionScore(labels, iterativeStratification(labels, [1, 1, 1, 1, 1], s), 5);
      rand += labelDistributionScore(labels, randomFolds(labels.n, 5, s), 5);
    }
    expect(strat).toBeLessThan(rand * 0.5);
  });

  test("each rare label lands in every fold, fold sizes are even, and every row is tested once per repeat", () => {
    const labels = syntheticLabels(500, 7);
    const folds = repeatedStratifiedFolds(labels, 5, 2, 42);
    expect(folds).toHaveLength(10);
    for (const repeat of [0, 1]) {
      const seen = new Array(labels.n).fill(0);
      for (const f of folds.filter((f) => f.repeat === repeat)) {
        for (const i of f.test) seen[i]++;
        expect(f.train.length + f.test.length).toBe(labels.n);
        // Label balance comes first in Sechidis' algorithm, so fold sizes drift a little (a few %).
        expect(Math.abs(f.test.length - labels.n / 5)).toBeLessThanOrEqual(0.06 * (labels.n / 5));
        expect(new Set([...f.train, ...f.test]).size).toBe(labels.n);
        for (let j = 0; j < labels.k; j++) expect(f.test.some((i) => labels.y[i * labels.k + j] === 1)).toBe(true);
      }
      expect(seen.every((c) => c === 1)).toBe(true);
    }
    // The repeats differ, and the same seed gives the same folds.
    expect(folds[0].test).not.toEqual(folds[5].test);
    expect(repeatedStratifiedFolds(labels, 5, 2, 42)).toEqual(folds);
  });

  test("a stratified holdout keeps the requested share of rows and of each label", () => {
    const labels = syntheticLabels(1016, 3);
    const { train, test } = stratifiedHoldout(labels, 116 / 1016, 1);
    expect(train.length + test.length).toBe(1016);
    expect(Math.abs(test.length - 116)).toBeLessThanOrEqual(0.06 * 116);
    for (let j = 0; j < labels.k; j++) {
      const all = Array.from({ length: labels.n }, (_, i) => labels.y[i * labels.k + j]).reduce((a, b) => a + b, 0);
      const inTest = test.reduce((a, i) => a + labels.y[i * labels.k + j], 0);
      expect(Math.abs(inTest - all * (116 / 1016))).toBeLessThanOrEqual(1.5);
    }
  });

  test("rejects impossible requests with a clear message", () => {
    expect(() => repeatedStratifiedFolds(syntheticLabels(3, 1), 5, 1, 1)).toThrow(/3 rows cannot be split into 5 folds/);
    expect(() => repeatedStratifiedFolds(syntheticLabels(30, 1), 1, 1, 1)).toThrow(/folds must be/);
  });
});

describe("metrics", () => {
  // 4 rows × 3 genres, worked by hand.
  const y = Uint8Array.from([1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 1]);
  const s = Float32Array.from([0.9, 0.2, 0.1, 0.6, 0.7, 0.3, 0.8, 0.4, 0.5, 0.2, 0.1, 0.3]);
  const pred = applyThresholds(s, 4, 3, [0.5, 0.5, 0.5]);

  test("micro/macro F1, precision, recall, Hamming, subset and top-1 match hand computation", () => {
    // preds: [1,0,0] [1,1,0] [1,0,1] [0,0,0]; tp=3 (r0g0, r1g1, r2g0), fp=2 (r1g0, r2g2), fn=2 (r2g1, r3g2)
    const m = evaluate(y, s, pred, 4, 3);
    expect(m.microPrecision).toBeCloseTo(3 / 5);
    expect(m.microRecall).toBeCloseTo(3 / 5);
    expect(m.microF1).toBeCloseTo(0.6);
    // per genre: g0 tp2 fp1 fn0 → 0.8; g1 tp1 fp0 fn1 → 2/3; g2 tp0 fp1 fn1 → 0
    expect(m.macroF1).toBeCloseTo((0.8 + 2 / 3 + 0) / 3);
    expect(m.hammingLoss).toBeCloseTo(4 / 12);
    expect(m.subsetAccuracy).toBeCloseTo(1 / 4);
    // top-1: r0 g0 ✓, r1 g1 ✓, r2 g0 ✓, r3 g2 (0.3) ✓
    expect(m.top1Accuracy).toBeCloseTo(1);
    expect(m.perGenre[2].support).toBe(1);
  });

  test("ROC-AUC by ranks handles ties and single-class columns", () => {
    expect(rocAuc([1, 0, 1, 0], [0.9, 0.1, 0.8, 0.2])).toBe(1);
    expect(rocAuc([1, 0, 1, 0], [0.1, 0.9, 0.2, 0.8])).toBe(0);
    expect(rocAuc([1, 0], [0.5, 0.5])).toBe(0.5);
    expect(rocAuc([1, 1], [0.5, 0.2])).toBeNull();
  });

  test("LRAP and average precision agree with sklearn's worked example", () => {
    // sklearn docs: y_true [[1,0,0],[0,0,1]], scores [[0.75,0.5,1],[1,0.2,0.1]] → 0.41666...
    expect(lrap(Uint8Array.from([1, 0, 0, 0, 0, 1]), Float32Array.from([0.75, 0.5, 1, 1, 0.2, 0.1]), 2, 3)).toBeCloseTo(5 / 12);
    // sklearn average_precision_score([0,0,1,1], [0.1,0.4,0.35,0.8]) = 0.8333
    expect(prCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]).averagePrecision).toBeCloseTo(0.83333, 4);
  });

  test("bootstrap intervals contain the point estimate", () => {
    const labels = syntheticLabels(200, 5);
    const rng = makeRng(9);
    const scores = new Float32Array(labels.y.length).map((_, i) => 0.3 * labels.y[i] + 0.7 * rng());
    const p = applyThresholds(scores, labels.n, labels.k, new Array(labels.k).fill(0.5));
    const point = evaluate(labels.y, scores, p, labels.n, labels.k);
    const ci = bootstrapIntervals(labels.y, scores, p, labels.n, labels.k, 100, 2);
    expect(ci.microF1[0]).toBeLessThan(point.microF1);
    expect(ci.microF1[1]).toBeGreaterThan(point.microF1);
    expect(ci.rocAucMacro[0]).toBeGreaterThan(0.6);
  });
});

describe("thresholds", () => {
  test("the F1-optimal threshold separates a separable genre and never uses test rows", () => {
    const { threshold, f1 } = bestF1Threshold([0, 0, 1, 1, 0], [0.1, 0.2, 0.7, 0.9, 0.3]);
    expect(f1).toBe(1);
    expect(threshold).toBeGreaterThan(0.3);
    expect(threshold).toBeLessThan(0.7);
  });

  test("low-prior genres get low thresholds, genres without positives are never predicted", () => {
    const y = Uint8Array.from([1, 0, 0, 0, 1, 0, 0, 0]);
    const s = Float32Array.from([0.2, 0.3, 0.05, 0.1, 0.25, 0.2, 0.1, 0.05]);
    const t = tuneThresholds(y, s, 4, 2);
    expect(t[0]).toBeLessThan(0.25);
    expect(t[1]).toBe(Number.POSITIVE_INFINITY);
  });
});

describe("corrected resampled t-test and Holm", () => {
  test("Student t distribution matches tables", () => {
    expect(studentTCdf(0, 5)).toBeCloseTo(0.5);
    expect(studentTQuantile(0.975, 9)).toBeCloseTo(2.262, 3);
    expect(studentTQuantile(0.975, 4)).toBeCloseTo(2.776, 3);
    expect(1 - studentTCdf(2.228, 10)).toBeCloseTo(0.025, 3);
  });

  test("the correction widens the interval relative to the naive paired t-test", () => {
    const d = [0.02, 0.01, 0.03, 0.015, 0.025, 0.02, 0.01, 0.03, 0.02, 0.02];
    const naive = correctedResampledTTest(d, 0);
    const corrected = correctedResampledTTest(d, 1 / 4);
    expect(corrected.se).toBeGreaterThan(naive.se * 1.5);
    expect(corrected.p).toBeGreaterThan(naive.p);
    expect(corrected.ci[0]).toBeLessThan(naive.ci[0]);
    // Hand value: mean 0.02, var = 0.00005, se = sqrt((1/10 + 1/4) var)
    expect(corrected.se).toBeCloseTo(Math.sqrt(0.35 * 0.00005), 6);
  });

  test("zero differences give p = 1", () => {
    expect(correctedResampledTTest([0, 0, 0, 0], 0.25).p).toBe(1);
  });

  test("Holm adjusts step-down and keeps order", () => {
    expect(holm([0.01, 0.04, 0.03])).toEqual([0.03, 0.06, 0.06]);
    expect(holm([0.5, 0.001])).toEqual([0.5, 0.002]);
  });
});
