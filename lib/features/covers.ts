/**
 * Which covers a folder holds, in either layout the project knows (see `lib/paths.ts`):
 * - crawl: `<Genre>/<id>.jpeg` and `multi/<A+B>/<id>.jpeg` (the study's layout, written by our crawler);
 * - labelled: `images/<id>.jpg` + `labels.csv` (`release_id,genres` with `|`-separated genres), as the
 *   shared Discogs covers ship.
 * The feature table has one row per image file, in the order listed here (stable across runs, so
 * sidecars stay aligned and re-runs produce identical files). Several folders are studied together
 * as collections ({@link listCollections}): a row is known by its collection (the folder's name)
 * plus its path, because cover ids of two collections can collide.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { canonicalGenre, DISCOGS_GENRES, parseCoverRelativePath } from "../discogs/genres";
import { detectCoversLayout, type CoversLayout, type CoversLocation } from "../paths";
import { UserError } from "../util/errors";
import { isImageFile } from "../vision/image";

export interface CoverEntry {
  /** The collection (covers folder's name) the cover comes from. */
  collection: string;
  /** The file stem: a master id in a crawl, a release id in the shared set (the study's `master_id` column). */
  masterId: string;
  /** Relative to the covers folder, POSIX separators. */
  path: string;
  absPath: string;
  /** Discogs spelling, in the order the layout gives them. */
  genres: string[];
}

export interface CoverListing {
  /** The collection's name (the folder's name unless given). */
  name: string;
  dir: string;
  layout: CoversLayout;
  covers: CoverEntry[];
  /** Image files that do not fit the layout (listed so a user can see why they are missing). */
  skipped: string[];
  /** Genre names found that are not one of Discogs's 15 (they get no column). */
  unknownGenres: string[];
}

/** List the covers of `dir` (layout detected unless given). Non-image files are ignored. */
export async function listCovers(dir: string, layout: CoversLayout = detectCoversLayout(dir), name = path.basename(path.resolve(dir))): Promise<CoverListing> {
  const root = path.resolve(dir);
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new UserError(`covers folder ${root} does not exist`);
  const listing = layout === "labelled" ? await listLabelled(root, name) : listCrawl(root, name);
  const unknown = new Set<string>();
  for (const c of listing.covers) for (const g of c.genres) if (!(DISCOGS_GENRES as readonly string[]).includes(g)) unknown.add(g);
  return { ...listing, name, dir: root, layout, unknownGenres: [...unknown].sort() };
}

/** A folder to list as one collection: `{dir}` with an optional layout and name (default: the folder's). */
export type CollectionSource = Pick<CoversLocation, "dir"> & Partial<Pick<CoversLocation, "layout" | "name">>;

/** Several collections, listed one after the other (table order); their names must differ. */
export async function listCollections(sources: CollectionSource[]): Promise<CoverListing[]> {
  if (!sources.length) throw new UserError("no covers folder given");
  const out: CoverListing[] = [];
  for (const s of sources) {
    const listing = await listCovers(s.dir, s.layout ?? detectCoversLayout(s.dir), s.name ?? path.basename(path.resolve(s.dir)));
    const clash = out.find((o) => o.name === listing.name);
    if (clash) throw new UserError(`two covers folders are both named "${listing.name}" (${clash.dir} and ${listing.dir}): rename one`);
    out.push(listing);
  }
  return out;
}

/** The key of a cover in every table, cache index and prediction: `<collection>/<path>`. */
export function coverKey(c: { collection: string; path: string }): string {
  return `${c.collection}/${c.path}`;
}

function listCrawl(root: string, collection: string): Omit<CoverListing, "unknownGenres" | "dir" | "layout" | "name"> {
  const covers: CoverEntry[] = [];
  const skipped: string[] = [];
  const walk = (rel: string, depth: number) => {
    const abs = path.join(root, rel);
    const entries = fs.readdirSync(abs, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const childRel = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (depth < 2) walk(childRel, depth + 1);
        continue;
      }
      if (!e.isFile() || !isImageFile(e.name)) continue;
      const parsed = parseCoverRelativePath(childRel);
      if (!parsed) {
        skipped.push(childRel);
        continue;
      }
      covers.push({ collection, masterId: parsed.id, path: childRel, absPath: path.join(root, childRel), genres: parsed.genres });
    }
  };
  walk("", 0);
  return { covers, skipped };
}

async function listLabelled(root: string, collection: string): Promise<Omit<CoverListing, "unknownGenres" | "dir" | "layout" | "name">> {
  const labelsFile = path.join(root, "labels.csv");
  // Loaded lazily: only the main thread lists covers, workers never pay danfo's 1.5 s start-up.
  const { danfo } = require("./store") as typeof import("./store");
  const frame = await danfo().readCSV(labelsFile, { dynamicTyping: false, skipEmptyLines: true });
  const col = (name: string) => frame.columns.indexOf(name);
  const idCol = col("release_id") >= 0 ? col("release_id") : col("master_id") >= 0 ? col("master_id") : col("id");
  const genresCol = col("genres");
  const fileCol = col("file");
  if (idCol < 0 || genresCol < 0) {
    throw new UserError(`${labelsFile} needs columns release_id (or master_id/id) and genres; it has ${frame.columns.join(", ")}`);
  }
  const covers: CoverEntry[] = [];
  const seen = new Set<string>();
  for (const v of frame.values) {
    const id = String(v[idCol] ?? "").trim();
    if (!id) continue;
    const rel = fileCol >= 0 && String(v[fileCol] ?? "").trim() ? String(v[fileCol]).trim().replace(/\\/g, "/") : `images/${id}.jpg`;
    if (rel.split("/").includes("..") || path.isAbsolute(rel)) throw new UserError(`${labelsFile}: file "${rel}" of ${id} leads outside the covers folder`);
    if (!isImageFile(rel) || seen.has(rel)) continue;
    seen.add(rel);
    const genres = String(v[genresCol] ?? "")
      .split("|")
      .map((g) => g.trim())
      .filter(Boolean)
      .map((g) => canonicalGenre(g) ?? g);
    covers.push({ collection, masterId: id, path: rel, absPath: path.join(root, rel), genres });
  }
  // Images without a label still get a row (one row per image file), with no genres.
  const imagesDir = path.join(root, "images");
  const extra = fs
    .readdirSync(imagesDir)
    .filter((n) => !n.startsWith(".") && isImageFile(n) && !seen.has(`images/${n}`))
    .sort();
  for (const n of extra) {
    const rel = `images/${n}`;
    covers.push({ collection, masterId: n.slice(0, n.lastIndexOf(".")), path: rel, absPath: path.join(root, rel), genres: [] });
  }
  return { covers, skipped: [] };
}
