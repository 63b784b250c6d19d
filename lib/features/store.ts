/**
 * Reading (and writing) the per-cover feature table and its sidecars — the contract the training
 * code builds on. `readFeatureSet` gives row-aligned covers, faces and pooled embeddings;
 * `readInceptionMaps` gives the study's full mixed7 maps for the Flatten head, on demand and by
 * row, because all of them in float32 take 566 MB for the shared 3,763 covers.
 *
 * The CSV is read and written through danfojs-node's CSV stack (papaparse): danfo's own `toCSV`
 * does not quote fields, and Discogs's "Folk, World, & Country" has commas in its name, so
 * writing goes through papaparse's `unparse` (the library danfo itself reads with).
 * File formats: lib/features/README.md.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { DISCOGS_GENRES } from "../discogs/genres";
import { UserError } from "../util/errors";
import { writeFileAtomic } from "../util/fsx";
import { packageDir } from "../util/packages";
import type { FaceInfo } from "../vision/faces";
import { decodeRowInto, bytesPerValue, type MapDtype } from "./maps";
import { EMOTIONS, HISTOGRAM_BINS, TABLE_COLUMNS, TABLE_FORMAT_VERSION, sidecarPaths, type TableCollection, type TableManifest } from "./schema";
import { coverKey } from "./covers";

export type { FaceInfo };

/** One cover (one image file) of the table. */
export interface CoverRow {
  /** Its collection (the covers folder's name); with `path`, the row's key. */
  collection: string;
  masterId: string;
  /** Relative to its collection's folder. */
  path: string;
  genres: string[];
  isMultiLabeled: boolean;
  dominant: [number, number, number];
  meanColour: [number, number, number];
  /** Image size in pixels (NaN when it could not be read). */
  width: number;
  height: number;
  /** All faces, largest first; [] when none. */
  faces: FaceInfo[];
  error: string | null;
}

export interface FeatureSet {
  tablePath: string;
  /** The first collection's folder (tables of one folder); {@link coverFile} resolves any row. */
  coversDir: string;
  /** Every collection of the table, in table order (absent: one collection in `coversDir`). */
  collections?: TableCollection[];
  /** The per-cover cache the table came from (absent for tables built before it was recorded). */
  cacheDir?: string;
  rows: CoverRow[];
  /** pooled embeddings per backbone name, row-aligned with rows: Float32Array of rows.length * dim */
  embeddings: Record<string, { dim: number; data: Float32Array }>;
}

/** Index file of a pooled-embedding sidecar. */
export interface EmbeddingIndex {
  backbone: string;
  dim: number;
  dtype: "float32";
  rows: number;
  /** Cover keys (`<collection>/<path>`), row by row: lets a reader check alignment. */
  paths: string[];
}

/** Index file of a feature-map sidecar. */
export interface MapIndex {
  backbone: string;
  /** Shape of one row's map, e.g. [7, 7, 768]. */
  shape: number[];
  dtype: MapDtype;
  rows: number;
  /** Per-row decode scale (u8 only; 1 otherwise). A row without a map (bad image) has scale 0 and all-zero bytes. */
  scales: number[];
  paths: string[];
}

// danfojs-node pulls in its whole stack (≈ 1.5 s): load it only when a table is read or written.
type Danfo = {
  readCSV(file: string, options?: Record<string, unknown>): Promise<DanfoFrame>;
  DataFrame: new (data: unknown, options?: Record<string, unknown>) => DanfoFrame;
  toJSON(df: DanfoFrame, options?: Record<string, unknown>): unknown;
};
/** The slice of danfo's DataFrame API this project uses (danfo's own typings pull in tfjs-node's). */
export type DanfoFrame = {
  columns: string[];
  values: unknown[][];
  shape: [number, number];
  head(n?: number): DanfoFrame;
  loc(selection: { rows?: unknown; columns?: string[] }): DanfoFrame;
  print(): void;
  toString(): string;
};

export function danfo(): Danfo {
  return require("danfojs-node") as Danfo;
}

function papaparse(): { unparse(input: { fields: string[]; data: unknown[][] }, config?: Record<string, unknown>): string } {
  return require(require.resolve("papaparse", { paths: [packageDir("danfojs-node")] }));
}

/** Read the table as a danfo DataFrame, every cell kept as text (ids like "013" must not become numbers). */
export async function readTableFrame(tablePath: string): Promise<DanfoFrame> {
  if (!fs.existsSync(tablePath)) {
    throw new UserError(`feature table ${tablePath} does not exist: build it with \`covergenre features --out ${tablePath}\``);
  }
  return danfo().readCSV(tablePath, { dynamicTyping: false, skipEmptyLines: true });
}

/** Write records (column → value) as the table CSV via danfo + papaparse, atomically. */
export async function writeTable(tablePath: string, records: Record<string, string | number | null>[]): Promise<void> {
  const data = records.map((r) => TABLE_COLUMNS.map((c) => r[c] ?? ""));
  // Through a DataFrame so notebooks and the CLI share one representation; empty tables have no frame.
  const values = data.length ? (new (danfo().DataFrame)(data, { columns: [...TABLE_COLUMNS] }).values as unknown[][]) : [];
  const text = papaparse().unparse({ fields: [...TABLE_COLUMNS], data: values }, { newline: "\n" }) + "\n";
  await writeFileAtomic(tablePath, text);
}

export function readManifest(tablePath: string): TableManifest {
  const file = sidecarPaths(tablePath).manifest;
  if (!fs.existsSync(tablePath)) {
    throw new UserError(`feature table ${tablePath} does not exist: build it with \`covergenre features --out ${tablePath}\``);
  }
  if (!fs.existsSync(file)) {
    throw new UserError(`feature table ${tablePath} has no ${path.basename(file)} beside it: rebuild it with \`covergenre features --out ${tablePath}\``);
  }
  const manifest = JSON.parse(fs.readFileSync(file, "utf8")) as TableManifest;
  if (manifest.formatVersion !== TABLE_FORMAT_VERSION) {
    throw new UserError(`feature table ${tablePath} has format ${manifest.formatVersion}, this code reads ${TABLE_FORMAT_VERSION}: rebuild it`);
  }
  return manifest;
}

function num(text: unknown): number {
  return text === "" || text == null ? NaN : Number(text);
}

export async function readFeatureSet(tablePath: string): Promise<FeatureSet> {
  const table = path.resolve(tablePath);
  const manifest = readManifest(table);
  const frame = await readTableFrame(table);
  const cols = frame.columns;
  const at = (name: string) => {
    const i = cols.indexOf(name);
    if (i < 0) throw new UserError(`feature table ${table} has no column "${name}"`);
    return i;
  };
  const idx = Object.fromEntries(TABLE_COLUMNS.map((c) => [c, at(c)]));
  const faceLines = readFacesJsonl(sidecarPaths(table).faces);
  const rows: CoverRow[] = frame.values.map((v, row) => {
    const rgb = (prefix: string): [number, number, number] => [num(v[idx[`${prefix}_r`]]), num(v[idx[`${prefix}_g`]]), num(v[idx[`${prefix}_b`]])];
    const p = String(v[idx.path]);
    const collection = String(v[idx.collection]);
    const faces = faceLines.get(row);
    if (faces && (faces.path !== p || faces.collection !== collection)) {
      throw new UserError(`${sidecarPaths(table).faces}: line for row ${row} is ${faces.collection}/${faces.path}, table says ${collection}/${p}`);
    }
    const error = String(v[idx.error] ?? "");
    return {
      collection,
      masterId: String(v[idx.master_id]),
      path: p,
      genres: DISCOGS_GENRES.filter((g) => String(v[idx[g]]) === "1"),
      isMultiLabeled: String(v[idx.is_multi_labeled]) === "1",
      dominant: rgb("dominant"),
      meanColour: rgb("mean"),
      width: num(v[idx.width]),
      height: num(v[idx.height]),
      faces: faces?.faces ?? [],
      error: error === "" ? null : error,
    };
  });
  if (rows.length !== manifest.rows) throw new UserError(`feature table ${table} has ${rows.length} rows, its manifest says ${manifest.rows}: rebuild it`);
  const embeddings: FeatureSet["embeddings"] = {};
  for (const backbone of manifest.embeddings) embeddings[backbone] = readEmbedding(table, backbone, rows);
  return { tablePath: table, coversDir: manifest.coversDir, collections: manifest.collections, cacheDir: manifest.cacheDir, rows, embeddings };
}

/**
 * The absolute file of a row: its collection's folder + its path. Rows of a set without
 * `collections` (one folder) resolve against `coversDir`.
 */
export function coverFile(fset: Pick<FeatureSet, "coversDir" | "collections">, row: Pick<CoverRow, "collection" | "path">): string {
  const dir = fset.collections?.find((c) => c.name === row.collection)?.dir ?? fset.coversDir;
  return path.resolve(dir, row.path);
}

type FacesLine = { collection: string; path: string; faces: FaceInfo[] };

function readFacesJsonl(file: string): Map<number, FacesLine> {
  const out = new Map<number, FacesLine>();
  if (!fs.existsSync(file)) return out;
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (!line.trim()) continue;
    const rec = JSON.parse(line) as FacesLine & { row: number };
    out.set(rec.row, { collection: rec.collection, path: rec.path, faces: rec.faces });
  }
  return out;
}

function readEmbedding(table: string, backbone: string, rows: CoverRow[]): { dim: number; data: Float32Array } {
  const sp = sidecarPaths(table);
  const index = JSON.parse(fs.readFileSync(sp.embeddingIndex(backbone), "utf8")) as EmbeddingIndex;
  checkAlignment(sp.embeddingIndex(backbone), index.paths, rows);
  const buf = fs.readFileSync(sp.embedding(backbone));
  if (buf.byteLength !== rows.length * index.dim * 4) {
    throw new UserError(`${sp.embedding(backbone)} has ${buf.byteLength} bytes, expected ${rows.length} x ${index.dim} float32: rebuild the table`);
  }
  const data = new Float32Array(rows.length * index.dim);
  new Uint8Array(data.buffer).set(buf);
  return { dim: index.dim, data };
}

function checkAlignment(file: string, paths: string[], rows: { collection: string; path: string }[]): void {
  if (paths.length !== rows.length || paths.some((p, i) => p !== coverKey(rows[i]))) {
    throw new UserError(`${file} is not aligned with its table (different covers or order): rebuild the table`);
  }
}

export function readMapIndex(tablePath: string, backbone = "inception_v3"): MapIndex {
  const file = sidecarPaths(tablePath).mapIndex(backbone);
  if (!fs.existsSync(file)) {
    throw new UserError(`feature table ${tablePath} has no ${backbone} maps (${path.basename(file)}): build it with --maps ${backbone}`);
  }
  return JSON.parse(fs.readFileSync(file, "utf8")) as MapIndex;
}

/** The full InceptionV3 mixed7 maps (row-aligned, [n, 7*7*768]) for the study's Flatten head; may be large. */
export async function readInceptionMaps(tablePath: string, rowIndices?: number[]): Promise<Float32Array> {
  return readMaps(tablePath, "inception_v3", rowIndices);
}

/** Feature maps of any backbone stored with `--maps`, decoded to float32, in the order of `rowIndices` (default: all rows). */
export async function readMaps(tablePath: string, backbone: string, rowIndices?: number[]): Promise<Float32Array> {
  const index = readMapIndex(tablePath, backbone);
  const dim = index.shape.reduce((a, b) => a * b, 1);
  const rowBytes = dim * bytesPerValue(index.dtype);
  const rows = rowIndices ?? [...Array(index.rows).keys()];
  const out = new Float32Array(rows.length * dim);
  const file = sidecarPaths(tablePath).map(backbone, index.dtype);
  const fd = await fs.promises.open(file, "r");
  try {
    const { size } = await fd.stat();
    if (size !== index.rows * rowBytes) throw new UserError(`${file} has ${size} bytes, expected ${index.rows} rows x ${rowBytes}: rebuild the table`);
    const buf = new Uint8Array(rowBytes);
    for (let k = 0; k < rows.length; k++) {
      const r = rows[k];
      if (!Number.isInteger(r) || r < 0 || r >= index.rows) throw new RangeError(`row ${r} is outside the table (0..${index.rows - 1})`);
      await fd.read(buf, 0, rowBytes, r * rowBytes);
      decodeRowInto(buf, index.dtype, index.scales[r], out, k * dim);
    }
  } finally {
    await fd.close();
  }
  return out;
}

/**
 * Feature maps of the covers named by `keys` (`<collection>/<path>`), in that order, from any table
 * that holds them (e.g. a side table of just the Flatten head's covers). A key the table lacks is an error.
 */
export async function readMapsByKey(tablePath: string, backbone: string, keys: string[]): Promise<Float32Array> {
  const index = readMapIndex(tablePath, backbone);
  const at = new Map(index.paths.map((p, i) => [p, i]));
  const rows = keys.map((k) => {
    const r = at.get(k);
    if (r === undefined) throw new UserError(`${sidecarPaths(tablePath).mapIndex(backbone)} has no map for ${k}: rebuild that table`);
    return r;
  });
  return readMaps(tablePath, backbone, rows);
}

/** Whether `tablePath` holds `backbone` maps for every one of `keys`. */
export function hasMapsFor(tablePath: string, backbone: string, keys: string[]): boolean {
  if (!fs.existsSync(sidecarPaths(tablePath).mapIndex(backbone))) return false;
  const have = new Set(readMapIndex(tablePath, backbone).paths);
  return keys.every((k) => have.has(k));
}

/** Grey + RGB histograms, row-aligned: Uint32Array [rows, 1024] (grey 0-255, then R, G, B). */
export function readHistograms(tablePath: string): Uint32Array {
  const file = sidecarPaths(tablePath).histograms;
  const buf = fs.readFileSync(file);
  if (buf.byteLength % (HISTOGRAM_BINS * 4) !== 0) throw new UserError(`${file} is not a whole number of ${HISTOGRAM_BINS}-bin rows`);
  const out = new Uint32Array(buf.byteLength / 4);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

/** Emotion columns of the CSV, re-exported for notebooks. */
export { EMOTIONS };
