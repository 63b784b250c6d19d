/**
 * Batching covers through one or more backbones (lib/vision/backbone.ts): resize each decoded cover
 * to the backbone's square input (squashing the aspect ratio as the study's Keras `load_img` did),
 * run a batch, and copy the pooled vector — and the full feature map where asked — out to plain
 * Float32Arrays, disposing every tensor before returning. Callers never see a tensor, so a run over
 * thousands of covers cannot leak.
 */
import { tf } from "../tf";
import { loadBackbone, type Backbone } from "./backbone";
import { resizeImage, type DecodedImage } from "./image";

/**
 * Revision of the embeddings (this file, backbone.ts, and the tfjs setup in tf.ts): bump it when a
 * change alters embeddings, and record the new output digest in tests/fixtures/revisions.json.
 * Part of the feature cache key; backbone specs and package versions are keyed separately.
 */
export const EMBED_REVISION = 1;

export interface EmbeddingResult {
  /** Pooled vector per image, per backbone name. */
  pooled: Record<string, Float32Array[]>;
  /** Full map per image, for the backbones listed in `maps`. */
  maps: Record<string, Float32Array[]>;
}

export interface Embedder {
  backbones: Backbone[];
  /** Backbone name → [dim of pooled, shape of the map]. */
  shapes: Record<string, { dim: number; mapShape: number[] }>;
  /**
   * Embed `images` with the named backbones (default: all); `maps` names those whose full map is
   * also wanted. Images may have any size.
   */
  embed(images: DecodedImage[], opts?: { only?: string[]; maps?: string[] }): Promise<EmbeddingResult>;
  dispose(): void;
}

/** Load every named backbone (e.g. ["inception_v3", "mobilenet_v1"]). */
export async function loadEmbedder(names: string[]): Promise<Embedder> {
  const backbones: Backbone[] = [];
  for (const name of names) backbones.push(await loadBackbone(name));
  const shapes: Embedder["shapes"] = {};
  for (const b of backbones) {
    const channels = b.outputShape[b.outputShape.length - 1];
    shapes[b.spec.name] = { dim: b.outputShape.length === 3 ? channels : b.outputShape.reduce((a, c) => a * c, 1), mapShape: b.outputShape };
  }
  return {
    backbones,
    shapes,
    async embed(images, opts = {}) {
      const result: EmbeddingResult = { pooled: {}, maps: {} };
      const wanted = backbones.filter((b) => !opts.only || opts.only.includes(b.spec.name));
      for (const b of wanted) {
        const name = b.spec.name;
        result.pooled[name] = [];
        const wantMap = opts.maps?.includes(name) ?? false;
        if (wantMap) result.maps[name] = [];
        if (images.length === 0) continue;
        const size = b.spec.inputSize;
        const resized = await Promise.all(images.map((img) => resizeImage(img, size)));
        const batch = new Int32Array(images.length * size * size * 3);
        resized.forEach((r, i) => batch.set(r.data, i * size * size * 3));
        const input = tf.tensor4d(batch, [images.length, size, size, 3], "int32");
        let out: { map: tf.Tensor; pooled: tf.Tensor2D } | null = null;
        try {
          out = b.embed(input);
          const pooled = (await out.pooled.data()) as Float32Array;
          const dim = out.pooled.shape[1];
          for (let i = 0; i < images.length; i++) result.pooled[name].push(pooled.slice(i * dim, (i + 1) * dim));
          if (wantMap) {
            const map = (await out.map.data()) as Float32Array;
            const per = map.length / images.length;
            for (let i = 0; i < images.length; i++) result.maps[name].push(map.slice(i * per, (i + 1) * per));
          }
        } finally {
          input.dispose();
          out?.map.dispose();
          out?.pooled.dispose();
        }
      }
      return result;
    },
    dispose() {
      for (const b of backbones) b.dispose();
    },
  };
}
