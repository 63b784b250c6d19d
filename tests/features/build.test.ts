/**
 * End-to-end feature table on a small hand-made crawl: generated covers, one of Human's package
 * photos (real faces), a corrupt file, a duplicate and a wide PNG with alpha. Runs the real models
 * (wasm), so it takes tens of seconds; it is the test that proves the table, the sidecars, the
 * cache, resume and the worker bootstrap fit together.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import sharp from "sharp";
import { buildFeatureTable, InterruptedError } from "../../lib/features/build";
import { defaultFeatureConfig, type FeatureConfig } from "../../lib/features/config";
import { sidecarPaths } from "../../lib/features/schema";
import { readFeatureSet, readHistograms, readInceptionMaps, readTableFrame } from "../../lib/features/store";
import { packageDir } from "../../lib/util/packages";

const PHOTO = path.join(packageDir("@vladmandic/human"), "assets", "samples.jpg");

async function makeCovers(dir: string): Promise<void> {
  const put = (rel: string, data: Buffer | string) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), data);
  };
  const red = await sharp({ create: { width: 200, height: 200, channels: 3, background: { r: 220, g: 30, b: 40 } } })
    .composite([{ input: { create: { width: 60, height: 60, channels: 3, background: { r: 0, g: 0, b: 255 } } }, left: 10, top: 10 }])
    .jpeg()
    .toBuffer();
  put("Rock/1.jpeg", red);
  put("multi/Pop+Rock/2.jpeg", fs.readFileSync(PHOTO));
  put("Jazz/3.jpeg", "this is not a jpeg");
  put("Jazz/4.jpeg", red); // same content as Rock/1.jpeg
  put("Rock/5.png", await sharp({ create: { width: 400, height: 100, channels: 4, background: { r: 10, g: 200, b: 10, alpha: 0.5 } } }).png().toBuffer());
  put("Rock/notes.txt", "ignored");
}

function config(dir: string, extra: Partial<FeatureConfig> = {}): FeatureConfig {
  return {
    ...defaultFeatureConfig(),
    backbones: ["inception_v3"],
    maps: ["inception_v3"],
    mapDtype: "f16",
    workers: 0,
    batchSize: 2,
    cacheDir: path.join(dir, "cache"),
    ...extra,
  };
}

describe("buildFeatureTable", () => {
  let dir: string;
  let covers: string;
  let table: string;
  const quiet = () => undefined;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "features-"));
    covers = path.join(dir, "covers");
    table = path.join(dir, "out", "covers.csv");
    await makeCovers(covers);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("an interrupted first run stops with exit code 130 and caches nothing broken", async () => {
    const run = buildFeatureTable({
      coversDir: covers,
      tablePath: table,
      config: config(dir),
      handleSigint: true,
      progress: false,
      log: (line) => {
        if (line.includes("need work")) setImmediate(() => process.emit("SIGINT"));
      },
    });
    await expect(run).rejects.toBeInstanceOf(InterruptedError);
    await expect(run).rejects.toMatchObject({ exitCode: 130 });
    expect(fs.existsSync(table)).toBe(false);
  });

  test("writes one row per image file, errors in their row, sidecars aligned", async () => {
    const s = await buildFeatureTable({ coversDir: covers, tablePath: table, config: config(dir), progress: false, log: quiet });
    expect(s.rows).toBe(5);
    expect(s.failed).toBe(1);
    expect(s.tensors.last).toEqual(s.tensors.first); // no tensor leak between batches

    const set = await readFeatureSet(table);
    expect(set.coversDir).toBe(covers);
    expect(set.rows.map((r) => r.path)).toEqual(["Jazz/3.jpeg", "Jazz/4.jpeg", "Rock/1.jpeg", "Rock/5.png", "multi/Pop+Rock/2.jpeg"]);
    const [bad, dup, red, wide, photo] = set.rows;
    expect(bad.error).toMatch(/Jazz\/3\.jpeg/);
    expect(bad.faces).toEqual([]);
    expect(red.error).toBeNull();
    expect(red.genres).toEqual(["Rock"]);
    expect(red.dominant[0]).toBeGreaterThan(200);
    expect(red.dominant[2]).toBeLessThan(60);
    expect(dup.dominant).toEqual(red.dominant);
    expect(wide.error).toBeNull();
    expect(photo.genres).toEqual(["Pop", "Rock"]);
    expect(photo.isMultiLabeled).toBe(true);
    expect(photo.faces.length).toBeGreaterThan(0);
    const areas = photo.faces.map((f) => f.box[2] * f.box[3]);
    expect([...areas].sort((a, b) => b - a)).toEqual(areas); // largest first
    expect(photo.faces[0].age).toBeGreaterThan(0);

    // The CSV's main-face columns match faces.jsonl's first face.
    const frame = await readTableFrame(table);
    const col = (name: string) => frame.columns.indexOf(name);
    const photoRow = frame.values[4];
    expect(Number(photoRow[col("faces")])).toBe(photo.faces.length);
    expect(photoRow[col("gender")]).toBe(photo.faces[0].gender ?? "");
    expect(Number(photoRow[col("age")])).toBeCloseTo(photo.faces[0].age!, 1);
    expect(photoRow[col("Folk, World, & Country")]).toBe("0");
    expect(photoRow[col("Pop")]).toBe("1");
    expect(frame.values[0][col("faces")]).toBe(""); // a failed cover has no face count, not 0

    const emb = set.embeddings.inception_v3;
    expect(emb.dim).toBe(768);
    expect(emb.data.length).toBe(5 * 768);
    expect(Number.isNaN(emb.data[0])).toBe(true); // failed row: NaN, never a silent zero vector
    expect(Array.from(emb.data.subarray(768, 2 * 768))).toEqual(Array.from(emb.data.subarray(2 * 768, 3 * 768)));

    // The stored map of a row pools (mean over 7x7) to its pooled embedding, within f16 error.
    const maps = await readInceptionMaps(table, [4, 2]);
    expect(maps.length).toBe(2 * 7 * 7 * 768);
    for (const [k, row] of [[0, 4], [1, 2]]) {
      for (const c of [0, 100, 767]) {
        let sum = 0;
        for (let p = 0; p < 49; p++) sum += maps[k * 37632 + p * 768 + c];
        expect(sum / 49).toBeCloseTo(emb.data[row * 768 + c], 2);
      }
    }
    const hist = readHistograms(table);
    expect(hist.length).toBe(5 * 1024);
    const greyTotal = hist.subarray(3 * 1024, 3 * 1024 + 256).reduce((a, b) => a + b, 0);
    expect(greyTotal).toBe(400 * 100);
  });

  test("a re-run with nothing changed computes nothing; a changed file is recomputed", async () => {
    const before = fs.readFileSync(table, "utf8");
    const again = await buildFeatureTable({ coversDir: covers, tablePath: table, config: config(dir), progress: false, log: quiet });
    expect(again.computed).toBe(0);
    expect(again.workers).toBe(0); // no model was even loaded
    expect(fs.readFileSync(table, "utf8")).toBe(before);

    fs.writeFileSync(path.join(covers, "Rock/5.png"), await sharp({ create: { width: 64, height: 64, channels: 3, background: "#000080" } }).png().toBuffer());
    const changed = await buildFeatureTable({ coversDir: covers, tablePath: table, config: config(dir, { faces: false }), progress: false, log: quiet });
    // faces off is a different configuration: only stages it runs are looked up
    expect(changed.computed).toBe(1);
    const set = await readFeatureSet(table);
    expect(set.rows[3].dominant).toEqual([0, 0, 128]);
  });

  test("worker threads give the same features as the calling thread", async () => {
    const out = path.join(dir, "out2", "covers.csv");
    const s = await buildFeatureTable({
      coversDir: covers,
      tablePath: out,
      config: config(dir, { workers: 1, faces: false, cacheDir: path.join(dir, "cache2"), limit: 3 }),
      progress: false,
      log: quiet,
    });
    expect(s.workers).toBe(1);
    expect(s.computed).toBe(3); // 3 rows: the corrupt one and two with the same content (computed once)
    const a = await readFeatureSet(out);
    const b = await readFeatureSet(table);
    expect(a.rows[2].dominant).toEqual(b.rows[2].dominant);
    const ea = a.embeddings.inception_v3.data.subarray(2 * 768, 3 * 768);
    const eb = b.embeddings.inception_v3.data.subarray(2 * 768, 3 * 768);
    for (let i = 0; i < 768; i += 37) expect(ea[i]).toBeCloseTo(eb[i], 4);
    expect(fs.existsSync(sidecarPaths(out).map("inception_v3", "f16"))).toBe(true);
  });
});
