/**
 * A feature table of several collections (folders) built for real: two labelled folders whose
 * cover ids and file names collide (images/1.jpg in both, different pixels and labels), one image
 * whose bytes are in both, then a third folder in the crawl layout added on a re-run. Faces are off
 * and the backbone is the bundled InceptionV3 without maps, so the whole file stays in seconds.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import sharp from "sharp";
import { buildFeatureTable, type BuildSummary } from "../../lib/features/build";
import { defaultFeatureConfig, stageKeys, type FeatureConfig } from "../../lib/features/config";
import { coverKey } from "../../lib/features/covers";
import { sidecarPaths, TABLE_COLUMNS, type TableManifest } from "../../lib/features/schema";
import { coverFile, readFeatureSet, readMapsByKey, readTableFrame, type EmbeddingIndex, type FeatureSet } from "../../lib/features/store";
import { flattenHeadMaps } from "../../lib/train/thesisHead";
import { resolveCollections } from "../../lib/paths";

const BACKBONE = "inception_v3";

/** A 64x64 JPEG of one colour with a black square (so it is not a flat picture). */
async function jpeg(rgb: [number, number, number]): Promise<Buffer> {
  const [r, g, b] = rgb;
  return sharp({ create: { width: 64, height: 64, channels: 3, background: { r, g, b } } })
    .composite([{ input: { create: { width: 16, height: 16, channels: 3, background: { r: 0, g: 0, b: 0 } } }, left: 4, top: 4 }])
    .jpeg({ quality: 95 })
    .toBuffer();
}

function put(dir: string, rel: string, data: Buffer | string): void {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), data);
}

describe("a feature table of two collections whose cover ids collide", () => {
  let tmp: string;
  let alpha: string;
  let beta: string;
  let gamma: string;
  let table: string;
  let first: BuildSummary;
  let firstLog: string[];
  let fset: FeatureSet;
  const bytes: Record<string, Buffer> = {};
  const config = (): FeatureConfig => ({
    ...defaultFeatureConfig(),
    backbones: [BACKBONE],
    maps: [],
    faces: false,
    workers: 0,
    batchSize: 4,
    cacheDir: path.join(tmp, "cache"),
  });

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cg-collections-"));
    alpha = path.join(tmp, "a", "alpha");
    beta = path.join(tmp, "b", "beta");
    gamma = path.join(tmp, "c", "gamma");
    bytes.red = await jpeg([220, 30, 40]);
    bytes.blue = await jpeg([30, 40, 220]);
    bytes.green = await jpeg([30, 200, 60]);
    bytes.yellow = await jpeg([230, 220, 30]);
    // alpha (labelled): images/1.jpg red Rock, images/2.jpg green Electronic
    put(alpha, "images/1.jpg", bytes.red);
    put(alpha, "images/2.jpg", bytes.green);
    put(alpha, "labels.csv", "release_id,genres\n1,Rock\n2,Electronic\n");
    // beta (labelled): images/1.jpg blue Jazz|Pop (same id and file name as alpha's), images/5.jpg the very bytes of alpha's images/2.jpg, Hip Hop
    put(beta, "images/1.jpg", bytes.blue);
    put(beta, "images/5.jpg", bytes.green);
    put(beta, "labels.csv", "release_id,genres\n1,Jazz|Pop\n5,Hip Hop\n");
    // gamma (crawl), only in the re-run: Rock/1.jpeg yellow (new), Pop/9.jpeg the bytes of alpha's images/1.jpg
    put(gamma, "Rock/1.jpeg", bytes.yellow);
    put(gamma, "Pop/9.jpeg", bytes.red);

    table = path.join(tmp, "out", "covers.csv");
    firstLog = [];
    first = await buildFeatureTable({ collections: [{ dir: alpha }, { dir: beta }], tablePath: table, config: config(), progress: false, log: (l) => firstLog.push(l) });
    fset = await readFeatureSet(table);
  }, 120_000);
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test("one row per file of each collection, in collection order, with a collection column", async () => {
    expect(first.rows).toBe(4);
    expect(first.failed).toBe(0);
    const frame = await readTableFrame(table);
    expect(frame.columns).toEqual([...TABLE_COLUMNS]);
    expect(frame.columns[0]).toBe("collection");
    const col = (name: string) => frame.columns.indexOf(name);
    expect(frame.values.map((v) => [v[col("collection")], v[col("master_id")], v[col("path")]])).toEqual([
      ["alpha", "1", "images/1.jpg"],
      ["alpha", "2", "images/2.jpg"],
      ["beta", "1", "images/1.jpg"],
      ["beta", "5", "images/5.jpg"],
    ]);
    expect(frame.values.map((v) => [v[col("Rock")], v[col("Jazz")], v[col("Pop")], v[col("Hip Hop")], v[col("Electronic")]])).toEqual([
      ["1", "0", "0", "0", "0"],
      ["0", "0", "0", "0", "1"],
      ["0", "1", "1", "0", "0"],
      ["0", "0", "0", "1", "0"],
    ]);
  });

  test("rows with the same id in two collections stay distinct: their own pixels, labels and folder", () => {
    expect(fset.rows.map((r) => r.collection)).toEqual(["alpha", "alpha", "beta", "beta"]);
    const [a1, a2, b1, b5] = fset.rows;
    expect([a1.masterId, b1.masterId]).toEqual(["1", "1"]);
    expect([a1.path, b1.path]).toEqual(["images/1.jpg", "images/1.jpg"]);
    expect(a1.genres).toEqual(["Rock"]);
    expect(b1.genres).toEqual(["Jazz", "Pop"]);
    expect(b1.isMultiLabeled).toBe(true);
    // alpha's 1 is red, beta's 1 is blue
    expect(a1.dominant[0]).toBeGreaterThan(180);
    expect(a1.dominant[2]).toBeLessThan(90);
    expect(b1.dominant[2]).toBeGreaterThan(180);
    expect(b1.dominant[0]).toBeLessThan(90);
    expect([a1.width, a1.height, b1.width, b1.height]).toEqual([64, 64, 64, 64]);
    // their embeddings differ; the two copies of the green image have the same one
    const e = fset.embeddings[BACKBONE];
    const vec = (row: number) => Array.from(e.data.subarray(row * e.dim, (row + 1) * e.dim));
    expect(vec(0)).not.toEqual(vec(2));
    expect(vec(1)).toEqual(vec(3));
    expect(a2.dominant).toEqual(b5.dominant);
    expect(a2.genres).toEqual(["Electronic"]);
    expect(b5.genres).toEqual(["Hip Hop"]);
  });

  test("coverFile resolves each row to its own collection's folder", () => {
    const files = fset.rows.map((r) => coverFile(fset, r));
    expect(files).toEqual([path.join(alpha, "images/1.jpg"), path.join(alpha, "images/2.jpg"), path.join(beta, "images/1.jpg"), path.join(beta, "images/5.jpg")]);
    expect(fs.readFileSync(files[0]).equals(bytes.red)).toBe(true);
    expect(fs.readFileSync(files[2]).equals(bytes.blue)).toBe(true);
    expect(fset.coversDir).toBe(alpha);
  });

  test("the embedding index and faces.jsonl key rows by collection + path; the manifest lists both collections", () => {
    const sp = sidecarPaths(table);
    const index = JSON.parse(fs.readFileSync(sp.embeddingIndex(BACKBONE), "utf8")) as EmbeddingIndex;
    expect(index.paths).toEqual(["alpha/images/1.jpg", "alpha/images/2.jpg", "beta/images/1.jpg", "beta/images/5.jpg"]);
    expect(index.paths).toEqual(fset.rows.map(coverKey));
    expect(index.rows).toBe(4);
    const lines = fs.readFileSync(sp.faces, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { row: number; collection: string; master_id: string; path: string });
    expect(lines.map((l) => [l.row, l.collection, l.master_id, l.path])).toEqual([
      [0, "alpha", "1", "images/1.jpg"],
      [1, "alpha", "2", "images/2.jpg"],
      [2, "beta", "1", "images/1.jpg"],
      [3, "beta", "5", "images/5.jpg"],
    ]);
    const manifest = JSON.parse(fs.readFileSync(sp.manifest, "utf8")) as TableManifest;
    expect(manifest.formatVersion).toBe(2);
    expect(manifest.rows).toBe(4);
    expect(manifest.coversDir).toBe(alpha);
    expect(manifest.collections).toEqual([
      { name: "alpha", dir: alpha, layout: "labelled", rows: 2 },
      { name: "beta", dir: beta, layout: "labelled", rows: 2 },
    ]);
    expect(fset.collections).toEqual(manifest.collections);
  });

  test("an image present in both collections is computed once but gets a row in each", () => {
    // 4 rows, 3 distinct contents (green is in alpha and beta): the models ran on 3 images.
    expect(firstLog.filter((l) => /need work/.test(l))).toEqual([expect.stringMatching(/^features: 3 distinct cover image\(s\) of 4 need work,/)]);
    // ... and the cache holds 3 embeddings, one per content
    const embDir = path.join(tmp, "cache", stageKeys(config())[`emb:${BACKBONE}`]);
    const files = (fs.readdirSync(embDir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(embDir, f)).isFile());
    expect(files).toHaveLength(3);
    // BuildSummary.computed counts rows whose content was computed in this run (both green rows).
    expect(first.computed).toBe(4);
    expect(first.cached).toBe(0);
  });

  test("the Flatten head's maps: a side table of just its covers, by collection + path, built once from the same cache", async () => {
    const rows = [1, 2]; // alpha's images/2.jpg and beta's images/1.jpg
    const logs: string[] = [];
    const maps = await flattenHeadMaps(fset, rows, (l) => logs.push(l));
    const side = path.join(tmp, "out", "covers.thesis-maps.csv");
    const sideSet = await readFeatureSet(side);
    expect(sideSet.rows.map((r) => coverKey(r))).toEqual(rows.map((r) => coverKey(fset.rows[r])));
    expect(fs.existsSync(sidecarPaths(table).mapIndex(BACKBONE))).toBe(false); // the main table stays without maps
    const dim = maps.length / 2;
    expect(dim).toBe(7 * 7 * 768); // mixed7 at the study's 150x150
    // Each row's map is its own cover's: the two covers differ, so their maps do.
    expect(maps.subarray(0, dim)).not.toEqual(maps.subarray(dim));
    expect(await readMapsByKey(side, BACKBONE, [coverKey(fset.rows[2])])).toEqual(maps.subarray(dim));
    expect(logs.some((l) => l.includes("thesis-maps"))).toBe(true);
    // Asked again: read from the side table, nothing built.
    const again: string[] = [];
    expect(await flattenHeadMaps(fset, rows, (l) => again.push(l))).toEqual(maps);
    expect(again).toEqual([]);
  }, 120_000);

  test("a faces line that names the wrong collection is refused by the reader", async () => {
    const copy = path.join(tmp, "tampered", "covers.csv");
    fs.mkdirSync(path.dirname(copy), { recursive: true });
    const from = sidecarPaths(table);
    const to = sidecarPaths(copy);
    for (const k of ["table", "manifest", "faces", "histograms"] as const) fs.copyFileSync(from[k], to[k]);
    fs.copyFileSync(from.embedding(BACKBONE), to.embedding(BACKBONE));
    fs.copyFileSync(from.embeddingIndex(BACKBONE), to.embeddingIndex(BACKBONE));
    await expect(readFeatureSet(copy)).resolves.toMatchObject({ rows: expect.any(Array) });
    fs.writeFileSync(to.faces, fs.readFileSync(to.faces, "utf8").replace('"row":2,"collection":"beta"', '"row":2,"collection":"alpha"'));
    await expect(readFeatureSet(copy)).rejects.toThrow(/line for row 2 is alpha\/images\/1\.jpg, table says beta\/images\/1\.jpg/);
  });

  test("two folders with the same name are refused with a clear error, before any work", async () => {
    const twin = path.join(tmp, "elsewhere", "alpha");
    put(twin, "images/1.jpg", bytes.yellow);
    put(twin, "labels.csv", "release_id,genres\n1,Rock\n");
    const out = path.join(tmp, "twin", "covers.csv");
    await expect(buildFeatureTable({ collections: [{ dir: alpha }, { dir: twin }], tablePath: out, config: config(), progress: false, log: () => undefined })).rejects.toThrow(
      `two covers folders are both named "alpha" (${alpha} and ${twin}): rename one`,
    );
    expect(fs.existsSync(out)).toBe(false);
    // The same rule where folders are resolved (--covers flags)
    expect(() => resolveCollections({ covers: [alpha, twin], env: {} })).toThrow(/two covers folders are both named "alpha"/);
    expect(() => resolveCollections({ covers: [alpha, alpha], env: {} })).toThrow(/is given twice/);
    expect(resolveCollections({ covers: [alpha, beta], env: {} }).map((c) => [c.name, c.dir, c.layout, c.source])).toEqual([
      ["alpha", alpha, "labelled", "flag"],
      ["beta", beta, "labelled", "flag"],
    ]);
  });

  test("a re-run with a third collection (crawl layout) computes only its new content", async () => {
    const before = await readTableFrame(table);
    const e0 = Float32Array.from(fset.embeddings[BACKBONE].data);
    const log: string[] = [];
    const again = await buildFeatureTable({ collections: [{ dir: alpha }, { dir: beta }, { dir: gamma }], tablePath: table, config: config(), progress: false, log: (l) => log.push(l) });
    expect(again.rows).toBe(6);
    // gamma's Pop/9.jpeg is alpha's red image: cached; only Rock/1.jpeg (yellow) is new
    expect(log.filter((l) => /need work/.test(l))).toEqual([expect.stringMatching(/^features: 1 distinct cover image\(s\) of 6 need work,/)]);
    expect(again.computed).toBe(1);
    expect(again.cached).toBe(5);
    const after = await readTableFrame(table);
    expect(after.values.slice(0, 4)).toEqual(before.values);
    const set = await readFeatureSet(table);
    expect(set.rows.slice(4).map((r) => [r.collection, r.masterId, r.path, r.genres])).toEqual([
      ["gamma", "9", "Pop/9.jpeg", ["Pop"]],
      ["gamma", "1", "Rock/1.jpeg", ["Rock"]],
    ]);
    const e = set.embeddings[BACKBONE];
    expect(Array.from(e.data.subarray(0, 4 * e.dim))).toEqual(Array.from(e0));
    expect(Array.from(e.data.subarray(4 * e.dim, 5 * e.dim))).toEqual(Array.from(e0.subarray(0, e.dim))); // gamma/Pop/9 = alpha/images/1
    expect(set.collections!.map((c) => [c.name, c.layout, c.rows])).toEqual([
      ["alpha", "labelled", 2],
      ["beta", "labelled", 2],
      ["gamma", "crawl", 2],
    ]);
    expect(coverFile(set, set.rows[5])).toBe(path.join(gamma, "Rock/1.jpeg"));
    // three rows now have id 1, one per collection
    expect(set.rows.filter((r) => r.masterId === "1").map(coverKey)).toEqual(["alpha/images/1.jpg", "beta/images/1.jpg", "gamma/Rock/1.jpeg"]);
  }, 120_000);
});
