import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initTf, tf } from "../../lib/tf";
import { buildDataset, usableRows } from "../../lib/train/dataset";
import { DEFAULT_THESIS_HEAD, thesisFitCacheDir, thesisHeadRunner, buildThesisModel, type ThesisHeadConfig } from "../../lib/train/thesisHead";
import type { FeatureSet } from "../../lib/features/store";
import { InterruptedError } from "../../lib/util/errors";
import { syntheticFeatureSet, SYN_GENRES } from "./synthetic";

/** Small, fast settings; `workers: 1, cache: false` is the in-thread reference path. */
const SMALL: ThesisHeadConfig = { ...DEFAULT_THESIS_HEAD, hidden: 16, maxEpochs: 8, patience: 3, lrPatience: 1, learningRate: 1e-2, cvFolds: 2, testFraction: 0.25, workers: 1, cache: false };

/** The synthetic embedding (with planted genre signal) stands in for the mixed7 maps. */
/** Single-split results without their wall times (the only thing that may differ between runs). */
const untimed = (r: Awaited<ReturnType<ReturnType<typeof thesisHeadRunner>>>) => Object.fromEntries(Object.entries(r.singleSplit).map(([k, v]) => [k, { ...v, seconds: 0 }]));

function fakeMaps(fset: FeatureSet) {
  return async (_table: string, rows?: number[]) => {
    const dim = fset.embeddings.mobilenet_v1.dim;
    const out = new Float32Array(rows!.length * dim);
    rows!.forEach((r, i) => out.set(fset.embeddings.mobilenet_v1.data.subarray(r * dim, (r + 1) * dim), i * dim));
    return out;
  };
}

beforeAll(async () => {
  await initTf();
});

test("the study's head has the study's shape: Flatten(7x7x768) → Dense(1024) → sigmoids, fused inputs after Flatten", () => {
  const model = buildThesisModel(7 * 7 * 768, 19, 7, DEFAULT_THESIS_HEAD);
  expect(model.countParams()).toBe((37632 + 19) * 1024 + 1024 + 1024 * 7 + 7);
  expect(model.inputs.map((i) => i.shape)).toEqual([[null, 37632], [null, 19]]);
  model.dispose();
});

test("single split + small CV on cached maps: metrics, learning curves, early stopping, no tensor leak", async () => {
  const fset = syntheticFeatureSet(400, 4);
  const faces = buildDataset(fset, usableRows(fset, SYN_GENRES).rows, { genres: SYN_GENRES, imgBackbones: ["mobilenet_v1"], population: "faces" });
  const run = thesisHeadRunner(SMALL, fakeMaps(fset));
  const before = tf.memory().numTensors;
  const r = await run(fset, faces, () => undefined);
  expect(tf.memory().numTensors).toBeLessThanOrEqual(before + 4); // tfjs's Adam keeps one scalar per optimizer
  expect(Object.keys(r.singleSplit)).toEqual(["img", "img+face+clr"]);
  const s = r.singleSplit.img;
  expect(s.trainRows + s.testRows).toBe(faces.n);
  expect(s.at05.microF1.ci[0]).toBeLessThanOrEqual(s.at05.microF1.mean);
  expect(s.tuned.rocAucMacro.mean).toBeGreaterThan(0.6);
  expect(r.cv!.img.microF1.perFold).toHaveLength(2);
  expect(r.learningCurves[0].points.length).toBeGreaterThan(0);
  expect(r.learningCurves[0].points.length).toBeLessThanOrEqual(8);
  expect(r.learningCurves[0].bestEpoch).toBeGreaterThan(0);
}, 120_000);

test("the study's scale by default: a stratified 1,016 of the covers with faces, two threads, fits cached", () => {
  expect(DEFAULT_THESIS_HEAD.maxRows).toBe(1016);
  expect(DEFAULT_THESIS_HEAD.cache).toBe(true);
  expect(DEFAULT_THESIS_HEAD.train).toBe(true);
  expect(thesisFitCacheDir("/data/features/covers.csv")).toBe(path.resolve("/data/features/covers.thesis-head"));
});

test("fits on worker threads equal the in-thread fits; finished fits are cached, a stopped run resumes, cached-only runs train nothing", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cg-thesis-"));
  try {
    const fset = { ...syntheticFeatureSet(240, 9), tablePath: path.join(dir, "covers.csv") };
    const faces = buildDataset(fset, usableRows(fset, SYN_GENRES).rows, { genres: SYN_GENRES, imgBackbones: ["mobilenet_v1"], population: "faces" });
    const quiet = () => undefined;
    const reference = await thesisHeadRunner(SMALL, fakeMaps(fset))(fset, faces, quiet);

    // Nothing cached yet and training off: nothing is trained, and the result says how to get it.
    const none = await thesisHeadRunner({ ...SMALL, cache: true, train: false }, fakeMaps(fset))(fset, faces, quiet);
    expect(none.singleSplit).toEqual({});
    expect(none.cv).toBeNull();
    expect(none.skipped).toMatch(/6 of 6 fits not trained yet.*covergenre study --thesis-head/);
    expect(fs.existsSync(thesisFitCacheDir(fset.tablePath))).toBe(false);

    // Two worker threads, cache on: the same numbers as the in-thread run, six fits written.
    const logs: string[] = [];
    const pooled = await thesisHeadRunner({ ...SMALL, cache: true, workers: 2 }, fakeMaps(fset))(fset, faces, (l) => logs.push(l));
    expect(logs.join("\n")).toMatch(/training 6 fits on 2 threads/);
    expect(logs.some((l) => /epoch 1:/.test(l))).toBe(true); // workers' epoch lines reach the caller's log
    expect(untimed(pooled)).toEqual(untimed(reference));
    expect(pooled.cv).toEqual(reference.cv);
    const cacheDir = thesisFitCacheDir(fset.tablePath);
    const entries = fs.readdirSync(cacheDir).filter((f) => f.endsWith(".json"));
    expect(entries).toHaveLength(6);

    // A run stopped after some fits: the rest are trained, the finished ones read back.
    fs.rmSync(path.join(cacheDir, entries[0]));
    logs.length = 0;
    const resumed = await thesisHeadRunner({ ...SMALL, cache: true }, fakeMaps(fset))(fset, faces, (l) => logs.push(l));
    expect(logs.join("\n")).toMatch(/5 of 6 fits read from/);
    expect(logs.join("\n")).toMatch(/training 1 fit on 1 thread/);
    expect(resumed.cv).toEqual(reference.cv);

    // Cached-only (npm start, the notebook): everything from the cache, identical.
    const cachedOnly = await thesisHeadRunner({ ...SMALL, cache: true, train: false }, fakeMaps(fset))(fset, faces, quiet);
    expect(untimed(cachedOnly)).toEqual(untimed(reference));
    expect(cachedOnly.cv).toEqual(reference.cv);
    expect(cachedOnly.skipped).toBeNull();

    // Other training settings are other fits: nothing stale is reused.
    const other = await thesisHeadRunner({ ...SMALL, cache: true, train: false, hidden: 8 }, fakeMaps(fset))(fset, faces, quiet);
    expect(other.singleSplit).toEqual({});
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 240_000);

test("Ctrl-C stops the worker threads at once with an InterruptedError (exit code 130); nothing half-written is cached", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cg-thesis-int-"));
  try {
    const fset = { ...syntheticFeatureSet(240, 9), tablePath: path.join(dir, "covers.csv") };
    const faces = buildDataset(fset, usableRows(fset, SYN_GENRES).rows, { genres: SYN_GENRES, imgBackbones: ["mobilenet_v1"], population: "faces" });
    const long: ThesisHeadConfig = { ...SMALL, maxEpochs: 100_000, patience: 100_000, cache: true, workers: 2 };
    let sent = false;
    const log = (line: string) => {
      if (!sent && /epoch 1:/.test(line)) {
        sent = true;
        process.emit("SIGINT");
      }
    };
    const err = await thesisHeadRunner(long, fakeMaps(fset))(fset, faces, log).catch((e: unknown) => e);
    expect(sent).toBe(true);
    expect(err).toBeInstanceOf(InterruptedError);
    expect((err as InterruptedError).exitCode).toBe(130);
    expect((err as Error).message).toMatch(/re-run the same command to resume/);
    const cacheDir = thesisFitCacheDir(fset.tablePath);
    expect(fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir) : []).toEqual([]);
    expect(process.listenerCount("SIGINT")).toBe(0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
