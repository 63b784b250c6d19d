/**
 * The explanations as pictures for notebooks (and any static page): a cover with its occlusion map
 * and face boxes drawn over it, thumbnails of neighbours and of the gallery, as self-contained HTML
 * (images inlined as data URLs, so a notebook's saved output needs no files beside it).
 */
import sharp from "sharp";
import { escapeHtml } from "../plot";
import type { FaceInfo } from "../features/store";
import type { CoverAnalysis } from "./coverModel";
import type { GalleryGenre, GalleryItem } from "./gallery";
import type { OcclusionMap } from "./occlusion";

/** A cover file (or encoded bytes) as a JPEG data URL of at most `size` pixels per side. */
export async function thumbnailDataUrl(input: string | Buffer, size = 150): Promise<string> {
  const jpeg = await sharp(input).rotate().resize(size, size, { fit: "inside" }).jpeg({ quality: 82 }).toBuffer();
  return `data:image/jpeg;base64,${jpeg.toString("base64")}`;
}

/**
 * The cover at `size` px wide with the occlusion map over it (red: hiding the region lowers the
 * genre's score; blue: raises it; opacity ∝ |drop| relative to the largest) and face boxes (green).
 */
export async function occlusionOverlayPng(input: string | Buffer, map: OcclusionMap, faces: FaceInfo[] = [], size = 320): Promise<Buffer> {
  const base = sharp(input).rotate();
  const meta = await sharp(input).metadata();
  const srcW = meta.autoOrient?.width ?? meta.width ?? size;
  const srcH = meta.autoOrient?.height ?? meta.height ?? size;
  const width = size;
  const height = Math.max(1, Math.round((srcH / srcW) * size));
  const m = Math.max(1e-6, ...map.grid.flat().map(Math.abs));
  const cw = width / map.cols;
  const ch = height / map.rows;
  const cells = map.grid
    .flatMap((row, r) =>
      row.map((v, c) => {
        const colour = v >= 0 ? "214,39,40" : "31,119,180";
        return `<rect x="${(c * cw).toFixed(1)}" y="${(r * ch).toFixed(1)}" width="${cw.toFixed(1)}" height="${ch.toFixed(1)}" fill="rgba(${colour},${((Math.abs(v) / m) * 0.6).toFixed(3)})"/>`;
      }),
    )
    .join("");
  const sx = width / srcW;
  const sy = height / srcH;
  const boxes = faces
    .map((f) => `<rect x="${f.box[0] * sx}" y="${f.box[1] * sy}" width="${f.box[2] * sx}" height="${f.box[3] * sy}" fill="none" stroke="#00e676" stroke-width="3"/>`)
    .join("");
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${cells}${boxes}</svg>`;
  return base
    .resize(width, height, { fit: "fill" })
    .composite([{ input: Buffer.from(svg) }])
    .png()
    .toBuffer();
}

function tags(genres: string[]): string {
  return genres.map((g) => `<span style="background:#e4ebff;border-radius:3px;padding:0 3px;margin-right:2px">${escapeHtml(g)}</span>`).join("");
}

async function card(file: string, lines: string[], size = 120): Promise<string> {
  let img: string;
  try {
    img = `<img src="${await thumbnailDataUrl(file, size)}" style="width:${size}px;height:${size}px;object-fit:cover;display:block">`;
  } catch (err) {
    img = `<div style="width:${size}px;height:${size}px;background:#eee;font-size:11px">${escapeHtml((err as Error).message.split("\n")[0])}</div>`;
  }
  return `<div style="width:${size}px;font-size:11px;line-height:1.35">${img}${lines.map((l) => `<div>${l}</div>`).join("")}</div>`;
}

const ROW = "display:flex;flex-wrap:wrap;gap:8px;margin:4px 0 10px";

/** One analysed cover: the occlusion overlay, its scores and predicted genres, and its nearest training covers. */
export async function analysisHtml(file: string, a: CoverAnalysis, title = file): Promise<string> {
  const map = a.occlusion?.[0];
  const overlay = map ? `<img src="data:image/png;base64,${(await occlusionOverlayPng(file, map, a.faces)).toString("base64")}" style="width:320px">` : "";
  const scores = Object.entries(a.scores)
    .map(([g, s]) => `<tr><td>${a.genres.includes(g) ? "<b>" + escapeHtml(g) + "</b>" : escapeHtml(g)}</td><td>${s.toFixed(3)}</td></tr>`)
    .join("");
  const neighbours = await Promise.all(a.neighbours.map((n) => card(n.path, [tags(n.genres), `sim ${n.similarity.toFixed(2)} · ${escapeHtml(n.id)}`])));
  return (
    `<div style="font-family:system-ui,sans-serif;margin-bottom:14px"><div style="font-weight:600">${escapeHtml(title)}</div>` +
    `<div style="display:flex;gap:16px;align-items:flex-start"><div>${overlay}<div style="font-size:11px">${map ? `why ${escapeHtml(map.genre)}: red = hiding it lowers the score` : ""}; faces: ${a.faces.length}</div></div>` +
    `<table style="font-size:12px">${scores}</table></div>` +
    (a.neighbours.length ? `<div style="font-size:12px;margin-top:6px">Nearest training covers (the model's own space):</div><div style="${ROW}">${neighbours.join("")}</div>` : `<div class="note">${escapeHtml(a.neighboursMissing ?? "")}</div>`) +
    `</div>`
  );
}

/** Per genre: its most typical covers and its most confident mistakes (out-of-fold scores). */
export async function galleryHtml(gallery: GalleryGenre[], per = 5): Promise<string> {
  const cards = (items: GalleryItem[], mistake: boolean) =>
    Promise.all(items.slice(0, per).map((t) => card(t.path, [tags(t.genres), `score ${t.score.toFixed(2)}${mistake ? ` · predicted ${escapeHtml(t.predicted.join(", ") || "none")}` : ""}`])));
  const parts = [];
  for (const g of gallery) {
    parts.push(
      `<h4 style="margin:8px 0 2px">${escapeHtml(g.genre)}</h4><div style="font-size:12px">Most typical</div><div style="${ROW}">${(await cards(g.typical, false)).join("")}</div>` +
        `<div style="font-size:12px">Most confident mistakes (not ${escapeHtml(g.genre)})</div><div style="${ROW}">${(await cards(g.mistakes, true)).join("")}</div>`,
    );
  }
  return `<div style="font-family:system-ui,sans-serif">${parts.join("")}</div>`;
}
