/**
 * The feature table's columns and the names of its sidecar files, in one place so that the writer
 * (`buildFeatureTable`), the reader (`readFeatureSet`), the notebooks and the docs
 * (`lib/features/README.md`) can never disagree.
 *
 * The CSV keeps what the study's `album_data` CSV kept (one row per image file, the main face's
 * attributes, the dominant colour); everything wide (histograms, every face, embeddings, feature
 * maps) lives in sidecars next to it, named `<stem>.<what>…` after the table's file stem.
 */
import * as path from "node:path";
import { DISCOGS_GENRES } from "../discogs/genres";

/** Bumped when the table or sidecar layout changes (readers check it). 2: rows carry their collection. */
export const TABLE_FORMAT_VERSION = 2;

/** The 7 emotion classes, in the study's (DeepFace's) order. */
export const EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"] as const;
export type Emotion = (typeof EMOTIONS)[number];

/** Columns of the CSV, in order. Genre columns are named exactly as Discogs names them. */
export const TABLE_COLUMNS: readonly string[] = [
  "collection",
  "master_id",
  "path",
  ...DISCOGS_GENRES,
  "is_multi_labeled",
  "dominant_r",
  "dominant_g",
  "dominant_b",
  "mean_r",
  "mean_g",
  "mean_b",
  "width",
  "height",
  "faces",
  "age",
  "gender",
  "race",
  ...EMOTIONS,
  "error",
];

/** Grey (256 bins) then R, G, B (256 bins each): 1,024 counts per cover. */
export const HISTOGRAM_BINS = 256 * 4;

/** File names of a table's sidecars (all in the table's folder). */
export interface SidecarPaths {
  table: string;
  /** Describes the run: covers folder, layout, row count, extractor versions, sidecar formats. */
  manifest: string;
  /** One JSON line per row: `{row, collection, master_id, path, faces: FaceInfo[]}`. */
  faces: string;
  /** uint32 little-endian, [rows, 1024]: grey, R, G, B histograms (pixel counts). */
  histograms: string;
  /** Pooled embedding of one backbone: float32 little-endian [rows, dim]. */
  embedding(backbone: string): string;
  /** JSON index of an embedding file: `{backbone, dim, dtype, rows, paths}` (paths are cover keys, `<collection>/<path>`). */
  embeddingIndex(backbone: string): string;
  /** Full feature map of one backbone (quantised, see `maps.ts`). */
  map(backbone: string, dtype: string): string;
  /** JSON index of a map file: `{backbone, shape, dtype, rows, scales?, paths}`. */
  mapIndex(backbone: string): string;
}

export function sidecarPaths(tablePath: string): SidecarPaths {
  const table = path.resolve(tablePath);
  const dir = path.dirname(table);
  const stem = path.basename(table).replace(/\.csv$/i, "");
  const p = (suffix: string) => path.join(dir, `${stem}.${suffix}`);
  return {
    table,
    manifest: p("manifest.json"),
    faces: p("faces.jsonl"),
    histograms: p("hist.u32"),
    embedding: (b) => p(`emb.${b}.f32`),
    embeddingIndex: (b) => p(`emb.${b}.json`),
    map: (b, dtype) => p(`map.${b}.${dtype}`),
    mapIndex: (b) => p(`map.${b}.json`),
  };
}

/** One collection of a table: its rows are a contiguous block, in the order of `collections`. */
export interface TableCollection {
  name: string;
  dir: string;
  layout: "crawl" | "labelled";
  rows: number;
}

/** What `<stem>.manifest.json` holds. */
export interface TableManifest {
  formatVersion: number;
  createdAt: string;
  /** The first collection's folder (kept for readers of one folder; see `collections`). */
  coversDir: string;
  layout: "crawl" | "labelled";
  collections: TableCollection[];
  /** The per-cover cache the table was assembled from (a side table built later reuses it). */
  cacheDir?: string;
  rows: number;
  /** Extractor names → version/config keys used (also the cache keys). */
  extractors: Record<string, string>;
  /** Backbones with a pooled embedding sidecar. */
  embeddings: string[];
  /** Backbones with a full-map sidecar. */
  maps: string[];
  /** Whether face attributes were computed (false when the run had no face analyzer). */
  faces: boolean;
}
