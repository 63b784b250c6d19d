/**
 * `predict` (lib/train/predict.ts, lib/train/checkpoint.ts, `covergenre predict`): a tiny checkpoint
 * is trained on the synthetic FeatureSet of tests/train/synthetic.ts (its 768-d embedding standing in
 * for InceptionV3's pooled mixed7, so the real backbone runs at predict time), then used on covers
 * from the pipeline's synthetic crawl. Checks the output's shape, scores and stored thresholds,
 * bad files, determinism, agreement with the feature table's own path, tensors, and the CLI.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main } from "../../lib/cli/main";
import { buildFeatureTable } from "../../lib/features/build";
import { defaultFeatureConfig } from "../../lib/features/config";
import { readFeatureSet, type FeatureSet } from "../../lib/features/store";
import { initTf, tf } from "../../lib/tf";
import { buildMeta, loadCheckpoint, saveCheckpoint, scoreWithCheckpoint, trainFinalHead, type CheckpointMeta } from "../../lib/train/checkpoint";
import { buildDataset, usableRows } from "../../lib/train/dataset";
import { DEFAULT_HEAD } from "../../lib/train/heads";
import { predictFiles, type Prediction } from "../../lib/train/predict";
import { makeSyntheticCrawl } from "../pipeline/fixture";
import { syntheticFeatureSet, SYN_GENRES } from "./synthetic";
import { capture, runBin } from "../helpers/cli";

const HEAD = { ...DEFAULT_HEAD, epochs: 5, minSteps: 20 };

/** Train and save a checkpoint of `inputSet` on the synthetic set (img = a 768-d "inception_v3"). */
async function makeCheckpoint(dir: string, inputSet: string): Promise<CheckpointMeta> {
  const syn = syntheticFeatureSet(120, 4, 768);
  const fset: FeatureSet = { ...syn, embeddings: { inception_v3: syn.embeddings.mobilenet_v1 } };
  const ds = buildDataset(fset, usableRows(fset, SYN_GENRES).rows, { genres: SYN_GENRES, imgBackbones: ["inception_v3"], population: "all" });
  const trained = trainFinalHead(ds, inputSet, HEAD, 42);
  const meta = buildMeta({ ds, inputSet, imgBackbones: ["inception_v3"], head: HEAD, trained, table: fset.tablePath, cv: null });
  await saveCheckpoint(dir, meta, trained.weights);
  return meta;
}

/** The thresholds rule, except where a score rounded to 4 places sits on its threshold. */
function expectGenresFromThresholds(p: Prediction, meta: CheckpointMeta): void {
  meta.genres.forEach((g, j) => {
    const s = p.scores![g];
    if (Math.abs(s - meta.thresholds[j]) > 1e-4) expect([g, p.genres!.includes(g)]).toEqual([g, s >= meta.thresholds[j]]);
  });
  expect(p.genres!.every((g) => meta.genres.includes(g))).toBe(true);
  expect(p.genres).toEqual(meta.genres.filter((g) => p.genres!.includes(g))); // in checkpoint order
}



describe("predict with a checkpoint", () => {
  let tmp: string;
  let full: string; // img+face+clr: backbone and face model run on each image
  let clrOnly: string;
  let fullMeta: CheckpointMeta;
  let covers: string[]; // absolute paths, in the feature table's row order
  let notJpeg: string;
  let missing: string;
  let first: Prediction[];

  beforeAll(async () => {
    await initTf();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cg-predict-"));
    full = path.join(tmp, "ckpt-full");
    clrOnly = path.join(tmp, "ckpt-clr");
    fullMeta = await makeCheckpoint(full, "img+face+clr");
    await makeCheckpoint(clrOnly, "clr");
    // 5 covers (300x300): Rock/1000 and Pop/1002 show a person, 1001 and 1003 do not, plus a multi-genre one
    await makeSyntheticCrawl(path.join(tmp, "covers"), 2, ["Rock", "Pop"]);
    notJpeg = path.join(tmp, "notes.jpg");
    fs.writeFileSync(notJpeg, "this is a text file, not a JPEG\n");
    missing = path.join(tmp, "no-such-cover.jpg");
  }, 60_000);
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test("the checkpoint holds what predict needs", async () => {
    const ck = await loadCheckpoint(full);
    expect(ck.meta).toMatchObject({ format: "covergenre-pooled-head", version: 1, genres: SYN_GENRES, inputSet: "img+face+clr", blocks: ["img", "face", "clr"], imgBackbones: ["inception_v3"], population: "all" });
    expect(ck.meta.thresholds).toHaveLength(SYN_GENRES.length);
    expect(ck.meta.columns).toHaveLength(768 + 17 + 6);
    expect(ck.meta.scaler.mean).toHaveLength(768 + 17 + 6);
    expect(ck.weights.shapes).toEqual([[791, 5], [5]]);
    expect(fs.statSync(path.join(full, "weights.bin")).size).toBe((791 * 5 + 5) * 4);
    expect((await loadCheckpoint(clrOnly)).meta.imgBackbones).toEqual([]);
  });

  test("one entry per file in order: scores for exactly the checkpoint's genres, genres by the stored thresholds, errors for bad files", async () => {
    // the table's rows are the crawl listing; predict on the same files (+ two bad ones in between)
    const table = path.join(tmp, "features", "covers.csv");
    await buildFeatureTable({
      coversDir: path.join(tmp, "covers"),
      tablePath: table,
      config: { ...defaultFeatureConfig(), backbones: ["inception_v3"], maps: [], workers: 0, cacheDir: path.join(tmp, "cache") },
      progress: false,
      log: () => undefined,
    });
    const fset = await readFeatureSet(table);
    covers = fset.rows.map((r) => path.resolve(fset.coversDir, r.path));
    expect(covers).toHaveLength(5);
    expect(fset.rows.every((r) => r.error === null)).toBe(true);

    const files = [covers[0], notJpeg, covers[1], missing, ...covers.slice(2)];
    first = await predictFiles(full, files);
    expect(first.map((p) => p.file)).toEqual(files);
    const [bad1, bad2] = [first[1], first[3]];
    expect(bad1).toEqual({ file: notJpeg, error: expect.stringContaining(notJpeg) });
    expect(bad1.error).toMatch(/cannot decode/);
    expect(bad2).toEqual({ file: missing, error: expect.stringMatching(/no-such-cover\.jpg.*file not found/) });
    const good = first.filter((p) => !p.error);
    expect(good).toHaveLength(5);
    for (const p of good) {
      expect(Object.keys(p).sort()).toEqual(["faces", "file", "genres", "scores"]);
      expect(Object.keys(p.scores!)).toEqual(SYN_GENRES);
      for (const s of Object.values(p.scores!)) {
        expect(Number.isFinite(s)).toBe(true);
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThanOrEqual(1);
      }
      expectGenresFromThresholds(p, fullMeta);
    }

    // The same covers scored through the feature table (the training path): same features, same scores.
    const ck = await loadCheckpoint(full);
    const ds = buildDataset(fset, usableRows(fset, ["Rock", "Pop"]).rows, { genres: ck.meta.genres, imgBackbones: ck.meta.imgBackbones, population: "all" });
    expect(ds.n).toBe(5);
    const viaTable = scoreWithCheckpoint(ck, ds, [0, 1, 2, 3, 4]);
    good.forEach((p, i) => {
      expect(p.faces).toBe(fset.rows[i].faces.length);
      SYN_GENRES.forEach((g, j) => expect(p.scores![g]).toBeCloseTo(viaTable.scores[i * 5 + j], 3));
    });
    expect(good.filter((p) => p.faces! > 0).length).toBeGreaterThanOrEqual(2); // the face path really ran
    expect(good.filter((p) => p.faces === 0).length).toBeGreaterThanOrEqual(1);
  }, 90_000);

  test("the same input gives the same output; a cover's result does not depend on the other files", async () => {
    const files = [covers[0], notJpeg, covers[1], missing, ...covers.slice(2)];
    expect(await predictFiles(full, files)).toEqual(first);
    const alone = await predictFiles(full, [covers[3]]);
    expect(alone).toEqual([first[5]]);
  }, 60_000);

  test("predicted genres follow the thresholds stored in checkpoint.json", async () => {
    // Move each threshold just below (even genres) or just above (odd genres) cover 0's score.
    const moved = path.join(tmp, "ckpt-moved");
    fs.cpSync(full, moved, { recursive: true });
    const s0 = first[0].scores!;
    const meta: CheckpointMeta = { ...fullMeta, thresholds: SYN_GENRES.map((g, j) => (j % 2 === 0 ? s0[g] - 0.002 : s0[g] + 0.002)) };
    fs.writeFileSync(path.join(moved, "checkpoint.json"), JSON.stringify(meta));
    const [p] = await predictFiles(moved, [covers[0]]);
    expect(p.scores).toEqual(s0); // thresholds change decisions, not scores
    expect(p.genres).toEqual(SYN_GENRES.filter((_, j) => j % 2 === 0));
  }, 60_000);

  test("repeated predictions with a colour-only checkpoint leave no tensors behind", async () => {
    const files = [covers[0], notJpeg, covers[2]];
    const a = await predictFiles(clrOnly, files);
    const before = tf.memory().numTensors;
    const b = await predictFiles(clrOnly, files);
    expect(tf.memory().numTensors).toBe(before);
    expect(b).toEqual(a);
    expect(b[1].error).toMatch(/cannot decode/);
  });

  // predict builds an Extractor (InceptionV3 + face heads) per call and must dispose it; the Human
  // detector is shared per process (created by the first call), so a repeated call adds nothing.
  test("repeated predictions with a backbone + faces checkpoint leave no tensors behind", async () => {
    await predictFiles(full, [covers[0]]);
    const before = tf.memory().numTensors;
    await predictFiles(full, [covers[0]]);
    expect(tf.memory().numTensors).toBe(before);
  }, 60_000);

  test("CLI: --json prints exactly one JSON document (the same predictions); a bad file exits 1", async () => {
    const run = await runBin(["predict", "--model", full, "--json", covers[0], notJpeg, covers[1]]);
    expect({ code: run.code, stderr: run.stderr }).toMatchObject({ code: 1 }); // some file failed
    const parsed = JSON.parse(run.stdout) as Prediction[]; // throws on anything but one JSON document
    expect(run.stdout.trim().startsWith("[")).toBe(true);
    expect(parsed).toEqual([first[0], first[1], first[2]]);
  }, 60_000);

  test("CLI: all files good exits 0; text output names each file; usage and checkpoint errors", async () => {
    const ok = capture();
    expect(await main(["predict", "--model", clrOnly, covers[0], covers[1]], ok.out, ok.err)).toBe(0);
    const lines = ok.text().stdout.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0].startsWith(`${covers[0]}: `)).toBe(true);
    expect(lines[0]).toMatch(/\[Electronic 0\.\d\d, Folk, World, & Country /);

    const noModel = capture();
    expect(await main(["predict", covers[0]], noModel.out, noModel.err)).toBe(2);
    expect(noModel.text().stderr).toMatch(/--model is required/);
    const noFiles = capture();
    expect(await main(["predict", "--model", full], noFiles.out, noFiles.err)).toBe(2);
    expect(noFiles.text().stderr).toMatch(/give at least one image file/);
    const notCkpt = capture();
    expect(await main(["predict", "--model", tmp, covers[0]], notCkpt.out, notCkpt.err)).toBe(1);
    expect(notCkpt.text().stderr).toContain(`${tmp} is not a checkpoint: it has no checkpoint.json`);
  });
});
