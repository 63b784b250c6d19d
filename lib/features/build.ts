/**
 * `buildFeatureTable`: covers folder → feature table + sidecars (formats: lib/features/README.md).
 *
 * Order of work, and why:
 * 1. list the covers of every collection and hash every file's bytes (cheap: ≈ 0.5 s for 3,763
 *    covers); the cache is keyed by content, so a cover already computed for one collection (or
 *    table) is never computed again;
 * 2. ask the cache which stages each distinct content still needs — a re-run with nothing changed
 *    stops here and never loads a model;
 * 3. stream the rest through the worker pool in small batches, never more than two batches per
 *    worker in flight (bounded memory), writing each result to the cache the moment it arrives
 *    (so Ctrl-C loses at most the batches in flight, and the next run resumes);
 * 4. assemble the table and sidecars from the cache, each written atomically.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { DISCOGS_GENRES } from "../discogs/genres";
import type { CoversLayout } from "../paths";
import { describeError, InterruptedError, UserError } from "../util/errors";
import { writeFileAtomic, writeJsonAtomic } from "../util/fsx";
import { Progress } from "../util/progress";
import type { FaceInfo } from "../vision/faces";
import { FeatureCache, hashBytes, type ColourEntry, type FacesEntry } from "./cache";
import { stageKeys, stagesOf, type FeatureConfig, type Stage } from "./config";
import { coverKey, listCollections, type CollectionSource, type CoverEntry } from "./covers";
import type { BatchResult, WorkItem } from "./extract";
import { bytesPerValue } from "./maps";
import { startPool, type ExtractorPool } from "./pool";
import { EMOTIONS, HISTOGRAM_BINS, TABLE_FORMAT_VERSION, sidecarPaths, type TableCollection, type TableManifest } from "./schema";
import { writeTable, type EmbeddingIndex, type MapIndex } from "./store";

/** Ctrl-C during a build (exit code 130; the cache keeps what was done). Re-exported for callers of this module. */
export { InterruptedError };

export interface BuildOptions {
  /** The collections to study together, in table order (each a folder; named after it unless given). */
  collections?: CollectionSource[];
  /** Shorthand for one collection: `collections: [{dir: coversDir, layout}]`. */
  coversDir?: string;
  layout?: CoversLayout;
  tablePath: string;
  config: FeatureConfig;
  /** Keep only the covers this accepts (e.g. the Flatten head's covers for a maps-only side table). */
  select?: (cover: CoverEntry) => boolean;
  /** Stop cleanly on SIGINT (CLI: true). */
  handleSigint?: boolean;
  /** Progress output (default: stderr bar/lines). */
  progress?: boolean;
  log?: (line: string) => void;
}

export interface BuildSummary {
  table: string;
  rows: number;
  /** Covers whose stages all came from the cache. */
  cached: number;
  /** Covers that needed at least one stage computed. */
  computed: number;
  /** Rows with a non-empty error column. */
  failed: number;
  workers: number;
  wallMs: number;
  /** Wall time of the compute phase (workers started to last result). */
  computeMs: number;
  /** Summed thread time per stage over computed covers ("decode", "colour", "faces", "emb:<name>"). */
  stageMs: Record<string, number>;
  /** Tensor count per worker after its first and last batch (a leak shows as growth). */
  tensors: { first: number[]; last: number[] };
  skipped: string[];
  unknownGenres: string[];
}

/** One row of the table to be: the cover, its content hash, or why it could not be read. */
export interface Planned {
  cover: CoverEntry;
  hash: string | null;
  readError: string | null;
}

/**
 * What steps 1-2 found: every row, and the distinct contents with the stages still missing from
 * the cache. Shared by the local run and the queue coordinator (lib/queue/), so both plan alike.
 */
export interface BuildPlan {
  t0: number;
  table: string;
  config: FeatureConfig;
  cache: FeatureCache;
  keys: Record<Stage, string>;
  listings: Awaited<ReturnType<typeof listCollections>>;
  planned: Planned[];
  /** Missing work by content hash, in table order (the first cover with that content). */
  todo: Map<string, WorkItem>;
  skipped: string[];
}

/** How the compute phase went, for the summary (zeros when nothing was computed). */
export interface ComputeStats {
  workers: number;
  computeMs: number;
  stageMs: Record<string, number>;
  tensors: { first: number[]; last: number[] };
}

export async function buildFeatureTable(opts: BuildOptions): Promise<BuildSummary> {
  const log = opts.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const plan = await planBuild(opts, log);
  const { config, cache, keys, todo } = plan;

  // 3: compute what is missing.
  const stageMs: Record<string, number> = {};
  const tensors = { first: [] as number[], last: [] as number[] };
  let computeMs = 0;
  let workers = 0;
  if (todo.size) {
    const tc = performance.now();
    const pool = await startPool({ ...config, workers: Math.min(config.workers, Math.ceil(todo.size / config.batchSize)) });
    workers = pool.size;
    await recordShapes(cache, keys, pool.shapes);
    log(`features: ${todo.size} distinct cover image(s) of ${plan.planned.length} need work, ${pool.size} worker(s)`);
    let interrupted = false;
    const onSigint = () => {
      interrupted = true;
      log("features: interrupted — stopping; finished covers stay cached, re-run the same command to resume");
      void pool.terminate();
    };
    if (opts.handleSigint) process.on("SIGINT", onSigint);
    const progress = opts.progress === false ? null : new Progress("features", todo.size, { unit: "covers" });
    try {
      await runAll([...todo.values()], pool, config, async (result) => {
        // A batch cut short by Ctrl-C may carry errors the interruption caused: never cache those.
        if (interrupted) return;
        for (const [k, v] of Object.entries(result.ms)) stageMs[k] = (stageMs[k] ?? 0) + v;
        for (const item of result.items) {
          await storeResult(cache, keys, item);
          progress?.tick(item.colour && !item.colour.ok ? "failed" : "ok");
        }
      }, () => interrupted, tensors);
    } catch (err) {
      if (interrupted) throw new InterruptedError(`features: interrupted after ${progress?.count ?? 0} of ${todo.size} covers; they are cached in ${cache.dir}. Re-run the same command to resume.`);
      throw err;
    } finally {
      if (opts.handleSigint) process.removeListener("SIGINT", onSigint);
      progress?.finish();
      if (!interrupted) await pool.close();
    }
    if (interrupted) throw new InterruptedError(`features: interrupted; re-run the same command to resume`);
    computeMs = performance.now() - tc;
  }
  return finishBuild(plan, { workers, computeMs, stageMs, tensors });
}

/** Steps 1-2: list the covers, hash every file, and ask the cache which stages each content still needs. */
export async function planBuild(opts: BuildOptions, log: (line: string) => void): Promise<BuildPlan> {
  const t0 = performance.now();
  const { config } = opts;
  for (const m of config.maps) if (!config.backbones.includes(m)) throw new UserError(`--maps ${m}: ${m} is not one of the backbones (${config.backbones.join(", ")})`);
  const table = path.resolve(opts.tablePath);
  const cache = new FeatureCache(config.cacheDir ?? table.replace(/\.csv$/i, "") + ".cache");
  const keys = stageKeys(config);
  const stages = stagesOf(config);

  const sources = opts.collections ?? (opts.coversDir ? [{ dir: opts.coversDir, layout: opts.layout }] : []);
  const listings = await listCollections(sources);
  const listed = listings.flatMap((l) => l.covers);
  const covers = pickCovers(opts.select ? listed.filter(opts.select) : listed, config.limit, config.sample);
  const skipped = listings.flatMap((l) => l.skipped.map((s) => `${l.name}/${s}`));
  if (skipped.length) log(`features: ${skipped.length} image file(s) outside the layout were skipped, e.g. ${skipped[0]}`);

  const planned: Planned[] = [];
  for (const cover of covers) {
    try {
      planned.push({ cover, hash: hashBytes(await fs.promises.readFile(cover.absPath)), readError: null });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      planned.push({ cover, hash: null, readError: `cannot read image ${cover.path}: ${code === "ENOENT" ? "file not found" : describeError(err)}` });
    }
  }
  const todo = new Map<string, WorkItem>();
  for (const p of planned) {
    if (!p.hash || todo.has(p.hash)) continue;
    const missing = stages.filter((s) => !cache.has(keys[s], p.hash!));
    if (missing.length) todo.set(p.hash, { hash: p.hash, absPath: p.cover.absPath, stages: missing });
  }
  return { t0, table, config, cache, keys, listings, planned, todo, skipped };
}

/** Step 4: assemble the table and sidecars from the cache, and summarise the build. */
export async function finishBuild(plan: BuildPlan, stats: ComputeStats): Promise<BuildSummary> {
  const { table, planned, listings, cache, keys, config, todo } = plan;
  const shapes = readShapes(path.join(cache.dir, "shapes.json"));
  const collections: TableCollection[] = listings.map((l) => ({ name: l.name, dir: l.dir, layout: l.layout, rows: planned.filter((p) => p.cover.collection === l.name).length }));
  const failed = await assemble(table, planned, cache, keys, config, shapes, collections, cache.dir);
  return {
    table,
    rows: planned.length,
    cached: planned.filter((p) => !p.hash || !todo.has(p.hash)).length,
    computed: planned.filter((p) => p.hash && todo.has(p.hash)).length,
    failed,
    workers: stats.workers,
    wallMs: performance.now() - plan.t0,
    computeMs: stats.computeMs,
    stageMs: stats.stageMs,
    tensors: stats.tensors,
    skipped: plan.skipped,
    unknownGenres: [...new Set(listings.flatMap((l) => l.unknownGenres))].sort(),
  };
}

/** `limit` covers, either the first ones or spread evenly over the listing (keeps listing order). */
export function pickCovers<T>(all: T[], limit: number | undefined, sample: "first" | "spread" = "first"): T[] {
  if (limit == null || limit >= all.length) return all;
  if (sample === "first") return all.slice(0, limit);
  const step = all.length / limit;
  return Array.from({ length: limit }, (_, i) => all[Math.floor(i * step)]);
}

/** Pooled dim and map shape per embedding stage key (what assembling needs to size the sidecars). */
export type Shapes = Record<string, { dim: number; mapShape: number[] }>;

function readShapes(file: string): Shapes {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as Shapes;
  } catch {
    return {};
  }
}

/** Record the backbones' shapes (as loaded models report them, by backbone name) under their stage keys in the cache. */
export async function recordShapes(cache: FeatureCache, keys: Record<Stage, string>, byBackbone: Record<string, { dim: number; mapShape: number[] }>): Promise<void> {
  const file = path.join(cache.dir, "shapes.json");
  const out: Shapes = {};
  for (const [name, shape] of Object.entries(byBackbone)) if (keys[`emb:${name}`]) out[keys[`emb:${name}`]] = shape;
  await writeJsonAtomic(file, { ...readShapes(file), ...out });
}

/** Feed batches to the pool, at most two per worker in flight; results are handled in completion order. */
async function runAll(
  items: WorkItem[],
  pool: ExtractorPool,
  config: FeatureConfig,
  onResult: (r: BatchResult) => Promise<void>,
  stopped: () => boolean,
  tensors: { first: number[]; last: number[] },
): Promise<void> {
  const batches: WorkItem[][] = [];
  for (let i = 0; i < items.length; i += config.batchSize) batches.push(items.slice(i, i + config.batchSize));
  let next = 0;
  let firstSeen = false;
  const lane = async () => {
    while (next < batches.length && !stopped()) {
      const batch = batches[next++];
      const result = await pool.run(batch);
      if (!firstSeen) {
        firstSeen = true;
        tensors.first = pool.tensorCounts();
      }
      await onResult(result);
    }
  };
  await Promise.all([...Array(pool.size * 2)].map(lane));
  tensors.last = pool.tensorCounts();
}

/** Write one cover's stage outputs (results and failures) into the cache, as they arrive. */
export async function storeResult(cache: FeatureCache, keys: Record<Stage, string>, item: BatchResult["items"][number]): Promise<void> {
  if (item.colour) {
    if (item.colour.ok) await cache.putJson(keys.colour, item.hash, item.colour.value);
    else await cache.putError(keys.colour, item.hash, item.colour.error);
  }
  if (item.faces && keys.faces) {
    if (item.faces.ok) await cache.putJson(keys.faces, item.hash, item.faces.value);
    else await cache.putError(keys.faces, item.hash, item.faces.error);
  }
  for (const [backbone, e] of Object.entries(item.emb)) {
    const key = keys[`emb:${backbone}`];
    if (e.ok) await cache.putEmb(key, item.hash, e.value);
    else await cache.putError(key, item.hash, e.error);
  }
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));

/** Write the CSV and every sidecar from the cache; returns the number of rows with an error. */
async function assemble(
  table: string,
  planned: Planned[],
  cache: FeatureCache,
  keys: Record<Stage, string>,
  config: FeatureConfig,
  shapes: Shapes,
  collections: TableCollection[],
  cacheDir: string,
): Promise<number> {
  const sp = sidecarPaths(table);
  const n = planned.length;
  const records: Record<string, string | number | null>[] = [];
  const faceLines: string[] = [];
  const hist = new Uint32Array(n * HISTOGRAM_BINS);
  const paths = planned.map((p) => coverKey(p.cover));
  const emb: Record<string, { dim: number; data: Float32Array }> = {};
  const mapFds: Record<string, { fd: fs.promises.FileHandle; tmp: string; file: string; scales: number[]; rowBytes: number; shape: number[] }> = {};
  for (const b of config.backbones) {
    const shape = shapes[keys[`emb:${b}`]];
    if (!shape) throw new Error(`no recorded shape for backbone ${b}: run the build again`);
    emb[b] = { dim: shape.dim, data: new Float32Array(n * shape.dim).fill(NaN) };
    if (config.maps.includes(b)) {
      const file = sp.map(b, config.mapDtype);
      const tmp = `${file}.${process.pid}.tmp`;
      await fs.promises.mkdir(path.dirname(file), { recursive: true });
      const rowBytes = shape.mapShape.reduce((a, c) => a * c, 1) * bytesPerValue(config.mapDtype);
      mapFds[b] = { fd: await fs.promises.open(tmp, "w"), tmp, file, scales: [], rowBytes, shape: shape.mapShape };
    }
  }
  let failed = 0;
  try {
    for (let row = 0; row < n; row++) {
      const p = planned[row];
      const errors: string[] = [];
      if (p.readError) errors.push(p.readError);
      const colour = p.hash ? cache.getJson<ColourEntry>(keys.colour, p.hash) : null;
      if (colour && !colour.ok) errors.push(colour.error);
      const facesEntry = p.hash && keys.faces ? cache.getJson<FacesEntry>(keys.faces, p.hash) : null;
      if (facesEntry && !facesEntry.ok && !errors.includes(facesEntry.error)) errors.push(facesEntry.error);
      const faces: FaceInfo[] = facesEntry?.ok ? facesEntry.value.faces : [];
      const c = colour?.ok ? colour.value : null;
      if (c) {
        hist.set(c.grey, row * HISTOGRAM_BINS);
        hist.set(c.rgb, row * HISTOGRAM_BINS + 256);
      }
      for (const b of config.backbones) {
        const e = p.hash ? cache.getEmb(keys[`emb:${b}`], p.hash) : null;
        if (e && !e.ok && !errors.includes(e.error)) errors.push(e.error);
        const value = e?.ok ? e.value : null;
        if (value) emb[b].data.set(value.pooled, row * emb[b].dim);
        const m = mapFds[b];
        if (m) {
          const bytes = value && value.map.byteLength === m.rowBytes ? value.map : new Uint8Array(m.rowBytes);
          await m.fd.write(bytes, 0, bytes.byteLength, row * m.rowBytes);
          m.scales.push(value && value.map.byteLength === m.rowBytes ? value.mapScale : 0);
        }
      }
      if (!p.hash && !p.readError) errors.push("not processed");
      if (p.hash && !colour) errors.push("not processed (missing from the cache)");
      if (errors.length) failed++;
      const main = faces[0];
      const rec: Record<string, string | number | null> = {
        collection: p.cover.collection,
        master_id: p.cover.masterId,
        path: p.cover.path,
        is_multi_labeled: p.cover.genres.length > 1 ? 1 : 0,
        dominant_r: c?.dominant[0] ?? null,
        dominant_g: c?.dominant[1] ?? null,
        dominant_b: c?.dominant[2] ?? null,
        mean_r: c ? round(c.mean[0], 2) : null,
        mean_g: c ? round(c.mean[1], 2) : null,
        mean_b: c ? round(c.mean[2], 2) : null,
        width: c?.width ?? null,
        height: c?.height ?? null,
        faces: facesEntry?.ok ? faces.length : null,
        age: main?.age != null ? round(main.age, 1) : null,
        gender: main?.gender ?? null,
        race: main?.race ?? null,
        error: errors.join("; ") || null,
      };
      for (const g of DISCOGS_GENRES) rec[g] = p.cover.genres.includes(g) ? 1 : 0;
      for (const e of EMOTIONS) rec[e] = main?.emotion ? round(main.emotion[e], 4) : null;
      records.push(rec);
      faceLines.push(JSON.stringify({ row, collection: p.cover.collection, master_id: p.cover.masterId, path: p.cover.path, faces }));
    }
    for (const m of Object.values(mapFds)) {
      await m.fd.close();
      await fs.promises.rename(m.tmp, m.file);
    }
  } catch (err) {
    for (const m of Object.values(mapFds)) {
      await m.fd.close().catch(() => undefined);
      await fs.promises.rm(m.tmp, { force: true });
    }
    throw err;
  }
  for (const [b, m] of Object.entries(mapFds)) {
    const index: MapIndex = { backbone: b, shape: m.shape, dtype: config.mapDtype, rows: n, scales: m.scales, paths };
    await writeJsonAtomic(sp.mapIndex(b), index);
  }
  for (const [b, e] of Object.entries(emb)) {
    await writeFileAtomic(sp.embedding(b), new Uint8Array(e.data.buffer));
    const index: EmbeddingIndex = { backbone: b, dim: e.dim, dtype: "float32", rows: n, paths };
    await writeJsonAtomic(sp.embeddingIndex(b), index);
  }
  await writeFileAtomic(sp.histograms, new Uint8Array(hist.buffer));
  await writeFileAtomic(sp.faces, faceLines.join("\n") + (faceLines.length ? "\n" : ""));
  await writeTable(table, records);
  const manifest: TableManifest = {
    formatVersion: TABLE_FORMAT_VERSION,
    createdAt: new Date().toISOString(),
    coversDir: collections[0]?.dir ?? "",
    layout: collections[0]?.layout ?? "labelled",
    collections,
    cacheDir,
    rows: n,
    extractors: keys,
    embeddings: config.backbones,
    maps: config.maps,
    faces: config.faces,
  };
  // The manifest goes last: a reader that finds it knows every sidecar of this build is in place.
  await writeJsonAtomic(sp.manifest, manifest);
  return failed;
}
