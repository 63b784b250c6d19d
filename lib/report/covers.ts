/**
 * Cover thumbnails for the report's example grid: small JPEGs embedded as data URIs (so the page is
 * one self-contained file), with face boxes drawn on them when the caller knows where faces are.
 */
import * as fs from "node:fs";
import sharp from "sharp";
import { describeError } from "../util/errors";

/** A face box in pixels of the original image (what Human's `face.box` gives). */
export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
  /** Optional caption drawn above the box (e.g. "F 31 happy"). */
  label?: string;
}

export type Thumbnail = { ok: true; dataUri: string; width: number; height: number } | { ok: false; error: string };

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c] as string);
}

/**
 * Read `file`, draw `faces` on it, shrink to `size` px (longest side) and return a JPEG data URI.
 * Never throws for a bad image: the grid shows the reason instead, and the report still renders.
 */
export async function coverThumbnail(file: string, faces: FaceBox[] = [], size = 180): Promise<Thumbnail> {
  try {
    if (!fs.existsSync(file)) return { ok: false, error: `cover not found: ${file}` };
    const img = sharp(file, { failOn: "error" }).rotate();
    const meta = await img.metadata();
    const w = meta.width ?? 0;
    const h = meta.height ?? 0;
    if (!w || !h) return { ok: false, error: `cannot read image size of ${file}` };
    let pipeline = sharp(await img.toBuffer());
    if (faces.length) {
      const stroke = Math.max(2, Math.round(Math.max(w, h) / 150));
      const font = Math.max(10, Math.round(Math.max(w, h) / 22));
      const shapes = faces
        .map((f) => {
          const rect = `<rect x="${f.x}" y="${f.y}" width="${f.width}" height="${f.height}" fill="none" stroke="#00e5ff" stroke-width="${stroke}"/>`;
          const label = f.label
            ? `<text x="${f.x}" y="${Math.max(font, f.y - stroke)}" font-family="sans-serif" font-size="${font}" fill="#00e5ff" stroke="#000" stroke-width="${Math.max(1, stroke / 3)}" paint-order="stroke">${escapeXml(f.label)}</text>`
            : "";
          return rect + label;
        })
        .join("");
      const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">${shapes}</svg>`);
      pipeline = sharp(await pipeline.composite([{ input: svg, top: 0, left: 0 }]).png().toBuffer());
    }
    const out = await pipeline.resize({ width: size, height: size, fit: "inside", withoutEnlargement: true }).jpeg({ quality: 78 }).toBuffer({ resolveWithObject: true });
    return { ok: true, dataUri: `data:image/jpeg;base64,${out.data.toString("base64")}`, width: out.info.width, height: out.info.height };
  } catch (err) {
    return { ok: false, error: `cannot read cover ${file}: ${describeError(err)}` };
  }
}
