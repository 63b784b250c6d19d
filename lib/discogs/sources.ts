/**
 * Genre counts of the other label sources the project meets, in the dump's genre names, so the
 * 01.Crawl notebook can put a dump, the study's crawl and the shared cover set side by side:
 * - a labelled cover folder's `labels.csv` (`release_id,genres` with `|`-separated genres);
 * - the study's `album_data_0522.csv` (one 0/1 column per genre, `Funk&Soul` spelling).
 */
import * as fs from "node:fs";
import { canonicalGenre } from "./genres";
import { parseCsvLine } from "./manifest";

export interface LabelCounts {
  items: number;
  /** Items per genre (Discogs spelling). */
  genreCounts: Record<string, number>;
  /** Items with two or more genres. */
  multiLabel: number;
  /** Ids (release ids for labels.csv, master ids for the study's table). */
  ids: number[];
}

function lines(file: string): string[] {
  if (!fs.existsSync(file)) throw new Error(`${file} does not exist`);
  return fs.readFileSync(file, "utf8").split(/\r?\n/).filter((l) => l.trim() !== "");
}

/** Counts of rows given each row's id and genres (the shared part of the two table readers below). */
function tally(rows: string[], idOf: (f: string[]) => number, genresOf: (f: string[]) => string[]): LabelCounts {
  const counts: Record<string, number> = {};
  const ids: number[] = [];
  let multi = 0;
  for (const row of rows) {
    const f = parseCsvLine(row);
    ids.push(idOf(f));
    const genres = genresOf(f);
    if (genres.length > 1) multi++;
    for (const g of genres) counts[g] = (counts[g] ?? 0) + 1;
  }
  return { items: rows.length, genreCounts: counts, multiLabel: multi, ids };
}

/** Genre counts of a `labels.csv` (id column `release_id` or `id`, genres `|`-separated). */
export function labelsCsvCounts(file: string): LabelCounts {
  const [head, ...rows] = lines(file);
  const cols = parseCsvLine(head);
  const idCol = cols.findIndex((c) => c === "release_id" || c === "id" || c === "master_id");
  const gCol = cols.indexOf("genres");
  if (idCol === -1 || gCol === -1) throw new Error(`${file}: needs an id column and a genres column (found ${cols.join(", ")})`);
  return tally(rows, (f) => Number(f[idCol]), (f) => (f[gCol] ?? "").split("|").filter(Boolean).map((g) => canonicalGenre(g) ?? g));
}

/** Genre counts of the study's one-hot table (`master_release` + one column per genre). */
export function oneHotCsvCounts(file: string, idColumn = "master_release"): LabelCounts {
  const [head, ...rows] = lines(file);
  const cols = parseCsvLine(head);
  const idCol = cols.indexOf(idColumn);
  if (idCol === -1) throw new Error(`${file}: no ${idColumn} column`);
  const genreCols = cols.map((c, i) => [i, canonicalGenre(c)] as const).filter((x): x is readonly [number, NonNullable<ReturnType<typeof canonicalGenre>>] => x[1] !== null);
  if (genreCols.length === 0) throw new Error(`${file}: no genre columns`);
  return tally(rows, (f) => Number(f[idCol]), (f) => genreCols.filter(([i]) => Number(f[i]) > 0).map(([, g]) => g));
}
