/**
 * The runtime switch for the image backbones and the one place that loads onnxruntime-node.
 *
 * `COVERGENRE_RUNTIME=onnx|tfjs` picks where backbones run; unset, it is `onnx` wherever
 * onnxruntime-node loads (its CPU binaries ship in the npm package) and `tfjs` otherwise. TensorFlow.js
 * itself stays set up in lib/tf.ts only (`COVERGENRE_BACKEND`): the tfjs runtime uses that backend,
 * and every ONNX export is checked against it before use.
 *
 * Threads: each feature worker already takes one core, so inside a worker thread a session uses one
 * intra-op thread; in the main thread (`--workers 0`, notebooks, benchmarks) it uses one per CPU, at
 * most 4. `COVERGENRE_ORT_THREADS=N` overrides both.
 *
 * Sessions are counted ({@link openSessions}) so tests can prove every one is released.
 */
import * as os from "node:os";
import * as path from "node:path";
import { isMainThread } from "node:worker_threads";
import type * as OrtModule from "onnxruntime-node";
import { packageVersion } from "../util/packages";

export type RuntimeName = "onnx" | "tfjs";
export type Ort = typeof OrtModule;

/** The runtime asked for by `COVERGENRE_RUNTIME`, or "auto" when unset. Throws on an unknown value. */
export function requestedRuntime(env: NodeJS.ProcessEnv = process.env): RuntimeName | "auto" {
  const raw = (env.COVERGENRE_RUNTIME ?? "").trim().toLowerCase();
  if (raw === "" || raw === "auto") return "auto";
  if (raw === "onnx" || raw === "tfjs") return raw;
  throw new Error(`COVERGENRE_RUNTIME="${env.COVERGENRE_RUNTIME}" is not a runtime; use onnx or tfjs (unset: onnx where onnxruntime-node loads)`);
}

let ortModule: Ort | null | undefined;
let ortError: string | null = null;

/** onnxruntime-node, or null when it cannot load here (the reason is in {@link ortStatus}). */
export function loadOrt(): Ort | null {
  if (ortModule === undefined) {
    try {
      ortModule = require("onnxruntime-node") as Ort;
      acceptHostRealmArrays();
    } catch (err) {
      ortModule = null;
      ortError = (err as Error).message.split("\n")[0];
    }
  }
  return ortModule;
}

export interface OrtStatus {
  available: boolean;
  version: string | null;
  error: string | null;
}

export function ortStatus(): OrtStatus {
  const ort = loadOrt();
  return { available: Boolean(ort), version: ort ? (ort.env.versions?.node ?? packageVersion("onnxruntime-node")) : packageVersion("onnxruntime-node"), error: ortError };
}

/** The runtime backbones use in this process (before any per-model fallback). */
export function effectiveRuntime(env: NodeJS.ProcessEnv = process.env): { runtime: RuntimeName; reason: string } {
  const req = requestedRuntime(env);
  if (req === "tfjs") return { runtime: "tfjs", reason: "COVERGENRE_RUNTIME=tfjs" };
  if (!loadOrt()) return { runtime: "tfjs", reason: `onnxruntime-node did not load (${ortError})` };
  return { runtime: "onnx", reason: req === "onnx" ? "COVERGENRE_RUNTIME=onnx" : "default: onnxruntime-node loads" };
}

/** Intra-op threads for a new session here (see the file comment). */
export function defaultThreads(env: NodeJS.ProcessEnv = process.env, mainThread: boolean = isMainThread): number {
  const forced = env.COVERGENRE_ORT_THREADS;
  if (forced != null && forced !== "") {
    const n = Number(forced);
    if (!Number.isInteger(n) || n < 1) throw new Error(`COVERGENRE_ORT_THREADS="${forced}" must be an integer ≥ 1`);
    return n;
  }
  return mainThread ? Math.min(4, Math.max(1, os.cpus().length)) : 1;
}

export interface OrtSession {
  readonly session: OrtModule.InferenceSession;
  readonly threads: number;
  /** Run with one float32 input; returns the named outputs' data. */
  run(input: Float32Array, dims: number[], outputs: string[]): Promise<Record<string, Float32Array>>;
  release(): Promise<void>;
}

let open = 0;

/**
 * Under a sandbox with its own globals (jest runs every test file in a vm context), the native
 * binding creates output arrays in the process's main realm, and onnxruntime-common — loaded in the
 * sandbox — rejects them (`data instanceof Float32Array` is false across realms). There, and only
 * there, its float32 entry is widened to a Float32Array subclass that accepts both realms' arrays.
 * In plain Node (the CLI, workers, notebooks) the realms are one and nothing is touched.
 */
function acceptHostRealmArrays(): void {
  const HostF32 = (require("node:vm") as typeof import("node:vm")).runInThisContext("Float32Array") as Float32ArrayConstructor;
  if (HostF32 === Float32Array) return;
  const common = path.dirname(require.resolve("onnxruntime-common", { paths: [path.dirname(require.resolve("onnxruntime-node"))] }));
  const mapping = require(path.join(common, "tensor-impl-type-mapping.js")) as { NUMERIC_TENSOR_TYPE_TO_TYPEDARRAY_MAP: Map<string, unknown> };
  class AnyRealmFloat32Array extends Float32Array {
    static [Symbol.hasInstance](x: unknown): boolean {
      return Function.prototype[Symbol.hasInstance].call(Float32Array, x) || Function.prototype[Symbol.hasInstance].call(HostF32, x);
    }
  }
  mapping.NUMERIC_TENSOR_TYPE_TO_TYPEDARRAY_MAP.set("float32", AnyRealmFloat32Array);
}

/**
 * Output memory belongs to the JS array (freed with it): nothing to dispose. Under a sandbox (see
 * acceptHostRealmArrays) it is re-viewed as this realm's Float32Array.
 */
function thisRealmF32(data: unknown): Float32Array {
  const d = data as Float32Array;
  return d instanceof Float32Array ? d : new Float32Array((d as ArrayBufferView).buffer, (d as ArrayBufferView).byteOffset, (d as ArrayLike<number>).length);
}

/** Sessions created and not yet released in this thread. */
export function openSessions(): number {
  return open;
}

function sessionOptions(threads: number): OrtModule.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
    // Do not busy-wait between runs: the other stages (decode, faces) share these cores.
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  };
}

/** Create a session from an .onnx file or its bytes, counted until released. */
export async function createSession(model: string | Uint8Array, threads: number = defaultThreads()): Promise<OrtSession> {
  const ort = loadOrt();
  if (!ort) throw new Error(`onnxruntime-node is not available: ${ortError}`);
  const options = sessionOptions(threads);
  const session = typeof model === "string" ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
  open++;
  let released = false;
  return {
    session,
    threads,
    async run(input, dims, outputs) {
      if (released) throw new Error("ONNX session already released");
      const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", input, dims) };
      const result = await session.run(feeds, outputs);
      const out: Record<string, Float32Array> = {};
      for (const name of outputs) out[name] = thisRealmF32(result[name].data);
      return out;
    },
    async release() {
      if (released) return;
      released = true;
      open--;
      await session.release();
    },
  };
}

/** A session whose `run` returns synchronously (see {@link createSyncSession}). */
export interface SyncOrtSession {
  readonly threads: number;
  readonly inputNames: string[];
  readonly outputNames: string[];
  /** Run with one float32 input; returns the named outputs' data and shapes. */
  run(input: Float32Array, dims: number[], outputs: string[]): Record<string, { data: Float32Array; dims: number[] }>;
  release(): void;
}

interface NativeSession {
  loadModel(buffer: ArrayBufferLike, offset: number, length: number, options: object): void;
  run(feeds: Record<string, unknown>, fetches: Record<string, null>, options: object): Record<string, { data: unknown; dims: readonly number[] }>;
  dispose(): void;
  inputMetadata: { name: string }[];
  outputMetadata: { name: string }[];
}

/**
 * A session run synchronously on the calling thread, for callers that cannot await: Human calls
 * `model.execute()` synchronously in the middle of its own pre- and post-processing. The public
 * `InferenceSession.run` is async only because onnxruntime-node's wrapper defers the call with
 * `setImmediate`; the native binding it defers to runs synchronously, and so does this session
 * (the binding's loadModel/run/dispose with the same options and feeds the wrapper passes). No
 * worker thread or copy through shared memory is involved, and the event loop is blocked exactly as
 * long as a tfjs-wasm `execute()` would block it. Tied to onnxruntime-node's internal binding
 * (dist/binding.js): a version that changes it makes this throw, and callers fall back to tfjs.
 */
export function createSyncSession(model: Uint8Array, threads: number = defaultThreads()): SyncOrtSession {
  const ort = loadOrt();
  if (!ort) throw new Error(`onnxruntime-node is not available: ${ortError}`);
  const bindingJs = path.join(path.dirname(require.resolve("onnxruntime-node")), "binding.js");
  const { binding, initOrt } = require(bindingJs) as { binding?: { InferenceSession?: new () => NativeSession }; initOrt?: () => void };
  if (!binding?.InferenceSession || !initOrt) throw new Error(`onnxruntime-node ${packageVersion("onnxruntime-node")} has no native binding where ${bindingJs} was expected`);
  initOrt();
  const native = new binding.InferenceSession();
  native.loadModel(model.buffer, model.byteOffset, model.byteLength, sessionOptions(threads));
  open++;
  let released = false;
  return {
    threads,
    inputNames: native.inputMetadata.map((m) => m.name),
    outputNames: native.outputMetadata.map((m) => m.name),
    run(input, dims, outputs) {
      if (released) throw new Error("ONNX session already released");
      const feeds = { [native.inputMetadata[0].name]: new ort.Tensor("float32", input, dims) };
      const result = native.run(feeds, Object.fromEntries(outputs.map((o) => [o, null])), {});
      return Object.fromEntries(outputs.map((o) => [o, { data: thisRealmF32(result[o].data), dims: [...result[o].dims] }]));
    },
    release() {
      if (released) return;
      released = true;
      open--;
      native.dispose();
    },
  };
}

/**
 * One "runs on tfjs" warning per model and reason in this process, for models of one `kind`
 * ("backbone", "face model"); worker threads stay quiet (the main thread decided and said it).
 * `reset` forgets what was said (tests).
 */
export function fallbackWarner(kind: string): { warn(name: string, reason: string): void; reset(): void } {
  const warned = new Set<string>();
  return {
    warn(name, reason) {
      const key = `${name}\0${reason}`;
      if (warned.has(key) || !isMainThread) return;
      warned.add(key);
      process.stderr.write(`covergenre: ${kind} ${name} runs on tfjs, not onnxruntime-node: ${reason}\n`);
    },
    reset: () => warned.clear(),
  };
}
