/**
 * Several collections in one study (lib/train/collections.ts) on synthetic feature sets: the fold
 * labels, stratification by collection, restricted folds and outcomes, per-collection scores, the
 * transfer protocol, real extra data and the study's results.json fields. Every set is small and the
 * head cheap (a few seconds for the file); the signals are strong enough that the assertions are
 * deterministic for the seeds used.
 */
import { initTf } from "../../lib/tf";
import * as cvModule from "../../lib/train/cv";
import { aggregate, crossValidate, DEFAULT_CV, pooledScorer, testTrainRatio, type CvOutcome, type Scorer } from "../../lib/train/cv";
import { collectionNames, foldLabels, restrictFolds, restrictOutcome, rowsOfCollection, runExtraData, runTransfer, scoresByCollection, sharedGenres, type CollectionRun } from "../../lib/train/collections";
import { buildDataset, takeLabels, usableRows, type LabelledDataset } from "../../lib/train/dataset";
import { DEFAULT_HEAD } from "../../lib/train/heads";
import { evaluate } from "../../lib/train/metrics";
import { repeatedStratifiedFolds, type Fold } from "../../lib/train/stratify";
import { ALL_INPUT_SETS, defaultStudyConfig, runStudy } from "../../lib/train/study";
import type { FeatureSet } from "../../lib/features/store";
import { syntheticCollections, syntheticFeatureSet, SYN_GENRES } from "./synthetic";

/** A head pinned for these small synthetic problems: a few dozen steps of a linear head. */
const HEAD = { ...DEFAULT_HEAD, l2: 1e-2, learningRate: 3e-2, epochs: 3, minSteps: 30, batchSize: 64 };
const RUN: CollectionRun = { inputSet: "img", head: HEAD, seed: 7, pool: null };
const IMG = ["mobilenet_v1"];

function datasetOf(fset: FeatureSet, genres: string[] = SYN_GENRES): LabelledDataset {
  return buildDataset(fset, usableRows(fset, genres).rows, { genres, imgBackbones: IMG, population: "all" });
}

const rowsOf = (ds: LabelledDataset, c: string) => ds.collections.map((x, i) => (x === c ? i : -1)).filter((i) => i >= 0);
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

/** Every call of every pooled scorer made while `body` runs: its training and test rows. */
async function recordScorerCalls<T>(body: () => Promise<T>): Promise<{ value: T; calls: { train: number[]; test: number[] }[] }> {
  const real = cvModule.pooledScorer;
  const calls: { train: number[]; test: number[] }[] = [];
  const spy = jest.spyOn(cvModule, "pooledScorer").mockImplementation((blocks, head) => {
    const inner = real(blocks, head);
    const wrapped = (ds: LabelledDataset, train: number[], test: number[], seed: number) => {
      calls.push({ train: [...train], test: [...test] });
      return inner(ds, train, test, seed);
    };
    return Object.assign(wrapped, { spec: inner.spec }) as Scorer;
  });
  try {
    return { value: await body(), calls };
  } finally {
    spy.mockRestore();
  }
}

beforeAll(async () => {
  await initTf();
});

describe("foldLabels", () => {
  test("one collection: the plain label matrix, so a single-collection study keeps exactly its folds", () => {
    const ds = datasetOf(syntheticFeatureSet(120, 3));
    expect(collectionNames(ds)).toEqual(["syn"]);
    const labels = foldLabels(ds);
    expect(labels).toEqual({ y: ds.y, n: ds.n, k: ds.k });
    expect(labels.y).toBe(ds.y);
    expect(repeatedStratifiedFolds(labels, 5, 2, 42)).toEqual(repeatedStratifiedFolds({ y: ds.y, n: ds.n, k: ds.k }, 5, 2, 42));
  });

  test("several collections: one column per (collection, genre), each row's genres in its collection's block only", () => {
    const ds = datasetOf(syntheticFeatureSet(90, 4, 16, 1.5, ["a", "b", "c"]));
    expect(collectionNames(ds)).toEqual(["a", "b", "c"]);
    // ids collide across collections: each block starts at 1000 again
    expect(ds.ids.filter((id) => id === "1001")).toHaveLength(3);
    const labels = foldLabels(ds);
    expect(labels.n).toBe(ds.n);
    expect(labels.k).toBe(3 * ds.k);
    for (let i = 0; i < ds.n; i++) {
      const c = ["a", "b", "c"].indexOf(ds.collections[i]);
      for (let b = 0; b < 3; b++) {
        for (let j = 0; j < ds.k; j++) expect([i, b, j, labels.y[i * labels.k + b * ds.k + j]]).toEqual([i, b, j, b === c ? ds.y[i * ds.k + j] : 0]);
      }
    }
  });
});

describe("folds stratified by collection", () => {
  // Two collections of unequal size and different genre mixes.
  const fset = syntheticCollections(
    [
      { name: "big", n: 300 },
      { name: "small", n: 120, probs: [0.1, 0.5, 0.3, 0.15, 0.5] },
    ],
    11,
    12,
  );
  const ds = datasetOf(fset);
  const members = { big: rowsOf(ds, "big"), small: rowsOf(ds, "small") };

  /** Largest |count in a test fold − count / folds| of each genre inside each collection. */
  function genreSpread(y: Uint8Array, folds: Fold[], k: number): number {
    let worst = 0;
    for (const rows of Object.values(members)) {
      const inRows = new Set(rows);
      for (let j = 0; j < k; j++) {
        const total = rows.reduce((a, r) => a + y[r * k + j], 0);
        for (const f of folds) {
          const count = f.test.filter((r) => inRows.has(r)).reduce((a, r) => a + y[r * k + j], 0);
          worst = Math.max(worst, Math.abs(count - total / 5));
        }
      }
    }
    return worst;
  }
  const shareSpread = (folds: Fold[]) =>
    Math.max(...Object.values(members).flatMap((rows) => folds.map((f) => Math.abs(f.test.filter((r) => rows.includes(r)).length - rows.length / 5))));

  test("every genre is spread evenly over the folds within each collection (genre-only folds are not)", () => {
    expect([members.big.length, members.small.length]).toEqual([300, 120]);
    for (let seed = 1; seed <= 5; seed++) {
      const folds = repeatedStratifiedFolds(foldLabels(ds), 5, 2, seed);
      expect(folds).toHaveLength(10);
      // each genre of each collection: within one row of its expected count in every test fold
      expect(genreSpread(ds.y, folds, ds.k)).toBeLessThanOrEqual(1);
      // each collection's rows are partitioned by the test folds of a repeat
      for (const rows of Object.values(members)) {
        for (const rep of [0, 1]) expect(sorted(folds.filter((f) => f.repeat === rep).flatMap((f) => f.test.filter((r) => rows.includes(r))))).toEqual(rows);
      }
      // multi-label rows: each collection's share of a fold follows its genres, not exactly its row count
      expect(shareSpread(folds)).toBeLessThanOrEqual(6);
      // stratified on genres alone, some genre of some collection is off by more than 4 covers
      expect(genreSpread(ds.y, repeatedStratifiedFolds({ y: ds.y, n: ds.n, k: ds.k }, 5, 2, seed), ds.k)).toBeGreaterThan(4);
    }
  });

  test("one genre per cover: each collection's share of every fold is within one row of expectation (genre-only folds: off by more)", () => {
    const single = new Uint8Array(ds.y.length);
    for (let i = 0; i < ds.n; i++) {
      const j = [...Array(ds.k).keys()].find((g) => ds.y[i * ds.k + g])!;
      single[i * ds.k + j] = 1;
    }
    const one = { ...ds, y: single };
    for (let seed = 1; seed <= 5; seed++) {
      const folds = repeatedStratifiedFolds(foldLabels(one), 5, 1, seed);
      expect(shareSpread(folds)).toBeLessThanOrEqual(1); // 60 ± 1 and 24 ± 1 rows
      expect(genreSpread(single, folds, ds.k)).toBeLessThanOrEqual(1);
      expect(shareSpread(repeatedStratifiedFolds({ y: single, n: ds.n, k: ds.k }, 5, 1, seed))).toBeGreaterThanOrEqual(2);
    }
  });
});

describe("restricted folds and outcomes", () => {
  const fset = syntheticCollections(
    [
      { name: "a", n: 90 },
      { name: "b", n: 60, probs: [0.2, 0.4, 0.3, 0.3, 0.5] },
    ],
    5,
    12,
  );
  const ds = datasetOf(fset);
  const folds = repeatedStratifiedFolds(foldLabels(ds), 3, 1, 9);
  let cv: CvOutcome;
  beforeAll(() => {
    // after the file's initTf (describe bodies run before any beforeAll)
    cv = crossValidate(ds, folds, pooledScorer(["img"], HEAD), { ...DEFAULT_CV, seed: 7 });
  });

  test("restrictFolds: a collection's test rows partition its rows in every repeat; extra rows join training only", () => {
    const twice = repeatedStratifiedFolds(foldLabels(ds), 3, 2, 9);
    for (const c of ["a", "b"]) {
      const own = new Set(rowsOf(ds, c));
      const other = rowsOf(ds, c === "a" ? "b" : "a");
      const r = restrictFolds(twice, (row) => own.has(row));
      expect(r.map((f) => [f.repeat, f.fold])).toEqual(twice.map((f) => [f.repeat, f.fold]));
      for (const rep of [0, 1]) {
        const inRep = r.filter((f) => f.repeat === rep);
        expect(sorted(inRep.flatMap((f) => f.test))).toEqual([...own]);
        for (const f of inRep) {
          expect(sorted([...f.train, ...f.test])).toEqual([...own]);
          expect(f.train.every((x) => own.has(x))).toBe(true);
        }
      }
      const plus = restrictFolds(twice, (row) => own.has(row), other);
      plus.forEach((f, i) => {
        expect(f.test).toEqual(r[i].test);
        expect(f.train).toEqual(sorted([...r[i].train, ...other]));
      });
    }
  });

  test("restrictOutcome: each fold re-evaluated on the collection's test rows equals evaluate() on those rows by hand", () => {
    for (const c of ["a", "b"]) {
      const keep = (row: number) => ds.collections[row] === c;
      const r = restrictOutcome(ds, cv, keep);
      expect(r.folds).toHaveLength(3);
      expect(sorted(r.folds.flatMap((f) => f.fold.test))).toEqual(rowsOf(ds, c));
      r.folds.forEach((o, f) => {
        const test = folds[f].test.filter(keep);
        expect(o.fold.test).toEqual(test);
        expect(o.thresholds).toEqual(cv.folds[f].thresholds);
        // repeat 0's out-of-fold scores and decisions, row by row: an independent path to the same numbers
        const scores = new Float32Array(test.length * ds.k);
        const pred = new Uint8Array(test.length * ds.k);
        test.forEach((row, m) => {
          scores.set(cv.oof.subarray(row * ds.k, (row + 1) * ds.k), m * ds.k);
          pred.set(cv.oofPred.subarray(row * ds.k, (row + 1) * ds.k), m * ds.k);
        });
        expect(o.metrics).toEqual(evaluate(takeLabels(ds, test), scores, pred, test.length, ds.k));
      });
      // and not the union's metrics
      expect(r.folds.map((o) => o.metrics.microF1)).not.toEqual(cv.folds.map((o) => o.metrics.microF1));
    }
  });

  test("scoresByCollection: keyed by collection; predict-all micro-F1 per fold = 2·positives / (2·positives + negatives) of its test rows", () => {
    const byC = scoresByCollection(ds, { img: cv }, folds);
    expect(Object.keys(byC)).toEqual(["a", "b"]);
    const ratio = testTrainRatio(folds);
    for (const c of ["a", "b"]) {
      expect(byC[c].collection).toBe(c);
      expect(byC[c].rows).toBe(c === "a" ? 90 : 60);
      expect(Object.keys(byC[c].allCovers)).toEqual(["img"]);
      const hand = folds.map((f) => {
        const test = f.test.filter((r) => ds.collections[r] === c);
        const pos = test.reduce((a, r) => a + takeLabels(ds, [r]).reduce((x, y) => x + y, 0), 0);
        const neg = test.length * ds.k - pos;
        return (2 * pos) / (2 * pos + neg);
      });
      const got = byC[c].baselines.predictAll.microF1;
      got.perFold!.forEach((v, f) => expect(v).toBeCloseTo(hand[f], 12));
      expect(got.mean).toBeCloseTo(hand.reduce((a, b) => a + b, 0) / hand.length, 12);
      expect(byC[c].allCovers.img).toEqual(aggregate(restrictOutcome(ds, cv, (r) => ds.collections[r] === c), ds.genres, ratio));
    }
    // the two collections have different genre densities, so different predict-all scores
    expect(Math.abs(byC.a.baselines.predictAll.microF1.mean - byC.b.baselines.predictAll.microF1.mean)).toBeGreaterThan(0.02);
  });
});

describe("transfer between collections", () => {
  test("both directions on the shared genres; the transfer model never trains on the test collection; within = a direct CV on the restricted folds", async () => {
    // b has Hip Hop on 2 covers only (< minPositives 5): not a shared genre
    const fset = syntheticCollections(
      [
        { name: "a", n: 180 },
        { name: "b", n: 120, probs: [0.4, 0.25, 0, 0.2, 0.35] },
      ],
      3,
      12,
    );
    for (const i of [180, 181]) fset.rows[i].genres = SYN_GENRES.filter((g) => g === "Hip Hop" || fset.rows[i].genres.includes(g));
    const all = datasetOf(fset);
    expect(all.genres).toContain("Hip Hop");
    const foldsAll = repeatedStratifiedFolds(foldLabels(all), 3, 1, 5);
    const shared = ["Electronic", "Folk, World, & Country", "Pop", "Rock"];
    expect(sharedGenres(all, 5)).toEqual(shared);
    expect(sharedGenres(all, 2)).toEqual(SYN_GENRES);

    const { value, calls } = await recordScorerCalls(() => runTransfer(fset, all, foldsAll, IMG, 5, RUN));
    const { result, dataset } = value!;
    expect(result.inputSet).toBe("img");
    expect(result.genres).toEqual(shared);
    expect(dataset.genres).toEqual(shared);
    expect(dataset.sourceRows).toEqual(all.sourceRows); // same rows, so the union folds apply
    expect(result.directions.map((d) => [d.train, d.test, d.trainRows, d.testRows])).toEqual([
      ["a", "b", rowsOfCollection(dataset, "a").length, 120],
      ["b", "a", 120, rowsOfCollection(dataset, "a").length],
    ]);
    // a's covers whose only genre is Hip Hop drop out of the transfer dataset
    const hipHopOnly = fset.rows.filter((r) => r.collection === "a" && r.genres.length === 1 && r.genres[0] === "Hip Hop").length;
    expect(hipHopOnly).toBeGreaterThan(0);
    expect(rowsOfCollection(dataset, "a")).toEqual(rowsOf(all, "a").filter((r) => !(fset.rows[all.sourceRows[r]].genres.join() === "Hip Hop")));
    expect(rowsOfCollection(dataset, "a")).toHaveLength(180 - hipHopOnly);

    // The scorer's calls: every model is trained on one collection only, and the two transfer fits
    // are trained on all of one collection and score the other's test rows.
    const rowsA = rowsOfCollection(dataset, "a");
    const rowsB = rowsOfCollection(dataset, "b");
    const coll = (rows: number[]) => [...new Set(rows.map((r) => dataset.collections[r]))];
    for (const call of calls) expect(coll(call.train)).toHaveLength(1);
    const transferFits = calls.filter((call) => coll(call.train)[0] !== coll(call.test)[0]);
    expect(transferFits.map((t) => [t.train, t.test])).toEqual([
      [rowsA, rowsB],
      [rowsB, rowsA],
    ]);

    // within: a direct CV of b (and a) on the union folds restricted to it, same head and seed
    for (const d of result.directions) {
      const member = new Set(rowsOfCollection(dataset, d.test));
      const folds = restrictFolds(foldsAll, (r) => member.has(r));
      const direct = aggregate(crossValidate(dataset, folds, pooledScorer(["img"], HEAD), { ...DEFAULT_CV, seed: RUN.seed }), shared, testTrainRatio(folds));
      expect(d.within).toEqual(direct);
      expect(d.transfer.microF1.perFold).toHaveLength(3);
      expect(d.delta.microF1.delta).toBeCloseTo(d.transfer.microF1.mean - d.within.microF1.mean, 10);
      // the collections share their signal: transfer works about as well as within
      expect(d.transfer.rocAucMacro.mean).toBeGreaterThan(0.68);
      expect(d.within.rocAucMacro.mean).toBeGreaterThan(0.68);
      expect(d.transfer.microF1.mean).toBeGreaterThan(d.predictAll.microF1.mean);
      expect(d.words).toMatch(new RegExp(`^Trained on ${d.train} \\(${d.trainRows} covers\\) and tested on ${d.test}`));
    }
  });

  test("collections whose signal lives on different dims: transfer is at chance while within is clearly better", async () => {
    const fset = syntheticCollections(
      [
        { name: "a", n: 180 },
        { name: "b", n: 180, signalOffset: 5 },
      ],
      3,
      12,
    );
    const all = datasetOf(fset);
    const foldsAll = repeatedStratifiedFolds(foldLabels(all), 3, 1, 5);
    const t = await runTransfer(fset, all, foldsAll, IMG, 5, RUN);
    expect(t!.result.directions.map((d) => `${d.train}→${d.test}`)).toEqual(["a→b", "b→a"]);
    for (const d of t!.result.directions) {
      // a model that saw the test collection's rows would find its signal: this is what a leak breaks
      expect(Math.abs(d.transfer.rocAucMacro.mean - 0.5)).toBeLessThan(0.12);
      expect(d.within.rocAucMacro.mean).toBeGreaterThan(0.68);
      expect(d.within.rocAucMacro.mean - d.transfer.rocAucMacro.mean).toBeGreaterThan(0.2);
      expect(d.delta.rocAucMacro.delta).toBeLessThan(-0.2);
    }
  });

  test("null with one collection or fewer than two shared genres", async () => {
    const one = syntheticFeatureSet(60, 2);
    const oneDs = datasetOf(one);
    expect(await runTransfer(one, oneDs, repeatedStratifiedFolds(foldLabels(oneDs), 3, 1, 1), IMG, 5, RUN)).toBeNull();
    const fset = syntheticCollections(
      [
        { name: "a", n: 60, probs: [0.6, 0.5, 0, 0, 0] },
        { name: "b", n: 60, probs: [0.6, 0, 0.5, 0, 0] },
      ],
      2,
      12,
    );
    const ds = datasetOf(fset);
    expect(sharedGenres(ds, 5)).toEqual(["Electronic"]);
    expect(await runTransfer(fset, ds, repeatedStratifiedFolds(foldLabels(ds), 3, 1, 1), IMG, 5, RUN)).toBeNull();
  });
});

describe("real extra data", () => {
  test("extra rows join the training folds only; the test folds are the target's own", async () => {
    const fset = syntheticCollections(
      [
        { name: "a", n: 180 },
        { name: "b", n: 120 },
      ],
      3,
      12,
    );
    const all = datasetOf(fset);
    const foldsAll = repeatedStratifiedFolds(foldLabels(all), 3, 1, 5);
    const { value, calls } = await recordScorerCalls(() => runExtraData(fset, all, foldsAll, IMG, 5, RUN));
    expect(value.results.map((r) => [r.target, r.extra])).toEqual([
      ["a", ["b"]],
      ["b", ["a"]],
    ]);
    for (const r of value.results) {
      const own = new Set(rowsOf(all, r.target));
      const extra = rowsOf(all, r.extra[0]);
      const ownFolds = restrictFolds(foldsAll, (x) => own.has(x));
      expect(r.genres).toEqual(SYN_GENRES);
      expect(r.ownTrainRows).toBe(Math.round(ownFolds.reduce((a, f) => a + f.train.length, 0) / 3));
      expect(r.withExtraTrainRows).toBe(r.ownTrainRows + extra.length);
      expect(r.own.microF1.perFold).toHaveLength(3);
      expect(r.withExtra.microF1.perFold).toHaveLength(3);
      // every test fold of the target was scored twice: once trained on its own training rows, once on those + every extra row
      for (const f of ownFolds) {
        const scored = calls.filter((c) => c.test.length === f.test.length && c.test.every((x, i) => x === f.test[i]));
        expect(scored.map((c) => c.train)).toEqual([f.train, sorted([...f.train, ...extra])]);
      }
      // no call ever scores an extra row with a model trained on the target's training folds alone
      for (const c of calls) if (c.train.every((x) => own.has(x))) expect(c.test.every((x) => own.has(x))).toBe(true);
      // extra covers with the same signal do not hurt
      expect(r.withExtra.rocAucMacro.mean).toBeGreaterThan(r.own.rocAucMacro.mean - 0.02);
      expect(r.withExtra.microF1.mean).toBeGreaterThan(r.own.microF1.mean - 0.03);
      expect(r.delta.rocAucMacro.delta).toBeCloseTo(r.withExtra.rocAucMacro.mean - r.own.rocAucMacro.mean, 10);
      expect(r.words).toMatch(new RegExp(`^On ${r.target}'s test folds, adding ${r.extra[0]} \\(${extra.length} covers\\)`));
    }
  });

  test("extra covers whose labels conflict with their pictures lower the target's AUC", async () => {
    const fset = syntheticCollections(
      [
        { name: "a", n: 180 },
        { name: "b", n: 180, shiftLabels: true },
      ],
      3,
      12,
    );
    const all = datasetOf(fset);
    const foldsAll = repeatedStratifiedFolds(foldLabels(all), 3, 1, 5);
    const { results } = await runExtraData(fset, all, foldsAll, IMG, 5, RUN);
    expect(results).toHaveLength(2);
    for (const r of results) {
      expect(r.own.rocAucMacro.mean).toBeGreaterThan(0.7);
      expect(r.withExtra.rocAucMacro.mean).toBeLessThan(r.own.rocAucMacro.mean - 0.05);
      expect(r.delta.rocAucMacro.delta).toBeLessThan(-0.05);
    }
  });

  test("a target with fewer than two genres of its own is skipped; one collection gives nothing", async () => {
    const fset = syntheticCollections(
      [
        { name: "a", n: 60 },
        { name: "b", n: 40, probs: [1, 0, 0, 0, 0] },
      ],
      2,
      12,
    );
    const all = datasetOf(fset);
    const foldsAll = repeatedStratifiedFolds(foldLabels(all), 3, 1, 1);
    const { results } = await runExtraData(fset, all, foldsAll, IMG, 5, { ...RUN, head: { ...HEAD, minSteps: 20, epochs: 2 } });
    expect(results.map((r) => r.target)).toEqual(["a"]);
    const one = syntheticFeatureSet(60, 2);
    const oneDs = datasetOf(one);
    expect(await runExtraData(one, oneDs, repeatedStratifiedFolds(foldLabels(oneDs), 3, 1, 1), IMG, 5, RUN)).toEqual({ results: [], datasets: [] });
  });
});

describe("runStudy with collections", () => {
  const config = () =>
    defaultStudyConfig({
      folds: 3,
      repeats: 1,
      genres: SYN_GENRES,
      minPositives: 5,
      head: { ...HEAD, epochs: 2, minSteps: 20 },
      imgBackbones: IMG,
      variants: false,
      dataFractions: [],
      workers: 0,
      examples: 4,
      log: () => undefined,
    });

  test("two collections: per-collection scores, transfer both ways and extra data in results.json", async () => {
    const fset = syntheticFeatureSet(120, 9, 16, 1.5, ["north", "south"]);
    const { results } = await runStudy(fset, config());
    // row 3 (north) failed extraction
    expect(results.dataset.collections!.map((c) => [c.name, c.dir, c.rows])).toEqual([
      ["north", "/tmp/north", 59],
      ["south", "/tmp/south", 60],
    ]);
    expect(results.dataset.rows).toBe(119);
    for (const c of results.dataset.collections!) {
      expect(c.facesRows).toBe(fset.rows.filter((r) => r.collection === c.name && !r.error && r.faces.length > 0).length);
      expect(Object.keys(c.genreCounts)).toEqual(SYN_GENRES);
      expect(c.medianSize).toEqual({ width: 300, height: 300 });
    }
    const byCollection = results.collections!;
    expect(Object.keys(byCollection)).toEqual(["north", "south"]);
    for (const name of ["north", "south"]) {
      expect(byCollection[name].rows).toBe(name === "north" ? 59 : 60);
      expect(Object.keys(byCollection[name].allCovers)).toEqual(ALL_INPUT_SETS);
      expect(byCollection[name].allCovers.img.microF1.perFold).toHaveLength(3);
    }
    expect(results.transfer!.directions.map((d) => [d.train, d.test])).toEqual([
      ["north", "south"],
      ["south", "north"],
    ]);
    expect(results.extraData!.map((e) => [e.target, e.extra])).toEqual([
      ["north", ["south"]],
      ["south", ["north"]],
    ]);
    for (const e of results.examples) expect(["north", "south"]).toContain(e.collection);
    const json = JSON.parse(JSON.stringify(results));
    expect(Object.keys(json.collections)).toEqual(["north", "south"]);
  }, 60_000);

  test("one collection: no per-collection scores, no transfer, no extra data", async () => {
    const fset = syntheticFeatureSet(60, 9);
    for (const r of fset.rows) r.faces = []; // no faces population: only the all-covers steps run (time)
    const { results } = await runStudy(fset, config());
    expect(results.dataset.collections!.map((c) => [c.name, c.rows, c.facesRows])).toEqual([["syn", 59, 0]]);
    expect(results.collections).toEqual({});
    expect(results.transfer).toBeNull();
    expect(results.extraData).toEqual([]);
  }, 60_000);
});
