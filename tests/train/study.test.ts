import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initTf } from "../../lib/tf";
import { defaultStudyConfig, keptGenres, runDataSizeCurve, runInputSet, runStudy, runThesisTables } from "../../lib/train/study";
import { repeatedStratifiedFolds } from "../../lib/train/stratify";
import { loadCheckpoint, scoreWithCheckpoint } from "../../lib/train/checkpoint";
import { buildDataset, usableRows } from "../../lib/train/dataset";
import { DEFAULT_HEAD } from "../../lib/train/heads";
import { syntheticFeatureSet, SYN_GENRES } from "./synthetic";
import { needs, SHARED_PART } from "../helpers/parts";

const THESIS = path.resolve(__dirname, "../../../shared/data/thesis");
const HAS_THESIS = fs.existsSync(path.join(THESIS, "facial.csv"));

beforeAll(async () => {
  await initTf();
});

test("the data-size curve: the same test folds, stratified cuts of each training fold, the full fold as the last point, a slope per doubling", async () => {
  const fset = syntheticFeatureSet(400, 5, 32, 0.8);
  const ds = buildDataset(fset, usableRows(fset, SYN_GENRES).rows, { genres: SYN_GENRES, imgBackbones: ["mobilenet_v1"], population: "all" });
  const folds = repeatedStratifiedFolds({ y: ds.y, n: ds.n, k: ds.k }, 4, 1, 3);
  const head = { ...DEFAULT_HEAD, epochs: 10, minSteps: 150, batchSize: 64 };
  const run = () => ({ head, backbones: ["mobilenet_v1"], seed: 7 });
  const full = (await runInputSet(ds, folds, "img", run())).result;
  const curve = await runDataSizeCurve(ds, folds, [0.25, 0.5], full, run);
  const trainRows = folds.reduce((a, f) => a + f.train.length, 0) / folds.length;
  expect(curve.points.map((p) => p.fraction)).toEqual([0.25, 0.5, 1]);
  curve.points.forEach((p) => expect(Math.abs(p.trainRows - p.fraction * trainRows)).toBeLessThanOrEqual(3));
  for (const p of curve.points) expect(p.microF1.perFold).toHaveLength(4); // every point scored on all 4 test folds
  expect(curve.points[2].rocAucMacro).toEqual(full.rocAucMacro);
  // A planted signal is learnt better from more rows: the slope per doubling is positive.
  expect(curve.perDoubling.rocAucMacro).toBeGreaterThan(0);
  expect(curve.points[0].rocAucMacro.mean).toBeLessThan(curve.points[2].rocAucMacro.mean);
}, 120_000);

test("genres without examples are dropped and said so", () => {
  const fs1 = syntheticFeatureSet(60, 2);
  const { kept, dropped } = keptGenres(fs1, usableRows(fs1, [...SYN_GENRES, "Jazz"]).rows, [...SYN_GENRES, "Jazz"], 3);
  expect(kept).toEqual(SYN_GENRES);
  expect(dropped).toEqual([{ genre: "Jazz", reason: "no covers with this genre in the table" }]);
});

test("a small study fills results.json, answers the faces question with CIs, and writes a usable checkpoint", async () => {
  const fset = syntheticFeatureSet(240, 9);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "study-"));
  const { results } = await runStudy(
    fset,
    defaultStudyConfig({
      folds: 3,
      repeats: 1,
      genres: [...SYN_GENRES, "Jazz"],
      head: { ...DEFAULT_HEAD, epochs: 5, minSteps: 100, batchSize: 64 },
      variants: false,
      checkpointDir: path.join(dir, "best"),
      examples: 6,
      log: () => undefined,
    }),
  );
  expect(results.dataset.droppedGenres.map((d) => d.genre)).toEqual(["Jazz"]);
  expect(results.dataset.rows).toBe(239);
  expect(Object.keys(results.inputSets)).toEqual(["img", "face", "clr", "face+clr", "img+face", "img+clr", "img+face+clr"]);
  expect(Object.keys(results.allCovers)).toEqual(["img", "img+clr", "img+face", "img+face+clr"]);
  expect(results.allCovers.img.rocAucMacro.mean).toBeGreaterThan(results.allCovers.img.rocAucMacro.ci[0]);
  expect(results.allCovers.img.rocAucMacro.mean).toBeGreaterThan(0.7);
  expect(results.baselines.predictAll.microF1.mean).toBeLessThan(results.allCovers.img.microF1.mean);
  // Every input set of a population was scored on the same folds.
  expect(results.allCovers.img.microF1.perFold).toHaveLength(3);
  const faceCmp = results.comparisons.find((c) => c.a === "img+face" && c.b === "img" && c.population === "all" && c.metric === "microF1")!;
  expect(faceCmp.ci[0]).toBeLessThanOrEqual(faceCmp.delta);
  expect(faceCmp.pHolm).toBeGreaterThanOrEqual(faceCmp.p);
  expect(faceCmp.words).toMatch(/micro-F1 changes by/);
  expect(results.answer.faces).toMatch(/faces/);
  expect(results.dataSizeCurve!.points.map((p) => p.fraction)).toEqual([0.125, 0.25, 0.5, 1]);
  expect(results.dataSizeCurve!.points[3].microF1).toEqual(results.allCovers.img.microF1);
  expect(results.examples).toHaveLength(6);
  expect(results.examples[0].trueGenres.length).toBeGreaterThan(0);
  expect(JSON.parse(JSON.stringify(results)).version).toBe(1);

  const ckpt = await loadCheckpoint(results.bestCheckpoint!);
  expect(ckpt.meta.genres).toEqual(SYN_GENRES);
  expect(ckpt.meta.thresholds).toHaveLength(5);
  const ds = buildDataset(fset, usableRows(fset, SYN_GENRES).rows, { genres: SYN_GENRES, imgBackbones: ckpt.meta.imgBackbones, population: "all" });
  const { scores, genres } = scoreWithCheckpoint(ckpt, ds, [0, 1, 2]);
  expect(scores).toHaveLength(15);
  expect(genres).toHaveLength(3);
  await expect(loadCheckpoint(dir)).rejects.toThrow(/no checkpoint.json/);
}, 120_000);

needs({ [`the study's tables in ${THESIS} (${SHARED_PART})`]: HAS_THESIS }).test("the study's own tables: 1,016 rows, 7 genres, predict-all ≈ 0.32 as reported", async () => {
  const r = await runThesisTables(THESIS, defaultStudyConfig({ folds: 3, repeats: 1, head: { ...DEFAULT_HEAD, epochs: 3, minSteps: 50 } }));
  expect(r.rows).toBe(1016);
  expect(r.genres).toHaveLength(7);
  expect(r.inputs).toHaveLength(19);
  expect(r.baselines.predictAll.microF1.mean).toBeGreaterThan(0.3);
  expect(r.baselines.predictAll.microF1.mean).toBeLessThan(0.34);
  expect(r.cv.microF1.perFold).toHaveLength(3);
}, 120_000);
