/**
 * Image backbones on onnxruntime-node: choose the runtime for a backbone, make and check its export
 * once, and run it.
 *
 * - {@link prepareExport} loads the tfjs backbone (lib/vision/backbone.ts), exports it
 *   (lib/onnx/export.ts), runs both on fixed check images and keeps the export only if every value
 *   of the pooled embedding is within {@link TOLERANCE} of tfjs. The outcome, good or bad, is
 *   recorded beside the export (lib/onnx/store.ts), so it is decided once per model and machine.
 * - {@link chooseRuntime} (async, used when models load) and {@link chooseRuntimeSync} (used by the
 *   feature cache keys, which are computed synchronously; it makes a missing export in a child
 *   process) say where a backbone runs: onnx when asked for (or by default) and its export is good,
 *   else tfjs, with one warning per backbone and process naming the reason.
 * - {@link loadOnnxBackbone} opens one session on the cached export; `embed()` takes the same NHWC
 *   pixels in [0, 255] as the tfjs backbone and returns plain Float32Arrays.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { initTf, tf } from "../tf";
import { describeError } from "../util/errors";
import { loadBackbone, type BackboneSpec } from "../vision/backbone";
import { EXPORT_REVISION, exportLayersModel } from "./export";
import { createSession, defaultThreads, effectiveRuntime, fallbackWarner, type OrtSession, type RuntimeName } from "./runtime";
import { exportId, exportPaths, notExportable, readRecord, recordWriter, TOLERANCE, writeAtomicSync, type ExportRecord } from "./store";

export interface RuntimeChoice {
  runtime: RuntimeName;
  /** Why this runtime (the switch, the default, or the reason for falling back). */
  reason: string;
  /** The export used (onnx only). */
  id?: string;
  record?: ExportRecord;
}

const warner = fallbackWarner("backbone");

/** One warning per backbone and reason in this process (see {@link fallbackWarner}). */
function warnOnce(spec: BackboneSpec, reason: string): void {
  warner.warn(spec.name, reason);
}

/** Forget which warnings were given (tests). */
export function resetWarnings(): void {
  warner.reset();
}

/** Deterministic check images [n, size, size, 3] with integer values in [0, 255]: a gradient, noise, and blocks with a disc. */
export function checkImages(size: number): { pixels: Int32Array; n: number } {
  const n = 3;
  const px = new Int32Array(n * size * size * 3);
  let seed = 12345;
  const rnd = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 16) & 0xff;
  };
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 3;
      const o1 = size * size * 3;
      px[i] = Math.floor((x * 255) / size);
      px[i + 1] = Math.floor((y * 255) / size);
      px[i + 2] = Math.floor(((x + y) * 255) / (2 * size));
      px[o1 + i] = rnd();
      px[o1 + i + 1] = rnd();
      px[o1 + i + 2] = rnd();
      const o2 = 2 * o1;
      const block = ((x >> 3) + (y >> 3)) & 1;
      const disc = (x - size / 2) ** 2 + (y - size / 3) ** 2 < (size / 4) ** 2;
      px[o2 + i] = disc ? 230 : block ? 30 : 200;
      px[o2 + i + 1] = disc ? 180 : block ? 90 : 40;
      px[o2 + i + 2] = disc ? 20 : block ? 160 : 120;
    }
  }
  return { pixels: px, n };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/**
 * Export `spec` and check it against tfjs, unless a valid record exists (`force` redoes it).
 * Never throws for a model that cannot be exported or does not match: the record says why.
 */
export async function prepareExport(
  spec: BackboneSpec,
  opts: { env?: NodeJS.ProcessEnv; force?: boolean; log?: (s: string) => void; /** tests only */ tolerance?: number } = {},
): Promise<{ id: string; record: ExportRecord }> {
  const env = opts.env ?? process.env;
  const tolerance = opts.tolerance ?? TOLERANCE;
  const id = exportId(spec);
  if (!opts.force) {
    const existing = readRecord(id, env);
    if (existing) return { id, record: existing };
  }
  const status = await initTf();
  const files = exportPaths(id, env);
  const finish = recordWriter<ExportRecord>(id, env, { tolerance, tfjsBackend: status.backend, exportRevision: EXPORT_REVISION, source: spec.source });
  opts.log?.(`onnx: exporting ${spec.name} (${spec.source}) and checking it against tfjs`);
  const bb = await loadBackbone(spec);
  let session: OrtSession | null = null;
  try {
    if (!(bb.network instanceof tf.LayersModel)) return finish({ ok: false, error: "graph models are not exported (only tfjs layers models are)" });
    let exported;
    try {
      exported = exportLayersModel(bb.network, { scaling: spec.scaling, name: spec.name, meanStd: spec.meanStd, metadata: { source: spec.source, id } });
    } catch (err) {
      return finish({ ok: false, error: describeError(err) });
    }
    const { pixels, n } = checkImages(spec.inputSize);
    const dims = [n, spec.inputSize, spec.inputSize, 3];
    const input = tf.tensor4d(pixels, dims as [number, number, number, number], "int32");
    const ref = bb.embed(input);
    input.dispose();
    let refPooled: Float32Array;
    let refMap: Float32Array;
    try {
      refPooled = (await ref.pooled.data()) as Float32Array;
      refMap = (await ref.map.data()) as Float32Array;
    } finally {
      tf.dispose([ref.map, ref.pooled]);
    }
    let out: Record<string, Float32Array>;
    try {
      session = await createSession(exported.bytes, 1);
      out = await session.run(Float32Array.from(pixels), dims, ["pooled", "map"]);
    } catch (err) {
      return finish({ ok: false, error: `onnxruntime-node could not run the export: ${describeError(err)}` });
    }
    const maxDiffPooled = maxAbsDiff(refPooled, out.pooled);
    const maxDiffMap = maxAbsDiff(refMap, out.map);
    const stats = { maxDiffPooled, maxDiffMap, mapShape: exported.mapShape, nodes: exported.nodes, foldedBatchNorms: exported.foldedBatchNorms };
    if (!(maxDiffPooled <= tolerance)) {
      return finish({ ok: false, error: `the export does not match tfjs: max |difference| ${maxDiffPooled.toExponential(2)} on the pooled embedding (tolerance ${tolerance})`, ...stats });
    }
    writeAtomicSync(files.onnx, exported.bytes);
    return finish({ ok: true, ...stats });
  } finally {
    await session?.release();
    bb.dispose();
  }
}

function choiceFromRecord(spec: BackboneSpec, id: string, record: ExportRecord | null, reason: string, failure?: string): RuntimeChoice {
  if (!record) {
    const why = `the export could not be made${failure ? `: ${failure}` : ""}`;
    warnOnce(spec, why);
    return { runtime: "tfjs", reason: why };
  }
  if (!record.ok) {
    warnOnce(spec, record.error ?? "the export was rejected");
    return { runtime: "tfjs", reason: record.error ?? "the export was rejected", id, record };
  }
  return { runtime: "onnx", reason, id, record };
}

/**
 * What both choosers decide before any export exists: tfjs by the switch, a model the exporter
 * cannot take, or an unreadable model (each with one warning); else the export id to look for.
 */
function decideBeforeExport(spec: BackboneSpec, env: NodeJS.ProcessEnv): { choice: RuntimeChoice } | { id: string; reason: string } {
  const eff = effectiveRuntime(env);
  if (eff.runtime === "tfjs") return { choice: { runtime: "tfjs", reason: eff.reason } };
  const no = notExportable(spec);
  if (no) {
    warnOnce(spec, no);
    return { choice: { runtime: "tfjs", reason: no } };
  }
  try {
    return { id: exportId(spec), reason: eff.reason };
  } catch (err) {
    const reason = `cannot read the model: ${describeError(err)}`;
    warnOnce(spec, reason);
    return { choice: { runtime: "tfjs", reason } };
  }
}

/** Where `spec` runs, making and checking its export in this process if needed. */
export async function chooseRuntime(spec: BackboneSpec, env: NodeJS.ProcessEnv = process.env): Promise<RuntimeChoice> {
  const pre = decideBeforeExport(spec, env);
  if ("choice" in pre) return pre.choice;
  const { id } = pre;
  try {
    const { record } = await prepareExport(spec, { env });
    return choiceFromRecord(spec, id, record, pre.reason);
  } catch (err) {
    return choiceFromRecord(spec, id, null, pre.reason, describeError(err));
  }
}

/**
 * The same decision, synchronously (for cache keys). A missing export is made by a child process
 * (`node -r tsx/cjs lib/onnx/prepareMain.ts`), once per model and machine.
 */
export function chooseRuntimeSync(spec: BackboneSpec, env: NodeJS.ProcessEnv = process.env): RuntimeChoice {
  const pre = decideBeforeExport(spec, env);
  if ("choice" in pre) return pre.choice;
  const { id } = pre;
  let record = readRecord(id, env);
  let failure: string | undefined;
  if (!record) {
    try {
      execFileSync(process.execPath, ["-r", require.resolve("tsx/cjs"), path.join(__dirname, "prepareMain.ts"), JSON.stringify(spec)], {
        env,
        stdio: ["ignore", "ignore", "pipe"],
        encoding: "utf8",
      });
    } catch (err) {
      const stderr = String((err as { stderr?: string }).stderr ?? "").trim().split("\n").filter(Boolean);
      failure = stderr[stderr.length - 1] ?? describeError(err);
    }
    record = readRecord(id, env);
  }
  return choiceFromRecord(spec, id, record, pre.reason, failure);
}

/**
 * Where `spec` would run, without making an export (for `covergenre doctor`): like
 * {@link chooseRuntimeSync}, but a missing export is reported as pending and gives no warning.
 */
export function peekRuntime(spec: BackboneSpec, env: NodeJS.ProcessEnv = process.env): RuntimeChoice & { pending?: boolean } {
  const eff = effectiveRuntime(env);
  if (eff.runtime === "tfjs") return { runtime: "tfjs", reason: eff.reason };
  const no = notExportable(spec);
  if (no) return { runtime: "tfjs", reason: no };
  let id: string;
  try {
    id = exportId(spec);
  } catch (err) {
    return { runtime: "tfjs", reason: `cannot read the model: ${describeError(err)}` };
  }
  const record = readRecord(id, env);
  if (!record) return { runtime: "onnx", reason: `${eff.reason}; not exported yet (made and checked at first use)`, id, pending: true };
  if (!record.ok) return { runtime: "tfjs", reason: record.error ?? "the export was rejected", id, record };
  return { runtime: "onnx", reason: eff.reason, id, record };
}

/** A backbone running on onnxruntime-node: same inputs and outputs as the tfjs one, as plain arrays. */
export interface OnnxBackbone {
  spec: BackboneSpec;
  id: string;
  threads: number;
  outputShape: number[];
  /** `pixels`: n NHWC images of spec.inputSize, values in [0, 255]. */
  embed(pixels: Float32Array, n: number, opts?: { map?: boolean }): Promise<{ pooled: Float32Array; map?: Float32Array }>;
  dispose(): Promise<void>;
}

/** Open a session on the checked export `choice` (from {@link chooseRuntime}). */
export async function loadOnnxBackbone(spec: BackboneSpec, choice: RuntimeChoice, threads: number = defaultThreads(), env: NodeJS.ProcessEnv = process.env): Promise<OnnxBackbone> {
  if (choice.runtime !== "onnx" || !choice.id || !choice.record?.ok) throw new Error(`backbone ${spec.name} has no checked ONNX export (${choice.reason})`);
  const file = exportPaths(choice.id, env).onnx;
  if (!fs.existsSync(file)) throw new Error(`backbone ${spec.name}: its export ${file} is gone`);
  const session = await createSession(file, threads);
  const size = spec.inputSize;
  return {
    spec,
    id: choice.id,
    threads,
    outputShape: choice.record.mapShape ?? [],
    async embed(pixels, n, opts = {}) {
      if (pixels.length !== n * size * size * 3) throw new Error(`backbone ${spec.name}: expected ${n} images of ${size}x${size}x3, got ${pixels.length} values`);
      const out = await session.run(pixels, [n, size, size, 3], opts.map ? ["pooled", "map"] : ["pooled"]);
      return opts.map ? { pooled: out.pooled, map: out.map } : { pooled: out.pooled };
    },
    dispose() {
      return session.release();
    },
  };
}
