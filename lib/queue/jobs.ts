/**
 * What travels through Redis: a feature job (one cover: its bytes, the stages it still needs, and
 * the settings and cache keys that define them) and its result (the stage outputs, as the local
 * worker threads return them). BullMQ stores job data as JSON, so typed arrays go as base64 of their
 * little-endian bytes — exact, so the coordinator's cache and table match a local run byte for byte.
 */
import { createHash } from "node:crypto";
import type { Entry } from "../features/cache";
import type { FeatureConfig, Stage } from "../features/config";
import type { EmbOutcome, ItemResult } from "../features/extract";

/** The settings a worker needs to load the same models (machine-local fields left out). */
export type PortableConfig = Omit<FeatureConfig, "cacheDir" | "limit" | "sample" | "workers" | "batchSize">;

export interface FeatureJobData {
  /** SHA-1 of the image bytes (the cache key of the cover); the worker checks it. */
  hash: string;
  /** The coordinator's path of the first cover with this content: names it in error messages. */
  name: string;
  /** The image file's bytes, base64. */
  image: string;
  stages: Stage[];
  /** The coordinator's cache key of each stage: a worker whose own keys differ refuses the job. */
  keys: Record<Stage, string>;
  config: PortableConfig;
}

type WireEmb = { pooled: string; map: string; mapScale: number };

export interface ResultJobData {
  hash: string;
  /** Which worker computed it (host:pid), for the coordinator's per-worker counts. */
  worker: string;
  /** Thread time per stage for this cover (its share of its batch). */
  ms: Record<string, number>;
  /** The worker's CPU-bound queue work for this cover (base64, hash check, encoding the result), ms. */
  queueMs?: number;
  /** Pooled dim and map shape per backbone, as the worker's models report them. */
  shapes: Record<string, { dim: number; mapShape: number[] }>;
  colour?: ItemResult["colour"];
  faces?: ItemResult["faces"];
  emb: Record<string, Entry<WireEmb>>;
}

/** Machine-local fields dropped, so that the same settings give the same job everywhere. */
export function portableConfig(config: FeatureConfig): PortableConfig {
  const { cacheDir: _c, limit: _l, sample: _s, workers: _w, batchSize: _b, ...rest } = config;
  return rest;
}

/**
 * Deterministic job id: content hash + the cache keys of the stages asked for. Re-running the
 * coordinator (or two coordinators with the same settings) never adds the same work twice, while a
 * change of settings is a different job. BullMQ ids must not contain ':'.
 */
export function featureJobId(hash: string, stages: Stage[], keys: Record<Stage, string>): string {
  const sig = createHash("sha1").update(JSON.stringify(stages.map((s) => keys[s]))).digest("hex").slice(0, 16);
  return `f-${hash}-${sig}`;
}

const toBase64 = (a: Uint8Array | Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");

function fromBase64Float32(s: string): Float32Array {
  const bytes = Buffer.from(s, "base64");
  const out = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** One cover's outputs (from a worker thread) as a result job. */
export function encodeResult(item: ItemResult, meta: Pick<ResultJobData, "worker" | "ms" | "shapes">): ResultJobData {
  const emb: ResultJobData["emb"] = {};
  for (const [b, e] of Object.entries(item.emb)) {
    emb[b] = e.ok ? { ok: true, value: { pooled: toBase64(e.value.pooled), map: toBase64(e.value.map), mapScale: e.value.mapScale } } : { ok: false, error: e.error };
  }
  return { hash: item.hash, ...meta, ...(item.colour ? { colour: item.colour } : {}), ...(item.faces ? { faces: item.faces } : {}), emb };
}

/** A result job back into what `storeResult` (lib/features/build.ts) writes into the cache. */
export function decodeResult(data: ResultJobData): ItemResult {
  const emb: Record<string, Entry<EmbOutcome>> = {};
  for (const [b, e] of Object.entries(data.emb)) {
    emb[b] = e.ok ? { ok: true, value: { pooled: fromBase64Float32(e.value.pooled), map: new Uint8Array(Buffer.from(e.value.map, "base64")), mapScale: e.value.mapScale } } : { ok: false, error: e.error };
  }
  return { hash: data.hash, ...(data.colour ? { colour: data.colour } : {}), ...(data.faces ? { faces: data.faces } : {}), emb };
}
