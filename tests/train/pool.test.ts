import { initTf } from "../../lib/tf";
import { buildDataset, usableRows, type LabelledDataset } from "../../lib/train/dataset";
import { repeatedStratifiedFolds, type Fold } from "../../lib/train/stratify";
import { aggregate, crossValidate, crossValidateAsync, pooledScorer, priorScorer, type CvOutcome } from "../../lib/train/cv";
import { DEFAULT_HEAD } from "../../lib/train/heads";
import { defaultFoldWorkers, startFoldPool, type FoldPool } from "../../lib/train/pool";
import { defaultStudyConfig, runInputSet, runStudy } from "../../lib/train/study";
import type { StudyResults } from "../../lib/train/results";
import { InterruptedError } from "../../lib/util/errors";
import { syntheticFeatureSet, SYN_GENRES } from "./synthetic";

// Small enough for seconds, big enough that every fold trains for real (several batches, tuned thresholds).
const HEAD = { ...DEFAULT_HEAD, l2: 1e-2, learningRate: 1e-2, epochs: 4, minSteps: 40, batchSize: 64 };

// Each test takes a few seconds on an idle 2-core machine; the timeout only catches a hanging pool
// (generous, because the development machine often runs other jobs).
const HANG = 60_000;

let pool: FoldPool;
let ds: LabelledDataset;
let folds: Fold[];

beforeAll(async () => {
  await initTf();
  pool = await startFoldPool(2);
  const fset = syntheticFeatureSet(240, 21);
  ds = buildDataset(fset, usableRows(fset, SYN_GENRES).rows, { genres: SYN_GENRES, imgBackbones: ["mobilenet_v1", "inception_v3"], population: "all" });
  folds = repeatedStratifiedFolds({ y: ds.y, n: ds.n, k: ds.k }, 3, 2, 5);
});

afterAll(async () => {
  await pool?.close();
});

function expectSameOutcome(par: CvOutcome, seq: CvOutcome): void {
  expect(par.folds.map((f) => f.fold)).toEqual(seq.folds.map((f) => f.fold));
  par.folds.forEach((f, i) => {
    // Bit for bit: the same bytes, not merely close.
    expect(Buffer.from(f.scores.buffer, f.scores.byteOffset, f.scores.byteLength).equals(Buffer.from(seq.folds[i].scores.buffer, seq.folds[i].scores.byteOffset, seq.folds[i].scores.byteLength))).toBe(true);
    expect(f.thresholds).toEqual(seq.folds[i].thresholds);
    expect(f.metrics).toEqual(seq.folds[i].metrics);
  });
  expect(Buffer.from(par.oof.buffer).equals(Buffer.from(seq.oof.buffer))).toBe(true);
  expect(Buffer.from(par.oofPred.buffer).equals(Buffer.from(seq.oofPred.buffer))).toBe(true);
}

test("the default is one worker per CPU, at most 4 (1 CPU: no pool)", () => {
  expect(defaultFoldWorkers(1)).toBe(1);
  expect(defaultFoldWorkers(2)).toBe(2);
  expect(defaultFoldWorkers(16)).toBe(4);
  expect(pool.size).toBe(2);
});

test("folds on 2 workers are bit-identical to the sequential path, count progress, and leak no tensors", async () => {
  const opts = { innerFolds: 2, innerFraction: 0.2, thresholds: "tuned" as const, seed: 42 };
  const scorer = pooledScorer(["img", "face"], HEAD);
  const seq = crossValidate(ds, folds, scorer, opts);
  const ticks: number[] = [];
  const par = await crossValidateAsync(ds, folds, scorer, { ...opts, onFold: (done, total) => ticks.push(done / total) }, pool);
  expectSameOutcome(par, seq);
  expect(aggregate(par, ds.genres)).toEqual(aggregate(seq, ds.genres));
  expect(ticks).toEqual([1, 2, 3, 4, 5, 6].map((d) => d / 6));
  // Every job disposes what it creates: the workers' tensor counts do not grow from one run to the next.
  const after1 = pool.tensorCounts();
  await crossValidateAsync(ds, folds, scorer, opts, pool);
  expect(pool.tensorCounts()).toEqual(after1);
  // Scorers without a spec (baselines) stay in this thread and still work with a pool given.
  expectSameOutcome(await crossValidateAsync(ds, folds, priorScorer, opts, pool), crossValidate(ds, folds, priorScorer, opts));
}, HANG);

test("runInputSet gives the same result on the pool as in this thread", async () => {
  const run = { head: HEAD, backbones: ["mobilenet_v1", "inception_v3"], seed: 7 };
  const seq = await runInputSet(ds, folds, "img+clr", run);
  const par = await runInputSet(ds, folds, "img+clr", { ...run, pool });
  const strip = (r: typeof seq.result) => ({ ...r, seconds: 0 });
  expect(strip(par.result)).toEqual(strip(seq.result));
  expectSameOutcome(par.cv, seq.cv);
}, HANG);

test("an error inside a worker names the input set and the fold; the pool keeps working", async () => {
  const noFace: LabelledDataset = { ...ds, blocks: { img: ds.blocks.img, clr: ds.blocks.clr } };
  await expect(runInputSet(noFace, folds, "img+face", { head: HEAD, backbones: [], seed: 1, pool, label: "input set img+face on all covers" })).rejects.toThrow(
    /^input set img\+face on all covers, fold [123] of 3, repeat [12] of 2: the dataset has no "face" block$/,
  );
  // The same error on the sequential path reads the same.
  await expect(runInputSet(noFace, folds, "img+face", { head: HEAD, backbones: [], seed: 1, label: "input set img+face on all covers" })).rejects.toThrow(
    /^input set img\+face on all covers, fold 1 of 3, repeat 1 of 2: the dataset has no "face" block$/,
  );
  const again = await crossValidateAsync(ds, folds.slice(0, 2), pooledScorer(["clr"], HEAD), { innerFolds: 2, innerFraction: 0.2, thresholds: "tuned", seed: 3 }, pool);
  expect(again.folds).toHaveLength(2);
}, HANG);

test("a stopped pool rejects its pending folds with the reason, naming the fold", async () => {
  const p2 = await startFoldPool(2);
  const run = crossValidateAsync(ds, folds, pooledScorer(["img"], HEAD), { innerFolds: 2, innerFraction: 0.2, thresholds: "tuned", seed: 9, label: "input set img" }, p2);
  const rejected = expect(run).rejects.toThrow(/^input set img, fold \d of 3, repeat \d of 2: interrupted \(Ctrl-C\)$/);
  await p2.terminate(new Error("interrupted (Ctrl-C)"));
  await rejected;
  await expect(p2.runFold(ds, folds[0], pooledScorer(["img"], HEAD).spec!, { innerFolds: 2, innerFraction: 0.2, thresholds: "tuned", seed: 9 })).rejects.toThrow(/interrupted/);
}, HANG);

/** results.json without what legitimately differs between two runs (clock times). */
function comparable(r: StudyResults): unknown {
  const json = JSON.parse(JSON.stringify(r, (key, value) => (key === "seconds" || key === "createdAt" || key === "timings" ? undefined : value)));
  return json;
}

test("a whole (small) study gives identical results.json numbers with 0 and 2 workers", async () => {
  const fset = syntheticFeatureSet(120, 4);
  const config = { folds: 3, repeats: 1, head: { ...HEAD, epochs: 2, minSteps: 20 }, variants: false, examples: 4, log: () => undefined };
  const seq = await runStudy(fset, defaultStudyConfig({ ...config, workers: 0 }));
  const par = await runStudy(fset, defaultStudyConfig({ ...config, workers: 2 }));
  expect(seq.results.timings.workers).toBe(1);
  expect(par.results.timings.workers).toBe(2);
  expect(comparable(par.results)).toEqual(comparable(seq.results));
  expect(par.results.timings.steps["start workers"]).toBeGreaterThan(0);
}, HANG);

test("Ctrl-C during a study stops the workers and ends with exit code 130", async () => {
  const fset = syntheticFeatureSet(120, 4);
  const before = process.listenerCount("SIGINT");
  const study = runStudy(fset, defaultStudyConfig({ folds: 3, repeats: 1, head: { ...HEAD, epochs: 30, minSteps: 300 }, variants: false, workers: 2, log: () => undefined }));
  const settled = study.then(
    () => null,
    (e: unknown) => e,
  );
  let done = false;
  void settled.then(() => (done = true));
  // The study listens for SIGINT only while its workers run: wait for that, then "press" Ctrl-C.
  while (process.listenerCount("SIGINT") === before && !done) await new Promise((r) => setTimeout(r, 20));
  expect(done).toBe(false);
  process.emit("SIGINT");
  const err = await settled;
  expect(err).toBeInstanceOf(InterruptedError);
  expect((err as InterruptedError).exitCode).toBe(130);
  expect(process.listenerCount("SIGINT")).toBe(before);
}, HANG);
