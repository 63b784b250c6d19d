/**
 * What the serve tests run on, all generated here: five covers of the pipeline's synthetic crawl
 * (two show a person) and their feature table (the real InceptionV3 from npm, so the whole feature
 * path runs), a small checkpoint trained on synthetic rows (tests/train/synthetic.ts, its 768-d
 * embedding standing in for InceptionV3's pool), and broken uploads.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import sharp from "sharp";
import { buildFeatureTable } from "../../lib/features/build";
import { defaultFeatureConfig } from "../../lib/features/config";
import { readFeatureSet, type FeatureSet } from "../../lib/features/store";
import { buildMeta, saveCheckpoint, trainFinalHead, type CheckpointMeta } from "../../lib/train/checkpoint";
import { buildDataset, usableRows, type LabelledDataset } from "../../lib/train/dataset";
import { DEFAULT_HEAD } from "../../lib/train/heads";
import { makeSyntheticCrawl } from "../pipeline/fixture";
import { syntheticFeatureSet, SYN_GENRES } from "../train/synthetic";

export const HEAD = { ...DEFAULT_HEAD, hidden: 16, epochs: 5, minSteps: 20 };

export interface ServeFixture {
  tmp: string;
  /** img+face+clr checkpoint with an MLP head (trained on synthetic rows; its table does not exist). */
  ckpt: string;
  meta: CheckpointMeta;
  /** The synthetic training rows, as the checkpoint saw them (for out-of-fold scores). */
  trainSet: FeatureSet;
  trainDs: LabelledDataset;
  /** Feature table of `covers` (for neighbours). */
  table: string;
  fset: FeatureSet;
  /** Absolute cover paths in the table's row order. */
  covers: string[];
}

export async function makeServeFixture(): Promise<ServeFixture> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cg-serve-"));
  const syn = syntheticFeatureSet(120, 4, 768);
  const trainSet: FeatureSet = { ...syn, embeddings: { inception_v3: syn.embeddings.mobilenet_v1 } };
  const trainDs = buildDataset(trainSet, usableRows(trainSet, SYN_GENRES).rows, { genres: SYN_GENRES, imgBackbones: ["inception_v3"], population: "all" });
  const trained = trainFinalHead(trainDs, "img+face+clr", HEAD, 42);
  const meta = buildMeta({ ds: trainDs, inputSet: "img+face+clr", imgBackbones: ["inception_v3"], head: HEAD, trained, table: trainSet.tablePath, cv: null });
  const ckpt = path.join(tmp, "ckpt");
  await saveCheckpoint(ckpt, meta, trained.weights);

  // Five covers (Rock and Pop, two with a person, one multi-genre) and their table, as `covergenre features` builds it.
  const coversDir = path.join(tmp, "covers");
  await makeSyntheticCrawl(coversDir, 2, ["Rock", "Pop"]);
  const table = path.join(tmp, "features", "covers.csv");
  const config = { ...defaultFeatureConfig(), backbones: ["inception_v3"], maps: [], workers: 0, cacheDir: path.join(tmp, "cache") };
  await buildFeatureTable({ coversDir, tablePath: table, config, progress: false, log: () => undefined });
  const fset = await readFeatureSet(table);
  const covers = fset.rows.map((r) => path.resolve(fset.coversDir, r.path));
  return { tmp, ckpt, meta, trainSet, trainDs, table, fset, covers };
}

/** A real JPEG whose frame header (SOF) is rewritten to claim `width` × `height`: a decompression bomb's header. */
export async function bombJpeg(width: number, height: number): Promise<Buffer> {
  const jpeg = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 90, g: 90, b: 90 } } }).jpeg().toBuffer();
  for (let i = 2; i < jpeg.length - 9; ) {
    const marker = jpeg[i + 1];
    const len = jpeg.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xc2) {
      jpeg.writeUInt16BE(height, i + 5);
      jpeg.writeUInt16BE(width, i + 7);
      return jpeg;
    }
    i += 2 + len;
  }
  throw new Error("no SOF marker in the generated JPEG");
}

/** Broken uploads, each with the words its error must contain. */
export async function badUploads(good: Buffer): Promise<{ name: string; body: Buffer; error: RegExp }[]> {
  return [
    { name: "empty body", body: Buffer.alloc(0), error: /body is empty/ },
    { name: "plain text", body: Buffer.from("these are liner notes, not a cover\n"), error: /uploaded image.*not a supported image/ },
    { name: "an HTML page", body: Buffer.from("<!DOCTYPE html><html><body><img src=cover.jpg></body></html>"), error: /uploaded image.*not a supported image/ },
    { name: "truncated JPEG", body: good.subarray(0, Math.floor(good.length / 2)), error: /uploaded image: truncated JPEG/ },
    { name: "decompression bomb", body: await bombJpeg(60000, 60000), error: /60000x60000.*exceeds the limit.*decompression bomb/ },
  ];
}
