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
 * Wall-clock rates on this shared machine move with the other jobs' load, so each process's CPU
 * time is measured too (GNU time for the local runs, /proc for the workers): CPU seconds per cover
 * on a core of its own is what a worker machine would do, and the scaling and the overhead are
 * read from those.
 *
 * Every run starts from an empty cache (and its own fresh redis-server), with the default feature
 * settings (faces + colour + histograms + the default backbones). Env: BENCH_N (covers, default
 * 300, spread over ../shared/data/discogs-covers/images, read at run time), BENCH_QUEUE_JOBS (the
 * coordinator's jobs-in-flight bound, default 64).
 */
import { execFileSync, spawn } from "node:child_process";
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
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

/** CPU seconds (user + system, all threads) a running process has used so far. */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Run the CLI (optionally pinned to cores with taskset); resolves with its exit code and output. */
function cli(args: string[], cores?: string, timed = false): { pid: number; done: Promise<{ code: number; stdout: string; stderr: string }>; kill: (sig: NodeJS.Signals) => void } {
  // taskset execs node (same pid, so /proc and signals reach it); GNU time reports the CPU of a run that exits by itself.
  const base = [...(cores ? ["taskset", "-c", cores] : []), process.execPath, BIN, ...args];
  const full = timed ? ["/usr/bin/time", "-f", "__cpu %U %S", ...base] : base;
  const [cmd, ...argv] = full;
  const child = spawn(cmd, argv, { cwd: PROJECT_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  return {
    pid: child.pid!,
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
  const local = async (label: string, threads: number, cores?: string): Promise<BuildSummary & { cpuMs: number }> => {
    const r = await cli(["features", ...table(label), "--workers", String(threads)], cores, true).done;
    if (r.code !== 0) throw new Error(`${label}: exit ${r.code}: ${r.stderr.slice(-2000)}`);
    const s = JSON.parse(r.stdout) as BuildSummary;
    const m = /__cpu ([\d.]+) ([\d.]+)/.exec(r.stderr);
    const cpuMs = m ? ((Number(m[1]) + Number(m[2])) * 1000) / s.computed : NaN;
    console.log(`${label.padEnd(40)} ${fmt(s.computed / (s.computeMs / 1000))} covers/s wall (${fmt(s.computeMs / 1000, 1)} s incl. model load); CPU ${fmt(cpuMs, 0)} ms/cover (whole process); load ${load()}`);
    return { ...s, cpuMs };
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
    const workerCpuMs = workers.map((w) => (cpuSeconds(w.pid) * 1000) / s.computed);
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
    const counts = workers.map((w) => Object.entries(s.queue.perWorker).find(([k]) => k.endsWith(`:${w.pid}`))?.[1] ?? 0);
    // A worker's CPU per cover it computed (its model load included), i.e. its rate on a core of its own.
    const ownCpuMs = workers.map((w, i) => (workerCpuMs[i] * s.computed) / Math.max(1, counts[i]));
    console.log(
      `${label.padEnd(40)} ${fmt(rate)} covers/s wall (${fmt(s.computeMs / 1000, 1)} s); covers per worker ${counts.join(" / ")}; worker CPU ${ownCpuMs.map((x) => fmt(x, 0)).join(" / ")} ms per cover it computed; load ${load()}`,
    );
    return { s, rate, ownCpuMs, counts, coordCpuMs: (usage.user + usage.system) / 1000 / s.computed, redisCpuMs: (redisCpu * 1000) / s.computed, workerQueueMs: s.queue.workerQueueMs / s.computed, peakMB: peak / 1048576 };
  };
  const q1 = await queued("coordinator + 1 worker (1 core)", ["0"]);
  const q2 = await queued("coordinator + 2 workers (1 core each)", ["0", "1"]);

  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  // Workers that computed nothing (possible on tiny BENCH_N) say nothing about the rate.
  const workerCpu = mean(q2.ownCpuMs.filter((_, i) => q2.counts[i] > 0));
  const perWorker = 1000 / workerCpu;
  const overheadCpu = mean(q1.ownCpuMs) - local1.cpuMs + q1.coordCpuMs + q1.redisCpuMs;
  console.log("");
  console.log(`wall (under the load above): 2 workers / 1 worker = ${fmt(q2.rate / q1.rate)}x; 1 worker / local 1 thread = ${fmt(q1.rate / (local1.computed / (local1.computeMs / 1000)))}x; 2 workers / local 2 threads = ${fmt(q2.rate / (local2.computed / (local2.computeMs / 1000)))}x`);
  console.log(`CPU per cover: local 1 thread ${fmt(local1.cpuMs, 0)} ms; a queue worker ${fmt(mean(q1.ownCpuMs), 0)} ms (1 worker) / ${fmt(workerCpu, 0)} ms (2 workers) → ${fmt(perWorker)} covers/s per worker on a core of its own`);
  console.log(`queue overhead per cover: ${fmt(overheadCpu, 1)} ms of CPU in all (worker − local + coordinator ${fmt(q1.coordCpuMs, 2)} + Redis ${fmt(q1.redisCpuMs, 2)}); the workers' own queue work measured directly: ${fmt(q1.workerQueueMs, 2)} / ${fmt(q2.workerQueueMs, 2)} ms`);
  const coordCeiling = 1000 / Math.max(q1.coordCpuMs, q2.coordCpuMs);
  const redisCeiling = 1000 / Math.max(q1.redisCpuMs, q2.redisCpuMs);
  console.log(`coordinator CPU per cover (planning, reading, enqueueing, caching results, assembling): ${fmt(q1.coordCpuMs, 2)} / ${fmt(q2.coordCpuMs, 2)} ms → one coordinator core feeds ≈ ${fmt(coordCeiling, 0)} covers/s`);
  console.log(`Redis CPU per cover: ${fmt(q1.redisCpuMs, 2)} / ${fmt(q2.redisCpuMs, 2)} ms → one Redis core serves ≈ ${fmt(redisCeiling, 0)} covers/s`);
  console.log(`Redis memory at peak above idle: ${fmt(q1.peakMB, 1)} MB (1 worker), ${fmt(q2.peakMB, 1)} MB (2 workers), ≤ ${MAX_JOBS} jobs in flight → ≈ ${fmt((Math.max(q1.peakMB, q2.peakMB) * 1024) / MAX_JOBS, 0)} KB per job in flight`);
  const ceiling = Math.min(coordCeiling, redisCeiling);
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
