/**
 * 03.Refine_Divide (lib/train/refine.ts and `covergenre refine`): genres kept and dropped with a
 * reason, the faces population vs all covers, the one-hot face attributes, row alignment of every
 * output with its source cover (the study shuffled X and y with different seeds), the written CSVs
 * and folds, and unstandardised values. In-memory checks use the synthetic FeatureSet of
 * tests/train/synthetic.ts with a few rows given known faces; the CLI runs on a real feature table
 * built from the pipeline's synthetic crawl (faces on, no backbone: ≈ 10 s).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main } from "../../lib/cli/main";
import { buildFeatureTable } from "../../lib/features/build";
import { defaultFeatureConfig } from "../../lib/features/config";
import { readFeatureSet, type CoverRow, type FeatureSet } from "../../lib/features/store";
import { faceColumns, take, type LabelledDataset } from "../../lib/train/dataset";
import { DEFAULT_REFINE, refine, refinedFrames, writeRefined, type RefineConfig, type Refined } from "../../lib/train/refine";
import { packageDir } from "../../lib/util/packages";
import { RACES } from "../../lib/vision/faces";
import { makeSyntheticCrawl } from "../pipeline/fixture";
import { syntheticFeatureSet, SYN_GENRES } from "./synthetic";
import { capture, runBin } from "../helpers/cli";

const EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"] as const;

type Face = CoverRow["faces"][number];
const face = (over: Partial<Face>, box: [number, number, number, number] = [10, 10, 50, 50]): Face => ({
  box,
  score: 0.9,
  age: 30,
  gender: "male",
  genderScore: 0.9,
  race: "white",
  raceScore: 0.8,
  emotion: { angry: 0.05, disgust: 0.05, fear: 0.1, happy: 0.4, sad: 0.1, surprise: 0.1, neutral: 0.2 },
  ...over,
});

/**
 * The synthetic set (tests/train/synthetic.ts; row 3 failed extraction) with known rows:
 * 0 male/black/33, 1 female/asian/61, 2 a face whose attributes are all unknown, 4 two faces
 * (the larger first), 6 no face; "Reggae" on 3 rows (too few), row 5 only Reggae; 8 an id with
 * leading zeros.
 */
function knownSet(): FeatureSet {
  const f = syntheticFeatureSet(90, 5);
  f.rows[0].faces = [face({ gender: "male", race: "black", age: 33, emotion: { angry: 0.7, disgust: 0, fear: 0, happy: 0.1, sad: 0.1, surprise: 0, neutral: 0.1 } })];
  f.rows[1].faces = [face({ gender: "female", race: "asian", age: 61 })];
  f.rows[2].faces = [face({ gender: null, genderScore: null, race: null, raceScore: null, age: null, emotion: null })];
  f.rows[4].faces = [face({ gender: "female", race: "indian", age: 25 }, [0, 0, 90, 90]), face({ gender: "male", race: "other", age: 50 }, [100, 100, 20, 20])];
  f.rows[6].faces = [];
  f.rows[5].genres = ["Reggae"];
  f.rows[5].isMultiLabeled = false;
  for (const r of [6, 7]) f.rows[r].genres = [...f.rows[r].genres, "Reggae"];
  f.rows[8].masterId = "0042";
  return f;
}

const CFG: RefineConfig = { ...DEFAULT_REFINE, genres: [...SYN_GENRES, "Reggae", "Jazz"], folds: 3, repeats: 2, seed: 7 };

/** A dataset row as column → value, for one block. */
function blockRow(ds: LabelledDataset, b: "face" | "clr" | "img", i: number): Record<string, number> {
  const block = ds.blocks[b]!;
  return Object.fromEntries(block.columns.map((c, j) => [c, block.data[i * block.dim + j]]));
}
const rowOf = (ds: LabelledDataset, id: string) => {
  const i = ds.ids.indexOf(id);
  expect(i).toBeGreaterThanOrEqual(0);
  return i;
};
const labelsOf = (ds: LabelledDataset, i: number) => ds.genres.filter((_, j) => ds.y[i * ds.k + j] === 1);
const f32 = (v: number) => Math.fround(v);

/** What each block of a row must hold, computed straight from the source cover. */
function expectRowMatchesSource(fs0: FeatureSet, ds: LabelledDataset, i: number, backbones: string[]): void {
  const src = fs0.rows.find((r) => r.masterId === ds.ids[i])!;
  expect(src).toBeDefined();
  expect(labelsOf(ds, i)).toEqual(ds.genres.filter((g) => src.genres.includes(g)));
  expect(Array.from(ds.blocks.clr!.data.subarray(i * 6, i * 6 + 6))).toEqual([...src.dominant, ...src.meanColour].map(f32));
  const srcIndex = fs0.rows.indexOf(src);
  const img = ds.blocks.img!;
  const expected = backbones.flatMap((b) => Array.from(fs0.embeddings[b].data.subarray(srcIndex * fs0.embeddings[b].dim, (srcIndex + 1) * fs0.embeddings[b].dim)));
  expect(Array.from(img.data.subarray(i * img.dim, (i + 1) * img.dim))).toEqual(expected);
  const main0 = src.faces[0];
  const fr = blockRow(ds, "face", i);
  expect(fr.age).toBe(f32(main0?.age ?? 0));
  expect(fr.gender_male).toBe(main0?.gender === "male" ? 1 : 0);
}

function papa(): { parse(text: string, cfg: object): { data: string[][] } } {
  return require(require.resolve("papaparse", { paths: [packageDir("danfojs-node")] }));
}
function readCsv(file: string): { header: string[]; rows: string[][] } {
  const data = papa().parse(fs.readFileSync(file, "utf8"), { header: false, skipEmptyLines: true }).data;
  return { header: data[0], rows: data.slice(1) };
}

/** Repeats of a folds list: each repeat's test sets are disjoint and together are exactly 0..n-1. */
function expectPartition(folds: { repeat: number; fold: number; test: number[]; train?: number[] }[], n: number, k: number, repeats: number): void {
  expect(folds).toHaveLength(k * repeats);
  for (let t = 0; t < repeats; t++) {
    const mine = folds.filter((f) => f.repeat === t);
    expect(mine.map((f) => f.fold)).toEqual([...Array(k).keys()]);
    const seen = mine.flatMap((f) => f.test);
    expect(new Set(seen).size).toBe(seen.length); // disjoint
    expect([...seen].sort((a, b) => a - b)).toEqual([...Array(n).keys()]); // cover every row
    for (const f of mine) {
      expect(f.test.length).toBeGreaterThan(0);
      if (f.train) {
        expect(f.train.filter((r) => f.test.includes(r))).toEqual([]);
        expect(f.train.length + f.test.length).toBe(n);
      }
    }
  }
}

describe("refine() on a synthetic table with known rows", () => {
  const fset = knownSet();
  const r = refine(fset, CFG);

  test("genres with no or too few examples are dropped with a reason; failed and genre-less covers are counted", () => {
    expect(r.genres).toEqual(SYN_GENRES);
    expect(r.droppedGenres).toEqual([
      { genre: "Reggae", reason: "only 3 covers (< 10): too few to train and score" },
      { genre: "Jazz", reason: "no covers with this genre in the table" },
    ]);
    expect(r.droppedRows).toEqual([
      { reason: "feature extraction failed (see the table's error column)", count: 1 },
      { reason: `none of the kept genres (${SYN_GENRES.join(", ")})`, count: 1 },
    ]);
    expect(r.all.n).toBe(88);
    expect(r.all.ids).not.toContain(fset.rows[3].masterId); // failed
    expect(r.all.ids).not.toContain(fset.rows[5].masterId); // only a dropped genre
    expect(r.all.genres).toEqual(SYN_GENRES);
    expect(r.all.k).toBe(SYN_GENRES.length);
    expect(r.imgBackbones).toEqual(["mobilenet_v1"]); // "auto": MobileNet v1 when the table has it
  });

  test("faceless covers are left out of the faces population and kept in all covers", () => {
    const withFace = r.all.ids.filter((id) => fset.rows.find((x) => x.masterId === id)!.faces.length > 0);
    const faceless = r.all.ids.filter((id) => !withFace.includes(id));
    expect(faceless.length).toBeGreaterThan(10);
    expect(withFace.length).toBeGreaterThan(10);
    expect(r.faces.ids).toEqual(withFace); // same covers, same order
    expect(r.faces.n).toBe(withFace.length);
    expect(r.all.ids).toContain(fset.rows[6].masterId);
    expect(r.faces.ids).not.toContain(fset.rows[6].masterId);
    for (let i = 0; i < r.all.n; i++) {
      const hasFace = withFace.includes(r.all.ids[i]);
      const fr = blockRow(r.all, "face", i);
      expect(fr.has_face).toBe(hasFace ? 1 : 0);
      if (!hasFace) expect(Object.values(fr).every((v) => v === 0)).toBe(true);
    }
    for (let i = 0; i < r.faces.n; i++) expect(fset.rows[r.faces.sourceRows[i]].faces.length).toBeGreaterThan(0);
    // the has-face columns only exist where they can vary
    expect(r.faces.blocks.face!.columns).toEqual(faceColumns(false));
    expect(r.all.blocks.face!.columns).toEqual(faceColumns(true));
    expect(r.all.blocks.face!.columns.slice(0, 2)).toEqual(["has_face", "log_faces"]);
  });

  test("categorical face attributes are one-hot, from the main (largest) face", () => {
    const races = (fr: Record<string, number>) => Object.fromEntries(RACES.map((x) => [x, fr[`race_${x}`]]));
    const oneRace = (x: string) => Object.fromEntries(RACES.map((y) => [y, y === x ? 1 : 0]));
    for (const ds of [r.faces, r.all]) {
      const m = blockRow(ds, "face", rowOf(ds, fset.rows[0].masterId));
      expect([m.gender_male, m.gender_female]).toEqual([1, 0]);
      expect(races(m)).toEqual(oneRace("black"));
      expect(m.age).toBe(33);
      expect(m.emotion_angry).toBe(f32(0.7));
      expect(m.emotion_happy).toBe(f32(0.1));

      const w = blockRow(ds, "face", rowOf(ds, fset.rows[1].masterId));
      expect([w.gender_male, w.gender_female]).toEqual([0, 1]);
      expect(races(w)).toEqual(oneRace("asian"));
      expect(w.age).toBe(61);

      // a face was found but no attribute is known: every one-hot column 0 (not a guessed class)
      const u = blockRow(ds, "face", rowOf(ds, fset.rows[2].masterId));
      expect([u.gender_male, u.gender_female, ...Object.values(races(u)), u.age]).toEqual(Array(2 + RACES.length + 1).fill(0));
      expect(EMOTIONS.map((e) => u[`emotion_${e}`])).toEqual(Array(7).fill(0));

      // two faces: the first (largest) one is encoded
      const two = blockRow(ds, "face", rowOf(ds, fset.rows[4].masterId));
      expect([two.gender_male, two.gender_female]).toEqual([0, 1]);
      expect(races(two)).toEqual(oneRace("indian"));
      expect(two.age).toBe(25);

      // one-hot groups never have more than one 1, and exactly one when the attribute is known
      for (let i = 0; i < ds.n; i++) {
        const src = fset.rows[ds.sourceRows[i]].faces[0];
        const fr = blockRow(ds, "face", i);
        expect(fr.gender_male + fr.gender_female).toBe(src?.gender ? 1 : 0);
        expect(RACES.reduce((a, x) => a + fr[`race_${x}`], 0)).toBe(src?.race ? 1 : 0);
        if (src?.race) expect(fr[`race_${src.race}`]).toBe(1);
      }
    }
    const all = (id: string) => blockRow(r.all, "face", rowOf(r.all, id));
    expect([all(fset.rows[0].masterId).has_face, all(fset.rows[0].masterId).log_faces]).toEqual([1, f32(Math.log1p(1))]);
    expect([all(fset.rows[4].masterId).has_face, all(fset.rows[4].masterId).log_faces]).toEqual([1, f32(Math.log1p(2))]);
    expect(all(fset.rows[2].masterId).has_face).toBe(1);
  });

  test("every row's label and inputs belong to the cover with its master_id, whatever order the table is in", () => {
    for (const ds of [r.faces, r.all]) {
      expect(new Set(ds.ids).size).toBe(ds.n);
      for (let i = 0; i < ds.n; i++) {
        expect(fset.rows[ds.sourceRows[i]].masterId).toBe(ds.ids[i]);
        expect(ds.paths[i]).toBe(path.resolve(fset.coversDir, fset.rows[ds.sourceRows[i]].path));
        expectRowMatchesSource(fset, ds, i, r.imgBackbones);
      }
    }
    // The same covers in another order (rows and embeddings permuted together, as a reshuffled table
    // would be): each master_id keeps exactly its own labels and inputs.
    const perm = [...Array(fset.rows.length).keys()].map((i) => (i * 37 + 11) % fset.rows.length);
    expect(new Set(perm).size).toBe(fset.rows.length);
    const shuffled: FeatureSet = {
      ...fset,
      rows: perm.map((p) => fset.rows[p]),
      embeddings: Object.fromEntries(
        Object.entries(fset.embeddings).map(([b, e]) => {
          const data = new Float32Array(e.data.length);
          perm.forEach((p, i) => data.set(e.data.subarray(p * e.dim, (p + 1) * e.dim), i * e.dim));
          return [b, { dim: e.dim, data }];
        }),
      ),
    };
    const r2 = refine(shuffled, CFG);
    expect(r2.genres).toEqual(r.genres);
    for (const [a, b] of [
      [r.all, r2.all],
      [r.faces, r2.faces],
    ] as const) {
      expect([...b.ids].sort()).toEqual([...a.ids].sort());
      expect(b.ids).not.toEqual(a.ids); // really reordered
      for (let i = 0; i < b.n; i++) {
        const j = a.ids.indexOf(b.ids[i]);
        expect(labelsOf(b, i)).toEqual(labelsOf(a, j));
        for (const block of ["img", "face", "clr"] as const) expect(blockRow(b, block, i)).toEqual(blockRow(a, block, j));
      }
    }
    // Folds are row indices into the one dataset: taking a fold's rows takes features and labels together.
    for (const fold of r.foldsAll.slice(0, 3)) {
      const t = take(r.all, ["clr", "face"], fold.test);
      fold.test.forEach((row, i) => {
        const src = fset.rows[r.all.sourceRows[row]];
        expect(Array.from(t.x.subarray(i * t.d, i * t.d + 6))).toEqual([...src.dominant, ...src.meanColour].map(f32));
        expect(r.all.genres.filter((_, j) => t.y[i * r.all.k + j] === 1)).toEqual(r.all.genres.filter((g) => src.genres.includes(g)));
      });
    }
  });

  test("folds of each population are disjoint and cover all its rows, in every repeat", () => {
    expectPartition(r.foldsAll, r.all.n, 3, 2);
    expectPartition(r.foldsFaces, r.faces.n, 3, 2);
    // two repeats are two different splits
    expect(r.foldsAll[0].test).not.toEqual(r.foldsAll[3].test);
    // seeded: the same configuration gives the same folds
    expect(refine(fset, CFG).foldsAll).toEqual(r.foldsAll);
  });

  test("values are unstandardised: raw colours, ages and embeddings", () => {
    const clr = r.all.blocks.clr!;
    const mean = (j: number) => Array.from({ length: r.all.n }, (_, i) => clr.data[i * 6 + j]).reduce((a, b) => a + b, 0) / r.all.n;
    for (let j = 0; j < 6; j++) expect(mean(j)).toBeGreaterThan(60); // uniform 0-255 draws, not centred on 0
    const ages = Array.from({ length: r.faces.n }, (_, i) => blockRow(r.faces, "face", i).age).filter((a) => a > 0);
    expect(Math.min(...ages)).toBeGreaterThanOrEqual(20);
    expect(ages.reduce((a, b) => a + b, 0) / ages.length).toBeGreaterThan(30);
    // exact source values (checked per row above); one explicit row for the record
    const i = rowOf(r.all, fset.rows[1].masterId);
    expect(blockRow(r.all, "clr", i)).toEqual({
      dominant_r: f32(fset.rows[1].dominant[0]),
      dominant_g: f32(fset.rows[1].dominant[1]),
      dominant_b: f32(fset.rows[1].dominant[2]),
      mean_r: f32(fset.rows[1].meanColour[0]),
      mean_g: f32(fset.rows[1].meanColour[1]),
      mean_b: f32(fset.rows[1].meanColour[2]),
    });
  });

  test("DataFrames and CSVs: one folder per population, same rows in the same order in every file, folds.json", async () => {
    const frames = refinedFrames(r.faces);
    expect(frames.img.columns).toEqual(["collection", "master_id", "path"]);
    expect(frames.img.shape).toEqual([r.faces.n, 3]);
    expect(frames.face.shape).toEqual([r.faces.n, faceColumns(false).length]);
    expect(frames.clr.shape).toEqual([r.faces.n, 6]);
    expect(frames.y.columns).toEqual(SYN_GENRES);

    const out = fs.mkdtempSync(path.join(os.tmpdir(), "cg-refine-"));
    try {
      const files = await writeRefined(out, r);
      const expected = ["faces", "all"].flatMap((p) => ["img", "face", "clr", "y_label"].map((n) => path.join(out, p, `${n}.csv`)));
      expect(files).toEqual([...expected, path.join(out, "folds.json")]);
      for (const f of files) expect(fs.statSync(f).size).toBeGreaterThan(0);
      expect(fs.readdirSync(out).filter((n) => n.endsWith(".tmp"))).toEqual([]);

      for (const [pop, ds] of [["faces", r.faces], ["all", r.all]] as const) {
        const img = readCsv(path.join(out, pop, "img.csv"));
        const faceCsv = readCsv(path.join(out, pop, "face.csv"));
        const clr = readCsv(path.join(out, pop, "clr.csv"));
        const y = readCsv(path.join(out, pop, "y_label.csv"));
        expect(img.header).toEqual(["collection", "master_id", "path"]);
        expect(faceCsv.header).toEqual(ds.blocks.face!.columns);
        expect(clr.header).toEqual(["dominant_r", "dominant_g", "dominant_b", "mean_r", "mean_g", "mean_b"]);
        expect(y.header).toEqual(SYN_GENRES); // "Folk, World, & Country" survives its commas
        for (const t of [img, faceCsv, clr, y]) expect(t.rows).toHaveLength(ds.n);
        expect(img.rows.map((x) => x[0])).toEqual(ds.collections);
        expect(img.rows.map((x) => x[1])).toEqual(ds.ids); // ids stay text ("0042" is not 42)
        if (pop === "all") expect(img.rows.map((x) => x[1])).toContain("0042");
        img.rows.forEach(([, id, p], i) => {
          // row i of every file is the cover named in row i of img.csv
          const src = fset.rows.find((x) => x.masterId === id)!;
          expect(p).toBe(path.resolve(fset.coversDir, src.path));
          expect(y.rows[i]).toEqual(SYN_GENRES.map((g) => (src.genres.includes(g) ? "1" : "0")));
          expect(clr.rows[i].map(Number)).toEqual([...src.dominant, ...src.meanColour].map(f32));
          expect(faceCsv.rows[i].map(Number)).toEqual(Array.from(ds.blocks.face!.data.subarray(i * ds.blocks.face!.dim, (i + 1) * ds.blocks.face!.dim)));
          expect(Number(faceCsv.rows[i][faceCsv.header.indexOf("age")])).toBe(f32(src.faces[0]?.age ?? 0));
        });
      }

      const folds = JSON.parse(fs.readFileSync(path.join(out, "folds.json"), "utf8"));
      expect(folds.genres).toEqual(SYN_GENRES);
      expect(folds.droppedGenres).toEqual(r.droppedGenres);
      expect(folds.droppedRows).toEqual(r.droppedRows);
      expect(folds.imgBackbones).toEqual(["mobilenet_v1"]);
      expect(folds.faces.rows).toBe(r.faces.n);
      expect(folds.all.rows).toBe(r.all.n);
      expectPartition(folds.all.folds, r.all.n, 3, 2);
      expectPartition(folds.faces.folds, r.faces.n, 3, 2);
      expect(folds.all.folds.map((f: { test: number[] }) => f.test)).toEqual(r.foldsAll.map((f) => f.test));
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});



describe("covergenre refine on a real (tiny) feature table", () => {
  const CRAWL_GENRES = ["Electronic", "Rock", "Pop"];
  let tmp: string;
  let table: string;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cg-refine-cli-"));
    // 10 covers per genre (the CLI keeps genres with ≥ 10) + 1 multi-genre; every other one shows a person
    await makeSyntheticCrawl(path.join(tmp, "covers"), 10, CRAWL_GENRES);
    table = path.join(tmp, "features", "covers.csv");
    await buildFeatureTable({
      coversDir: path.join(tmp, "covers"),
      tablePath: table,
      config: { ...defaultFeatureConfig(), backbones: [], maps: [], workers: 0, cacheDir: path.join(tmp, "cache") },
      progress: false,
      log: () => undefined,
    });
  }, 120_000);
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test("writes the same files as the library, prints one JSON summary, exits 0", async () => {
    const out = path.join(tmp, "refined");
    const run = await runBin(["refine", "--table", table, "--out", out, "--folds", "3", "--repeats", "1", "--json"]);
    expect({ code: run.code, stderr: run.stderr }).toMatchObject({ code: 0 });
    const summary = JSON.parse(run.stdout); // exactly one JSON document on stdout
    const fset = await readFeatureSet(table);
    const withFace = fset.rows.filter((x) => !x.error && x.faces.length > 0).length;
    expect(withFace).toBeGreaterThan(3);
    expect(withFace).toBeLessThan(31);
    expect(summary).toMatchObject({ out, genres: ["Electronic", "Pop", "Rock"], droppedRows: [], faces: withFace, all: 31 });
    expect(summary.droppedGenres).toEqual(
      ["Folk, World, & Country", "Funk / Soul", "Hip Hop", "Jazz"].map((genre) => ({ genre, reason: "no covers with this genre in the table" })),
    );
    expect(summary.files).toHaveLength(9);
    for (const f of summary.files) expect(fs.existsSync(f)).toBe(true);

    // The CLI output is exactly what the library writes for the same table and settings.
    const lib = path.join(tmp, "refined-lib");
    const r: Refined = refine(fset, { ...DEFAULT_REFINE, folds: 3, repeats: 1 });
    await writeRefined(lib, r);
    for (const f of summary.files as string[]) expect(fs.readFileSync(f, "utf8")).toBe(fs.readFileSync(path.join(lib, path.relative(out, f)), "utf8"));

    // Real faces: the faces population is exactly the covers the face model found a face on.
    const img = readCsv(path.join(out, "faces", "img.csv"));
    expect(img.rows.map((x) => x[2])).toEqual(fset.rows.filter((x) => x.faces.length > 0).map((x) => path.resolve(fset.coversDir, x.path)));
    const allFace = readCsv(path.join(out, "all", "face.csv"));
    const allImg = readCsv(path.join(out, "all", "img.csv"));
    allImg.rows.forEach(([, id], i) => {
      const src = fset.rows.find((x) => x.masterId === id)!;
      expect(allFace.rows[i][0]).toBe(src.faces.length > 0 ? "1" : "0");
      expect(Number(allFace.rows[i][allFace.header.indexOf("gender_female")])).toBe(src.faces[0]?.gender === "female" ? 1 : 0);
    });
    const y = readCsv(path.join(out, "all", "y_label.csv"));
    const multi = fset.rows.findIndex((x) => x.genres.length === 2);
    expect(y.rows[allImg.rows.findIndex(([, id]) => id === fset.rows[multi].masterId)]).toEqual(["1", "0", "1"]); // Electronic+Rock
    const folds = JSON.parse(fs.readFileSync(path.join(out, "folds.json"), "utf8"));
    expectPartition(folds.all.folds, 31, 3, 1);
    expectPartition(folds.faces.folds, withFace, 3, 1);
  }, 60_000);

  test("a missing table exits 1 with a message naming it and how to build it; nothing is written", async () => {
    const missing = path.join(tmp, "nope", "covers.csv");
    const out = path.join(tmp, "refined-missing");
    const c = capture();
    expect(await main(["refine", "--table", missing, "--out", out], c.out, c.err)).toBe(1);
    const { stdout, stderr } = c.text();
    expect(stdout).toBe("");
    expect(stderr).toContain(`covergenre refine: feature table ${missing} does not exist`);
    expect(stderr).toContain(`covergenre features --out ${missing}`);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(fs.existsSync(out)).toBe(false);
  });

  test("a bad --folds is a usage error (exit 2) naming the flag", async () => {
    const c = capture();
    expect(await main(["refine", "--table", table, "--out", path.join(tmp, "refined-bad"), "--folds", "1"], c.out, c.err)).toBe(2);
    // Checked before the table is read: a missing table does not mask the usage error.
    const c2 = capture();
    expect(await main(["refine", "--table", path.join(tmp, "nope.csv"), "--folds", "1"], c2.out, c2.err)).toBe(2);
    expect(c.text().stderr).toMatch(/--folds must be a whole number ≥ 2/);
    expect(fs.existsSync(path.join(tmp, "refined-bad"))).toBe(false);
  });
});
