/**
 * Pictures and plotly figures of a feature table, for notebook 02.MakeCSV and reports: covers with
 * their faces drawn on, distributions of face attributes per genre, dominant-colour swatches.
 * Pure functions of a FeatureSet (plus the cover files for the grid), so they are testable and the
 * notebook only narrates.
 *
 * Must compile under tslab's TypeScript 5.0 (non-strict) as well as the project's strict 5.9.
 */
import sharp from "sharp";
import { DISCOGS_GENRES } from "../discogs/genres";
import type { Figure } from "../plot";
import { escapeHtml } from "../plot";
import type { FaceInfo } from "../vision/faces";
import { EMOTIONS } from "./schema";
import { coverFile, type CoverRow, type FeatureSet } from "./store";

/** Genres (Discogs order) that have at least one cover in the set. */
export function genresPresent(rows: CoverRow[]): string[] {
  return DISCOGS_GENRES.filter((g) => rows.some((r) => r.genres.includes(g)));
}

function dominantEmotion(f: FaceInfo): string | null {
  if (!f.emotion) return null;
  let best: string | null = null;
  let score = -1;
  for (const e of EMOTIONS) {
    const v = (f.emotion as Record<string, number>)[e];
    if (v > score) {
      score = v;
      best = e;
    }
  }
  return best;
}

/** "F 31 happy" — gender initial, age, strongest emotion. */
export function faceLabel(f: FaceInfo): string {
  const g = f.gender === "male" ? "M" : f.gender === "female" ? "F" : "?";
  const age = f.age != null ? String(Math.round(f.age)) : "?";
  return `${g} ${age} ${dominantEmotion(f) ?? ""}`.trim();
}

export interface GridOptions {
  /** Covers in the grid. Default 12. */
  count?: number;
  /** Tile side in pixels. Default 240. */
  tile?: number;
  /** Tiles per row. Default 4. */
  cols?: number;
}

/**
 * A PNG grid of covers that have faces, each face boxed (blue male, red female) with "gender age
 * emotion" written on it. Covers are taken in table order among rows with at least one face.
 */
export async function faceGridPng(set: FeatureSet, opts: GridOptions = {}): Promise<Buffer> {
  const count = opts.count ?? 12;
  const tile = opts.tile ?? 240;
  const cols = opts.cols ?? 4;
  const rows = set.rows.filter((r) => !r.error && r.faces.length > 0).slice(0, count);
  if (rows.length === 0) throw new Error("no cover with a face in this table");
  const tiles: { input: Buffer; left: number; top: number }[] = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const file = coverFile(set, r);
    const meta = await sharp(file).rotate().toBuffer({ resolveWithObject: true });
    const sx = tile / meta.info.width;
    const sy = tile / meta.info.height;
    const shapes = r.faces
      .map((f) => {
        const [x, y, w, h] = f.box;
        const colour = f.gender === "male" ? "#1f77ff" : f.gender === "female" ? "#ff3355" : "#ffd400";
        const label = escapeHtml(faceLabel(f));
        const tx = Math.max(0, x * sx);
        const ty = Math.max(12, y * sy - 3);
        return (
          `<rect x="${x * sx}" y="${y * sy}" width="${w * sx}" height="${h * sy}" fill="none" stroke="${colour}" stroke-width="2"/>` +
          `<rect x="${tx}" y="${ty - 12}" width="${label.length * 7 + 4}" height="14" fill="black" fill-opacity="0.6"/>` +
          `<text x="${tx + 2}" y="${ty}" font-family="DejaVu Sans, sans-serif" font-size="11" fill="white">${label}</text>`
        );
      })
      .join("");
    const caption = escapeHtml(`${r.masterId} · ${r.genres.join(", ") || "no genre"}`);
    const svg = Buffer.from(
      `<svg width="${tile}" height="${tile}" xmlns="http://www.w3.org/2000/svg">${shapes}` +
        `<rect x="0" y="${tile - 16}" width="${tile}" height="16" fill="black" fill-opacity="0.6"/>` +
        `<text x="3" y="${tile - 4}" font-family="DejaVu Sans, sans-serif" font-size="11" fill="white">${caption}</text></svg>`,
    );
    const img = await sharp(meta.data).resize(tile, tile, { fit: "fill" }).composite([{ input: svg, left: 0, top: 0 }]).png().toBuffer();
    tiles.push({ input: img, left: (i % cols) * tile, top: Math.floor(i / cols) * tile });
  }
  const height = Math.ceil(rows.length / cols) * tile;
  return sharp({ create: { width: Math.min(cols, rows.length) * tile, height, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite(tiles)
    .png()
    .toBuffer();
}

interface GenreFaces {
  genre: string;
  covers: CoverRow[];
  faces: FaceInfo[];
}

function byGenre(set: FeatureSet, genres?: string[]): GenreFaces[] {
  const ok = set.rows.filter((r) => !r.error);
  return (genres ?? genresPresent(ok)).map((g) => {
    const covers = ok.filter((r) => r.genres.includes(g));
    return { genre: g, covers, faces: covers.flatMap((r) => r.faces) };
  });
}

const pct = (n: number, d: number) => (d > 0 ? (100 * n) / d : 0);

/**
 * Plotly figures of face attributes per genre (a multi-genre cover counts in each of its genres;
 * attributes use every face, not only the main one).
 */
export function genreFigures(set: FeatureSet, genres?: string[]): { facesPerCover: Figure; age: Figure; gender: Figure; race: Figure; emotion: Figure } {
  const groups = byGenre(set, genres);
  const x = groups.map((g) => `${g.genre} (${g.covers.length})`);
  const bins = ["0", "1", "2", "3+"];
  const facesPerCover: Figure = {
    data: bins.map((b, i) => ({
      type: "bar",
      name: `${b} face${b === "1" ? "" : "s"}`,
      x,
      y: groups.map((g) => pct(g.covers.filter((r) => (i < 3 ? r.faces.length === i : r.faces.length >= 3)).length, g.covers.length)),
    })),
    layout: { title: "Faces per cover, by genre (% of covers)", barmode: "stack", yaxis: { title: "% of covers" } },
  };
  const age: Figure = {
    data: groups.map((g) => ({ type: "box", name: g.genre, y: g.faces.map((f) => f.age).filter((a) => a != null), boxmean: true })),
    layout: { title: "Age of every face, by genre", yaxis: { title: "estimated age (years)" }, showlegend: false },
  };
  const share = (title: string, values: readonly string[], pick: (f: FaceInfo) => string | null): Figure => ({
    data: values.map((v) => ({
      type: "bar",
      name: v,
      x,
      y: groups.map((g) => {
        const known = g.faces.filter((f) => pick(f) != null);
        return pct(known.filter((f) => pick(f) === v).length, known.length);
      }),
    })),
    layout: { title, barmode: "stack", yaxis: { title: "% of faces" } },
  });
  const gender = share("Gender of every face, by genre", ["male", "female"], (f) => f.gender);
  const race = share("Race (GEAR) of every face, by genre", ["white", "black", "asian", "indian", "other"], (f) => f.race);
  const emotion: Figure = {
    data: EMOTIONS.map((e) => ({
      type: "bar",
      name: e,
      x,
      y: groups.map((g) => {
        const withEmotion = g.faces.filter((f) => f.emotion);
        return withEmotion.length ? withEmotion.reduce((s, f) => s + (f.emotion as Record<string, number>)[e], 0) / withEmotion.length : 0;
      }),
    })),
    layout: { title: "Mean emotion probability of every face, by genre", barmode: "group", yaxis: { title: "mean probability" } },
  };
  return { facesPerCover, age, gender, race, emotion };
}

/** Hue in [0, 360) then lightness, so swatches read as a spectrum (greys first). */
function hueKey(rgb: [number, number, number]): number {
  const [r, g, b] = rgb.map((v) => v / 255);
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const l = (max + min) / 2;
  if (max - min < 0.08) return -1 + l; // greys, dark to light
  let h: number;
  if (max === r) h = ((g - b) / (max - min)) % 6;
  else if (max === g) h = (b - r) / (max - min) + 2;
  else h = (r - g) / (max - min) + 4;
  return ((h * 60 + 360) % 360) + l / 10;
}

/**
 * Dominant-colour swatches per genre as a plotly figure: one row per genre, one square per cover
 * (the first `perGenre` covers of the genre), sorted by hue.
 */
export function swatchFigure(set: FeatureSet, perGenre = 60, genres?: string[]): Figure {
  const groups = byGenre(set, genres);
  const data = groups.map((g) => {
    const colours = g.covers
      .slice(0, perGenre)
      .map((r) => r.dominant)
      .filter((c) => c.every((v) => Number.isFinite(v)))
      .sort((a, b) => hueKey(a) - hueKey(b));
    return {
      type: "scatter",
      mode: "markers",
      name: g.genre,
      x: colours.map((_, i) => i),
      y: colours.map(() => g.genre),
      marker: { symbol: "square", size: 12, color: colours.map((c) => `rgb(${c[0]},${c[1]},${c[2]})`), line: { width: 0 } },
      text: colours.map((c) => `rgb(${c.join(", ")})`),
      hoverinfo: "text",
    };
  });
  return {
    data,
    layout: {
      title: `Dominant colour of ${perGenre} covers per genre (sorted by hue)`,
      showlegend: false,
      xaxis: { visible: false },
      yaxis: { automargin: true },
      height: 120 + 40 * groups.length,
      plot_bgcolor: "white",
    },
  };
}
