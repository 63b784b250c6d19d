import { initTf, tf } from "../../lib/tf";
import { buildDataset, take, takeLabels, usableRows, parseInputSet, fitScaler, applyScaler } from "../../lib/train/dataset";
import { tuneThresholds } from "../../lib/train/thresholds";
import { repeatedStratifiedFolds } from "../../lib/train/stratify";
import { DEFAULT_CV, aggregate, crossValidate, pooledScorer, predictAllScorer, priorScorer, prCurves, tuneOnTrainingRows } from "../../lib/train/cv";
import { DEFAULT_HEAD } from "../../lib/train/heads";
import { syntheticFeatureSet, SYN_GENRES } from "./synthetic";

beforeAll(async () => {
  await initTf();
});

describe("dataset", () => {
  const fs = syntheticFeatureSet(120, 3);
  const { rows, dropped } = usableRows(fs, SYN_GENRES);

  test("drops rows with errors and says why; faces population keeps only covers with a face", () => {
    expect(rows).not.toContain(3);
    expect(dropped[0]).toEqual({ reason: expect.stringMatching(/extraction failed/), count: 1 });
    const faces = buildDataset(fs, rows, { genres: SYN_GENRES, imgBackbones: ["mobilenet_v1"], population: "faces" });
    expect(faces.n).toBe(rows.filter((r) => fs.rows[r].faces.length > 0).length);
    expect(faces.blocks.face!.dim).toBe(15);
    const all = buildDataset(fs, rows, { genres: SYN_GENRES, imgBackbones: ["mobilenet_v1", "inception_v3"], population: "all" });
    expect(all.blocks.face!.dim).toBe(17);
    expect(all.blocks.img!.dim).toBe(40);
    expect(() => buildDataset(fs, rows, { genres: SYN_GENRES, imgBackbones: ["resnet"], population: "all" })).toThrow(/no resnet embedding/);
  });

  test("features and labels come out through the same row list, in order", () => {
    const ds = buildDataset(fs, rows, { genres: SYN_GENRES, imgBackbones: ["mobilenet_v1"], population: "all" });
    const pick = [7, 2, 40];
    const t = take(ds, parseInputSet("clr+img"), pick);
    expect(t.d).toBe(32 + 6);
    pick.forEach((r, i) => {
      const src = ds.sourceRows[r];
      expect(Array.from(t.x.subarray(i * t.d, i * t.d + 3))).toEqual(Array.from(fs.embeddings.mobilenet_v1.data.subarray(src * 32, src * 32 + 3)));
      expect(t.x[i * t.d + 32]).toBeCloseTo(fs.rows[src].dominant[0], 3);
      SYN_GENRES.forEach((g, j) => expect(t.y[i * ds.k + j]).toBe(fs.rows[src].genres.includes(g) ? 1 : 0));
    });
    expect(() => parseInputSet("img+audio")).toThrow(/unknown block "audio"/);
  });

  test("scaler statistics come from the rows it is fitted on", () => {
    const x = Float32Array.from([1, 10, 3, 10, 5, 10]);
    const s = fitScaler(x, 3, 2);
    expect(s.mean[0]).toBeCloseTo(3);
    expect(s.std[1]).toBe(1);
    expect(Array.from(applyScaler(Float32Array.from([3, 10]), 1, 2, s))).toEqual([0, 0]);
  });
});

describe("cross-validation", () => {
  test("a pooled head finds planted signal, beats both baselines, and leaks no tensors", () => {
    const fs = syntheticFeatureSet(300, 5);
    const { rows } = usableRows(fs, SYN_GENRES);
    const ds = buildDataset(fs, rows, { genres: SYN_GENRES, imgBackbones: ["mobilenet_v1"], population: "all" });
    const folds = repeatedStratifiedFolds({ y: ds.y, n: ds.n, k: ds.k }, 3, 1, 11);
    // A head pinned for this small synthetic problem (the defaults are tuned for 2,000-d real embeddings).
    const head = { ...DEFAULT_HEAD, l2: 1e-2, learningRate: 1e-2, epochs: 20, minSteps: 250, batchSize: 64 };
    crossValidate(ds, folds.slice(0, 1), pooledScorer(["img"], head)); // warm-up allocations
    const before = tf.memory().numTensors;
    const img = aggregate(crossValidate(ds, folds, pooledScorer(["img"], head)), ds.genres);
    expect(tf.memory().numTensors).toBe(before);
    const face = aggregate(crossValidate(ds, folds, pooledScorer(["face"], head)), ds.genres);
    const all = aggregate(crossValidate(ds, folds, predictAllScorer), ds.genres);
    const priorCv = crossValidate(ds, folds, priorScorer, { ...DEFAULT_CV, thresholds: 0.5 });
    const prior = aggregate(priorCv, ds.genres);
    expect(img.rocAucMacro.mean).toBeGreaterThan(0.75);
    expect(img.microF1.mean).toBeGreaterThan(all.microF1.mean + 0.05);
    expect(face.rocAucMacro.mean).toBeLessThan(0.62); // faces carry no signal here
    expect(all.rocAucMacro.mean).toBeCloseTo(0.5);
    expect(Math.abs(prior.rocAucMacro.mean - 0.5)).toBeLessThan(0.06);
    // The prior guesses each genre at its training frequency: about as often as it occurs, and
    // (unlike a constant score with a tuned threshold) not the predict-all baseline again.
    for (let j = 0; j < ds.k; j++) {
      let truth = 0;
      let guessed = 0;
      for (let i = 0; i < ds.n; i++) {
        truth += ds.y[i * ds.k + j];
        guessed += priorCv.oofPred[i * ds.k + j];
      }
      expect(Math.abs(guessed - truth) / ds.n).toBeLessThan(0.08);
    }
    expect(prior.microF1.mean).toBeLessThan(all.microF1.mean - 0.05);
    expect(crossValidate(ds, folds, priorScorer, { ...DEFAULT_CV, thresholds: 0.5 }).oofPred).toEqual(priorCv.oofPred);
    expect(img.microF1.ci[0]).toBeLessThan(img.microF1.mean);
    expect(img.microF1.perFold).toHaveLength(3);
    expect(Object.keys(img.perGenre)).toEqual(SYN_GENRES);
    expect(prCurves(ds, crossValidate(ds, folds, predictAllScorer).oof).Rock.precision.length).toBeGreaterThan(0);
  });
});

describe("thresholds from training rows only", () => {
  const fs = syntheticFeatureSet(150, 5);
  const { rows } = usableRows(fs, SYN_GENRES);
  const ds = buildDataset(fs, rows, { genres: SYN_GENRES, imgBackbones: ["mobilenet_v1"], population: "all" });
  const folds = repeatedStratifiedFolds({ y: ds.y, n: ds.n, k: ds.k }, 3, 1, 1);

  /** A scorer that records which rows it trained and scored on (scores: a fixed function of the row). */
  function spyScorer() {
    const calls: { train: number[]; test: number[] }[] = [];
    const scorer = (d: typeof ds, train: number[], test: number[]) => {
      calls.push({ train: [...train], test: [...test] });
      const out = new Float32Array(test.length * d.k);
      test.forEach((r, i) => {
        for (let j = 0; j < d.k; j++) out[i * d.k + j] = ((r * 7 + j * 3) % 10) / 10;
      });
      return out;
    };
    return { scorer, calls };
  }

  test("inner 2-fold CV: every training row is scored exactly once out of fold; no test row is ever seen", () => {
    const fold = folds[0];
    const { scorer, calls } = spyScorer();
    const t = tuneOnTrainingRows(ds, fold.train, scorer, { innerFolds: 2, innerFraction: 0.2 }, 3);
    expect(t).toHaveLength(ds.k);
    expect(calls).toHaveLength(2);
    const scored = calls.flatMap((c) => c.test).sort((a, b) => a - b);
    expect(scored).toEqual([...fold.train].sort((a, b) => a - b));
    const test = new Set(fold.test);
    for (const c of calls) {
      expect(c.train.some((r) => test.has(r))).toBe(false);
      expect(c.train.some((r) => c.test.includes(r))).toBe(false);
    }
  });

  test("innerFolds < 2 falls back to one hold-out of innerFraction", () => {
    const fold = folds[1];
    const { scorer, calls } = spyScorer();
    tuneOnTrainingRows(ds, fold.train, scorer, { innerFolds: 0, innerFraction: 0.25 }, 3);
    expect(calls).toHaveLength(1);
    expect(Math.abs(calls[0].test.length - 0.25 * fold.train.length)).toBeLessThanOrEqual(3);
  });

  test("the tuned thresholds are the F1-best ones for those out-of-fold scores", () => {
    const fold = folds[2];
    const { scorer } = spyScorer();
    const t = tuneOnTrainingRows(ds, fold.train, scorer, { innerFolds: 2, innerFraction: 0.2 }, 3);
    const scores = scorer(ds, [], fold.train);
    const y = takeLabels(ds, fold.train);
    expect(t).toEqual(tuneThresholds(y, scores, fold.train.length, ds.k));
  });
});
