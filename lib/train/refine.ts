/**
 * 03.Refine_Divide: from the per-cover feature table to the study's model inputs. Keep the major
 * genres (genres without enough examples are reported and dropped), keep covers with ≥ 1 face (the
 * study's population; all covers are kept as a second population), one-hot the categorical face
 * attributes, and divide into image / face / colour inputs + labels, as DataFrames (danfojs) and
 * as the study's CSVs, with the folds every model will use.
 *
 * Values are written unstandardised on purpose: standardisation is fitted inside each training
 * fold (the study standardised before splitting, leaking test statistics).
 */
import * as path from "node:path";
import type { FeatureSet } from "../features/store";
import { danfo, type DanfoFrame } from "../features/store";
import { MAJOR_GENRES } from "../discogs/genres";
import { packageDir } from "../util/packages";
import { writeFileAtomic, writeJsonAtomic } from "../util/fsx";
import { buildDataset, defaultImgBackbones, usableRows, type LabelledDataset } from "./dataset";
import { keptGenres } from "./study";
import { repeatedStratifiedFolds, type Fold } from "./stratify";
import { describeCollections, foldLabels } from "./collections";
import type { CollectionInfo } from "./results";

export interface RefineConfig {
  genres: string[];
  minPositives: number;
  folds: number;
  repeats: number;
  seed: number;
  /** Embeddings for the img block ("auto": see defaultImgBackbones). */
  imgBackbones: string[] | "auto";
}

export const DEFAULT_REFINE: RefineConfig = { genres: [...MAJOR_GENRES], minPositives: 10, folds: 5, repeats: 2, seed: 42, imgBackbones: "auto" };

export interface Refined {
  genres: string[];
  droppedGenres: { genre: string; reason: string }[];
  droppedRows: { reason: string; count: number }[];
  faces: LabelledDataset;
  all: LabelledDataset;
  foldsFaces: Fold[];
  foldsAll: Fold[];
  imgBackbones: string[];
  /** Each collection side by side: rows, faces, genre counts, label cardinality, image sizes. */
  collections: CollectionInfo[];
}

export function refine(fset: FeatureSet, cfg: RefineConfig = DEFAULT_REFINE): Refined {
  const usable0 = usableRows(fset, cfg.genres);
  const { kept, dropped } = keptGenres(fset, usable0.rows, cfg.genres, cfg.minPositives);
  const { rows, dropped: droppedRows } = usableRows(fset, kept);
  const imgBackbones = cfg.imgBackbones === "auto" ? defaultImgBackbones(Object.keys(fset.embeddings)) : cfg.imgBackbones;
  const all = buildDataset(fset, rows, { genres: kept, imgBackbones, population: "all" });
  const faces = buildDataset(fset, rows, { genres: kept, imgBackbones, population: "faces" });
  // The study's folds: stratified by label set and collection (lib/train/collections.ts).
  const foldsAll = repeatedStratifiedFolds(foldLabels(all), cfg.folds, cfg.repeats, cfg.seed);
  const foldsFaces = faces.n >= cfg.folds * 2 ? repeatedStratifiedFolds(foldLabels(faces), cfg.folds, cfg.repeats, cfg.seed) : [];
  return { genres: kept, droppedGenres: dropped, droppedRows, faces, all, foldsFaces, foldsAll, imgBackbones, collections: describeCollections(fset, all, faces) };
}

/** The study's divided inputs of one population as danfo DataFrames (img = paths, as the study's img.csv). */
export function refinedFrames(ds: LabelledDataset): { img: DanfoFrame; face: DanfoFrame; clr: DanfoFrame; y: DanfoFrame } {
  const { DataFrame } = danfo();
  const rowsOf = (b: "face" | "clr") => {
    const block = ds.blocks[b]!;
    return Array.from({ length: ds.n }, (_, i) => Array.from(block.data.subarray(i * block.dim, (i + 1) * block.dim)));
  };
  return {
    img: new DataFrame(ds.paths.map((p, i) => [ds.collections[i], ds.ids[i], p]), { columns: ["collection", "master_id", "path"] }),
    face: new DataFrame(rowsOf("face"), { columns: ds.blocks.face!.columns }),
    clr: new DataFrame(rowsOf("clr"), { columns: ds.blocks.clr!.columns }),
    y: new DataFrame(Array.from({ length: ds.n }, (_, i) => Array.from(ds.y.subarray(i * ds.k, (i + 1) * ds.k))), { columns: ds.genres }),
  };
}

function csv(frame: DanfoFrame): string {
  const papa = require(require.resolve("papaparse", { paths: [packageDir("danfojs-node")] })) as { unparse(i: { fields: string[]; data: unknown[][] }, c?: object): string };
  return papa.unparse({ fields: frame.columns, data: frame.values }, { newline: "\n" }) + "\n";
}

/**
 * Write `<out>/<population>/{img,face,clr,y_label}.csv` for both populations and `<out>/folds.json`
 * (row indices into those CSVs). Returns the files written.
 */
export async function writeRefined(outDir: string, r: Refined): Promise<string[]> {
  const written: string[] = [];
  for (const [pop, ds] of [["faces", r.faces], ["all", r.all]] as const) {
    const frames = refinedFrames(ds);
    for (const [name, frame] of [["img", frames.img], ["face", frames.face], ["clr", frames.clr], ["y_label", frames.y]] as const) {
      const file = path.join(outDir, pop, `${name}.csv`);
      await writeFileAtomic(file, csv(frame));
      written.push(file);
    }
  }
  const foldsFile = path.join(outDir, "folds.json");
  const compact = (folds: Fold[]) => folds.map((f) => ({ repeat: f.repeat, fold: f.fold, test: f.test }));
  await writeJsonAtomic(foldsFile, {
    note: "row indices into <population>/*.csv; a fold's training rows are all other rows of its repeat",
    genres: r.genres,
    droppedGenres: r.droppedGenres,
    droppedRows: r.droppedRows,
    imgBackbones: r.imgBackbones,
    faces: { rows: r.faces.n, folds: compact(r.foldsFaces) },
    all: { rows: r.all.n, folds: compact(r.foldsAll) },
  });
  written.push(foldsFile);
  return written;
}
