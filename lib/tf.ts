/**
 * The one place that sets up TensorFlow.js. Every other module imports `tf` from here and calls
 * `initTf()` before running a model, so the backend choice, the wasm kernel fix and the `file://`
 * handling are decided once per process.
 *
 * Why not tfjs-node: it downloads libtensorflow at install time, which fails on machines without
 * general internet access; the wasm backend (SIMD) ships inside its npm package and is 25-30x faster
 * than the pure-JS `cpu` backend. A machine that can install tfjs-node opts in with
 * `COVERGENRE_BACKEND=tensorflow` (see README).
 */
import * as tf from "@tensorflow/tfjs";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "./util/fsx";

export { tf };

/** Backends this project knows how to start. */
export type BackendName = "wasm" | "cpu" | "tensorflow";

export interface TfStatus {
  backend: string;
  simd: boolean | null;
  matmulFix: boolean;
  tfjsVersion: string;
}

let initPromise: Promise<TfStatus> | null = null;
let matmulFixApplied = false;

/** The backend requested by `COVERGENRE_BACKEND` (default `wasm`); throws on an unknown name. */
export function requestedBackend(env: NodeJS.ProcessEnv = process.env): BackendName {
  const raw = (env.COVERGENRE_BACKEND ?? "wasm").trim().toLowerCase();
  if (raw === "wasm" || raw === "cpu" || raw === "tensorflow") return raw;
  throw new Error(`COVERGENRE_BACKEND="${env.COVERGENRE_BACKEND}" is not a backend; use wasm, cpu or tensorflow`);
}

/** Folder holding tfjs-backend-wasm's .wasm binaries (they ship in the npm package). */
export function wasmDistDir(): string {
  return path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm"));
}

/**
 * Initialise TensorFlow.js once. Safe to call from every module: later calls return the first
 * result. Falls back from wasm to cpu only if wasm cannot start, and says so on stderr.
 */
export function initTf(backend: BackendName = requestedBackend()): Promise<TfStatus> {
  if (!initPromise) initPromise = doInit(backend);
  return initPromise;
}

async function doInit(backend: BackendName): Promise<TfStatus> {
  installFileFetch();
  tf.env().set("PROD", true);
  if (backend === "tensorflow") {
    // danfojs's override hoists plain tfjs under the tfjs-node name, so a successful require proves
    // nothing: only the registered backend does.
    try {
      require("@tensorflow/tfjs-node");
    } catch (err) {
      throw new Error(`COVERGENRE_BACKEND=tensorflow needs a working @tensorflow/tfjs-node: ${(err as Error).message}`);
    }
    if (!tf.findBackend("tensorflow") && !(await tf.setBackend("tensorflow").catch(() => false))) {
      throw new Error(
        "COVERGENRE_BACKEND=tensorflow: @tensorflow/tfjs-node resolved, but no 'tensorflow' backend was registered " +
          "(here it is an alias of plain tfjs). Install the real package: npm install --no-save @tensorflow/tfjs-node@4.22.0",
      );
    }
    await tf.setBackend("tensorflow");
  } else if (backend === "wasm") {
    const listenersBefore = {
      uncaughtException: process.listeners("uncaughtException"),
      unhandledRejection: process.listeners("unhandledRejection"),
    };
    const wasm = require("@tensorflow/tfjs-backend-wasm") as typeof import("@tensorflow/tfjs-backend-wasm");
    wasm.setWasmPaths(wasmDistDir() + path.sep);
    const ok = await tf.setBackend("wasm").catch(() => false);
    if (!ok) {
      process.stderr.write("covergenre: the wasm backend failed to start; falling back to cpu (25-30x slower)\n");
      await tf.setBackend("cpu");
    }
    // Emscripten's loader installs process-wide handlers that rethrow from inside its minified
    // source, so any later crash prints 100 kB of wasm glue. Errors are ours to report: remove them.
    const added = (event: string, before: Function[]) => process.listeners(event as "exit").filter((l) => !before.includes(l));
    for (const l of added("uncaughtException", listenersBefore.uncaughtException)) process.removeListener("uncaughtException", l as never);
    for (const l of added("unhandledRejection", listenersBefore.unhandledRejection)) process.removeListener("unhandledRejection", l as never);
  } else {
    await tf.setBackend("cpu");
  }
  await tf.ready();
  if (tf.getBackend() === "wasm") applyWasmMatMulFix();
  return tfStatus();
}

/** What is running now (for `covergenre doctor` and benchmark headers). */
export async function tfStatus(): Promise<TfStatus> {
  const backend = tf.getBackend();
  let simd: boolean | null = null;
  if (backend === "wasm") simd = Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"));
  return { backend, simd, matmulFix: matmulFixApplied, tfjsVersion: tf.version.tfjs };
}

type KernelFunc = tf.KernelConfig["kernelFunc"];

/**
 * tfjs-backend-wasm 4.22's XNNPACK matmul is 50-60x slower when asked to transpose an operand, and
 * Dense-layer gradients ask for exactly that (dW = xᵀ·dy, dx = dy·Wᵀ). Transposing explicitly with
 * the wasm Transpose kernel and then multiplying untransposed gives identical numbers and 7-8x
 * faster training. Applied to BatchMatMul and _FusedMatMul; idempotent.
 */
export function applyWasmMatMulFix(): void {
  if (matmulFixApplied) return;
  for (const kernelName of ["BatchMatMul", "_FusedMatMul"]) {
    const original = tf.getKernel(kernelName, "wasm");
    if (!original) continue;
    tf.unregisterKernel(kernelName, "wasm");
    tf.registerKernel({ ...original, kernelFunc: transposeFirst(original.kernelFunc) });
  }
  matmulFixApplied = true;
}

/** Undo {@link applyWasmMatMulFix} (used by the equality test and the benchmark's baseline). */
export function removeWasmMatMulFix(): void {
  if (!matmulFixApplied) return;
  for (const kernelName of ["BatchMatMul", "_FusedMatMul"]) {
    const patched = tf.getKernel(kernelName, "wasm") as (tf.KernelConfig & { original?: KernelFunc }) | undefined;
    const original = (patched?.kernelFunc as KernelFunc & { original?: KernelFunc })?.original;
    if (!patched || !original) continue;
    tf.unregisterKernel(kernelName, "wasm");
    tf.registerKernel({ ...patched, kernelFunc: original });
  }
  matmulFixApplied = false;
}

export function isWasmMatMulFixApplied(): boolean {
  return matmulFixApplied;
}

function transposeFirst(original: KernelFunc): KernelFunc {
  const wrapped = ((args: Parameters<KernelFunc>[0]) => {
    const attrs = args.attrs as { transposeA?: boolean; transposeB?: boolean };
    if (!attrs.transposeA && !attrs.transposeB) return original(args);
    const transposeKernel = tf.getKernel("Transpose", "wasm")!.kernelFunc;
    const backend = args.backend as tf.KernelBackend;
    const inputs = { ...(args.inputs as Record<string, tf.TensorInfo>) };
    const temporaries: tf.TensorInfo[] = [];
    for (const [key, flag] of [["a", attrs.transposeA], ["b", attrs.transposeB]] as const) {
      if (!flag) continue;
      const x = inputs[key];
      const rank = x.shape.length;
      const perm = [...Array(rank).keys()];
      [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
      const t = transposeKernel({ inputs: { x }, backend, attrs: { perm } }) as tf.TensorInfo;
      temporaries.push(t);
      inputs[key] = t;
    }
    const out = original({ ...args, inputs, attrs: { ...args.attrs, transposeA: false, transposeB: false } });
    for (const t of temporaries) backend.disposeData(t.dataId);
    return out;
  }) as KernelFunc & { original?: KernelFunc };
  wrapped.original = original;
  return wrapped;
}

let fileFetchInstalled = false;

/**
 * A Response whose json() parses in this module's realm: Node's Response builds arrays in the outer
 * realm, which breaks tfjs's `instanceof Array` checks under jest's sandboxed modules.
 */
function fileResponse(body: Buffer, init: ResponseInit): Response {
  const res = new Response(body as unknown as ConstructorParameters<typeof Response>[0], init);
  // An own property rather than a subclass override: tslab's TypeScript 5.0 with older DOM/Node
  // typings declares Response.json as a property, and rejects a method overriding it.
  Object.defineProperty(res, "json", { value: async () => JSON.parse(await res.text()) });
  return res;
}

/**
 * Node's global fetch rejects `file://` URLs, but Human and `tf.loadLayersModel` load models with
 * fetch. Serve `file://` from disk and pass every other URL through unchanged.
 */
export function installFileFetch(): void {
  if (fileFetchInstalled) return;
  const networkFetch = globalThis.fetch;
  const fileFetch = async (input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (!url.startsWith("file://")) return networkFetch(input, init);
    const file = fileURLToPath(url);
    try {
      const body = await fs.promises.readFile(file);
      const type = file.endsWith(".json") ? "application/json" : "application/octet-stream";
      return fileResponse(body, { status: 200, headers: { "content-type": type } });
    } catch (err) {
      return new Response(`cannot read ${file}: ${(err as Error).message}`, { status: 404 });
    }
  };
  globalThis.fetch = fileFetch as typeof fetch;
  fileFetchInstalled = true;
}

/**
 * Save/load a tfjs model to a folder (`model.json` + `weights.bin`), which pure tfjs cannot do in
 * Node. Writes are atomic so an interrupted save never leaves a half-written checkpoint.
 */
export function folderIO(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      await fs.promises.mkdir(dir, { recursive: true });
      const weightData = artifacts.weightData
        ? Buffer.from(tf.io.CompositeArrayBuffer.join(artifacts.weightData))
        : Buffer.alloc(0);
      const modelJson = {
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        modelTopology: artifacts.modelTopology,
        trainingConfig: artifacts.trainingConfig,
        weightsManifest: [{ paths: ["weights.bin"], weights: artifacts.weightSpecs ?? [] }],
      };
      await writeFileAtomic(path.join(dir, "weights.bin"), weightData);
      await writeFileAtomic(path.join(dir, "model.json"), JSON.stringify(modelJson));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: "JSON",
          modelTopologyBytes: JSON.stringify(artifacts.modelTopology ?? {}).length,
          weightSpecsBytes: JSON.stringify(artifacts.weightSpecs ?? []).length,
          weightDataBytes: weightData.byteLength,
        },
      };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      return loadArtifactsFromModelJson(path.join(dir, "model.json"));
    },
  };
}

/** Read a tfjs `model.json` and all its weight shards from disk into memory artifacts. */
export async function loadArtifactsFromModelJson(modelJsonPath: string): Promise<tf.io.ModelArtifacts> {
  let json: {
    modelTopology?: object;
    format?: string;
    generatedBy?: string;
    convertedBy?: string | null;
    trainingConfig?: tf.io.TrainingConfig;
    weightsManifest?: tf.io.WeightsManifestConfig;
  };
  try {
    json = JSON.parse(await fs.promises.readFile(modelJsonPath, "utf8"));
  } catch (err) {
    throw new Error(`cannot read model ${modelJsonPath}: ${(err as Error).message}`);
  }
  const dir = path.dirname(modelJsonPath);
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  for (const group of json.weightsManifest ?? []) {
    weightSpecs.push(...group.weights);
    for (const shard of group.paths) buffers.push(await fs.promises.readFile(path.join(dir, shard)));
  }
  const joined = Buffer.concat(buffers);
  return {
    modelTopology: json.modelTopology,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy ?? undefined,
    trainingConfig: json.trainingConfig,
    weightSpecs,
    weightData: joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength),
  };
}
