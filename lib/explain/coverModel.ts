/**
 * A checkpoint kept loaded for many covers (`covergenre serve`, the notebooks' explanations): the
 * same feature path and scoring as `covergenre predict` (lib/train/predict.ts: the Extractor that
 * built the training table, the checkpoint's encoding, scaler, head and thresholds), plus what
 * explains a prediction — occlusion maps, nearest training covers, the out-of-fold gallery.
 * Models load once; every call leaves the tensor count as it found it.
 */
import * as fs from "node:fs";
import type { FaceInfo, FeatureSet } from "../features/store";
import { defaultFeatureConfig } from "../features/config";
import { Extractor } from "../features/extract";
import { initTf } from "../tf";
import { loadCheckpoint, scoreWithCheckpoint, type Checkpoint } from "../train/checkpoint";
import { buildDataset } from "../train/dataset";
import { extractWith, predictFeatureSet } from "../train/predict";
import { resolveBackboneSpec } from "../vision/backbone";
import { loadEmbedder, type Embedder } from "../vision/embed";
import { DEFAULT_MAX_PIXELS, validateImage, type DecodedImage } from "../vision/image";
import { buildGallery, readOofScores, type GalleryGenre } from "./gallery";
import { checkpointSpace, NeighbourIndex, type Neighbour } from "./neighbours";
import { occlusionMaps, type OcclusionMap, type OcclusionOptions } from "./occlusion";

/** A bad input (not an image, truncated, too many pixels): the caller's fault, not the model's. */
export class InputError extends Error {}

export interface CoverAnalysis {
  scores: Record<string, number>;
  genres: string[];
  faces: FaceInfo[];
  width: number;
  height: number;
  neighbours: Neighbour[];
  /** Why `neighbours` is empty, when it is. */
  neighboursMissing?: string;
  occlusion?: OcclusionMap[];
}

export interface CoverModelOptions {
  /** Feature table to find neighbours in (default: the one the checkpoint was trained on); null: none. */
  table?: string | null;
  /** Largest accepted image (pixels, from the header). Default lib/vision/image's 50 Mpx. */
  maxPixels?: number;
  log?: (line: string) => void;
}

export class CoverModel {
  private constructor(
    readonly ckpt: Checkpoint,
    private readonly extractor: Extractor,
    private readonly embedder: Embedder | null,
    readonly neighbours: NeighbourIndex | null,
    /** Why there are no neighbours (and what creates them), when `neighbours` is null. */
    readonly neighboursMissing: string | null,
    readonly gallery: GalleryGenre[] | null,
    readonly galleryMissing: string | null,
    private readonly maxPixels: number,
  ) {}

  /** Load the checkpoint, its feature models, the neighbour index and the gallery (each optional part says why it is missing). */
  static async load(modelDir: string, opts: CoverModelOptions = {}): Promise<CoverModel> {
    await initTf();
    const log = opts.log ?? (() => undefined);
    const ckpt = await loadCheckpoint(modelDir);
    const needsFaces = ckpt.meta.blocks.includes("face");
    const extractor = await Extractor.create({ ...defaultFeatureConfig(), backbones: ckpt.meta.imgBackbones, maps: [], faces: needsFaces, workers: 0 });
    // A second embedder for occlusion: the Extractor keeps its own private; patched copies skip faces and colour.
    const embedder = ckpt.meta.imgBackbones.length ? await loadEmbedder(ckpt.meta.imgBackbones) : null;
    let neighbours: NeighbourIndex | null = null;
    let neighboursMissing: string | null = null;
    const table = opts.table === undefined ? ckpt.meta.trainedOn.table : opts.table;
    if (!table) neighboursMissing = "no feature table given, so no neighbours (serve --table <covers.csv>)";
    else if (!fs.existsSync(table)) neighboursMissing = `the training table ${table} is not on this machine: build it with \`covergenre features\` (or give serve --table <covers.csv>)`;
    else {
      try {
        const t0 = Date.now();
        neighbours = await NeighbourIndex.fromTable(ckpt, table);
        log(`neighbours: ${neighbours.size} covers of ${table} in the checkpoint's space (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      } catch (err) {
        neighboursMissing = `the training table ${table} cannot be used for neighbours: ${(err as Error).message}`;
      }
    }
    const oof = readOofScores(modelDir);
    const gallery = "oof" in oof ? buildGallery(oof.oof) : null;
    return new CoverModel(ckpt, extractor, embedder, neighbours, neighboursMissing, gallery, "missing" in oof ? oof.missing : null, opts.maxPixels ?? DEFAULT_MAX_PIXELS);
  }

  /** The cover file of an out-of-fold row shown in the gallery (only those: a thumbnail URL cannot name any other file). */
  galleryPath(row: number): string | null {
    for (const g of this.gallery ?? []) for (const it of [...g.typical, ...g.mistakes]) if (it.row === row) return it.path;
    return null;
  }

  get genres(): string[] {
    return this.ckpt.meta.genres;
  }

  /**
   * Scores, genres, faces and neighbours of one encoded image (any format sharp reads); with
   * `explain`, occlusion maps of those genres ("top": the highest-scoring one). Throws {@link InputError} for a bad image.
   */
  async analyse(bytes: Buffer, opts: { explain?: string[]; occlusion?: OcclusionOptions; neighbours?: number } = {}): Promise<CoverAnalysis> {
    for (const g of opts.explain ?? []) if (g !== "top" && !this.genres.includes(g)) throw new InputError(`cannot explain "${g}": the model's genres are ${this.genres.join(", ")} (or "top")`);
    let image: DecodedImage;
    try {
      // The one gate of every image (as crawl and predict): empty, not an image, truncated, bomb → a clear reason.
      image = (await validateImage(bytes, { name: "the uploaded image", maxPixels: this.maxPixels })).image;
    } catch (err) {
      throw new InputError((err as Error).message);
    }
    const name = "the uploaded image";
    const fset = await extractWith(this.extractor, [{ name, bytes }], this.ckpt);
    const [p] = predictFeatureSet(this.ckpt, fset, [name]);
    if (p.error) throw new InputError(p.error);
    const row = fset.rows[0];
    const result: CoverAnalysis = { scores: p.scores!, genres: p.genres!, faces: row.faces, width: image.width, height: image.height, neighbours: [] };
    if (this.neighbours) {
      const ds = this.encode(fset);
      result.neighbours = this.neighbours.nearest(checkpointSpace(this.ckpt, ds, [0]).data, opts.neighbours ?? 8);
    } else result.neighboursMissing = this.neighboursMissing ?? undefined;
    if (opts.explain?.length) {
      const top = this.genres.reduce((b, g) => (result.scores[g] > result.scores[b] ? g : b));
      result.occlusion = await this.occlusion(image, fset, opts.explain.map((g) => (g === "top" ? top : g)), opts.occlusion);
    }
    return result;
  }

  /** Occlusion maps of `genres` for a decoded cover whose other features (faces, colour) are `fset`'s row 0. */
  async occlusion(image: DecodedImage, fset: FeatureSet, genres: string[], opts: OcclusionOptions = {}): Promise<OcclusionMap[]> {
    if (!this.embedder) throw new InputError(`this checkpoint (${this.ckpt.meta.inputSet}) uses no image embedding: occlusion needs one`);
    const backbones = this.ckpt.meta.imgBackbones;
    const size = resolveBackboneSpec(backbones[0]).inputSize;
    return occlusionMaps(image, this.genres, genres, (images) => this.scoreImages(images, fset), { size, ...opts });
  }

  /**
   * Checkpoint scores of images that share row 0's faces and colour (only the image embedding is
   * recomputed: the grey patch probes what the backbone sees, the part faces and colour do not).
   */
  private async scoreImages(images: DecodedImage[], fset: FeatureSet): Promise<Float32Array> {
    const backbones = this.ckpt.meta.imgBackbones;
    const out = await this.embedder!.embed(images, { only: backbones.map((b) => resolveBackboneSpec(b).name) });
    const embeddings: FeatureSet["embeddings"] = {};
    for (const b of backbones) {
      const vecs = out.pooled[resolveBackboneSpec(b).name];
      const dim = vecs[0].length;
      const data = new Float32Array(images.length * dim);
      vecs.forEach((v, i) => data.set(v, i * dim));
      embeddings[b] = { dim, data };
    }
    const copies: FeatureSet = { ...fset, rows: images.map(() => fset.rows[0]), embeddings };
    const ds = this.encode(copies, images.map((_, i) => i));
    return scoreWithCheckpoint(this.ckpt, ds, images.map((_, i) => i)).scores;
  }

  /** Rows of a FeatureSet of new covers, encoded as training did. */
  private encode(fset: FeatureSet, rows: number[] = [0]) {
    return buildDataset(fset, rows, { genres: this.genres, imgBackbones: this.ckpt.meta.imgBackbones, population: this.ckpt.meta.population });
  }

  /** Where this model's backbones run (onnx / tfjs). */
  runtimes(): { name: string; runtime: string }[] {
    return this.extractor.runtimes().map((r) => ({ name: r.name, runtime: r.runtime }));
  }

  dispose(): void {
    this.extractor.dispose();
    this.embedder?.dispose();
  }
}
