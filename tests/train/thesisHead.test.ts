import { initTf, tf } from "../../lib/tf";
import { buildDataset, usableRows } from "../../lib/train/dataset";
import { DEFAULT_THESIS_HEAD, thesisHeadRunner, buildThesisModel } from "../../lib/train/thesisHead";
import { syntheticFeatureSet, SYN_GENRES } from "./synthetic";

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
  // Fake "maps": the synthetic embedding (with planted genre signal) stands in for mixed7.
  const readMaps = async (_table: string, rows?: number[]) => {
    const dim = fset.embeddings.mobilenet_v1.dim;
    const out = new Float32Array(rows!.length * dim);
    rows!.forEach((r, i) => out.set(fset.embeddings.mobilenet_v1.data.subarray(r * dim, (r + 1) * dim), i * dim));
    return out;
  };
  const run = thesisHeadRunner({ ...DEFAULT_THESIS_HEAD, hidden: 16, maxEpochs: 8, patience: 3, lrPatience: 1, learningRate: 1e-2, cvFolds: 2, testFraction: 0.25 }, readMaps);
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
