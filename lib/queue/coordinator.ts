/**
 * `covergenre features --queue <url>`: the coordinator of a feature build spread over machines.
 * It plans exactly as the local run (lib/features/build.ts `planBuild`: content hash → stages
 * missing from the cache), puts one BullMQ job per missing cover on Redis, caches the outputs the
 * workers send back (`storeResult`, as locally) and assembles the table and sidecars with the local
 * run's own `finishBuild` — so the files are the same bytes as a local run's.
 *
 * Bounded: at most `maxJobs` jobs and `maxBytes` of image data are in Redis at a time (a job is in
 * flight from the moment it is added until its result is cached), so Redis memory does not grow
 * with the size of the collection. Job ids are deterministic (content hash + stage keys): a re-run
 * after a crash finds its jobs (waiting, running, or results not yet collected) and adds nothing
 * twice; one that failed for good is retried once more. Ctrl-C stops adding jobs and leaves the rest
 * in Redis: the workers go on, and the next run collects what they finished.
 */
import * as fs from "node:fs";
import { Queue, Worker, type Job } from "bullmq";
import { finishBuild, planBuild, recordShapes, storeResult, type BuildOptions, type BuildPlan, type BuildSummary, type ComputeStats } from "../features/build";
import type { WorkItem } from "../features/extract";
import { describeError, InterruptedError } from "../util/errors";
import { Progress } from "../util/progress";
import { checkRedis, queueNames, type QueueTarget } from "./connection";
import { decodeResult, featureJobId, portableConfig, type FeatureJobData, type ResultJobData } from "./jobs";

export interface QueueBuildOptions {
  target: QueueTarget;
  /** Most jobs in Redis at once. Default 64. */
  maxJobs?: number;
  /** Most image bytes (base64, as stored) in Redis at once. Default 64 MB. */
  maxBytes?: number;
  /** Attempts per job before it counts as failed (transient failures retry with exponential backoff). Default 4. */
  attempts?: number;
  /** First retry delay (ms); doubles each attempt. Default 2 s. */
  backoffMs?: number;
  /** How often failed jobs are looked for (ms). Default 1 s. */
  pollMs?: number;
  /**
   * After this long without a result, jobs in flight that are in neither queue (a Redis restarted
   * without persistence, keys evicted or deleted by hand) are added again (ms). Default 60 s.
   */
  lostAfterMs?: number;
}

export interface QueueStats {
  /** Queue name (never the URL: that may hold a password). */
  name: string;
  /** Jobs this run added. */
  enqueued: number;
  /** Jobs added again because they had vanished from Redis. */
  readded: number;
  /** Jobs found already in Redis from an earlier run (not added again). */
  found: number;
  /** Summed over results: the workers' queue work (base64, hash check, result encoding), ms; the wait on Redis is not in it. */
  workerQueueMs: number;
  /** Covers per worker (host:pid). */
  perWorker: Record<string, number>;
  /** Jobs that failed for good (after every attempt): their covers' rows say "not processed"; a re-run retries them. */
  failedJobs: { path: string; reason: string }[];
}

export type QueueBuildSummary = BuildSummary & { queue: QueueStats };

export async function buildFeatureTableViaQueue(opts: BuildOptions, q: QueueBuildOptions): Promise<QueueBuildSummary> {
  const log = opts.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const plan = await planBuild(opts, log);
  const stats: ComputeStats = { workers: 0, computeMs: 0, stageMs: {}, tensors: { first: [], last: [] } };
  const queue: QueueStats = { name: q.target.name, enqueued: 0, readded: 0, found: 0, workerQueueMs: 0, perWorker: {}, failedJobs: [] };
  if (plan.todo.size) await computeViaQueue(plan, opts, q, log, stats, queue);
  const summary = await finishBuild(plan, stats);
  return { ...summary, queue };
}

async function computeViaQueue(plan: BuildPlan, opts: BuildOptions, q: QueueBuildOptions, log: (line: string) => void, stats: ComputeStats, out: QueueStats): Promise<void> {
  const t0 = performance.now();
  const { cache, keys, todo } = plan;
  const maxJobs = q.maxJobs ?? 64;
  const maxBytes = q.maxBytes ?? 64 * 1024 * 1024;
  await checkRedis(q.target, log);
  const names = queueNames(q.target.name);
  const connection = q.target.connection;
  const features = new Queue<FeatureJobData>(names.features, { connection });
  const results = new Queue<ResultJobData>(names.results, { connection });
  const config = portableConfig(plan.config);
  const items = [...todo.values()];
  const expected = new Map<string, WorkItem>(items.map((it) => [featureJobId(it.hash, it.stages, keys), it]));
  /** In flight: job id → image bytes it holds in Redis (0 for one found from an earlier run). */
  const inFlight = new Map<string, number>();
  let inFlightBytes = 0;
  let wake: () => void = () => undefined;
  const changed = () => wake();
  const until = async (cond: () => boolean) => {
    while (!cond()) await new Promise<void>((r) => (wake = r));
  };
  const settle = (id: string) => {
    inFlightBytes -= inFlight.get(id) ?? 0;
    inFlight.delete(id);
    changed();
  };

  const progress = opts.progress === false ? null : new Progress("features (queue)", todo.size, { unit: "covers" });
  const done = new Set<string>();
  let shapesSeen = "";
  let lastResult = performance.now();
  /** A result that could not be cached (disk full, …): the run stops with it; the result stays in Redis for the next run. */
  let fatal: Error | null = null;
  const collector = new Worker<ResultJobData>(
    names.results,
    async (job: Job<ResultJobData>) => {
      const id = job.id!;
      // Another coordinator's result (other settings): not ours to cache under our keys.
      if (!expected.has(id)) return { ignored: true };
      if (!done.has(id)) {
        const data = job.data;
        try {
          await storeResult(cache, keys, decodeResult(data));
          // Every worker reports the same shapes: write them when they first appear, not once per cover.
          const shapes = JSON.stringify(data.shapes);
          if (shapes !== shapesSeen && Object.keys(data.shapes).length) {
            shapesSeen = shapes;
            await recordShapes(cache, keys, data.shapes);
          }
        } catch (err) {
          fatal = new Error(`cannot cache the result for ${expected.get(id)!.absPath} in ${cache.dir}: ${describeError(err)}`);
          changed();
          throw fatal;
        }
        for (const [k, v] of Object.entries(data.ms)) stats.stageMs[k] = (stats.stageMs[k] ?? 0) + v;
        out.perWorker[data.worker] = (out.perWorker[data.worker] ?? 0) + 1;
        out.workerQueueMs += data.queueMs ?? 0;
        lastResult = performance.now();
        done.add(id);
        progress?.tick(data.worker);
      }
      settle(id);
      return { stored: true };
    },
    { connection, concurrency: 8, autorun: false },
  );
  collector.on("error", (err) => log(`features: results: ${describeError(err)}`));

  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
    log("features: interrupted — no more jobs are added; the workers finish those in Redis and the next run collects them");
    changed();
  };
  if (opts.handleSigint) process.on("SIGINT", onSigint);

  // Jobs that failed for good: recorded, removed (so a re-run adds them afresh), settled.
  let polling = false;
  const failedPoll = setInterval(() => {
    if (polling) return;
    polling = true;
    void (async () => {
      const n = (await features.getJobCounts("failed")).failed ?? 0;
      for (const job of n ? await features.getJobs(["failed"], 0, 199) : []) {
        const item = job.id ? expected.get(job.id) : undefined;
        if (!item || !inFlight.has(job.id!)) continue;
        out.failedJobs.push({ path: item.absPath, reason: `${job.failedReason} (after ${job.attemptsMade} attempt(s))` });
        log(`features: job for ${item.absPath} failed for good: ${job.failedReason}`);
        await job.remove().catch(() => undefined);
        progress?.tick("failed");
        settle(job.id!);
      }
      if (performance.now() - lastResult > (q.lostAfterMs ?? 60_000)) {
        lastResult = performance.now();
        await readdLost();
      }
    })()
      .catch((err) => log(`features: checking failed jobs: ${describeError(err)}`))
      .finally(() => (polling = false));
  }, q.pollMs ?? 1000);

  /** Add one cover's job (its bytes read now: the coordinator never holds more than the jobs in flight). */
  const enqueue = async (id: string, item: WorkItem) => {
    const image = (await fs.promises.readFile(item.absPath)).toString("base64");
    const data: FeatureJobData = { hash: item.hash, name: item.absPath, image, stages: item.stages, keys: Object.fromEntries(item.stages.map((s) => [s, keys[s]])), config };
    inFlight.set(id, image.length);
    inFlightBytes += image.length;
    await features.add("cover", data, {
      jobId: id,
      attempts: q.attempts ?? 4,
      backoff: { type: "exponential", delay: q.backoffMs ?? 2000 },
      removeOnComplete: true,
      removeOnFail: false,
    });
  };
  /** Jobs in flight that neither queue holds any more (a worker adds the result before completing the job, so one always does). */
  const readdLost = async () => {
    for (const id of [...inFlight.keys()]) {
      if (done.has(id) || (await features.getJob(id)) || (await results.getJob(id))) continue;
      if (!inFlight.has(id) || done.has(id)) continue;
      log(`features: the job for ${expected.get(id)!.absPath} is no longer in Redis (restarted or evicted?): adding it again`);
      settle(id);
      await enqueue(id, expected.get(id)!);
      out.readded++;
    }
  };

  try {
    await features.waitUntilReady();
    await results.waitUntilReady();
    void collector.run();
    const counts = await features.getJobCounts("waiting", "active", "delayed", "prioritized", "failed");
    const leftovers = Object.values(counts).some((n) => n > 0) || (await results.count()) > 0;
    log(`features: ${todo.size} distinct cover image(s) of ${plan.planned.length} need work → ${q.target.display} (${names.features}, at most ${maxJobs} jobs / ${(maxBytes / 1048576).toFixed(0)} MB in Redis)`);
    for (const [id, item] of expected) {
      await until(() => interrupted || fatal !== null || (inFlight.size < maxJobs && (inFlightBytes < maxBytes || inFlight.size === 0)));
      if (interrupted || fatal) break;
      if (done.has(id)) continue;
      if (leftovers && (await adoptExisting(features, results, id))) {
        out.found++;
        inFlight.set(id, 0);
        continue;
      }
      await enqueue(id, item);
      out.enqueued++;
    }
    await until(() => interrupted || fatal !== null || inFlight.size === 0);
    if (fatal) throw fatal;
    if (interrupted) throw new InterruptedError(`features: interrupted after ${done.size} of ${todo.size} covers (cached in ${cache.dir}); ${inFlight.size} job(s) stay in Redis. Re-run the same command to collect them and go on.`);
  } finally {
    clearInterval(failedPoll);
    if (opts.handleSigint) process.removeListener("SIGINT", onSigint);
    progress?.finish();
    await collector.close();
    await features.close();
    await results.close();
  }
  stats.workers = Object.keys(out.perWorker).length;
  stats.computeMs = performance.now() - t0;
  if (out.failedJobs.length) log(`features: ${out.failedJobs.length} job(s) failed for good (rows say "not processed"); re-run to retry them`);
}

/**
 * Whether the job is already in Redis from an earlier run: waiting, running or delayed (it will
 * come), or its result is waiting to be collected. A job that failed for good is removed, so that
 * it is added afresh with all its attempts; a result the last run failed to cache is collected again.
 */
async function adoptExisting(features: Queue<FeatureJobData>, results: Queue<ResultJobData>, id: string): Promise<boolean> {
  const result = await results.getJob(id);
  if (result) {
    // A result the last run could not cache: collect it again.
    if ((await result.getState()) === "failed") await result.retry("failed");
    return true;
  }
  const job = await features.getJob(id);
  if (!job) return false;
  const state = await job.getState();
  if (state === "failed" || state === "completed" || state === "unknown") {
    await job.remove().catch(() => undefined);
    return false;
  }
  return true;
}
