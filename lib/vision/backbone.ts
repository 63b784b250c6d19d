/**
 * Image backbones: a frozen CNN that turns a cover into features. Pluggable by design — the study's
 * InceptionV3 (from the nsfwjs npm bundle, the only InceptionV3 weights that install offline) is the
 * default, the ImageNet MobileNet v1 in `../shared/models` is the first alternative, and any tfjs
 * layers or graph model can be named by path or URL (e.g. a converted ImageNet InceptionV3).
 *
 * `load()` returns a {@link Backbone} whose `embed()` maps a batch of RGB images to features; the
 * caller owns the returned tensors.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { initTf, loadArtifactsFromModelJson, tf } from "../tf";
import { sharedModelsDir } from "../paths";
import { UserError } from "../util/errors";
import { packageDir } from "../util/packages";

/** How pixels in [0, 255] are scaled before the network. */
export type PixelScaling = "unit" | "symmetric";

export interface BackboneSpec {
  /** Short name used in feature files and checkpoints, e.g. "inception_v3" or "mobilenet_v1". */
  name: string;
  /** `nsfwjs:inception_v3`, a path to a model.json, or an http(s)/file URL. */
  source: string;
  /** Square input size in pixels. */
  inputSize: number;
  /** Layer to cut at (layers models only); the output of this layer is the feature map. */
  cutLayer?: string;
  /** "unit": x/255 (nsfwjs was fine-tuned so); "symmetric": x/127.5-1 (Keras ImageNet models). */
  scaling: PixelScaling;
  /** Graph models: which kind to load. Default: guessed from model.json's `format`. */
  format?: "layers" | "graph";
  /**
   * Layers models: instead of the network's output, the spatial mean and standard deviation of
   * each channel of these layers' outputs, concatenated per layer ([mean, std]); `map` is the same
   * vector. E.g. MobileNet's conv_pw_6 / conv_pw_11 / conv_dw_13 → 4,096-d (`mobilenet_v1_ms`).
   */
  meanStd?: string[];
}

/** Built-in backbones, by name. */
export const BACKBONES: Record<string, () => BackboneSpec | null> = {
  /** The study's network: InceptionV3 cut at mixed7, at the study's 150x150 (map [7,7,768]). */
  inception_v3: () => ({
    name: "inception_v3",
    source: "nsfwjs:inception_v3",
    inputSize: 150,
    cutLayer: "mixed7",
    scaling: "unit",
  }),
  /** Google's ImageNet MobileNet v1 (already cut at conv_dw_13 + global average pooling: 1024-d). */
  mobilenet_v1: () => {
    const dir = sharedModelsDir();
    const modelJson = dir && path.join(dir, "mobilenet_v1_1.0_224_imagenet_dw13_gap", "model.json");
    if (!modelJson || !fs.existsSync(modelJson)) return null;
    return { name: "mobilenet_v1", source: modelJson, inputSize: 224, scaling: "symmetric" };
  },
};

/** Built-in variants of those backbones (other outputs of the same weights), by name; opt-in. */
export const BACKBONE_VARIANTS: Record<string, () => BackboneSpec | null> = {
  /**
   * MobileNet v1, richer features (issue 14): mean + standard deviation over space of conv_pw_6,
   * conv_pw_11 and conv_dw_13 (after their ReLU6), 2 x (512 + 512 + 1024) = 4,096-d.
   */
  mobilenet_v1_ms: () => {
    const base = BACKBONES.mobilenet_v1();
    return base && { ...base, name: "mobilenet_v1_ms", meanStd: ["conv_pw_6_relu", "conv_pw_11_relu", "conv_dw_13_relu"] };
  },
};

/** Resolve a name from {@link BACKBONES} or a `name=path[,size=..][,cut=..][,scaling=..]` spec. */
export function resolveBackboneSpec(nameOrSpec: string): BackboneSpec {
  const builtin = BACKBONES[nameOrSpec] ?? BACKBONE_VARIANTS[nameOrSpec];
  if (builtin) {
    const spec = builtin();
    if (!spec) {
      throw new UserError(
        `backbone "${nameOrSpec}" is not available: its model files were not found (expected under ../shared/models, or set COVERGENRE_MODELS)`,
      );
    }
    return spec;
  }
  const [head, ...params] = nameOrSpec.split(",");
  const eq = head.indexOf("=");
  if (eq <= 0) {
    throw new UserError(
      `unknown backbone "${nameOrSpec}": use one of ${[...Object.keys(BACKBONES), ...Object.keys(BACKBONE_VARIANTS)].join(", ")}, or name=<model.json path or URL>[,size=224][,cut=<layer>][,scaling=unit|symmetric][,meanstd=<layer>+<layer>…]`,
    );
  }
  const spec: BackboneSpec = { name: head.slice(0, eq), source: head.slice(eq + 1), inputSize: 224, scaling: "symmetric" };
  for (const p of params) {
    const [k, v] = p.split("=");
    if (k === "size") spec.inputSize = Number(v);
    else if (k === "cut") spec.cutLayer = v;
    else if (k === "scaling" && (v === "unit" || v === "symmetric")) spec.scaling = v;
    else if (k === "format" && (v === "layers" || v === "graph")) spec.format = v;
    else if (k === "meanstd" && v) spec.meanStd = v.split("+");
    else throw new UserError(`backbone spec "${nameOrSpec}": unknown parameter "${p}"`);
  }
  if (!Number.isInteger(spec.inputSize) || spec.inputSize < 32) throw new UserError(`backbone spec "${nameOrSpec}": size must be an integer ≥ 32`);
  return spec;
}

export interface Backbone {
  spec: BackboneSpec;
  /** Output shape of one image's feature map without the batch dim, e.g. [7, 7, 768] or [1024]. */
  outputShape: number[];
  /** The loaded tfjs network (after the cut and resize): what lib/onnx/ exports. */
  network: tf.LayersModel | tf.GraphModel;
  /**
   * Features for a batch of images [n, size, size, 3] with values in [0, 255].
   * Returns `map` (as the network outputs it) and `pooled` ([n, channels], global average over space).
   * Both are new tensors owned by the caller.
   */
  embed(images: tf.Tensor4D): { map: tf.Tensor; pooled: tf.Tensor2D };
  dispose(): void;
}

/** Load a backbone (initialising TensorFlow.js if needed). */
export async function loadBackbone(specOrName: BackboneSpec | string = "inception_v3"): Promise<Backbone> {
  await initTf();
  const spec = typeof specOrName === "string" ? resolveBackboneSpec(specOrName) : specOrName;
  const model = await loadNetwork(spec);
  const pool = spec.meanStd?.length ? meanStdPool(model, spec) : null;
  const probe = tf.tidy(() => (pool ? pool(tf.zeros([1, spec.inputSize, spec.inputSize, 3])) : run(model, tf.zeros([1, spec.inputSize, spec.inputSize, 3]))));
  const outputShape = probe.shape.slice(1);
  probe.dispose();
  return {
    spec,
    outputShape,
    network: model,
    embed(images) {
      return tf.tidy(() => {
        const x = spec.scaling === "unit" ? images.toFloat().div(255) : images.toFloat().div(127.5).sub(1);
        if (pool) {
          const pooled = pool(x as tf.Tensor4D);
          return { map: pooled.clone(), pooled };
        }
        const map = run(model, x as tf.Tensor4D);
        const pooled = (map.rank === 4 ? map.mean([1, 2]) : map.reshape([map.shape[0], -1])) as tf.Tensor2D;
        return { map, pooled };
      });
    },
    dispose() {
      model.dispose();
    },
  };
}

type Network = tf.LayersModel | tf.GraphModel;

/** `spec.meanStd`: per named layer, the spatial mean and standard deviation of each channel, concatenated. */
function meanStdPool(model: Network, spec: BackboneSpec): (x: tf.Tensor4D) => tf.Tensor2D {
  if (!(model instanceof tf.LayersModel)) throw new UserError(`backbone ${spec.name}: meanstd needs a layers model`);
  const outputs = spec.meanStd!.map((n) => {
    try {
      return model.getLayer(n).output as tf.SymbolicTensor;
    } catch {
      throw new UserError(`backbone ${spec.name}: layer "${n}" is not in the model`);
    }
  });
  const sub = tf.model({ inputs: model.inputs, outputs });
  return (x) => {
    const outs = sub.predict(x);
    const parts = (Array.isArray(outs) ? outs : [outs]).flatMap((o) => {
      const { mean, variance } = tf.moments(o, [1, 2]);
      return [mean, tf.sqrt(variance)];
    });
    return tf.concat(parts, 1) as tf.Tensor2D;
  };
}

function run(model: Network, x: tf.Tensor4D): tf.Tensor {
  const out = model.predict(x);
  return Array.isArray(out) ? out[0] : (out as tf.Tensor);
}

async function loadNetwork(spec: BackboneSpec): Promise<Network> {
  if (spec.source.startsWith("nsfwjs:")) {
    return loadLayersWithSurgery(readNsfwjsBundle(spec.source.slice("nsfwjs:".length)), spec);
  }
  const isUrl = /^[a-z]+:\/\//i.test(spec.source);
  if (!isUrl && !fs.existsSync(spec.source)) throw new UserError(`backbone ${spec.name}: ${spec.source} does not exist`);
  const artifacts = isUrl && !spec.source.startsWith("file://") ? null : await loadArtifactsFromModelJson(isUrl ? new URL(spec.source).pathname : spec.source);
  const format = spec.format ?? (artifacts?.format === "graph-model" ? "graph" : "layers");
  if (format === "graph") {
    return tf.loadGraphModel(artifacts ? tf.io.fromMemory(artifacts) : spec.source);
  }
  if (!artifacts) return tf.loadLayersModel(spec.source);
  return loadLayersWithSurgery(artifacts, spec);
}

/**
 * nsfwjs ships its models as JS files holding base64 strings; its own loader walks each 5.5 MB
 * string for 40-60 s. Reading them directly takes well under a second.
 */
export function readNsfwjsBundle(model: string): tf.io.ModelArtifacts {
  const dir = path.join(packageDir("nsfwjs"), "dist", "models", model);
  if (!fs.existsSync(path.join(dir, "model.min.js"))) throw new UserError(`nsfwjs has no bundled model "${model}" (looked in ${dir})`);
  const { modelTopology, weightsManifest } = require(path.join(dir, "model.min.js")) as {
    modelTopology: object;
    weightsManifest: tf.io.WeightsManifestConfig;
  };
  const shards: Buffer[] = [];
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  for (const group of weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const shard of group.paths) {
      const b64 = require(path.join(dir, `${shard}.min.js`)) as string;
      shards.push(Buffer.from(b64, "base64"));
    }
  }
  const joined = Buffer.concat(shards);
  return {
    modelTopology,
    weightSpecs,
    weightData: joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength),
  };
}

interface KerasLayerJson {
  name: string;
  class_name: string;
  config: { batch_input_shape?: (number | null)[]; [k: string]: unknown };
  inbound_nodes: unknown[];
}

/**
 * Cut a Keras functional topology at `cutLayer` and set a new input size, before any weights are
 * built. Cutting first matters: the full InceptionV3 cannot be rebuilt at 150x150 (its head's
 * pooling fails), but everything up to mixed7 can.
 */
export function reshapeTopology(topology: object, cutLayer: string | undefined, inputSize: number): object {
  const copy = JSON.parse(JSON.stringify(topology));
  const modelConfig = copy.model_config ?? copy;
  const config = modelConfig.config as { layers: KerasLayerJson[]; input_layers: unknown[]; output_layers: unknown[] };
  if (cutLayer) {
    const byName = new Map(config.layers.map((l) => [l.name, l]));
    if (!byName.has(cutLayer)) throw new UserError(`layer "${cutLayer}" is not in the model (it has ${config.layers.length} layers)`);
    const keep = new Set<string>();
    const stack = [cutLayer];
    while (stack.length) {
      const name = stack.pop()!;
      if (keep.has(name)) continue;
      keep.add(name);
      for (const parent of inboundLayerNames(byName.get(name)!)) stack.push(parent);
    }
    config.layers = config.layers.filter((l) => keep.has(l.name));
    config.output_layers = [[cutLayer, 0, 0]];
  }
  for (const layer of config.layers) {
    if (layer.class_name === "InputLayer" && layer.config.batch_input_shape) {
      const shape = layer.config.batch_input_shape;
      layer.config.batch_input_shape = [shape[0], inputSize, inputSize, shape[3] ?? 3];
    }
  }
  return copy;
}

function inboundLayerNames(layer: KerasLayerJson): string[] {
  const names: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      if (typeof node[0] === "string" && typeof node[1] === "number") names.push(node[0]);
      else node.forEach(walk);
    }
  };
  walk(layer.inbound_nodes);
  return names;
}

async function loadLayersWithSurgery(artifacts: tf.io.ModelArtifacts, spec: BackboneSpec): Promise<tf.LayersModel> {
  const modelTopology = reshapeTopology(artifacts.modelTopology as object, spec.cutLayer, spec.inputSize);
  // strict=false: the weights of the layers we cut away are present in the file and simply unused.
  const model = await tf.loadLayersModel(tf.io.fromMemory({ ...artifacts, modelTopology }), { strict: false });
  model.trainable = false;
  return model;
}

/** A file:// URL for a local model.json (handy for the pluggable-source option). */
export function fileUrl(p: string): string {
  return pathToFileURL(path.resolve(p)).href;
}
