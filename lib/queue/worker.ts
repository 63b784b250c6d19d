/**
 * `covergenre worker --queue <url>`: one machine's share of a queued feature build. It takes
 * feature jobs from Redis (BullMQ), computes them on its own extractor threads exactly as a local
 * `features` run does (lib/features/pool.ts, loaded once per set of settings), and puts each
 * cover's outputs on the results queue for the coordinator to cache.
 *
 * Delivery, and why:
 * - a result is added (with the job's id, so a duplicate is ignored) before the job completes: a
 *   worker killed between the two leaves a stalled job that is simply done again;
 * - a worker killed with -9 stops renewing its locks; another worker's stalled-job check puts the job
 *   back after `lockMs`;
 * - a cover that cannot be decoded is not a failure: its error is the result, cached like locally;
 * - a thread that dies or any other throw fails the attempt: BullMQ retries it with backoff, and
 *   this worker rebuilds its threads;
 * - SIGTERM: jobs still waiting for a thread go back to the queue at once, those in a thread finish
 *   (a batch takes seconds), and after `graceMs` anything left is abandoned to the stalled check.
 */
import * as os from "node:os";
import { Queue, UnrecoverableError, WaitingError, Worker, type Job } from "bullmq";
import { hashBytes } from "../features/cache";
import { stageKeys, type FeatureConfig } from "../features/config";
import { startPool, type ExtractorPool } from "../features/pool";
import type { WorkItem } from "../features/extract";
import { describeError } from "../util/errors";
import { Batcher, HandedBack } from "./batcher";
import { checkRedis, queueNames, type QueueTarget } from "./connection";
import { encodeResult, type FeatureJobData, type PortableConfig } from "./jobs";

export interface QueueWorkerOptions {
  target: QueueTarget;
  /** Extractor threads (as `features --workers`; 0 = the calling thread). */
  threads: number;
  /** Covers per message to a thread. */
  batchSize: number;
  /** Lock time of a job, and how often stalled jobs are looked for (ms). Default 30 s. */
  lockMs?: number;
  /** How long SIGTERM waits for the covers in the threads before giving up on them (ms). Default 25 s. */
  graceMs?: number;
  log: (line: string) => void;
  /** Fault injection for tests: called before each batch goes to a thread; a throw fails that batch as a crashed thread would. */
  beforeBatch?: (items: WorkItem[]) => void;
}

export interface QueueWorkerHandle {
  /** host:pid, as the coordinator's per-worker counts show it. */
  id: string;
  /** Stop taking jobs, hand back those not started, finish the rest; resolves when closed. */
  stop(): Promise<void>;
  /** Resolves when the worker has closed (after stop(), or after a fatal error, which it carries). */
  closed: Promise<{ processed: number; handedBack: number; fatal: string | null }>;
}

interface Engine {
  sig: string;
  pool: ExtractorPool;
  batcher: Batcher;
  keys: Record<string, string>;
}

/** Connect and start taking jobs; models load with the first job of each set of settings. */
export async function startQueueWorker(opts: QueueWorkerOptions): Promise<QueueWorkerHandle> {
  const id = `${os.hostname()}:${process.pid}`;
  const names = queueNames(opts.target.name);
  const lockMs = opts.lockMs ?? 30_000;
  await checkRedis(opts.target, opts.log);
  const results = new Queue(names.results, { connection: opts.target.connection });
  let engine: Engine | null = null;
  let loading: Promise<Engine> | null = null;
  let stopping = false;
  let fatal: string | null = null;
  let processed = 0;
  let handedBack = 0;

  const engineFor = (config: PortableConfig): Promise<Engine> => {
    const sig = JSON.stringify(config);
    if (engine?.sig === sig) return Promise.resolve(engine);
    if (!loading) {
      loading = (async () => {
        if (engine) await engine.pool.close();
        engine = null;
        const full: FeatureConfig = { ...config, workers: opts.threads, batchSize: opts.batchSize };
        const keys = stageKeys(full);
        opts.log(`worker ${id}: loading models (${[...(config.faces ? ["faces"] : []), ...config.backbones].join(", ") || "colour only"}) on ${Math.max(1, opts.threads)} thread(s)`);
        let pool = await startPool(full);
        if (opts.beforeBatch) pool = withHook(pool, opts.beforeBatch);
        engine = { sig, pool, batcher: new Batcher(pool, opts.batchSize), keys };
        return engine;
      })().finally(() => {
        loading = null;
      });
    }
    return loading.then((e) => (e.sig === sig ? e : engineFor(config)));
  };

  const handBack = async (job: Job, token: string | undefined): Promise<never> => {
    handedBack++;
    await job.moveToWait(token);
    throw new WaitingError();
  };

  const processor = async (job: Job<FeatureJobData>, token?: string) => {
    if (stopping) return handBack(job, token);
    const data = job.data;
    // Time spent on the queue's own work (bytes in, hash check, result out), reported with the result.
    let t = performance.now();
    const bytes = Buffer.from(data.image, "base64");
    if (hashBytes(bytes) !== data.hash) throw new UnrecoverableError(`job ${job.id}: the image bytes do not match their hash ${data.hash} (damaged in transit?)`);
    let queueMs = performance.now() - t;
    const e = await engineFor(data.config);
    // Stopped while the models loaded: the job has not started, so it goes back.
    if (stopping) return handBack(job, token);
    const differs = data.stages.filter((s) => e.keys[s] !== data.keys[s]);
    if (differs.length) {
      // Another version of a package or model here: this machine's outputs would not match the
      // coordinator's cache. Hand the job back for a matching worker and stop.
      const s = differs[0];
      fatal = `worker ${id}: stage ${s} has cache key ${e.keys[s] ?? "(none)"} here but ${data.keys[s]} on the coordinator (different package versions or models); this worker stops`;
      opts.log(fatal);
      setImmediate(() => void stop());
      return handBack(job, token);
    }
    let out;
    try {
      out = await e.batcher.run({ hash: data.hash, absPath: data.name, bytes, stages: data.stages });
    } catch (err) {
      if (err instanceof HandedBack) return handBack(job, token);
      // A thread died or the engine broke: start fresh threads for the retry.
      if (engine === e) {
        engine = null;
        void e.pool.terminate().catch(() => undefined);
      }
      throw new Error(`extraction failed for ${data.name}: ${describeError(err)}`);
    }
    t = performance.now();
    const result = encodeResult(out.item, { worker: id, ms: out.ms, shapes: e.pool.shapes });
    queueMs += performance.now() - t;
    await results.add("result", { ...result, queueMs }, { jobId: job.id, removeOnComplete: true, removeOnFail: true });
    processed++;
    return { worker: id };
  };

  const worker = new Worker<FeatureJobData>(names.features, processor, {
    connection: opts.target.connection,
    concurrency: Math.max(1, opts.threads) * opts.batchSize * 2,
    lockDuration: lockMs,
    stalledInterval: lockMs,
    maxStalledCount: 2,
    autorun: false,
  });
  worker.on("error", (err) => opts.log(`worker ${id}: ${describeError(err)}`));
  worker.on("failed", (job, err) => {
    if (err.name !== "WaitingError") opts.log(`worker ${id}: job for ${job?.data.name ?? "?"} failed (attempt ${job?.attemptsMade ?? "?"}): ${describeError(err)}`);
  });

  let resolveClosed!: (v: { processed: number; handedBack: number; fatal: string | null }) => void;
  const closed = new Promise<{ processed: number; handedBack: number; fatal: string | null }>((r) => (resolveClosed = r));
  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    if (stopped) return stopped;
    stopping = true;
    stopped = (async () => {
      const waiting = engine?.batcher.handBack() ?? 0;
      opts.log(`worker ${id}: stopping — ${waiting} job(s) handed back, ${engine ? engine.batcher.busy : 0} cover(s) in the threads finish first`);
      const force = setTimeout(() => {
        opts.log(`worker ${id}: covers still in the threads after ${(opts.graceMs ?? 25_000) / 1000} s are left to the stalled-job check`);
        void worker.close(true);
      }, opts.graceMs ?? 25_000);
      await worker.close();
      clearTimeout(force);
      await results.close();
      if (engine) await engine.pool.close();
      resolveClosed({ processed, handedBack, fatal });
    })();
    return stopped;
  };

  await worker.waitUntilReady();
  void worker.run();
  opts.log(`worker ${id}: waiting for jobs on ${opts.target.display} (${names.features})`);
  return { id, stop, closed };
}

/** The pool with a hook run before each batch (fault injection in tests). */
function withHook(pool: ExtractorPool, hook: (items: WorkItem[]) => void): ExtractorPool {
  return {
    ...pool,
    run: async (items) => {
      hook(items);
      return pool.run(items);
    },
  };
}
