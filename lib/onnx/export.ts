/**
 * An exporter from TensorFlow.js layers models to ONNX, written here so that no converted model has
 * to be downloaded or committed: `exportLayersModel()` walks a loaded tfjs LayersModel (the one
 * lib/vision/backbone.ts builds, after its cut and resize) and writes an ONNX ModelProto with the
 * message definitions of the `onnx-proto` package.
 *
 * The graph it writes:
 * - takes the same input as the tfjs backbone: `input`, float32 NHWC pixels in [0, 255]; the
 *   backbone's pixel scaling (x/255 or x/127.5 − 1) and the NHWC → NCHW transpose are inside the graph;
 * - runs in NCHW (what ONNX Runtime's CPU kernels want), with every BatchNormalization that follows
 *   a convolution folded into that convolution's weights and bias, ReLU6 as Clip(0, 6), and
 *   TensorFlow's "same" padding written as explicit (possibly asymmetric) pads computed from the
 *   static input size, so stride-2 convolutions match TF exactly (TF pads the extra row at the end);
 * - has two outputs: `map`, the network's output as tfjs returns it (NHWC again for a spatial map),
 *   and `pooled`, its global average over space ([n, channels]; the output itself when it is
 *   already flat), i.e. exactly what `Backbone.embed()` returns.
 *
 * Supported layers: InputLayer, Conv2D, DepthwiseConv2D, BatchNormalization, Activation and ReLU
 * (relu, relu6, linear, sigmoid, tanh), ZeroPadding2D, MaxPooling2D, AveragePooling2D,
 * GlobalAveragePooling2D, GlobalMaxPooling2D, Concatenate, Add, Dense, Flatten, Dropout. Anything else throws {@link UnsupportedLayerError} naming the layer, and
 * the caller (lib/onnx/backbone.ts) falls back to tfjs.
 */
import { onnx } from "onnx-proto";
import type { tf } from "../tf";

/**
 * Revision of the exporter: part of every cached export's file name and of the onnx feature cache
 * key, so a change that alters exported graphs re-exports and recomputes embeddings.
 */
export const EXPORT_REVISION = 1;

/** ONNX operator set the graphs use (Clip with min/max inputs, ReduceMean with an axes attribute). */
export const OPSET = 13;

export class UnsupportedLayerError extends Error {
  constructor(
    readonly layerName: string,
    readonly className: string,
    detail?: string,
  ) {
    super(`cannot export layer "${layerName}" (${className}) to ONNX${detail ? `: ${detail}` : ": this layer type is not supported by the exporter"}`);
    this.name = "UnsupportedLayerError";
  }
}

export interface ExportOptions {
  /** Pixel scaling applied inside the graph (lib/vision/backbone.ts `PixelScaling`). */
  scaling: "unit" | "symmetric" | "none";
  /** Graph name (e.g. the backbone's name). */
  name?: string;
  /**
   * Instead of the model's output: the spatial mean and standard deviation of each channel of these
   * layers' outputs, concatenated per layer ([mean, std]) — lib/vision/backbone.ts `meanStd`.
   */
  meanStd?: string[];
  /** Free-form metadata stored in the model (source hash, revisions). */
  metadata?: Record<string, string>;
}

export interface ExportResult {
  /** The serialized ModelProto. */
  bytes: Uint8Array;
  /** Output shape of one image's `map`, as tfjs reports it (e.g. [7, 7, 768] or [1024]). */
  mapShape: number[];
  /** Number of ONNX nodes and how many BatchNormalizations were folded away. */
  nodes: number;
  foldedBatchNorms: number;
}

/** A value in the graph under construction: its ONNX name and its layout. */
interface Value {
  name: string;
  /** Shape without the batch dimension, in the tfjs (NHWC) convention. */
  shape: number[];
  /** True when the ONNX tensor is NCHW (a rank-4 tfjs tensor); false when it is laid out as tfjs's. */
  nchw: boolean;
}

/** The subset of tfjs's internal symbolic-tensor and node structure the walk needs. */
interface SymTensor {
  id: number;
  shape: (number | null)[];
  sourceLayer: Layer;
  nodeIndex: number;
  tensorIndex: number;
}
interface LayerNode {
  inputTensors: SymTensor[];
}
interface Layer {
  name: string;
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  getWeights(): tf.Tensor[];
  inboundNodes: LayerNode[];
  weights: { originalName: string; name: string }[];
}

const F32 = onnx.TensorProto.DataType.FLOAT;
const I64 = onnx.TensorProto.DataType.INT64;

/** Collects ONNX nodes and initializers with unique names (shared by the layers and graph-model exporters). */
export class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  private used = new Set<string>();

  unique(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_./-]/g, "_");
    let name = clean;
    for (let i = 1; this.used.has(name); i++) name = `${clean}_${i}`;
    this.used.add(name);
    return name;
  }

  constF32(base: string, dims: number[], values: ArrayLike<number>): string {
    const name = this.unique(base);
    const data = Float32Array.from(values);
    if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`constant ${name}: ${data.length} values for dims ${dims}`);
    this.initializers.push({ name, dataType: F32, dims, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  constI64(base: string, values: number[]): string {
    const name = this.unique(base);
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dataType: I64, dims: [values.length], rawData: new Uint8Array(data.buffer) });
    return name;
  }

  node(opType: string, inputs: string[], outBase: string, attrs: Record<string, number | number[] | string> = {}, outName?: string): string {
    const output = outName ?? this.unique(outBase);
    const attribute: onnx.IAttributeProto[] = Object.entries(attrs).map(([name, v]) => {
      if (typeof v === "string") return { name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(v) };
      if (Array.isArray(v)) return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: v };
      if (Number.isInteger(v) && !name.match(/^(alpha|beta|epsilon|value)$/)) return { name, type: onnx.AttributeProto.AttributeType.INT, i: v };
      return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v };
    });
    this.nodes.push({ opType, input: inputs, output: [output], name: output, attribute });
    return output;
  }
}

/** TF "same" padding for one spatial axis: [before, after] (the odd pixel goes after, as in TF). */
export function samePads(inSize: number, kernel: number, stride: number, dilation = 1): [number, number] {
  const effective = (kernel - 1) * dilation + 1;
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + effective - inSize, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

function pair(v: unknown, fallback: number): [number, number] {
  if (v == null) return [fallback, fallback];
  if (Array.isArray(v)) return [Number(v[0]), Number(v[v.length > 1 ? 1 : 0])];
  return [Number(v), Number(v)];
}

/** Walk the model from its outputs to its inputs: layers in an order where inputs come first. */
function topologicalTensors(outputs: SymTensor[]): SymTensor[] {
  const order: SymTensor[] = [];
  const seen = new Set<number>();
  const visit = (t: SymTensor): void => {
    if (seen.has(t.id)) return;
    seen.add(t.id);
    const node = t.sourceLayer.inboundNodes[t.nodeIndex];
    for (const parent of node?.inputTensors ?? []) if (parent.id !== t.id) visit(parent);
    order.push(t);
  };
  for (const out of outputs) visit(out);
  return order;
}

/** Export a tfjs LayersModel with one image input (NHWC) and one output to ONNX. */
export function exportLayersModel(model: tf.LayersModel, opts: ExportOptions): ExportResult {
  if (model.inputs.length !== 1 || (model.outputs.length !== 1 && !opts.meanStd?.length)) {
    throw new Error(`cannot export a model with ${model.inputs.length} inputs and ${model.outputs.length} outputs to ONNX: one of each is supported`);
  }
  const inputShape = (model.inputs[0].shape as (number | null)[]).slice(1);
  if (inputShape.length !== 3 || inputShape.some((d) => d == null)) {
    throw new Error(`cannot export to ONNX: the input must be [batch, height, width, channels] with a fixed size, not [${model.inputs[0].shape.join(", ")}]`);
  }
  const g = new GraphBuilder();
  const values = new Map<number, Value>();
  /** How many layers consume each symbolic tensor (a BN can only be folded into a conv it alone reads). */
  const consumers = new Map<number, number>();
  // What the graph computes: the model's output, or (meanStd) the outputs of the named layers.
  const outputs: SymTensor[] = opts.meanStd?.length
    ? opts.meanStd.map((n) => {
        let layer;
        try {
          layer = model.getLayer(n);
        } catch {
          throw new Error(`cannot export to ONNX: layer "${n}" is not in the model`);
        }
        return layer.output as unknown as SymTensor;
      })
    : [model.outputs[0] as unknown as SymTensor];
  const tensors = topologicalTensors(outputs);
  for (const t of tensors) {
    const node = t.sourceLayer.inboundNodes[t.nodeIndex];
    for (const p of node?.inputTensors ?? []) if (p.id !== t.id) consumers.set(p.id, (consumers.get(p.id) ?? 0) + 1);
  }
  for (const o of outputs) consumers.set(o.id, (consumers.get(o.id) ?? 0) + 1);
  const outputId = outputs[0].id;

  // Convolutions whose output may still take a folded BatchNormalization: ONNX node index → weights.
  const foldable = new Map<string, { nodeIndex: number; weightName: string; biasName: string; w: Float32Array; b: Float64Array; cout: number; perOut: number }>();
  let folded = 0;

  const inputName = "input";
  g.unique(inputName);
  for (const t of tensors) {
    const layer = t.sourceLayer;
    const cls = layer.getClassName();
    const config = layer.getConfig();
    const shape = (t.shape as number[]).slice(1);
    const ins = (layer.inboundNodes[t.nodeIndex]?.inputTensors ?? []).filter((p) => p.id !== t.id).map((p) => values.get(p.id)!);
    const x = ins[0];
    const name = layer.name;
    const weights = (): Float32Array[] => layer.getWeights().map((w) => w.dataSync() as Float32Array);
    const weightShapes = (): number[][] => layer.getWeights().map((w) => w.shape);
    const set = (v: Omit<Value, "shape">) => values.set(t.id, { ...v, shape });
    const unsupported = (detail?: string) => new UnsupportedLayerError(name, cls, detail);
    const needNchw = () => {
      if (!x || !x.nchw) throw unsupported(`expects a 4-d image tensor input`);
    };

    switch (cls) {
      case "InputLayer": {
        let v = inputName;
        if (opts.scaling === "unit") v = g.node("Mul", [v, g.constF32("scale", [], [1 / 255])], "scaled");
        else if (opts.scaling === "symmetric") {
          v = g.node("Div", [v, g.constF32("scale", [], [127.5])], "scaled_div");
          v = g.node("Sub", [v, g.constF32("one", [], [1])], "scaled");
        }
        v = g.node("Transpose", [v], "nchw", { perm: [0, 3, 1, 2] });
        set({ name: v, nchw: true });
        break;
      }
      case "Conv2D":
      case "DepthwiseConv2D": {
        needNchw();
        const depthwise = cls === "DepthwiseConv2D";
        const [kh, kw] = pair(config.kernelSize, 1);
        const [sh, sw] = pair(config.strides, 1);
        const [dh, dw] = pair(config.dilationRate, 1);
        if (config.dataFormat && config.dataFormat !== "channelsLast") throw unsupported(`data format ${config.dataFormat}`);
        const ws = weights();
        const wShapes = weightShapes();
        const k = ws[0];
        const [, , cin, last] = wShapes[0];
        const cout = depthwise ? cin * last : last;
        // tfjs kernel [kh, kw, cin, cout] (depthwise: [kh, kw, cin, multiplier]) → ONNX [cout, cin/group, kh, kw].
        const w = new Float32Array(cout * (depthwise ? 1 : cin) * kh * kw);
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            for (let c = 0; c < cin; c++) {
              for (let o = 0; o < last; o++) {
                const src = ((i * kw + j) * cin + c) * last + o;
                const dst = depthwise ? ((c * last + o) * kh + i) * kw + j : ((o * cin + c) * kh + i) * kw + j;
                w[dst] = k[src];
              }
            }
          }
        }
        const useBias = config.useBias !== false && ws.length > 1;
        const b = new Float64Array(cout);
        if (useBias) b.set(ws[1]);
        let pads = [0, 0, 0, 0];
        if (config.padding === "same") {
          const [pt, pb] = samePads(x.shape[0], kh, sh, dh);
          const [pl, pr] = samePads(x.shape[1], kw, sw, dw);
          pads = [pt, pl, pb, pr];
        } else if (config.padding !== "valid") throw unsupported(`padding "${config.padding}"`);
        const weightName = g.constF32(`${name}/W`, [cout, depthwise ? 1 : cin, kh, kw], w);
        const biasName = g.constF32(`${name}/B`, [cout], b);
        const attrs: Record<string, number[] | number> = { kernel_shape: [kh, kw], strides: [sh, sw], dilations: [dh, dw], pads };
        if (depthwise) attrs.group = cin;
        const out = g.node("Conv", [x.name, weightName, biasName], name, attrs);
        const activation = String(config.activation ?? "linear");
        if (activation === "linear") {
          foldable.set(out, { nodeIndex: g.nodes.length - 1, weightName, biasName, w, b, cout, perOut: w.length / cout });
          set({ name: out, nchw: true });
        } else set({ name: activate(g, out, activation, name, unsupported), nchw: true });
        break;
      }
      case "BatchNormalization": {
        const axis = Number(config.axis ?? -1);
        const ws = weights();
        const names = layer.weights.map((w) => w.originalName ?? w.name);
        const get = (suffix: string) => {
          const i = names.findIndex((n) => n.endsWith(suffix));
          return i >= 0 ? ws[i] : null;
        };
        const gamma = config.scale === false ? null : get("gamma");
        const beta = config.center === false ? null : get("beta");
        const mean = get("moving_mean");
        const variance = get("moving_variance");
        if (!mean || !variance) throw unsupported("its moving mean and variance were not found");
        const eps = Number(config.epsilon ?? 1e-3);
        const c = mean.length;
        const scale = new Float64Array(c);
        const shift = new Float64Array(c);
        for (let i = 0; i < c; i++) {
          scale[i] = (gamma ? gamma[i] : 1) / Math.sqrt(variance[i] + eps);
          shift[i] = (beta ? beta[i] : 0) - mean[i] * scale[i];
        }
        const channelAxis = axis < 0 ? shape.length + axis : axis - 1;
        if (channelAxis !== shape.length - 1) throw unsupported(`normalizes axis ${axis}, only the channel axis is supported`);
        const producer = foldable.get(x.name);
        const parentId = (layer.inboundNodes[t.nodeIndex].inputTensors[0] as SymTensor).id;
        if (producer && consumers.get(parentId) === 1) {
          // Fold into the convolution: W' = W * s (per output channel), b' = b * s + shift.
          const { w, b, cout, perOut } = producer;
          for (let o = 0; o < cout; o++) {
            for (let i = 0; i < perOut; i++) w[o * perOut + i] = Math.fround(w[o * perOut + i] * scale[o]);
            b[o] = b[o] * scale[o] + shift[o];
          }
          replaceInitializer(g, producer.weightName, w);
          replaceInitializer(g, producer.biasName, Float32Array.from(b));
          foldable.delete(x.name);
          folded++;
          set({ name: x.name, nchw: x.nchw });
        } else {
          const dims = x.nchw ? [c, 1, 1] : [c];
          const mul = g.node("Mul", [x.name, g.constF32(`${name}/scale`, dims, scale)], `${name}_mul`);
          set({ name: g.node("Add", [mul, g.constF32(`${name}/shift`, dims, shift)], name), nchw: x.nchw });
        }
        break;
      }
      case "Activation":
        set({ name: activate(g, x.name, String(config.activation), name, unsupported), nchw: x.nchw });
        break;
      case "ReLU": {
        const maxValue = config.maxValue == null ? null : Number(config.maxValue);
        const out = maxValue == null ? g.node("Relu", [x.name], name) : g.node("Clip", [x.name, g.constF32(`${name}/min`, [], [0]), g.constF32(`${name}/max`, [], [maxValue])], name);
        set({ name: out, nchw: x.nchw });
        break;
      }
      case "ZeroPadding2D": {
        needNchw();
        const p = config.padding as number[][] | number[] | number;
        let top: number, bottom: number, left: number, right: number;
        if (typeof p === "number") [top, bottom, left, right] = [p, p, p, p];
        else if (Array.isArray(p[0])) [[top, bottom], [left, right]] = p as number[][];
        else [top, bottom, left, right] = [(p as number[])[0], (p as number[])[0], (p as number[])[1], (p as number[])[1]];
        const pads = g.constI64(`${name}/pads`, [0, 0, top, left, 0, 0, bottom, right]);
        set({ name: g.node("Pad", [x.name, pads], name, { mode: "constant" }), nchw: true });
        break;
      }
      case "MaxPooling2D":
      case "AveragePooling2D": {
        needNchw();
        const [kh, kw] = pair(config.poolSize, 2);
        const [sh, sw] = pair(config.strides ?? config.poolSize, 2);
        let pads = [0, 0, 0, 0];
        if (config.padding === "same") {
          const [pt, pb] = samePads(x.shape[0], kh, sh);
          const [pl, pr] = samePads(x.shape[1], kw, sw);
          pads = [pt, pl, pb, pr];
        } else if (config.padding !== "valid") throw unsupported(`padding "${config.padding}"`);
        const attrs: Record<string, number[] | number> = { kernel_shape: [kh, kw], strides: [sh, sw], pads };
        // TF averages over the window's pixels inside the image only.
        if (cls === "AveragePooling2D") attrs.count_include_pad = 0;
        set({ name: g.node(cls === "MaxPooling2D" ? "MaxPool" : "AveragePool", [x.name], name, attrs), nchw: true });
        break;
      }
      case "GlobalAveragePooling2D":
      case "GlobalMaxPooling2D": {
        needNchw();
        if (config.keepDims) throw unsupported("keepdims");
        const op = cls === "GlobalAveragePooling2D" ? "ReduceMean" : "ReduceMax";
        set({ name: g.node(op, [x.name], name, { axes: [2, 3], keepdims: 0 }), nchw: false });
        break;
      }
      case "Concatenate": {
        if (ins.some((v) => v.nchw !== x.nchw)) throw unsupported("inputs of different layouts");
        const rank = shape.length + 1;
        let axis = Number(config.axis ?? -1);
        if (axis < 0) axis += rank;
        if (x.nchw) axis = [0, 2, 3, 1][axis];
        set({ name: g.node("Concat", ins.map((v) => v.name), name, { axis }), nchw: x.nchw });
        break;
      }
      case "Add": {
        if (ins.some((v) => v.nchw !== x.nchw)) throw unsupported("inputs of different layouts");
        let out = ins[0].name;
        for (let i = 1; i < ins.length; i++) out = g.node("Add", [out, ins[i].name], i === ins.length - 1 ? name : `${name}_${i}`);
        set({ name: out, nchw: x.nchw });
        break;
      }
      case "Flatten": {
        let v = x.name;
        if (x.nchw) v = g.node("Transpose", [v], `${name}_nhwc`, { perm: [0, 2, 3, 1] });
        set({ name: g.node("Flatten", [v], name, { axis: 1 }), nchw: false });
        break;
      }
      case "Dense": {
        if (x.nchw || x.shape.length !== 1) throw unsupported("only 2-d inputs [batch, features] are supported");
        const ws = weights();
        const [inDim, units] = weightShapes()[0];
        const bias = config.useBias !== false && ws.length > 1 ? ws[1] : new Float32Array(units);
        const out = g.node("Gemm", [x.name, g.constF32(`${name}/W`, [inDim, units], ws[0]), g.constF32(`${name}/B`, [units], bias)], `${name}_gemm`);
        set({ name: activate(g, out, String(config.activation ?? "linear"), name, unsupported), nchw: false });
        break;
      }
      case "Dropout":
      case "SpatialDropout2D":
        set({ name: x.name, nchw: x.nchw });
        break;
      default:
        throw unsupported();
    }
  }

  const out = values.get(outputId)!;
  let mapShape = out.shape;
  let mapName: string;
  let pooledName: string;
  if (opts.meanStd?.length) {
    // Per layer: the spatial mean and the (population) standard deviation of each channel, as
    // tf.moments computes them: mean((x − mean)²), then the square root.
    const parts: string[] = [];
    let dim = 0;
    for (const [i, o] of outputs.entries()) {
      const v = values.get(o.id)!;
      if (!v.nchw) throw new Error(`cannot pool mean and std of layer "${opts.meanStd[i]}": its output is not an image map`);
      const mean = g.node("ReduceMean", [v.name], `${opts.meanStd[i]}_mean4`, { axes: [2, 3], keepdims: 1 });
      const d = g.node("Sub", [v.name, mean], `${opts.meanStd[i]}_centered`);
      const sq = g.node("Mul", [d, d], `${opts.meanStd[i]}_sq`);
      const variance = g.node("ReduceMean", [sq], `${opts.meanStd[i]}_var`, { axes: [2, 3], keepdims: 0 });
      parts.push(g.node("Flatten", [mean], `${opts.meanStd[i]}_mean`, { axis: 1 }), g.node("Sqrt", [variance], `${opts.meanStd[i]}_std`));
      dim += 2 * v.shape[v.shape.length - 1];
    }
    pooledName = g.node("Concat", parts, "pooled", { axis: 1 }, "pooled");
    mapName = g.node("Identity", [pooledName], "map", {}, "map");
    mapShape = [dim];
  } else if (out.nchw) {
    mapName = g.node("Transpose", [out.name], "map", { perm: [0, 2, 3, 1] }, "map");
    pooledName = g.node("ReduceMean", [out.name], "pooled", { axes: [2, 3], keepdims: 0 }, "pooled");
  } else {
    mapName = g.node("Identity", [out.name], "map", {}, "map");
    pooledName = out.shape.length === 1 ? g.node("Identity", [out.name], "pooled", {}, "pooled") : g.node("Flatten", [out.name], "pooled", { axis: 1 }, "pooled");
  }
  const pooledDim = out.nchw && !opts.meanStd?.length ? mapShape[mapShape.length - 1] : mapShape.reduce((a, b) => a * b, 1);
  const bytes = encodeModel(g, {
    name: opts.name ?? "backbone",
    inputs: [{ name: inputName, shape: ["batch", ...(inputShape as number[])] }],
    outputs: [
      { name: mapName, shape: ["batch", ...mapShape] },
      { name: pooledName, shape: ["batch", pooledDim] },
    ],
    metadata: opts.metadata,
  });
  return { bytes, mapShape, nodes: g.nodes.length, foldedBatchNorms: folded };
}

/** A float32 graph input or output: its name and shape (a string names a free dimension such as the batch; none: unknown). */
export interface ValueSpec {
  name: string;
  shape?: (number | string)[];
}

/**
 * Serialize the builder's graph as an ONNX ModelProto (opset {@link OPSET}), keeping only the
 * initializers some node reads (folds and layout changes leave replaced constants behind).
 */
export function encodeModel(g: GraphBuilder, spec: { name: string; inputs: ValueSpec[]; outputs: ValueSpec[]; metadata?: Record<string, string> }): Uint8Array {
  const valueInfo = (v: ValueSpec): onnx.IValueInfoProto => ({
    name: v.name,
    type: { tensorType: { elemType: F32, ...(v.shape ? { shape: { dim: v.shape.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) } } : {}) } },
  });
  const read = new Set(g.nodes.flatMap((n) => n.input ?? []));
  const modelProto: onnx.IModelProto = {
    irVersion: 7,
    opsetImport: [{ domain: "", version: OPSET }],
    producerName: "covergenre",
    producerVersion: String(EXPORT_REVISION),
    graph: {
      name: spec.name,
      node: g.nodes,
      initializer: g.initializers.filter((i) => read.has(i.name!)),
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
    },
    metadataProps: Object.entries(spec.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(modelProto)).finish();
}

function replaceInitializer(g: GraphBuilder, name: string, values: Float32Array): void {
  const init = g.initializers.find((i) => i.name === name)!;
  const copy = Float32Array.from(values);
  init.rawData = new Uint8Array(copy.buffer);
}

function activate(g: GraphBuilder, x: string, activation: string, name: string, unsupported: (d?: string) => Error): string {
  switch (activation) {
    case "linear":
      return x;
    case "relu":
      return g.node("Relu", [x], name);
    case "relu6":
      return g.node("Clip", [x, g.constF32(`${name}/min`, [], [0]), g.constF32(`${name}/max`, [], [6])], name);
    case "sigmoid":
      return g.node("Sigmoid", [x], name);
    case "tanh":
      return g.node("Tanh", [x], name);
    default:
      throw unsupported(`activation "${activation}"`);
  }
}
