/**
 * The per-cover work of one thread: decode a batch of covers once, then run the stages each still
 * needs (colour, faces, every backbone). Used inside each worker thread and, with `workers: 0`,
 * directly in the calling thread (tests, notebooks). It returns plain data only — every tensor is
 * disposed inside lib/vision — so any number of batches leaves the tensor count unchanged.
 */
import { initTf, tf } from "../tf";
import { describeError } from "../util/errors";
import { colourFeatures } from "../vision/colour";
import { resolveBackboneSpec } from "../vision/backbone";
import { loadEmbedder, type Embedder } from "../vision/embed";
import { loadFaceAnalyzer, type FaceAnalyzer } from "../vision/faces";
import { decodeImage, type DecodedImage } from "../vision/image";
import type { ColourEntry, Entry, FacesEntry } from "./cache";
import type { FeatureConfig, Stage } from "./config";
import { encodeRow } from "./maps";

export interface WorkItem {
  hash: string;
  absPath: string;
  /**
   * The file's bytes, when they came from elsewhere (a queue job from another machine): decoded
   * instead of reading `absPath`, which then only names the cover in error messages, so an error
   * row reads exactly as a local run's.
   */
  bytes?: Uint8Array;
  /** Stages still missing from the cache for this cover. */
  stages: Stage[];
}

/** An embedding result as it crosses the thread boundary (typed arrays are cloned or transferred). */
export interface EmbOutcome {
  pooled: Float32Array;
  map: Uint8Array;
  mapScale: number;
}

export interface ItemResult {
  hash: string;
  colour?: Entry<ColourEntry>;
  faces?: Entry<FacesEntry>;
  emb: Record<string, Entry<EmbOutcome>>;
}

export interface BatchResult {
  items: ItemResult[];
  /** Milliseconds spent per stage in this batch ("decode", "colour", "faces", "emb:<name>"). */
  ms: Record<string, number>;
}

export class Extractor {
  private constructor(
    private readonly config: FeatureConfig,
    private readonly faces: FaceAnalyzer | null,
    private readonly embedder: Embedder | null,
  ) {}

  /** Load the models this configuration needs (≈ 2-5 s on wasm). */
  static async create(config: FeatureConfig): Promise<Extractor> {
    await initTf();
    const faces = config.faces ? await loadFaceAnalyzer(config.face) : null;
    const embedder = config.backbones.length ? await loadEmbedder(config.backbones) : null;
    return new Extractor(config, faces, embedder);
  }

  /** Pooled dim and map shape per backbone. */
  shapes(): Record<string, { dim: number; mapShape: number[] }> {
    // Keyed as the configuration names backbones (a spec string for a plugged-in model).
    const byName = this.embedder?.shapes ?? {};
    return Object.fromEntries(this.config.backbones.map((b) => [b, byName[resolveBackboneSpec(b).name]]).filter(([, v]) => v));
  }

  numTensors(): number {
    return tf.memory().numTensors;
  }

  /** Where each backbone runs (runtime, threads, and why). */
  runtimes(): { name: string; runtime: string; threads: number; reason: string }[] {
    return (this.embedder?.backbones ?? []).map((b) => ({ name: b.spec.name, runtime: b.runtime, threads: b.threads, reason: b.reason }));
  }

  async run(items: WorkItem[]): Promise<BatchResult> {
    const ms: Record<string, number> = {};
    const time = async <T>(stage: string, f: () => Promise<T> | T): Promise<T> => {
      const t0 = performance.now();
      try {
        return await f();
      } finally {
        ms[stage] = (ms[stage] ?? 0) + performance.now() - t0;
      }
    };
    const results: ItemResult[] = items.map((it) => ({ hash: it.hash, emb: {} }));
    const images: (DecodedImage | null)[] = [];
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      try {
        const input = it.bytes ? Buffer.from(it.bytes.buffer, it.bytes.byteOffset, it.bytes.byteLength) : it.absPath;
        images.push(await time("decode", () => decodeImage(input, { maxPixels: this.config.maxPixels, name: it.absPath })));
      } catch (err) {
        images.push(null);
        const failed = { ok: false as const, error: describeError(err) };
        for (const s of it.stages) {
          if (s === "colour") results[i].colour = failed;
          else if (s === "faces") results[i].faces = failed;
          else results[i].emb[s.slice(4)] = failed;
        }
      }
    }

    for (let i = 0; i < items.length; i++) {
      const img = images[i];
      if (!img) continue;
      if (items[i].stages.includes("colour")) {
        results[i].colour = await time("colour", () => {
          const c = colourFeatures(img, this.config.colour);
          return {
            ok: true as const,
            value: { width: img.width, height: img.height, dominant: c.dominant, dominantShare: c.dominantShare, mean: c.mean, grey: Array.from(c.grey), rgb: Array.from(c.rgb) },
          };
        });
      }
      if (items[i].stages.includes("faces") && this.faces) {
        const analyzer = this.faces;
        results[i].faces = await time("faces", async () => {
          try {
            return { ok: true as const, value: { faces: await analyzer.analyze(img) } };
          } catch (err) {
            return { ok: false as const, error: `face analysis failed: ${describeError(err)}` };
          }
        });
      }
    }

    if (this.embedder) {
      for (const backbone of this.config.backbones) {
        const stage = `emb:${backbone}`;
        const idx = items.map((it, i) => (images[i] && it.stages.includes(stage) ? i : -1)).filter((i) => i >= 0);
        if (!idx.length) continue;
        const wantMap = this.config.maps.includes(backbone);
        await time(stage, async () => {
          try {
            // The embedder names backbones by spec name ("tiny" for "tiny=/path/model.json,size=37").
            const name = resolveBackboneSpec(backbone).name;
            const out = await this.embedder!.embed(idx.map((i) => images[i]!), { only: [name], maps: wantMap ? [name] : [] });
            idx.forEach((i, k) => {
              const enc = wantMap ? encodeRow(out.maps[name][k], this.config.mapDtype) : { bytes: new Uint8Array(0), scale: 1 };
              results[i].emb[backbone] = { ok: true, value: { pooled: out.pooled[name][k], map: enc.bytes, mapScale: enc.scale } };
            });
          } catch (err) {
            for (const i of idx) results[i].emb[backbone] = { ok: false, error: `${backbone} embedding failed: ${describeError(err)}` };
          }
        });
      }
    }
    return { items: results, ms };
  }

  dispose(): void {
    this.faces?.dispose();
    this.embedder?.dispose();
  }
}
