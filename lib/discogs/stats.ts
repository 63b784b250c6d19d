/**
 * What is in a masters dump — counts, genre distribution, multi-label share, years, genre
 * co-occurrence — computed in one streaming pass. `covergenre dump-stats` prints it and the
 * 01.Crawl notebook plots it, so both show the same numbers.
 */
import { readMasters, type DumpMaster } from "./dump";

export interface DumpStats {
  file: string;
  /** "2020" when records carry `<images>` (some masters have none), "2025" when no record does (the element was dropped in 2024-12). */
  format: "2020" | "2025" | "empty";
  /** Masters with an `<images>` element. */
  mastersWithImages: number;
  masters: number;
  mastersWithGenres: number;
  /** Masters per genre, most frequent first. */
  genreCounts: Record<string, number>;
  /** Number of masters having k genres, keyed by k (0 included). */
  genresPerMaster: Record<string, number>;
  /** Share of masters with genres that have two or more. */
  multiLabelShare: number;
  /** Mean number of genres over masters with genres (label cardinality). */
  labelCardinality: number;
  /** Smallest and largest known year; `yearUnknown` counts year 0/absent. */
  yearRange: [number, number] | null;
  yearUnknown: number;
  /** Masters per decade ("1990s"), for a quick histogram. */
  decades: Record<string, number>;
  /** Genre order used by `cooccurrence` (same as `genreCounts`). */
  genres: string[];
  /** cooccurrence[i][j] = masters tagged with both genres[i] and genres[j]; diagonal = genre count. */
  cooccurrence: number[][];
  /** Records that could not be parsed (message names the master id and byte offset). */
  errors: string[];
  bytes: number;
  compressedBytes: number;
  seconds: number;
}

export interface DumpStatsOptions {
  /** Stop after this many masters (quick looks at a big dump). */
  limit?: number;
  signal?: AbortSignal;
  /** Called every `progressEvery` masters (for a progress line). */
  onProgress?: (masters: number, bytes: number) => void;
  progressEvery?: number;
  /** Also called with each master (e.g. to collect ids) — avoids a second pass. */
  onMaster?: (m: DumpMaster) => void;
}

/** Read a dump once and summarise it. Throws a DumpError when the file is damaged. */
export async function dumpStats(file: string, options: DumpStatsOptions = {}): Promise<DumpStats> {
  const t0 = process.hrtime.bigint();
  const reader = readMasters(file, { signal: options.signal });
  const genreCounts = new Map<string, number>();
  const pairCounts = new Map<string, number>();
  const perMaster = new Map<number, number>();
  const decades = new Map<string, number>();
  let masters = 0;
  let withImages = 0;
  let withGenres = 0;
  let genreTotal = 0;
  let multi = 0;
  let yMin = Infinity;
  let yMax = -Infinity;
  let yearUnknown = 0;
  const every = options.progressEvery ?? 10_000;
  let stop = false;
  const visit = (m: DumpMaster) => {
    masters++;
    if (m.images !== null) withImages++;
    // A genre listed twice in one record counts once.
    const genres = [...new Set(m.genres)];
    perMaster.set(genres.length, (perMaster.get(genres.length) ?? 0) + 1);
    if (genres.length > 0) {
      withGenres++;
      genreTotal += genres.length;
      if (genres.length > 1) multi++;
    }
    for (let i = 0; i < genres.length; i++) {
      genreCounts.set(genres[i], (genreCounts.get(genres[i]) ?? 0) + 1);
      for (let j = i + 1; j < genres.length; j++) {
        const key = genres[i] < genres[j] ? `${genres[i]}\u0000${genres[j]}` : `${genres[j]}\u0000${genres[i]}`;
        pairCounts.set(key, (pairCounts.get(key) ?? 0) + 1);
      }
    }
    if (m.year != null) {
      if (m.year < yMin) yMin = m.year;
      if (m.year > yMax) yMax = m.year;
      const d = `${Math.floor(m.year / 10) * 10}s`;
      decades.set(d, (decades.get(d) ?? 0) + 1);
    } else yearUnknown++;
    options.onMaster?.(m);
    if (options.onProgress && masters % every === 0) options.onProgress(masters, reader.bytesRead);
    if (options.limit != null && masters >= options.limit) stop = true;
  };
  for await (const batch of reader.batches()) {
    for (const m of batch) {
      visit(m);
      if (stop) break;
    }
    if (stop) break;
  }
  const order = [...genreCounts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([g]) => g);
  const index = new Map(order.map((g, i) => [g, i]));
  const co = order.map((g) => order.map(() => 0));
  order.forEach((g, i) => (co[i][i] = genreCounts.get(g)!));
  for (const [key, n] of pairCounts) {
    const [a, b] = key.split("\u0000");
    const i = index.get(a)!;
    const j = index.get(b)!;
    co[i][j] = n;
    co[j][i] = n;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return {
    file,
    format: masters === 0 ? "empty" : withImages > 0 ? "2020" : "2025",
    masters,
    mastersWithImages: withImages,
    mastersWithGenres: withGenres,
    genreCounts: Object.fromEntries(order.map((g) => [g, genreCounts.get(g)!])),
    genresPerMaster: Object.fromEntries([...perMaster.entries()].sort((a, b) => a[0] - b[0]).map(([k, v]) => [String(k), v])),
    multiLabelShare: withGenres ? multi / withGenres : 0,
    labelCardinality: withGenres ? genreTotal / withGenres : 0,
    yearRange: Number.isFinite(yMin) ? [yMin, yMax] : null,
    yearUnknown,
    decades: Object.fromEntries([...decades.entries()].sort((a, b) => a[0].localeCompare(b[0]))),
    genres: order,
    cooccurrence: co,
    errors: reader.errors.map((e) => e.message),
    bytes: reader.bytesRead,
    compressedBytes: reader.compressedBytes,
    seconds,
  };
}
