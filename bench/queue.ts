/**
 * `npm run bench:queue`: what the Redis job queue (lib/queue/) costs and how it scales, on real
 * covers, in one run:
 *
 * - local `covergenre features` on 2 threads (today's single-machine run) and on 1 thread pinned to
 *   one core (the unit a queue worker is compared with);
 * - coordinator + 1 worker (1 thread, pinned to core 0);
 * - coordinator + 2 workers (1 thread each, pinned to cores 0 and 1: scaling on a 2-core machine);
 * - per cover: the queue's overhead (wall, vs the local single-thread run), the coordinator's CPU
 *   time and Redis's CPU time (what bounds the number of workers one coordinator can feed), the
 *   bytes a job and a result put in Redis; and Redis memory at peak (INFO memory) per run.
 *
 * Every run starts from an empty cache (and its own fresh redis-server), with the default feature
 * settings (faces + colour + histograms + the default backbones). Env: BENCH_N (covers, default
 * 300, spread over ../shared/data/discogs-covers/images, read at run time), BENCH_QUEUE_JOBS (the
 * coordinator's jobs-in-flight bound, default 64).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { BuildSummary } from "../lib/features/build";
import { defaultFeatureConfig } from "../lib/features/config";
import { listCovers } from "../lib/features/covers";
import { resolveDataRoot, PROJECT_ROOT } from "../lib/paths";
import { parseQueueUrl } from "../lib/queue/connection";
import { buildFeatureTableViaQueue } from "../lib/queue/coordinator";
import { haveRedisServer, startLocalRedis } from "../lib/queue/localRedis";

const N = Number(process.env.BENCH_N ?? 300);
const MAX_JOBS = Number(process.env.BENCH_QUEUE_JOBS ?? 64);
const BIN = path.join(PROJECT_ROOT, "bin", "covergenre.js");
const fmt = (x: number, d = 2) => x.toFixed(d);
const load = () => os.loadavg().map((l) => l.toFixed(1)).join(" ");

/** Run the CLI (optionally pinned to cores with taskset); resolves with its exit code and output. */
function cli(args: string[], cores?: string): { done: Promise<{ code: number; stdout: string; stderr: string }>; kill: (sig: NodeJS.Signals) => void } {
  const cmd = cores ? "taskset" : process.execPath;
  const argv = cores ? ["-c", cores, process.execPath, BIN, ...args] : [BIN, ...args];
  const child = spawn(cmd, argv, { cwd: PROJECT_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  return {
    done: new Promise((resolve) => child.on("exit", (code) => resolve({ code: code ?? 1, stdout, stderr }))),
    kill: (sig) => child.kill(sig),
  };
}

async function main(): Promise<void> {
  const images = path.join(resolveDataRoot().dir, "discogs-covers");
  if (!fs.existsSync(images)) {
    console.log(`bench:queue skipped: ${images} not found (needs the shared covers)`);
    return;
  }
  if (!haveRedisServer()) {
    console.log("bench:queue skipped: redis-server is not installed (apt-get install redis-server)");
    return;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bench-queue-"));
  const subset = path.join(tmp, "covers");
  fs.mkdirSync(path.join(subset, "images"), { recursive: true });
  const all = (await listCovers(images)).covers;
  const step = Math.max(1, Math.floor(all.length / N));
  const picked = all.filter((_, i) => i % step === 0).slice(0, N);
  const labels = picked.map((c) => {
    const file = `images/${path.basename(c.path)}`;
    fs.symlinkSync(c.absPath, path.join(subset, file));
    return `${c.masterId},"${c.genres.join("|")}",${file}`;
  });
  fs.writeFileSync(path.join(subset, "labels.csv"), "release_id,genres,file\n" + labels.join("\n") + "\n");
  const imageBytes = picked.reduce((a, c) => a + fs.statSync(c.absPath).size, 0);
  const config = defaultFeatureConfig();
  console.log(`bench:queue — ${picked.length} real covers (${fmt(imageBytes / picked.length / 1024, 1)} KB each on average) from ${images}, ${os.cpus().length} CPUs`);
  console.log(`settings: faces + colour + histograms + ${config.backbones.join(", ")}; every run from an empty cache; jobs in flight ≤ ${MAX_JOBS}`);
  console.log(`load average at start: ${load()} (other jobs share these cores)`);
  const table = (name: string) => ["--covers", subset, "--out", path.join(tmp, name, "covers.csv"), "--json"];

  // Local runs, as a user would start them.
  const local = async (label: string, threads: number, cores?: string): Promise<BuildSummary> => {
    const r = await cli(["features", ...table(label), "--workers", String(threads)], cores).done;
    if (r.code !== 0) throw new Error(`${label}: exit ${r.code}: ${r.stderr.slice(-2000)}`);
    const s = JSON.parse(r.stdout) as BuildSummary;
    console.log(`${label.padEnd(40)} ${fmt(s.computed / (s.computeMs / 1000))} covers/s (${fmt(s.computeMs / 1000, 1)} s compute incl. model load; load ${load()})`);
    return s;
  };
  const local2 = await local("local features, 2 threads", 2);
  const local1 = await local("local features, 1 thread on core 0", 1, "0");

  // Queue runs: a fresh redis-server each (its peak memory is this run's), workers pinned one core each.
  const queued = async (label: string, cores: string[]) => {
    const redis = await startLocalRedis({ password: "bench-queue-password" });
    const workers = cores.map((c) => cli(["worker", "--queue", redis.url, "--workers", "1"], c));
    const before = await redis.info("memory");
    const cpu0 = await redis.info("cpu");
    const usage0 = process.cpuUsage();
    const s = await buildFeatureTableViaQueue(
      { coversDir: subset, tablePath: path.join(tmp, label, "covers.csv"), config, progress: false, log: () => undefined },
      { target: parseQueueUrl(redis.url), maxJobs: MAX_JOBS },
    );
    const usage = process.cpuUsage(usage0);
    const cpu1 = await redis.info("cpu");
    const mem = await redis.info("memory");
    for (const w of workers) w.kill("SIGTERM");
    const exits = await Promise.all(workers.map((w) => w.done));
    await redis.stop();
    const bad = exits.find((e) => e.code !== 0);
    if (bad) throw new Error(`${label}: a worker exited ${bad.code}: ${bad.stderr.slice(-2000)}`);
    const redisCpu = Number(cpu1.used_cpu_user) + Number(cpu1.used_cpu_sys) - Number(cpu0.used_cpu_user) - Number(cpu0.used_cpu_sys);
    const peak = Number(mem.used_memory_peak) - Number(before.used_memory);
    const rate = s.computed / (s.computeMs / 1000);
    console.log(
      `${label.padEnd(40)} ${fmt(rate)} covers/s (${fmt(s.computeMs / 1000, 1)} s; per worker ${Object.values(s.queue.perWorker).join(" / ")} covers; load ${load()})`,
    );
    return { s, rate, coordCpuMs: (usage.user + usage.system) / 1000 / s.computed, redisCpuMs: (redisCpu * 1000) / s.computed, peakMB: peak / 1048576 };
  };
  const q1 = await queued("coordinator + 1 worker (1 core)", ["0"]);
  const q2 = await queued("coordinator + 2 workers (1 core each)", ["0", "1"]);

  const n = local1.computed;
  const overheadMs = (q1.s.computeMs - local1.computeMs) / n;
  const perWorker = q2.rate / 2;
  console.log("");
  console.log(`scaling: 2 workers / 1 worker = ${fmt(q2.rate / q1.rate)}x; 1 queue worker / local 1 thread = ${fmt(q1.rate / (n / (local1.computeMs / 1000)))}; 2 queue workers / local 2 threads = ${fmt(q2.rate / (local2.computed / (local2.computeMs / 1000)))}`);
  console.log(`queue overhead per cover: ${fmt(overheadMs, 1)} ms wall (coordinator + 1 worker vs local 1 thread, same core)`);
  console.log(`coordinator CPU per cover: ${fmt(q1.coordCpuMs, 2)} ms (1 worker), ${fmt(q2.coordCpuMs, 2)} ms (2 workers) → one coordinator core feeds ≈ ${fmt(1000 / q2.coordCpuMs, 0)} covers/s`);
  console.log(`Redis CPU per cover: ${fmt(q1.redisCpuMs, 2)} ms / ${fmt(q2.redisCpuMs, 2)} ms → one Redis core serves ≈ ${fmt(1000 / Math.max(q1.redisCpuMs, q2.redisCpuMs), 0)} covers/s`);
  console.log(`Redis memory at peak above idle: ${fmt(q1.peakMB, 1)} MB (1 worker), ${fmt(q2.peakMB, 1)} MB (2 workers), ≤ ${MAX_JOBS} jobs in flight → ≈ ${fmt((Math.max(q1.peakMB, q2.peakMB) * 1024) / MAX_JOBS, 0)} KB per job in flight`);
  const ceiling = Math.min(1000 / q2.coordCpuMs, 1000 / Math.max(q1.redisCpuMs, q2.redisCpuMs));
  console.log("");
  console.log("| workers (1 core each) | covers/s | hours for 10^6 covers |");
  console.log("|---|---|---|");
  for (const w of [1, 10, 100]) {
    const r = Math.min(perWorker * w, ceiling);
    console.log(`| ${w} | ${fmt(r, 1)}${perWorker * w > ceiling ? " (coordinator/Redis bound)" : ""} | ${fmt(1e6 / r / 3600, 1)} |`);
  }
  console.log(`load average at end: ${load()}`);
  fs.rmSync(tmp, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
