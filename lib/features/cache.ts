/**
 * Content-addressed cache of per-cover results: `<cacheDir>/<stage key>/<hash[0..2]>/<hash>.<ext>`,
 * where the hash is the SHA-1 of the image file's bytes. One small file per cover and stage,
 * written atomically as soon as it is computed, is what makes runs resumable after Ctrl-C or a
 * crash (nothing to repair, nothing half-written) and re-runs cheap (a renamed or copied cover is
 * found by content). Failures are cached too (`.err`), so a broken file is not retried on every
 * run unless the code or the file changes.
 *
 * Entry formats:
 * - colour `.json`: `{width, height, dominant, dominantShare, mean, grey[256], rgb[768]}`;
 * - faces `.json`: `{faces: FaceInfo[]}`;
 * - emb `.bin`: uint32 dim, uint32 mapBytes, float32 mapScale, float32[dim] pooled, then mapBytes of
 *   the encoded map (see maps.ts) — one read per cover when assembling the table;
 * - any stage `.err`: the error message (UTF-8).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../util/fsx";
import type { FaceInfo } from "../vision/faces";

export interface ColourEntry {
  width: number;
  height: number;
  dominant: [number, number, number];
  dominantShare: number;
  mean: [number, number, number];
  grey: number[];
  rgb: number[];
}

export interface FacesEntry {
  faces: FaceInfo[];
}

export interface EmbEntry {
  pooled: Float32Array;
  /** Encoded map bytes (empty when no map is stored for this backbone). */
  map: Uint8Array;
  mapScale: number;
}

/**
 * A result or a failure. Both branches declare both fields so that `entry.error` type-checks under
 * tslab's non-strict TypeScript, where discriminated-union narrowing on `ok` does not apply.
 */
export type Entry<T> = { ok: true; value: T; error?: undefined } | { ok: false; error: string; value?: undefined };

export function hashBytes(data: Uint8Array): string {
  return createHash("sha1").update(data).digest("hex");
}

export class FeatureCache {
  constructor(readonly dir: string) {}

  private file(stageKey: string, hash: string, ext: string): string {
    return path.join(this.dir, stageKey, hash.slice(0, 2), `${hash}.${ext}`);
  }

  private ext(stageKey: string): string {
    return stageKey.startsWith("emb-") ? "bin" : "json";
  }

  /** Whether a result (or a recorded failure) exists. */
  has(stageKey: string, hash: string): boolean {
    return fs.existsSync(this.file(stageKey, hash, this.ext(stageKey))) || fs.existsSync(this.file(stageKey, hash, "err"));
  }

  async putError(stageKey: string, hash: string, message: string): Promise<void> {
    await writeFileAtomic(this.file(stageKey, hash, "err"), message);
  }

  async putJson(stageKey: string, hash: string, value: ColourEntry | FacesEntry): Promise<void> {
    await writeFileAtomic(this.file(stageKey, hash, "json"), JSON.stringify(value));
    await fs.promises.rm(this.file(stageKey, hash, "err"), { force: true });
  }

  async putEmb(stageKey: string, hash: string, entry: EmbEntry): Promise<void> {
    const header = new DataView(new ArrayBuffer(12));
    header.setUint32(0, entry.pooled.length, true);
    header.setUint32(4, entry.map.byteLength, true);
    header.setFloat32(8, entry.mapScale, true);
    const buf = Buffer.concat([
      Buffer.from(header.buffer),
      Buffer.from(entry.pooled.buffer, entry.pooled.byteOffset, entry.pooled.byteLength),
      Buffer.from(entry.map.buffer, entry.map.byteOffset, entry.map.byteLength),
    ]);
    await writeFileAtomic(this.file(stageKey, hash, "bin"), buf);
    await fs.promises.rm(this.file(stageKey, hash, "err"), { force: true });
  }

  /** A cached result, a cached failure, or null when absent (or unreadable: then it is recomputed). */
  getJson<T extends ColourEntry | FacesEntry>(stageKey: string, hash: string): Entry<T> | null {
    const err = this.readError(stageKey, hash);
    if (err !== null) return { ok: false, error: err };
    try {
      return { ok: true, value: JSON.parse(fs.readFileSync(this.file(stageKey, hash, "json"), "utf8")) as T };
    } catch {
      return null;
    }
  }

  getEmb(stageKey: string, hash: string): Entry<EmbEntry> | null {
    const err = this.readError(stageKey, hash);
    if (err !== null) return { ok: false, error: err };
    let buf: Buffer;
    try {
      buf = fs.readFileSync(this.file(stageKey, hash, "bin"));
    } catch {
      return null;
    }
    if (buf.byteLength < 12) return null;
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const dim = view.getUint32(0, true);
    const mapBytes = view.getUint32(4, true);
    if (buf.byteLength !== 12 + dim * 4 + mapBytes) return null;
    const pooled = new Float32Array(dim);
    new Uint8Array(pooled.buffer).set(buf.subarray(12, 12 + dim * 4));
    return { ok: true, value: { pooled, map: new Uint8Array(buf.subarray(12 + dim * 4)), mapScale: view.getFloat32(8, true) } };
  }

  private readError(stageKey: string, hash: string): string | null {
    try {
      return fs.readFileSync(this.file(stageKey, hash, "err"), "utf8");
    } catch {
      return null;
    }
  }
}
