/**
 * Human's face models (BlazeFace detector, FaceMesh, FaceRes, emotion, GEAR) on onnxruntime-node,
 * with Human's and lib/vision/faces.ts's own pre- and post-processing left unchanged: only each
 * loaded tfjs GraphModel's `execute()` is swapped for one that runs the model's ONNX translation
 * (lib/onnx/graph.ts) synchronously (lib/onnx/runtime.ts `createSyncSession`) and hands back tfjs
 * tensors with the names, order and shapes tfjs would have returned.
 *
 * - {@link prepareFaceExport} translates one model, runs tfjs and ONNX on fixed check inputs and
 *   keeps the export only within {@link FACE_TOLERANCE}; the outcome is recorded in the export cache
 *   (lib/onnx/store.ts), keyed by the model files' hash and {@link GRAPH_EXPORT_REVISION}.
 * - {@link chooseFaceRuntimes} (at load) and {@link chooseFaceRuntimesSync} (for the feature cache
 *   keys; a missing export is made in a child process) decide per model: onnx when the switch allows
 *   it and the export is good, else tfjs with one warning per model and process.
 * - {@link attachOnnx} swaps a GraphModel's execution; {@link setActiveRuntime} flips it back and
 *   forth, because Human keeps one GraphModel per model for the whole process and a benchmark runs
 *   both runtimes side by side.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { initTf, loadArtifactsFromModelJson, tf } from "../tf";
import { describeError } from "../util/errors";
import { packageVersion } from "../util/packages";
import { findGearModel, humanModelsDir } from "../vision/models";
import { checkImages } from "./backbone";
import { exportGraphModel, type GraphDefNode } from "./graph";
import { createSyncSession, defaultThreads, effectiveRuntime, fallbackWarner, type RuntimeName, type SyncOrtSession } from "./runtime";
import { exportPaths, readRecord, recordWriter, sourceDigest, writeAtomicSync, type RecordBase } from "./store";

/** Revision of the graph translator: part of each face export's id and of the faces cache key. */
export const GRAPH_EXPORT_REVISION = 1;

/**
 * Per value, |onnx − tfjs| ≤ FACE_TOLERANCE · max(1, largest |tfjs| value of that output) on the
 * check inputs. Relative to the output's scale because the outputs mix probabilities, logits and
 * pixel coordinates; the end-to-end tolerances (boxes, ages, scores) are tested on photos.
 */
export const FACE_TOLERANCE = 1e-3;

export type FaceModelName = "blazeface" | "facemesh" | "faceres" | "emotion" | "gear";
export const FACE_MODELS: readonly FaceModelName[] = ["blazeface", "facemesh", "faceres", "emotion", "gear"];

/** Which file a face model comes from and the value range its input takes (for the check inputs). */
export interface FaceModelSpec {
  name: FaceModelName;
  modelJson: string;
  inputRange: [number, number];
}

/** The face models this machine has (GEAR only when cached), with their input ranges as their callers feed them. */
export function faceModelSpecs(env: NodeJS.ProcessEnv = process.env): FaceModelSpec[] {
  const dir = humanModelsDir();
  const specs: FaceModelSpec[] = [
    { name: "blazeface", modelJson: path.join(dir, "blazeface.json"), inputRange: [-1, 1] },
    { name: "facemesh", modelJson: path.join(dir, "facemesh.json"), inputRange: [0, 1] },
    { name: "faceres", modelJson: path.join(dir, "faceres.json"), inputRange: [0, 255] },
    { name: "emotion", modelJson: path.join(dir, "emotion.json"), inputRange: [-1, 1] },
  ];
  const gear = findGearModel(env);
  if (gear) specs.push({ name: "gear", modelJson: gear, inputRange: [0, 1] });
  return specs;
}

export interface FaceExportRecord extends RecordBase {
  /** Largest |onnx − tfjs| over all outputs and check inputs, and the same relative to each output's scale. */
  maxDiff?: number;
  maxRelDiff?: number;
  /** tfjs output node names, in the model's output order, and the ONNX outputs that hold them. */
  tfjsOutputs?: string[];
  onnxOutputs?: string[];
  nodes?: number;
}

export function faceExportId(spec: FaceModelSpec): string {
  const h = createHash("sha256")
    .update(JSON.stringify([sourceDigest({ source: spec.modelJson }), spec.inputRange, GRAPH_EXPORT_REVISION]))
    .digest("hex")
    .slice(0, 16);
  return `face-${spec.name}-${h}`;
}

/** Load a graph model from its model.json with its signature (so named outputs resolve as in Human). */
export async function loadGraphModel(modelJson: string): Promise<tf.GraphModel> {
  const artifacts = await loadArtifactsFromModelJson(modelJson);
  const json = JSON.parse(fs.readFileSync(modelJson, "utf8")) as { signature?: object; userDefinedMetadata?: object };
  return tf.loadGraphModel(tf.io.fromMemory({ ...artifacts, signature: json.signature, userDefinedMetadata: json.userDefinedMetadata } as tf.io.ModelArtifacts));
}

/** A tfjs output reference ("Identity:0", "age_output", "output_mesh") as the node name it reads. */
function outputNodeName(model: tf.GraphModel, ref: string): string {
  const sig = (model as unknown as { signature?: { outputs?: Record<string, { name?: string }> } }).signature?.outputs ?? {};
  return (sig[ref]?.name ?? ref).replace(/:0$/, "");
}

/** The model's outputs (in tfjs's order) as node names. */
function outputNodes(model: tf.GraphModel): string[] {
  return model.outputNodes.map((o) => outputNodeName(model, o));
}

/** Deterministic check inputs for a model: lib/onnx/backbone.ts's check images, scaled to its input range (grey for one channel). */
function checkInputs(model: tf.GraphModel, range: [number, number]): tf.Tensor4D[] {
  const shape = model.inputs[0].shape ?? [];
  const [h, w, c] = shape.slice(1) as number[];
  if (!(h > 0 && h === w && (c === 1 || c === 3))) throw new Error(`unexpected input shape [${shape.join(", ")}]`);
  const { pixels, n } = checkImages(h);
  return tf.tidy(() => {
    const all = tf.tensor4d(pixels, [n, h, w, 3], "int32").toFloat();
    const grey = c === 1 ? tf.mean(all, 3, true) : all;
    const scaled = tf.add(tf.mul(grey, (range[1] - range[0]) / 255), range[0]);
    return tf.split(scaled, n, 0) as tf.Tensor4D[];
  });
}

const F32 = (t: tf.Tensor): Float32Array => t.dataSync() as Float32Array;

/**
 * Translate `spec`'s model and check it against tfjs, unless a valid record exists (`force` redoes
 * it). Never throws for a model that cannot be translated or does not match: the record says why.
 */
export async function prepareFaceExport(
  spec: FaceModelSpec,
  opts: { env?: NodeJS.ProcessEnv; force?: boolean; /** tests only */ tolerance?: number; /** tests only: alters the export before the check */ tamper?: (bytes: Uint8Array) => Uint8Array } = {},
): Promise<{ id: string; record: FaceExportRecord }> {
  const env = opts.env ?? process.env;
  const tolerance = opts.tolerance ?? FACE_TOLERANCE;
  const id = faceExportId(spec);
  if (!opts.force) {
    const existing = readRecord<FaceExportRecord>(id, env, GRAPH_EXPORT_REVISION);
    if (existing) return { id, record: existing };
  }
  const status = await initTf();
  const files = exportPaths(id, env);
  const finish = recordWriter<FaceExportRecord>(id, env, { tolerance, tfjsBackend: status.backend, exportRevision: GRAPH_EXPORT_REVISION, source: spec.modelJson });
  const model = await loadGraphModel(spec.modelJson);
  let session: SyncOrtSession | null = null;
  const inputs: tf.Tensor4D[] = [];
  try {
    const tfjsOutputs = outputNodes(model);
    let exported;
    try {
      const json = JSON.parse(fs.readFileSync(spec.modelJson, "utf8")) as { modelTopology: { node: GraphDefNode[] } };
      exported = exportGraphModel(json.modelTopology.node, model.weights as Record<string, tf.Tensor[]>, tfjsOutputs, spec.name);
    } catch (err) {
      return finish({ ok: false, error: describeError(err) });
    }
    const bytes = opts.tamper ? opts.tamper(exported.bytes) : exported.bytes;
    inputs.push(...checkInputs(model, spec.inputRange));
    let maxDiff = 0;
    let maxRelDiff = 0;
    try {
      session = createSyncSession(bytes, 1);
      for (const x of inputs) {
        const out = session.run(F32(x), x.shape, exported.outputs);
        const raw = model.execute(x, model.outputNodes);
        const ref = Array.isArray(raw) ? raw : [raw];
        try {
          ref.forEach((r, i) => {
            const want = F32(r);
            const got = out[exported.outputs[i]].data;
            if (got.length !== want.length) throw new Error(`output ${tfjsOutputs[i]} has ${got.length} values, tfjs gives ${want.length}`);
            let scale = 1;
            for (const v of want) scale = Math.max(scale, Math.abs(v));
            for (let k = 0; k < want.length; k++) {
              const d = Math.abs(got[k] - want[k]);
              const dd = Number.isNaN(d) ? Infinity : d;
              maxDiff = Math.max(maxDiff, dd);
              maxRelDiff = Math.max(maxRelDiff, dd / scale);
            }
          });
        } finally {
          tf.dispose(ref);
        }
      }
    } catch (err) {
      return finish({ ok: false, error: `onnxruntime-node could not run the export: ${describeError(err)}` });
    }
    const stats = { maxDiff, maxRelDiff, tfjsOutputs, onnxOutputs: exported.outputs, nodes: exported.nodes };
    if (!(maxRelDiff <= tolerance)) {
      return finish({ ok: false, error: `the export does not match tfjs: max relative |difference| ${maxRelDiff.toExponential(2)} (tolerance ${tolerance})`, ...stats });
    }
    writeAtomicSync(files.onnx, bytes);
    return finish({ ok: true, ...stats });
  } finally {
    session?.release();
    tf.dispose(inputs);
    model.dispose();
  }
}

export interface FaceRuntimeChoice {
  runtime: RuntimeName;
  reason: string;
  id?: string;
  record?: FaceExportRecord;
}

/** One warning per face model and reason in this process (see {@link fallbackWarner}). */
const warner = fallbackWarner("face model");

/** Forget which warnings were given (tests). */
export function resetFaceWarnings(): void {
  warner.reset();
}

function choiceFrom(spec: FaceModelSpec, id: string, record: FaceExportRecord | null, reason: string, failure?: string, quiet = false): FaceRuntimeChoice {
  const fallback = (why: string, rec?: FaceExportRecord): FaceRuntimeChoice => {
    if (!quiet) warner.warn(spec.name, why);
    return { runtime: "tfjs", reason: why, id, ...(rec ? { record: rec } : {}) };
  };
  if (!record) return fallback(`the export could not be made${failure ? `: ${failure}` : ""}`);
  if (!record.ok) return fallback(record.error ?? "the export was rejected", record);
  return { runtime: "onnx", reason, id, record };
}

/** Where each face model runs, making and checking missing exports in this process. */
export async function chooseFaceRuntimes(specs: FaceModelSpec[] = faceModelSpecs(), env: NodeJS.ProcessEnv = process.env): Promise<Map<FaceModelName, FaceRuntimeChoice>> {
  const out = new Map<FaceModelName, FaceRuntimeChoice>();
  const eff = effectiveRuntime(env);
  for (const spec of specs) {
    if (eff.runtime === "tfjs") {
      out.set(spec.name, { runtime: "tfjs", reason: eff.reason });
      continue;
    }
    const id = faceExportId(spec);
    try {
      const { record } = await prepareFaceExport(spec, { env });
      out.set(spec.name, choiceFrom(spec, id, record, eff.reason));
    } catch (err) {
      out.set(spec.name, choiceFrom(spec, id, null, eff.reason, describeError(err)));
    }
  }
  return out;
}

/**
 * The same decision, synchronously, for the feature cache keys: a missing export is made by a child
 * process (`lib/onnx/prepareMain.ts --faces`), once per model and machine. With `peek`, nothing is
 * made and nothing is warned (for `covergenre doctor`): a missing export is reported as pending.
 */
export function chooseFaceRuntimesSync(env: NodeJS.ProcessEnv = process.env, opts: { peek?: boolean } = {}): Map<FaceModelName, FaceRuntimeChoice & { pending?: boolean }> {
  const specs = faceModelSpecs(env);
  const out = new Map<FaceModelName, FaceRuntimeChoice & { pending?: boolean }>();
  const eff = effectiveRuntime(env);
  if (eff.runtime === "tfjs") {
    for (const s of specs) out.set(s.name, { runtime: "tfjs", reason: eff.reason });
    return out;
  }
  const missing = specs.filter((s) => !readRecord<FaceExportRecord>(faceExportId(s), env, GRAPH_EXPORT_REVISION));
  let failure: string | undefined;
  if (missing.length && !opts.peek) {
    try {
      execFileSync(process.execPath, ["-r", require.resolve("tsx/cjs"), path.join(__dirname, "prepareMain.ts"), "--faces"], { env, stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
    } catch (err) {
      const stderr = String((err as { stderr?: string }).stderr ?? "").trim().split("\n").filter(Boolean);
      failure = stderr[stderr.length - 1] ?? describeError(err);
    }
  }
  for (const s of specs) {
    const id = faceExportId(s);
    const record = readRecord<FaceExportRecord>(id, env, GRAPH_EXPORT_REVISION);
    if (!record && opts.peek) out.set(s.name, { runtime: "onnx", reason: `${eff.reason}; not exported yet (made and checked at first use)`, id, pending: true });
    else out.set(s.name, choiceFrom(s, id, record, eff.reason, failure, opts.peek));
  }
  return out;
}

/** What the feature cache key records about the face runtimes: nothing when all run on tfjs (keys made before onnx stay valid). */
export function faceRuntimeKey(choices: Map<FaceModelName, FaceRuntimeChoice>): unknown[] {
  const onnx = [...choices.entries()].filter(([, c]) => c.runtime === "onnx").map(([name, c]) => `${name}:${c.id}`);
  return onnx.length ? ["onnx", ...onnx, packageVersion("onnxruntime-node"), GRAPH_EXPORT_REVISION] : [];
}

/** A GraphModel whose execution was swapped by {@link attachOnnx}. */
interface Attached {
  original: tf.GraphModel["execute"];
  onnx: tf.GraphModel["execute"];
  session: SyncOrtSession;
  name: string;
}
const ATTACHED = Symbol("covergenre.onnx");
type Patched = tf.GraphModel & { [ATTACHED]?: Attached };

/**
 * Make `model.execute()` run the checked ONNX export `choice` on onnxruntime-node, synchronously,
 * returning what tfjs's execute returns (a tensor, or an array when several outputs are asked for or
 * the model has several), in the order and names asked for ("Identity:0" or signature keys such as
 * "age_output"). Inputs are one float tensor (or a one-element array / map). Idempotent per model:
 * a second call reuses the first session. The returned tensors belong to the caller, as tfjs's do.
 */
export function attachOnnx(model: tf.GraphModel, name: string, choice: FaceRuntimeChoice, threads: number = defaultThreads(), env: NodeJS.ProcessEnv = process.env): void {
  const m = model as Patched;
  if (m[ATTACHED]) {
    m.execute = m[ATTACHED].onnx;
    return;
  }
  if (choice.runtime !== "onnx" || !choice.id || !choice.record?.ok || !choice.record.tfjsOutputs || !choice.record.onnxOutputs) {
    throw new Error(`face model ${name} has no checked ONNX export (${choice.reason})`);
  }
  const file = exportPaths(choice.id, env).onnx;
  const session = createSyncSession(fs.readFileSync(file), threads);
  const byNode = new Map(choice.record.tfjsOutputs.map((n, i) => [n, choice.record!.onnxOutputs![i]]));
  const original = model.execute.bind(model);
  const onnx = ((inputs: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap, outputs?: string | string[]) => {
    const list = inputs instanceof tf.Tensor ? [inputs] : Array.isArray(inputs) ? inputs : Object.values(inputs);
    if (list.length !== 1) throw new Error(`face model ${name} on onnxruntime-node takes one input, got ${list.length}`);
    const x = list[0];
    const refs = outputs === undefined ? model.outputNodes : typeof outputs === "string" ? [outputs] : outputs;
    const names = refs.map((r) => {
      const onnxName = byNode.get(outputNodeName(model, r));
      if (!onnxName) throw new Error(`face model ${name}: output "${r}" is not one of its outputs (${model.outputNodes.join(", ")})`);
      return onnxName;
    });
    const data = x.dtype === "float32" ? F32(x) : Float32Array.from(x.dataSync());
    const res = session.run(data, x.shape, names);
    const tensors = names.map((n) => tf.tensor(res[n].data, res[n].dims, "float32"));
    return tensors.length > 1 ? tensors : tensors[0];
  }) as tf.GraphModel["execute"];
  m[ATTACHED] = { original, onnx, session, name };
  model.execute = onnx;
  // Human only calls execute(); anything that would reach the tfjs graph by another door is sent through the same bridge.
  model.executeAsync = (async (inputs: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap, outputs?: string | string[]) => m.execute(inputs, outputs)) as tf.GraphModel["executeAsync"];
}

/** Switch an attached model between its ONNX and tfjs execution (no-op for a model never attached and asked for tfjs). */
export function setActiveRuntime(model: tf.GraphModel, runtime: RuntimeName): void {
  const a = (model as Patched)[ATTACHED];
  if (!a) {
    if (runtime === "onnx") throw new Error("this model has no ONNX export attached");
    return;
  }
  model.execute = runtime === "onnx" ? a.onnx : a.original;
}

/** Where a model's execute() goes now and with how many threads (for doctor and benchmarks). */
export function activeRuntime(model: tf.GraphModel): { runtime: RuntimeName; threads: number } {
  const a = (model as Patched)[ATTACHED];
  return a && model.execute === a.onnx ? { runtime: "onnx", threads: a.session.threads } : { runtime: "tfjs", threads: 1 };
}

/** Release the model's ONNX session (before disposing the model itself) and restore tfjs execution. */
export function detachOnnx(model: tf.GraphModel): void {
  const m = model as Patched;
  const a = m[ATTACHED];
  if (!a) return;
  a.session.release();
  delete m[ATTACHED];
  model.execute = a.original;
  delete (model as unknown as Record<string, unknown>).executeAsync;
}
