/**
 * Batching covers through one or more backbones (lib/vision/backbone.ts): resize each decoded cover
 * to the backbone's square input (squashing the aspect ratio as the study's Keras `load_img` did),
 * run a batch, and copy the pooled vector — and the full feature map where asked — out to plain
 * Float32Arrays, disposing every tensor before returning. Callers never see a tensor, so a run over
 * thousands of covers cannot leak.
 */
import { tf } from "../tf";
import { chooseRuntime, loadOnnxBackbone, type OnnxBackbone } from "../onnx/backbone";
import { defaultThreads, type RuntimeName } from "../onnx/runtime";
import { loadBackbone, resolveBackboneSpec, type Backbone, type BackboneSpec } from "./backbone";
import { resizeImage, type DecodedImage } from "./image";

/**
 * Revision of the embeddings (this file, backbone.ts, and the tfjs setup in tf.ts): bump it when a
 * change alters embeddings, and record the new output digest in tests/fixtures/revisions.json.
 * Part of the feature cache key; backbone specs and package versions are keyed separately, and so
 * is the runtime (onnx exports by their own id and EXPORT_REVISION, see lib/features/config.ts).
 */
export const EMBED_REVISION = 1;

export interface EmbeddingResult {
  /** Pooled vector per image, per backbone name. */
  pooled: Record<string, Float32Array[]>;
  /** Full map per image, for the backbones listed in `maps`. */
  maps: Record<string, Float32Array[]>;
}

/** One loaded backbone and where it runs. */
export interface EmbedderBackbone {
  spec: BackboneSpec;
  runtime: RuntimeName;
  /** Why this runtime: the switch, the default, or the reason it fell back to tfjs. */
  reason: string;
  /** Threads it computes on: onnxruntime intra-op threads, or 1 for tfjs (wasm is single-threaded in Node). */
  threads: number;
  /** Output shape of one image's map without the batch dim, e.g. [7, 7, 768] or [1024]. */
  outputShape: number[];
}

export interface Embedder {
  backbones: EmbedderBackbone[];
  /** Backbone name → [dim of pooled, shape of the map]. */
  shapes: Record<string, { dim: number; mapShape: number[] }>;
  /**
   * Embed `images` with the named backbones (default: all); `maps` names those whose full map is
   * also wanted. Images may have any size.
   */
  embed(images: DecodedImage[], opts?: { only?: string[]; maps?: string[] }): Promise<EmbeddingResult>;
  dispose(): void;
}

export interface EmbedderOptions {
  /** Force a runtime (default: `COVERGENRE_RUNTIME`, else onnx where onnxruntime-node loads). */
  runtime?: RuntimeName;
  /** onnxruntime intra-op threads (default lib/onnx/runtime.ts `defaultThreads()`: 1 inside a worker thread). */
  threads?: number;
  env?: NodeJS.ProcessEnv;
}

type Loaded = EmbedderBackbone & ({ kind: "tfjs"; tfjs: Backbone } | { kind: "onnx"; onnx: OnnxBackbone });

/** Load every named backbone (e.g. ["inception_v3", "mobilenet_v1"]), each on its runtime. */
export async function loadEmbedder(names: (string | BackboneSpec)[], opts: EmbedderOptions = {}): Promise<Embedder> {
  const env = opts.runtime ? { ...(opts.env ?? process.env), COVERGENRE_RUNTIME: opts.runtime } : (opts.env ?? process.env);
  const loaded: Loaded[] = [];
  try {
    for (const name of names) {
      const spec = typeof name === "string" ? resolveBackboneSpec(name) : name;
      const choice = await chooseRuntime(spec, env);
      if (choice.runtime === "onnx") {
        const onnx = await loadOnnxBackbone(spec, choice, opts.threads ?? defaultThreads(env), env);
        loaded.push({ kind: "onnx", onnx, spec, runtime: "onnx", reason: choice.reason, threads: onnx.threads, outputShape: onnx.outputShape });
      } else {
        const tfjs = await loadBackbone(spec);
        loaded.push({ kind: "tfjs", tfjs, spec, runtime: "tfjs", reason: choice.reason, threads: 1, outputShape: tfjs.outputShape });
      }
    }
  } catch (err) {
    for (const b of loaded) disposeOne(b);
    throw err;
  }
  const shapes: Embedder["shapes"] = {};
  for (const b of loaded) {
    const channels = b.outputShape[b.outputShape.length - 1];
    shapes[b.spec.name] = { dim: b.outputShape.length === 3 ? channels : b.outputShape.reduce((a, c) => a * c, 1), mapShape: b.outputShape };
  }
  return {
    backbones: loaded.map(({ spec, runtime, reason, threads, outputShape }) => ({ spec, runtime, reason, threads, outputShape })),
    shapes,
    async embed(images, opts = {}) {
      const result: EmbeddingResult = { pooled: {}, maps: {} };
      const wanted = loaded.filter((b) => !opts.only || opts.only.includes(b.spec.name));
      for (const b of wanted) {
        const name = b.spec.name;
        result.pooled[name] = [];
        const wantMap = opts.maps?.includes(name) ?? false;
        if (wantMap) result.maps[name] = [];
        if (images.length === 0) continue;
        const size = b.spec.inputSize;
        const per = size * size * 3;
        const resized = await Promise.all(images.map((img) => resizeImage(img, size)));
        const split = (flat: Float32Array, into: Float32Array[]) => {
          const each = flat.length / images.length;
          for (let i = 0; i < images.length; i++) into.push(flat.slice(i * each, (i + 1) * each));
        };
        if (b.kind === "onnx") {
          const batch = new Float32Array(images.length * per);
          resized.forEach((r, i) => batch.set(r.data, i * per));
          const out = await b.onnx.embed(batch, images.length, { map: wantMap });
          split(out.pooled, result.pooled[name]);
          if (wantMap) split(out.map!, result.maps[name]);
          continue;
        }
        const batch = new Int32Array(images.length * per);
        resized.forEach((r, i) => batch.set(r.data, i * per));
        const input = tf.tensor4d(batch, [images.length, size, size, 3], "int32");
        let out: { map: tf.Tensor; pooled: tf.Tensor2D } | null = null;
        try {
          out = b.tfjs.embed(input);
          split((await out.pooled.data()) as Float32Array, result.pooled[name]);
          if (wantMap) split((await out.map.data()) as Float32Array, result.maps[name]);
        } finally {
          input.dispose();
          out?.map.dispose();
          out?.pooled.dispose();
        }
      }
      return result;
    },
    dispose() {
      for (const b of loaded) disposeOne(b);
    },
  };
}

function disposeOne(b: Loaded): void {
  if (b.kind === "tfjs") b.tfjs.dispose();
  else void b.onnx.dispose();
}
