/**
 * A pool of fold workers (worker_threads) so the study uses every core: the wasm backend runs one
 * thread per engine in Node, so one process trains one head at a time. Each worker has its own
 * TensorFlow.js engine (same backend as the calling thread) and runs whole folds with
 * {@link runFold} — inner fit, threshold tuning, outer fit, scoring, metrics — which depend only
 * on their arguments, so a fold gives bit-identical numbers in any thread.
 *
 * Data: a dataset's arrays are copied once into SharedArrayBuffers and posted to every worker the
 * first time a fold of it is run (zero-copy for the workers; one copy per dataset, not per fold);
 * a fold job carries only its row indices, the scorer's spec and the seed. Test scores come back
 * transferred, not copied.
 *
 * Lifetime: jobs wait in one FIFO queue and go to whichever worker is idle. An idle worker does not
 * keep the process alive (unref), so a pool someone forgot to close cannot hang a CLI run; `close()`
 * ends the threads gracefully, `terminate()` at once (errors, Ctrl-C), rejecting what is pending.
 */
import * as os from "node:os";
import * as path from "node:path";
import type { Worker } from "node:worker_threads";
import { tf } from "../tf";
import { sharedCopy, startTsWorker } from "../util/tsWorker";
import type { FoldOptions, FoldOutcome, FoldRunner, ScorerSpec } from "./cv";
import type { BlockName, LabelledDataset } from "./dataset";
import type { PointMetrics } from "./metrics";
import type { Fold } from "./stratify";

/**
 * Default number of fold workers: one per CPU, at most 4. Why: each worker runs one single-threaded
 * wasm engine, so workers beyond the core count only add memory and start-up time (≈ 1 s each); on
 * one CPU this gives 1, which runs the folds in the calling thread (no pool at all). The cap of 4:
 * an input set has 10 folds (5 × 2) between barriers, so more workers mostly sit idle at the end of
 * each input set, each worker holds its own tfjs + wasm heap, and it matches the feature workers'
 * default. On the 2-core development machine this is 2.
 */
export function defaultFoldWorkers(cpus: number = os.cpus().length): number {
  return Math.min(4, Math.max(1, cpus));
}

/** A dataset as the workers see it: only what {@link runFold} reads, backed by SharedArrayBuffers. */
export interface SharedDataset {
  id: number;
  n: number;
  k: number;
  y: Uint8Array;
  blocks: { name: BlockName; dim: number; data: Float32Array }[];
}

export interface FoldJob {
  id: number;
  dataset: number;
  fold: Fold;
  spec: ScorerSpec;
  opts: FoldOptions;
}

/** What the pool posts to a worker. One shape with optional fields (no union narrowing needed). */
export interface ToFoldWorker {
  type: "dataset" | "forget" | "fold" | "close";
  dataset?: SharedDataset;
  datasetId?: number;
  job?: FoldJob;
}

/** What a worker posts back. */
export interface FromFoldWorker {
  type: "ready" | "failed" | "result" | "error";
  id?: number;
  backend?: string;
  numTensors?: number;
  error?: string;
  metrics?: PointMetrics;
  thresholds?: number[];
  scores?: Float32Array;
}

/** The input of lib/train/foldWorker.ts. */
export interface FoldWorkerInput {
  /** The calling thread's backend: the worker must run the same kernels for identical numbers. */
  backend: string;
  index: number;
}

export interface FoldPool extends FoldRunner {
  readonly size: number;
  runFold(ds: LabelledDataset, fold: Fold, spec: ScorerSpec, opts: FoldOptions, signal?: AbortSignal): Promise<FoldOutcome>;
  /** Drop a dataset from the workers (frees its shared arrays once nothing else holds them). */
  forget(ds: LabelledDataset): void;
  /** tf.memory().numTensors of each worker after its last job (leak checks). */
  tensorCounts(): number[];
  /** Finish: workers exit after the jobs they are running; queued jobs are rejected. */
  close(): Promise<void>;
  /** Stop at once (errors, Ctrl-C): running and queued jobs reject with `reason`. */
  terminate(reason?: Error): Promise<void>;
}

function toShared(ds: LabelledDataset, id: number): SharedDataset {
  const blocks: SharedDataset["blocks"] = [];
  for (const [name, block] of Object.entries(ds.blocks)) {
    if (block) blocks.push({ name: name as BlockName, dim: block.dim, data: sharedCopy(block.data) });
  }
  return { id, n: ds.n, k: ds.k, y: sharedCopy(ds.y), blocks };
}

/** In a worker: the dataset {@link runFold} needs (no ids, paths or column names: it never reads them). */
export function datasetFromShared(s: SharedDataset): LabelledDataset {
  const blocks: LabelledDataset["blocks"] = {};
  for (const b of s.blocks) blocks[b.name] = { dim: b.dim, data: b.data, columns: [] };
  return { sourceRows: [], ids: [], collections: [], paths: [], genres: [], n: s.n, k: s.k, y: s.y, blocks };
}

interface Pending {
  job: FoldJob;
  fold: Fold;
  signal?: AbortSignal;
  resolve: (o: FoldOutcome) => void;
  reject: (e: Error) => void;
}

interface Slot {
  index: number;
  worker: Worker;
  busy: Pending | null;
  numTensors: number;
  dead: boolean;
  closing: boolean;
  exited: Promise<void>;
}

function aborted(): Error {
  const e = new Error("cancelled: another fold of the same cross-validation failed");
  e.name = "AbortError";
  return e;
}

/**
 * Start `workers` fold workers (≥ 1) and wait until each has initialised TensorFlow.js on the
 * calling thread's backend. Rejects, with every started thread terminated, if one cannot start.
 */
export async function startFoldPool(workers: number): Promise<FoldPool> {
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`a fold pool needs at least 1 worker, got ${workers}`);
  const backend = tf.getBackend();
  if (!backend) throw new Error("initialise TensorFlow.js (initTf) before starting fold workers");
  const entry = path.join(__dirname, "foldWorker.ts");
  const slots: Slot[] = [];
  const queue: Pending[] = [];
  const shared = new WeakMap<LabelledDataset, SharedDataset>();
  let nextDataset = 0;
  let nextJob = 0;
  let closed: Error | null = null;

  const live = () => slots.filter((s) => !s.dead);

  const pump = () => {
    for (const slot of slots) {
      if (slot.dead || slot.closing || slot.busy) continue;
      let next = queue.shift();
      while (next && next.signal?.aborted) {
        next.reject(aborted());
        next = queue.shift();
      }
      if (!next) {
        slot.worker.unref();
        continue;
      }
      slot.busy = next;
      slot.worker.ref();
      const msg: ToFoldWorker = { type: "fold", job: next.job };
      slot.worker.postMessage(msg);
    }
  };

  const failSlot = (slot: Slot, err: Error) => {
    if (slot.dead) return;
    slot.dead = true;
    const busy = slot.busy;
    slot.busy = null;
    busy?.reject(err);
    if (!live().length) for (const p of queue.splice(0)) p.reject(err);
    pump();
  };

  const start = (index: number) =>
    new Promise<Slot>((resolve, reject) => {
      const input: FoldWorkerInput = { backend, index };
      const worker = startTsWorker(entry, input, `covergenre fold worker ${index + 1}`);
      let ready = false;
      let exitResolve: () => void = () => undefined;
      const slot: Slot = { index, worker, busy: null, numTensors: 0, dead: false, closing: false, exited: new Promise<void>((r) => (exitResolve = r)) };
      slots.push(slot);
      worker.on("message", (msg: FromFoldWorker) => {
        if (msg.type === "ready") {
          ready = true;
          slot.numTensors = msg.numTensors ?? 0;
          if (msg.backend !== backend) {
            // Different kernels would give (slightly) different numbers: refuse rather than drift.
            slot.dead = true;
            reject(new Error(`fold worker ${index + 1} runs the ${msg.backend} backend, this thread ${backend}`));
            return;
          }
          resolve(slot);
        } else if (msg.type === "failed") {
          slot.dead = true;
          reject(new Error(`fold worker ${index + 1} could not start TensorFlow.js: ${msg.error}`));
        } else if (msg.type === "result" || msg.type === "error") {
          const p = slot.busy;
          slot.busy = null;
          if (msg.numTensors != null) slot.numTensors = msg.numTensors;
          if (p) {
            if (msg.type === "result") p.resolve({ fold: p.fold, metrics: msg.metrics!, thresholds: msg.thresholds!, scores: msg.scores! });
            else p.reject(new Error(msg.error ?? "unknown error in a fold worker"));
          }
          pump();
        }
      });
      worker.on("error", (err) => {
        const e = new Error(`fold worker ${index + 1} crashed: ${err.message}`);
        if (!ready) reject(e);
        failSlot(slot, e);
      });
      worker.on("exit", (code) => {
        exitResolve();
        const e = closed ?? new Error(`fold worker ${index + 1} exited unexpectedly (code ${code})`);
        if (!ready) reject(e);
        if (!slot.closing) failSlot(slot, e);
        slot.dead = true;
      });
    });

  const terminateAll = async (reason: Error) => {
    closed = closed ?? reason;
    for (const p of queue.splice(0)) p.reject(reason);
    for (const slot of slots) {
      const busy = slot.busy;
      slot.busy = null;
      busy?.reject(reason);
      slot.closing = true;
    }
    await Promise.all(slots.map((s) => s.worker.terminate().catch(() => undefined)));
  };

  try {
    await Promise.all([...Array(workers)].map((_, i) => start(i)));
  } catch (err) {
    await terminateAll(err as Error);
    throw err;
  }
  for (const slot of slots) slot.worker.unref();

  const post = (slot: Slot, msg: ToFoldWorker) => {
    if (!slot.dead) slot.worker.postMessage(msg);
  };

  return {
    size: slots.length,
    runFold(ds, fold, spec, opts, signal) {
      if (closed) return Promise.reject(closed);
      if (signal?.aborted) return Promise.reject(aborted());
      if (!live().length) return Promise.reject(new Error("every fold worker has stopped"));
      let s = shared.get(ds);
      if (!s) {
        s = toShared(ds, nextDataset++);
        shared.set(ds, s);
        // Posted before any fold of it: messages to a worker arrive in order.
        for (const slot of slots) post(slot, { type: "dataset", dataset: s });
      }
      const job: FoldJob = { id: nextJob++, dataset: s.id, fold, spec, opts };
      return new Promise<FoldOutcome>((resolve, reject) => {
        queue.push({ job, fold, signal, resolve, reject });
        pump();
      });
    },
    forget(ds) {
      const s = shared.get(ds);
      if (!s) return;
      shared.delete(ds);
      for (const slot of slots) post(slot, { type: "forget", datasetId: s.id });
    },
    tensorCounts: () => slots.map((s) => s.numTensors),
    async close() {
      if (closed) return;
      closed = new Error("the fold pool is closed");
      for (const p of queue.splice(0)) p.reject(closed);
      for (const slot of slots) {
        if (slot.dead) continue;
        slot.closing = true;
        // Keep the process alive until the thread has gone (an unref'd worker would let it exit here).
        slot.worker.ref();
        post(slot, { type: "close" });
      }
      // A worker that does not leave within 10 s after its last job is stopped.
      await Promise.all(
        slots.map(async (slot) => {
          let timer: NodeJS.Timeout | undefined;
          const late = new Promise<"late">((r) => (timer = setTimeout(() => r("late"), 10_000)));
          const how = await Promise.race([slot.exited.then(() => "exited" as const), late]);
          clearTimeout(timer);
          if (how === "late") await slot.worker.terminate().catch(() => undefined);
        }),
      );
    },
    terminate(reason = new Error("the fold pool was stopped")) {
      return terminateAll(reason);
    },
  };
}
