/**
 * Worker threads that run TypeScript: the entry file is loaded through tsx's CommonJS hook (as
 * bin/covergenre.js does), so a pool works the same from the CLI, jest and tslab notebooks.
 *
 * The worker's stdout is piped to our stderr: Emscripten's wasm glue (and model loaders) print on
 * stdout, and the CLI's `--json` stdout must stay one JSON document.
 */
import { Worker, workerData } from "node:worker_threads";

const BOOTSTRAP = `
const { workerData } = require("node:worker_threads");
require(workerData.tsxCjs);
require(workerData.entry);
`;

interface TsWorkerData<T> {
  tsxCjs: string;
  entry: string;
  input: T;
}

/** Start `entry` (an absolute path to a .ts file) in a worker thread; inside, {@link tsWorkerInput} returns `input`. */
export function startTsWorker<T>(entry: string, input: T, name?: string): Worker {
  const data: TsWorkerData<T> = { tsxCjs: require.resolve("tsx/cjs"), entry, input };
  const worker = new Worker(BOOTSTRAP, { eval: true, workerData: data, stdout: true, ...(name ? { name } : {}) });
  worker.stdout.on("data", (chunk: Buffer) => process.stderr.write(chunk));
  return worker;
}

/** Inside a worker started by {@link startTsWorker}: the `input` it was given. */
export function tsWorkerInput<T>(): T {
  return (workerData as TsWorkerData<T>).input;
}

/**
 * A copy of `a` in a SharedArrayBuffer: posted to (or started with) a worker it is shared, not
 * copied again, so every worker reads the same memory.
 */
export function sharedCopy<T extends Float32Array | Uint8Array>(a: T): T {
  const s = new (a.constructor as { new (b: SharedArrayBuffer): T })(new SharedArrayBuffer(a.byteLength));
  s.set(a);
  return s;
}
