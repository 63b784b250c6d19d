/**
 * Which masters a crawl will visit, decided from the dump alone (no network): genres present,
 * optional id list (e.g. the study's 14,302 masters), id range, limit, and what an earlier run
 * already finished. The plan is kept compact (typed arrays + interned genre lists) so a 2.2 M
 * master dump fits in a few tens of MB.
 */
import * as fs from "node:fs";
import { readMasters, type DumpMaster } from "./dump";
import { POPULAR_GENRES } from "./genres";
import { parseCsvLine, RETRY_STATUSES, type Manifest } from "./manifest";

/** The study's rule: ≥ 50 ratings when any genre is Electronic or Rock (over-represented), else ≥ 15. */
export function studyMinRatings(genres: readonly string[]): number {
  return genres.some((g) => POPULAR_GENRES.includes(g)) ? 50 : 15;
}

/**
 * Master ids from a file: a CSV with a `master_release`, `master_id` or `id` column (the study's
 * `album_data_0522.csv` has `master_release`), or plain text with one id per line.
 */
export function readIdsFile(file: string): Set<number> {
  if (!fs.existsSync(file)) throw new Error(`ids file ${file} does not exist`);
  const lines = fs.readFileSync(file, "utf8").split(/\r?\n/).filter((l) => l.trim() !== "");
  if (lines.length === 0) throw new Error(`ids file ${file} is empty`);
  const header = parseCsvLine(lines[0]).map((h) => h.trim().toLowerCase());
  let col = -1;
  for (const name of ["master_release", "master_id", "id"]) {
    col = header.indexOf(name);
    if (col !== -1) break;
  }
  const ids = new Set<number>();
  const body = col === -1 ? lines : lines.slice(1);
  const bad: string[] = [];
  body.forEach((line, i) => {
    const raw = (col === -1 ? line : parseCsvLine(line)[col] ?? "").trim();
    const n = Number(raw);
    if (raw !== "" && Number.isInteger(n) && n > 0) ids.add(n);
    else bad.push(`line ${i + (col === -1 ? 1 : 2)}: "${raw.slice(0, 40)}"`);
  });
  if (col === -1 && ids.size === 0) {
    throw new Error(`ids file ${file}: no master_release/master_id/id column and no plain ids (first line "${lines[0].slice(0, 80)}")`);
  }
  if (bad.length > body.length / 2) throw new Error(`ids file ${file}: ${bad.length} of ${body.length} rows are not master ids (${bad.slice(0, 3).join(", ")})`);
  return ids;
}

export interface PlanFilter {
  ids?: Set<number>;
  fromId?: number;
  toId?: number;
  /** At most this many eligible masters, in dump order (the same set on every re-run). */
  limit?: number;
  /** Fixed threshold; undefined = the study's rule. 0 skips the rating check. */
  minRatings?: number;
}

/** Masters to visit, compactly: ids, main releases and an index into `genreLists`. */
export class PlanItems {
  private ids = new Int32Array(1024);
  private releases = new Int32Array(1024);
  private combos = new Int32Array(1024);
  private n = 0;
  readonly genreLists: string[][] = [];
  private comboIndex = new Map<string, number>();

  push(id: number, mainRelease: number | null, genres: string[]): void {
    if (this.n === this.ids.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.ids = grow(this.ids);
      this.releases = grow(this.releases);
      this.combos = grow(this.combos);
    }
    const key = genres.join("\u0000");
    let c = this.comboIndex.get(key);
    if (c === undefined) {
      c = this.genreLists.length;
      this.genreLists.push(genres);
      this.comboIndex.set(key, c);
    }
    this.ids[this.n] = id;
    this.releases[this.n] = mainRelease ?? -1;
    this.combos[this.n] = c;
    this.n++;
  }

  get length(): number {
    return this.n;
  }

  get(i: number): { id: number; mainRelease: number | null; genres: string[] } {
    const r = this.releases[i];
    return { id: this.ids[i], mainRelease: r < 0 ? null : r, genres: this.genreLists[this.combos[i]] };
  }
}

export interface CrawlPlan {
  /** Masters still to visit in this run. */
  todo: PlanItems;
  /** Masters in the dump, and with genres. */
  dumpMasters: number;
  withGenres: number;
  /** Eligible after the id list / range / limit. */
  eligible: number;
  /** Eligible but already finished by an earlier run (manifest). */
  alreadyDone: number;
  /** Of `todo`: masters an earlier run recorded as failed. */
  retrying: number;
  /** Ids from `--ids` not found in the dump (a wrong file or an old dump). */
  idsNotInDump: number;
  /** To-do masters per genre (multi-genre masters count for each). */
  todoByGenre: Record<string, number>;
  /** Broken dump records skipped. */
  dumpErrors: string[];
}

/** Whether a manifest row still holds for this run (a lowered threshold re-opens below_threshold). */
function isDone(row: { status: string; ratingCount: number | null }, threshold: number): boolean {
  if ((RETRY_STATUSES as readonly string[]).includes(row.status)) return false;
  if (row.status === "below_threshold" && row.ratingCount != null && row.ratingCount >= threshold) return false;
  return true;
}

/** Threshold for one master under a filter. */
export function thresholdFor(genres: readonly string[], minRatings: number | undefined): number {
  return minRatings ?? studyMinRatings(genres);
}

/** Read the dump once and decide what to crawl. */
export async function planCrawl(dump: string, filter: PlanFilter, manifest?: Manifest, signal?: AbortSignal): Promise<CrawlPlan> {
  const todo = new PlanItems();
  const seenIds = filter.ids ? new Set<number>() : null;
  const byGenre = new Map<string, number>();
  let dumpMasters = 0;
  let withGenres = 0;
  let eligible = 0;
  let alreadyDone = 0;
  let retrying = 0;
  const reader = readMasters(dump, { signal });
  const consider = (m: DumpMaster): boolean => {
    dumpMasters++;
    if (m.genres.length === 0) return true;
    withGenres++;
    if (filter.ids && !filter.ids.has(m.id)) return true;
    if (filter.fromId !== undefined && m.id < filter.fromId) return true;
    if (filter.toId !== undefined && m.id > filter.toId) return true;
    if (filter.limit !== undefined && eligible >= filter.limit) return false;
    seenIds?.add(m.id);
    eligible++;
    const genres = [...new Set(m.genres)];
    const row = manifest?.get(m.id);
    if (row && isDone(row, thresholdFor(genres, filter.minRatings))) {
      alreadyDone++;
      return true;
    }
    if (row) retrying++;
    todo.push(m.id, m.mainRelease, genres);
    for (const g of genres) byGenre.set(g, (byGenre.get(g) ?? 0) + 1);
    return true;
  };
  outer: for await (const batch of reader.batches()) {
    for (const m of batch) if (!consider(m)) break outer;
  }
  let idsNotInDump = 0;
  if (filter.ids && seenIds) for (const id of filter.ids) if (!seenIds.has(id)) idsNotInDump++;
  return {
    todo,
    dumpMasters,
    withGenres,
    eligible,
    alreadyDone,
    retrying,
    idsNotInDump: filter.limit !== undefined ? 0 : idsNotInDump,
    todoByGenre: Object.fromEntries([...byGenre.entries()].sort((a, b) => b[1] - a[1])),
    dumpErrors: reader.errors.map((e) => e.message),
  };
}
