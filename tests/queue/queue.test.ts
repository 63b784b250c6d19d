/**
 * The queued feature build end to end, on a real redis-server (with requirepass) and real
 * `covergenre worker` processes: byte-identical to the local run, nothing lost when a worker is
 * killed with -9 or stopped with SIGTERM, nothing enqueued twice, a bad image one error row, the
 * password in no output. Skipped, with a message, only where redis-server is not installed.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Queue } from "bullmq";
import { buildFeatureTable } from "../../lib/features/build";
import { defaultFeatureConfig, type FeatureConfig } from "../../lib/features/config";
import { readFeatureSet } from "../../lib/features/store";
import { parseQueueUrl, queueNames } from "../../lib/queue/connection";
import { buildFeatureTableViaQueue } from "../../lib/queue/coordinator";
import { haveRedisServer, startLocalRedis, type LocalRedis } from "../../lib/queue/localRedis";
import { startQueueWorker } from "../../lib/queue/worker";
import { runBin } from "../helpers/cli";
import { makeCovers, startWorker, tableFiles, type WorkerProcess } from "./helpers";
import { needs, REDIS_PART } from "../helpers/parts";

const maybe = needs({ [REDIS_PART]: haveRedisServer() }).describe;

const quiet = () => undefined;
/** 6 generated covers + a photo + a bad file; the duplicate shares a job: 8 distinct contents. */
const GENERATED = 6;
const DISTINCT = GENERATED + 2;

function config(cacheDir: string, extra: Partial<FeatureConfig> = {}): FeatureConfig {
  return { ...defaultFeatureConfig(), backbones: ["inception_v3"], maps: ["inception_v3"], mapDtype: "f16", workers: 0, batchSize: 2, cacheDir, ...extra };
}

function expectSameFiles(a: string, b: string): void {
  const fa = tableFiles(a);
  const fb = tableFiles(b);
  expect(Object.keys(fb)).toEqual(Object.keys(fa));
  expect(Object.keys(fa).length).toBeGreaterThanOrEqual(7); // csv, manifest, faces, hist, emb + json, map + json
  for (const name of Object.keys(fa)) {
    if (!fa[name].equals(fb[name])) throw new Error(`${name} differs between ${path.dirname(a)} and ${path.dirname(b)}`);
  }
}

maybe("features --queue with worker processes (real redis-server)", () => {
  const password = `pw-${randomBytes(8).toString("hex")}`;
  let redis: LocalRedis;
  let dir: string;
  let covers: string;
  let localTable: string;
  const workers: WorkerProcess[] = [];
  const spawnWorker = (url: string, args: string[] = []) => {
    const w = startWorker(url, args);
    workers.push(w);
    return w;
  };

  beforeAll(async () => {
    redis = await startLocalRedis({ password });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "queue-"));
    covers = path.join(dir, "covers");
    await makeCovers(covers, GENERATED);
    localTable = path.join(dir, "local", "covers.csv");
    await buildFeatureTable({ coversDir: covers, tablePath: localTable, config: config(path.join(dir, "local-cache")), progress: false, log: quiet });
  });
  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
    await redis?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test("coordinator + 2 workers: the local run's table and sidecars byte for byte; a bad image is one error row; the password appears nowhere; a re-run enqueues nothing", async () => {
    const w1 = spawnWorker(redis.url);
    const w2 = spawnWorker(redis.url);
    await Promise.all([w1.waitFor(/waiting for jobs/), w2.waitFor(/waiting for jobs/)]);
    const table = path.join(dir, "queued", "covers.csv");
    const args = ["features", "--covers", covers, "--out", table, "--backbones", "inception_v3", "--maps", "inception_v3", "--cache", path.join(dir, "queued-cache"), "--queue", redis.url, "--json"];
    const run = await runBin(args);
    expect(run.stderr).not.toMatch(/Error:/);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.queue.enqueued).toBe(DISTINCT);
    expect(summary.queue.failedJobs).toEqual([]);
    // Both workers took covers (each holds 2 jobs at a time here, so neither can take all of them).
    expect(Object.keys(summary.queue.perWorker)).toHaveLength(2);
    expect(Object.values(summary.queue.perWorker).reduce((a: number, b) => a + (b as number), 0)).toBe(DISTINCT);
    expectSameFiles(localTable, table);

    const set = await readFeatureSet(table);
    const failed = set.rows.filter((r) => r.error);
    expect(failed).toHaveLength(1);
    expect(failed[0].error).toMatch(/^cannot decode image .*Jazz\/3000\.jpeg/);
    // Not a failed job: decoding errors are results, computed once, never retried.
    expect(w1.output() + w2.output()).not.toMatch(/failed \(attempt/);

    // The password: not in any output, table file or cache file (the URL is shown as redis://:***@…).
    expect(run.stderr).toContain(":***@127.0.0.1");
    const outputs = [run.stdout, run.stderr, w1.output(), w2.output()];
    for (const f of Object.values(tableFiles(table))) outputs.push(f.toString("latin1"));
    for (const text of outputs) expect(text).not.toContain(password);

    const again = await runBin(args);
    expect(again.code).toBe(0);
    const second = JSON.parse(again.stdout);
    expect(second.queue.enqueued).toBe(0);
    expect(second.computed).toBe(0);
    const q = new Queue(queueNames("covergenre").features, { connection: parseQueueUrl(redis.url).connection });
    const counts = await q.getJobCounts("waiting", "active", "delayed", "failed", "completed");
    await q.close();
    expect(Object.values(counts).every((n) => n === 0)).toBe(true);

    // SIGTERM with nothing to do: exit 0, promptly.
    const t0 = Date.now();
    w1.child.kill("SIGTERM");
    w2.child.kill("SIGTERM");
    expect(await w1.exited).toBe(0);
    expect(await w2.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  test("a worker killed with -9 mid-job and one stopped with SIGTERM lose nothing: the last worker finishes, the table is the local one", async () => {
    const name = "killtest";
    const target = parseQueueUrl(redis.url, { name });
    const table = path.join(dir, "kill", "covers.csv");
    const logs: string[] = [];
    const coordinator = buildFeatureTableViaQueue(
      { coversDir: covers, tablePath: table, config: config(path.join(dir, "kill-cache")), progress: false, log: (l) => logs.push(l) },
      { target, pollMs: 200 },
    );
    const lock = ["--queue-name", name, "--lock-seconds", "2"];
    const a = spawnWorker(redis.url, lock);
    await a.waitFor(/loading models/);
    const features = new Queue(queueNames(name).features, { connection: target.connection });
    // Kill it as soon as it holds jobs (loading its models takes seconds, more on a loaded machine).
    let active = 0;
    for (const until = Date.now() + 60_000; Date.now() < until && active === 0; ) {
      await new Promise((r) => setTimeout(r, 100));
      active = await features.getActiveCount();
    }
    expect(active).toBeGreaterThan(0); // it holds jobs when it dies
    a.child.kill("SIGKILL");
    expect(await a.exited).toBe("SIGKILL");

    const c = spawnWorker(redis.url, lock);
    await c.waitFor(/loading models/);
    const t0 = Date.now();
    c.child.kill("SIGTERM");
    expect(await c.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(c.output()).toMatch(/stopping/);
    expect(c.output()).toMatch(/handed back/);

    const b = spawnWorker(redis.url, lock);
    const summary = await coordinator;
    expect(summary.queue.failedJobs).toEqual([]);
    expect(summary.rows).toBe(DISTINCT + 1);
    expect(Object.keys(summary.queue.perWorker).some((w) => w.endsWith(`:${b.child.pid}`))).toBe(true);
    expectSameFiles(localTable, table);
    const left = await features.getJobCounts("waiting", "active", "delayed", "failed");
    await features.close();
    expect(Object.values(left).every((n) => n === 0)).toBe(true);
    b.child.kill("SIGTERM");
    expect(await b.exited).toBe(0);
  });

  test("transient failures retry with backoff; a cover that always fails becomes one failed job (row: not processed) and a re-run retries it", async () => {
    const name = "retrytest";
    const target = parseQueueUrl(redis.url, { name });
    const table = path.join(dir, "retry", "covers.csv");
    const colourOnly = config(path.join(dir, "retry-cache"), { faces: false, backbones: [], maps: [] });
    const photo = fs.readFileSync(path.join(covers, "multi/Pop+Rock/2000.jpeg"));
    const seen = new Set<string>();
    const workerLog: string[] = [];
    let breakPhoto = true;
    const worker = await startQueueWorker({
      target,
      threads: 0,
      batchSize: 1,
      lockMs: 5000,
      log: (l) => workerLog.push(l),
      beforeBatch: (items) => {
        for (const it of items) {
          if (breakPhoto && it.bytes && Buffer.from(it.bytes).equals(photo)) throw new Error("simulated crash on the photo");
          if (!seen.has(it.hash)) {
            seen.add(it.hash);
            throw new Error("simulated transient failure");
          }
        }
      },
    });
    const t0 = Date.now();
    const first = await buildFeatureTableViaQueue(
      { coversDir: covers, tablePath: table, config: colourOnly, progress: false, log: quiet },
      { target, attempts: 3, backoffMs: 300, pollMs: 200 },
    );
    // Every cover failed once and was retried after ≥ 300 ms; the photo failed all 3 attempts (300 + 600 ms of backoff).
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(workerLog.filter((l) => /simulated transient failure/.test(l)).length).toBe(DISTINCT - 1);
    expect(first.queue.failedJobs).toHaveLength(1);
    expect(first.queue.failedJobs[0].path).toMatch(/multi\/Pop\+Rock\/2000\.jpeg$/);
    expect(first.queue.failedJobs[0].reason).toMatch(/simulated crash on the photo.*after 3 attempt/);
    let set = await readFeatureSet(table);
    expect(set.rows.find((r) => r.path === "multi/Pop+Rock/2000.jpeg")!.error).toMatch(/not processed/);
    expect(set.rows.filter((r) => r.error)).toHaveLength(2); // the photo and the bad file

    breakPhoto = false;
    const second = await buildFeatureTableViaQueue(
      { coversDir: covers, tablePath: table, config: colourOnly, progress: false, log: quiet },
      { target, attempts: 3, backoffMs: 300, pollMs: 200 },
    );
    expect(second.queue.enqueued).toBe(1);
    expect(second.queue.failedJobs).toEqual([]);
    set = await readFeatureSet(table);
    expect(set.rows.find((r) => r.path === "multi/Pop+Rock/2000.jpeg")!.error).toBeNull();
    await worker.stop();
    expect((await worker.closed).fatal).toBeNull();
  });

  test("jobs that vanish from Redis (a restart without persistence) are added again; nothing is lost", async () => {
    const name = "losttest";
    const target = parseQueueUrl(redis.url, { name });
    const table = path.join(dir, "lost", "covers.csv");
    const colourOnly = config(path.join(dir, "lost-cache"), { faces: false, backbones: [], maps: [] });
    const coordinator = buildFeatureTableViaQueue(
      { coversDir: covers, tablePath: table, config: colourOnly, progress: false, log: quiet },
      { target, pollMs: 200, lostAfterMs: 1000 },
    );
    const features = new Queue(queueNames(name).features, { connection: target.connection });
    for (let i = 0; i < 600 && (await features.getWaitingCount()) < DISTINCT; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await features.getWaitingCount()).toBe(DISTINCT);
    // Every job gone, as after a restart of a Redis that keeps nothing.
    for (const job of await features.getJobs(["waiting"], 0, -1)) await job.remove();
    expect(await features.getWaitingCount()).toBe(0);
    await features.close();
    const worker = await startQueueWorker({ target, threads: 0, batchSize: 2, log: quiet });
    const summary = await coordinator;
    await worker.stop();
    expect(summary.queue.readded).toBe(DISTINCT);
    expect(summary.queue.failedJobs).toEqual([]);
    const set = await readFeatureSet(table);
    expect(set.rows.filter((r) => r.error)).toHaveLength(1); // only the bad file
  });

  test("a wrong password is a clear error that does not show it", async () => {
    const wrong = `wrong-${randomBytes(6).toString("hex")}`;
    const run = await runBin(["worker", "--queue", `redis://:${wrong}@127.0.0.1:${redis.port}`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/WRONGPASS|NOAUTH|invalid username-password/i);
    expect(run.stderr + run.stdout).not.toContain(wrong);
  });
});
