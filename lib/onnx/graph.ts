/**
 * A translator from TensorFlow.js graph models (a frozen TF GraphDef in model.json) to ONNX, for the
 * face models Human and lib/vision/faces.ts use (BlazeFace, FaceMesh, FaceRes, emotion, GEAR).
 *
 * It reads the graph's nodes from the model.json topology and the constants from the loaded tfjs
 * GraphModel (so tfjs does the float16 dequantization exactly as it does when it runs the model),
 * and writes the same computation in ONNX opset 13 through lib/onnx/export.ts's GraphBuilder:
 * - the input stays NHWC as tfjs takes it and is transposed once to NCHW, the layout ONNX Runtime's
 *   CPU convolutions want; every output is transposed back when it is still an image map, so each
 *   output has the shape and values tfjs returns for that node;
 * - convolutions (plain, fused with BiasAdd / Relu / Relu6 / Prelu / LeakyRelu, and depthwise) get
 *   their kernels rewritten to OIHW; TF "SAME" padding is ONNX's SAME_UPPER (the odd pixel after);
 * - constants that broadcast against an NCHW value (a per-channel scale, a Prelu slope) are
 *   re-laid out for it; Pad, Mean and Max have their axes mapped; Reshape sees NHWC data again.
 * Only the op set those models use is supported; anything else throws {@link UnsupportedOpError}
 * naming the node, and the caller falls back to tfjs.
 */
import type { tf } from "../tf";
import { encodeModel, GraphBuilder } from "./export";

export class UnsupportedOpError extends Error {
  constructor(
    readonly nodeName: string,
    readonly op: string,
    detail?: string,
  ) {
    super(`cannot translate node "${nodeName}" (${op}) to ONNX${detail ? `: ${detail}` : ": this op is not supported by the translator"}`);
    this.name = "UnsupportedOpError";
  }
}

/** One node of the GraphDef as tfjs's model.json stores it. */
export interface GraphDefNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, GraphDefAttr>;
}
interface GraphDefAttr {
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  list?: { s?: string[]; i?: (string | number)[]; f?: number[] };
  shape?: { dim?: { size: string | number }[] };
}

export interface GraphExportResult {
  bytes: Uint8Array;
  /** ONNX output names, one per requested tfjs output node, in the same order. */
  outputs: string[];
  /** Shape of the input without the batch dimension ([h, w, c]). */
  inputShape: number[];
  nodes: number;
}

/** A value in the ONNX graph: its name, rank, and whether a rank-4 value is held as NCHW. */
interface Value {
  name: string;
  rank: number;
  nchw: boolean;
  /** The constant's tensor when the value is a graph constant (layout still tfjs's). */
  constant?: tf.Tensor;
}

const NHWC_TO_NCHW = [0, 3, 1, 2];
const NCHW_TO_NHWC = [0, 2, 3, 1];
/** Where an NHWC axis sits in NCHW. */
const AXIS_TO_NCHW = [0, 2, 3, 1];

/** The node name a tfjs input reference points at ("name:1" → output 1 of "name"; "^name" is a control edge). */
function parseRef(ref: string): { node: string; index: number; control: boolean } {
  const control = ref.startsWith("^");
  const clean = control ? ref.slice(1) : ref;
  const m = /^(.*):(\d+)$/.exec(clean);
  return m ? { node: m[1], index: Number(m[2]), control } : { node: clean, index: 0, control };
}

function attrInts(a: GraphDefAttr | undefined): number[] {
  return (a?.list?.i ?? []).map(Number);
}

function attrString(a: GraphDefAttr | undefined): string {
  return a?.s ? Buffer.from(a.s, "base64").toString("utf8") : "";
}

function attrStrings(a: GraphDefAttr | undefined): string[] {
  return (a?.list?.s ?? []).map((s) => Buffer.from(s, "base64").toString("utf8"));
}

/**
 * Translate a graph model to ONNX. `nodes` are the model.json topology's nodes, `weights` the loaded
 * GraphModel's constants (`model.weights`), `outputs` the tfjs node names to expose (e.g. the
 * model's `outputNodes` resolved to node names, without ":0").
 */
export function exportGraphModel(nodes: GraphDefNode[], weights: Record<string, tf.Tensor[]>, outputs: string[], name: string): GraphExportResult {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const g = new GraphBuilder();
  const values = new Map<string, Value>();
  const placeholders = nodes.filter((n) => n.op === "Placeholder");
  if (placeholders.length !== 1) throw new Error(`cannot translate graph model ${name}: it has ${placeholders.length} inputs, one is supported`);
  const input = placeholders[0];
  const inputDims = (input.attr?.shape?.shape?.dim ?? []).map((d) => Number(d.size));
  if (inputDims.length !== 4 || inputDims.slice(1).some((d) => !(d > 0))) {
    throw new Error(`cannot translate graph model ${name}: its input must be [batch, height, width, channels] with a fixed size, not [${inputDims.join(", ")}]`);
  }
  const inputName = g.unique("input");
  values.set(input.name, { name: g.node("Transpose", [inputName], "input_nchw", { perm: NHWC_TO_NCHW }), rank: 4, nchw: true });

  const visiting = new Set<string>();
  const valueOf = (ref: string): Value => {
    const { node: nodeName, index } = parseRef(ref);
    if (index !== 0) throw new UnsupportedOpError(nodeName, byName.get(nodeName)?.op ?? "?", `output ${index} is read, only single-output nodes are supported`);
    const known = values.get(nodeName);
    if (known) return known;
    const node = byName.get(nodeName);
    if (!node) throw new Error(`cannot translate graph model ${name}: node "${nodeName}" is referenced but not defined`);
    if (visiting.has(nodeName)) throw new Error(`cannot translate graph model ${name}: a cycle passes through "${nodeName}"`);
    visiting.add(nodeName);
    const v = translate(node);
    visiting.delete(nodeName);
    values.set(nodeName, v);
    return v;
  };

  const constantOf = (node: GraphDefNode, ref: string, what: string): tf.Tensor => {
    const v = valueOf(ref);
    if (!v.constant) throw new UnsupportedOpError(node.name, node.op, `its ${what} must be a constant`);
    return v.constant;
  };

  /** A constant re-laid out to broadcast against an NCHW value (per-channel vectors, [1,1,C], NHWC maps). */
  const constForNchw = (node: GraphDefNode, c: tf.Tensor): string => {
    const data = c.dataSync() as Float32Array;
    const shape = c.shape;
    if (c.size === 1) return g.constF32(`${node.name}/c`, shape, data);
    if (shape.length === 1 || (shape.length === 3 && shape[0] === 1 && shape[1] === 1) || (shape.length === 4 && shape[0] === 1 && shape[1] === 1 && shape[2] === 1)) {
      const ch = shape[shape.length - 1];
      return g.constF32(`${node.name}/c`, shape.length === 4 ? [1, ch, 1, 1] : [ch, 1, 1], data);
    }
    throw new UnsupportedOpError(node.name, node.op, `a constant of shape [${shape.join(", ")}] cannot broadcast against an NCHW image map`);
  };

  const operand = (node: GraphDefNode, v: Value, other: Value): string => {
    if (v.constant) {
      if (other.nchw && !other.constant) return constForNchw(node, v.constant);
      if (v.constant.dtype !== "float32") throw new UnsupportedOpError(node.name, node.op, `a ${v.constant.dtype} operand is not supported`);
      return g.constF32(`${node.name}/c`, v.constant.shape, v.constant.dataSync() as Float32Array);
    }
    if (v.nchw !== other.nchw && !other.constant && other.rank > 1) {
      throw new UnsupportedOpError(node.name, node.op, "its operands are laid out differently (an image map and a non-map)");
    }
    return v.name;
  };

  const activation = (node: GraphDefNode, x: string, op: string, args: Value[]): string => {
    switch (op) {
      case "Relu":
        return g.node("Relu", [x], `${node.name}/relu`);
      case "Relu6":
        return g.node("Clip", [x, g.constF32(`${node.name}/min`, [], [0]), g.constF32(`${node.name}/max`, [], [6])], `${node.name}/relu6`);
      case "Prelu": {
        const alpha = args[1]?.constant;
        if (!alpha) throw new UnsupportedOpError(node.name, node.op, "its Prelu slope must be a constant");
        return g.node("PRelu", [x, constForNchw(node, alpha)], `${node.name}/prelu`);
      }
      case "LeakyRelu": {
        const alpha = node.attr?.leakyrelu_alpha?.f ?? 0.2;
        return g.node("LeakyRelu", [x], `${node.name}/leaky`, { alpha });
      }
      default:
        throw new UnsupportedOpError(node.name, node.op, `fused activation "${op}"`);
    }
  };

  const convAttrs = (node: GraphDefNode, kh: number, kw: number): Record<string, number | number[] | string> => {
    if (attrString(node.attr?.data_format) && attrString(node.attr?.data_format) !== "NHWC") throw new UnsupportedOpError(node.name, node.op, "only NHWC data is supported");
    const strides = attrInts(node.attr?.strides);
    const dil = attrInts(node.attr?.dilations);
    const padding = attrString(node.attr?.padding);
    const out: Record<string, number | number[] | string> = {
      kernel_shape: [kh, kw],
      strides: strides.length === 4 ? [strides[1], strides[2]] : [1, 1],
      dilations: dil.length === 4 ? [dil[1], dil[2]] : [1, 1],
    };
    if (padding === "SAME") out.auto_pad = "SAME_UPPER";
    else if (padding === "VALID") out.pads = [0, 0, 0, 0];
    else if (padding === "EXPLICIT") {
      const p = attrInts(node.attr?.explicit_paddings);
      out.pads = [p[2], p[4], p[3], p[5]];
    } else throw new UnsupportedOpError(node.name, node.op, `padding "${padding}"`);
    return out;
  };

  const conv = (node: GraphDefNode, args: Value[], depthwise: boolean): Value => {
    const x = args[0];
    if (!x.nchw) throw new UnsupportedOpError(node.name, node.op, "its input is not an image map");
    const w = constantOf(node, node.input![1], "kernel");
    const [kh, kw, cin, cout] = w.shape;
    const src = w.dataSync() as Float32Array;
    // TF kernels are [kh, kw, in, out] (depthwise: [kh, kw, in, multiplier], out channel = in·mult + m).
    const oc = depthwise ? cin * cout : cout;
    const ic = depthwise ? 1 : cin;
    const dst = new Float32Array(src.length);
    for (let y = 0; y < kh; y++)
      for (let xk = 0; xk < kw; xk++)
        for (let i = 0; i < cin; i++)
          for (let o = 0; o < cout; o++) {
            const from = ((y * kw + xk) * cin + i) * cout + o;
            const to = depthwise ? ((i * cout + o) * kh + y) * kw + xk : ((o * cin + i) * kh + y) * kw + xk;
            dst[to] = src[from];
          }
    const inputs = [x.name, g.constF32(`${node.name}/W`, [oc, ic, kh, kw], dst)];
    const fused = node.op.startsWith("_Fused") ? attrStrings(node.attr?.fused_ops) : [];
    const extra = node.input!.slice(2).map((r) => valueOf(r));
    let rest = fused;
    if (fused[0] === "BiasAdd") {
      const b = extra[0]?.constant;
      if (!b) throw new UnsupportedOpError(node.name, node.op, "its bias must be a constant");
      inputs.push(g.constF32(`${node.name}/B`, [oc], b.dataSync() as Float32Array));
      rest = fused.slice(1);
    } else if (fused.length) throw new UnsupportedOpError(node.name, node.op, `fused ops [${fused.join(", ")}]`);
    let y = g.node("Conv", inputs, node.name, { ...convAttrs(node, kh, kw), ...(depthwise ? { group: cin } : {}) });
    for (const op of rest) y = activation(node, y, op, extra);
    return { name: y, rank: 4, nchw: true };
  };

  const matmul = (node: GraphDefNode, args: Value[]): Value => {
    const [a, b] = args;
    if (a.rank !== 2 || b.rank !== 2) throw new UnsupportedOpError(node.name, node.op, "only rank-2 operands are supported");
    const inputs = [operand(node, a, b), operand(node, b, a)];
    const fused = node.op === "_FusedMatMul" ? attrStrings(node.attr?.fused_ops) : [];
    let rest = fused;
    if (fused[0] === "BiasAdd") {
      const bias = args[2]?.constant;
      if (!bias) throw new UnsupportedOpError(node.name, node.op, "its bias must be a constant");
      inputs.push(g.constF32(`${node.name}/B`, bias.shape, bias.dataSync() as Float32Array));
      rest = fused.slice(1);
    } else if (fused.length) throw new UnsupportedOpError(node.name, node.op, `fused ops [${fused.join(", ")}]`);
    let y = g.node("Gemm", inputs, node.name, { transA: node.attr?.transpose_a?.b ? 1 : 0, transB: node.attr?.transpose_b?.b ? 1 : 0 });
    for (const op of rest) y = activation(node, y, op, args.slice(2));
    return { name: y, rank: 2, nchw: false };
  };

  const reduce = (node: GraphDefNode, x: Value, onnxOp: string): Value => {
    const axes = Array.from(constantOf(node, node.input![1], "axes").dataSync()).map((a) => (a < 0 ? a + x.rank : a));
    const keep = Boolean(node.attr?.keep_dims?.b);
    if (!x.nchw) return { name: g.node(onnxOp, [x.name], node.name, { axes, keepdims: keep ? 1 : 0 }), rank: keep ? x.rank : x.rank - axes.length, nchw: false };
    const spatial = axes.length === 2 && axes.includes(1) && axes.includes(2);
    if (!keep && !spatial) throw new UnsupportedOpError(node.name, node.op, `reducing axes [${axes.join(", ")}] of an image map without keep_dims`);
    const y = g.node(onnxOp, [x.name], node.name, { axes: axes.map((a) => AXIS_TO_NCHW[a]), keepdims: keep ? 1 : 0 });
    return keep ? { name: y, rank: 4, nchw: true } : { name: y, rank: 2, nchw: false };
  };

  const nhwc = (v: Value, base: string): string => (v.nchw ? g.node("Transpose", [v.name], `${base}/nhwc`, { perm: NCHW_TO_NHWC }) : v.name);

  function translate(node: GraphDefNode): Value {
    if (node.op === "Const") {
      const t = weights[node.name]?.[0];
      if (!t) throw new Error(`cannot translate graph model ${name}: constant "${node.name}" has no value in the loaded model`);
      return { name: node.name, rank: t.rank, nchw: false, constant: t };
    }
    const refs = (node.input ?? []).filter((r) => !parseRef(r).control);
    const args = refs.map((r) => valueOf(r));
    switch (node.op) {
      case "Identity":
        return args[0];
      case "Conv2D":
      case "_FusedConv2D":
        return conv(node, args, false);
      case "DepthwiseConv2dNative":
        return conv(node, args, true);
      case "MatMul":
      case "_FusedMatMul":
        return matmul(node, args);
      case "Add":
      case "AddV2":
      case "Sub":
      case "Mul":
      case "Minimum":
      case "Maximum": {
        const [a, b] = args;
        if (a.constant && b.constant) throw new UnsupportedOpError(node.name, node.op, "both operands are constants");
        const op = { Add: "Add", AddV2: "Add", Sub: "Sub", Mul: "Mul", Minimum: "Min", Maximum: "Max" }[node.op]!;
        const like = a.constant ? b : a;
        return { name: g.node(op, [operand(node, a, b), operand(node, b, a)], node.name), rank: Math.max(a.rank, b.rank), nchw: like.nchw };
      }
      case "Relu":
      case "Relu6":
      case "LeakyRelu":
        return { ...args[0], constant: undefined, name: activation(node, args[0].name, node.op, args) };
      case "Prelu":
        return { ...args[0], constant: undefined, name: activation(node, args[0].name, node.op, args) };
      case "Sigmoid":
        return { ...args[0], name: g.node("Sigmoid", [args[0].name], node.name) };
      case "Softmax":
        if (args[0].nchw) throw new UnsupportedOpError(node.name, node.op, "softmax over an image map");
        return { ...args[0], name: g.node("Softmax", [args[0].name], node.name, { axis: -1 }) };
      case "MaxPool": {
        const k = attrInts(node.attr?.ksize);
        const attrs = convAttrs(node, k[1], k[2]);
        delete attrs.dilations;
        return { name: g.node("MaxPool", [args[0].name], node.name, attrs), rank: 4, nchw: true };
      }
      case "Pad": {
        const p = Array.from(constantOf(node, refs[1], "paddings").dataSync());
        if (args[0].rank !== 4 || !args[0].nchw) throw new UnsupportedOpError(node.name, node.op, "only padding an image map is supported");
        // TF paddings are [[before, after] per NHWC axis]; ONNX wants NCHW begins then ends.
        const begin = NHWC_TO_NCHW.map((a) => p[2 * a]);
        const end = NHWC_TO_NCHW.map((a) => p[2 * a + 1]);
        return { name: g.node("Pad", [args[0].name, g.constI64(`${node.name}/pads`, [...begin, ...end])], node.name, { mode: "constant" }), rank: 4, nchw: true };
      }
      case "Reshape": {
        const shape = Array.from(constantOf(node, refs[1], "shape").dataSync());
        return { name: g.node("Reshape", [nhwc(args[0], node.name), g.constI64(`${node.name}/shape`, shape)], node.name), rank: shape.length, nchw: false };
      }
      case "Mean":
        return reduce(node, args[0], "ReduceMean");
      case "Max":
        return reduce(node, args[0], "ReduceMax");
      default:
        throw new UnsupportedOpError(node.name, node.op);
    }
  }

  const outNames: string[] = [];
  for (const out of outputs) {
    const v = valueOf(out);
    const final = v.nchw ? g.node("Transpose", [v.name], `${out}/nhwc`, { perm: NCHW_TO_NHWC }) : v.name;
    // Each output gets its own Identity named for the tfjs node, so two outputs never share a name.
    outNames.push(g.node("Identity", [final], `out:${out}`));
  }
  const bytes = encodeModel(g, {
    name,
    inputs: [{ name: inputName, shape: ["batch", ...inputDims.slice(1)] }],
    outputs: outNames.map((n) => ({ name: n })),
  });
  return { bytes, outputs: outNames, inputShape: inputDims.slice(1), nodes: g.nodes.length };
}
