/**
 * `npm run bench:serve`: `covergenre serve` as a user runs it (a child process on a free port) on
 * real covers of the data root's collections: latency of predict and of predict + occlusion (top
 * genre, 7 × 7 grid), median and p95 over sequential requests; requests per second with 4
 * concurrent clients; the server's resident memory after 10 requests and after 500.
 *
 * Model: COVERGENRE_MODEL or checkpoints/best (written by `npm start`). The machine's load average
 * is printed beside the figures: absolute numbers on two shared cores depend on it.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { checkpointsDir, resolveCollections } from "../lib/paths";
import { startServeProcess } from "../lib/serve/process";
import { isImageFile } from "../lib/vision/image";
import { makeRng } from "../lib/util/rng";

/** Up to `n` cover files spread over every collection (seeded shuffle, so runs compare). */
export function pickCovers(n: number): string[] {
  const files = resolveCollections().flatMap((c) => {
    const dir = c.layout === "labelled" ? path.join(c.dir, "images") : c.dir;
    return fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).filter(isImageFile).map((f) => path.join(dir, f));
  });
  const rng = makeRng(12);
  for (let i = files.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [files[i], files[j]] = [files[j], files[i]];
  }
  return files.slice(0, n);
}

/** Resident memory of a process in MB (Linux /proc). */
function rssMb(pid: number): number {
  const m = fs.readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) / 1024 : NaN;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

async function main(): Promise<void> {
  const model = process.env.COVERGENRE_MODEL ?? path.join(checkpointsDir(), "best");
  if (!fs.existsSync(path.join(model, "checkpoint.json"))) {
    console.log(`bench:serve skipped: no checkpoint at ${model} (run \`npm start\` first, or set COVERGENRE_MODEL)`);
    return;
  }
  const covers = pickCovers(120);
  if (covers.length < 20) {
    console.log(`bench:serve skipped: only ${covers.length} covers found in the data root's collections`);
    return;
  }
  const bodies = covers.map((f) => new Uint8Array(fs.readFileSync(f)));
  const load0 = os.loadavg();
  const t0 = Date.now();
  const { child, url } = await startServeProcess(["--model", model]);
  console.log(`bench:serve: ${model} served at ${url} (ready in ${((Date.now() - t0) / 1000).toFixed(1)} s); ${covers.length} real covers`);
  let sent = 0;
  const request = async (i: number, query = ""): Promise<number> => {
    const s = performance.now();
    const res = await fetch(`${url}api/predict${query}`, { method: "POST", body: bodies[i % bodies.length] });
    const body = (await res.json()) as { error?: string };
    sent++;
    if (!res.ok) throw new Error(`${covers[i % covers.length]}: HTTP ${res.status} ${body.error}`);
    return performance.now() - s;
  };
  try {
    const health = async () => (await (await fetch(`${url}api/health`)).json()) as { tensors: number };
    // The first 10 run both paths (5 with occlusion), so "after 10" has allocated what each path needs once.
    for (let i = 0; i < 10; i++) await request(i, i % 2 ? "?explain=top" : "");
    const rss10 = rssMb(child.pid!);
    const tensors10 = (await health()).tensors;
    const rssSeries: string[] = [];

    const predict: number[] = [];
    for (let i = 0; i < 60; i++) predict.push(await request(10 + i));
    const occlusion: number[] = [];
    for (let i = 0; i < 30; i++) occlusion.push(await request(70 + i, "?explain=top"));

    // 4 clients, each sending its next request as soon as its last one is answered.
    const perClient = 40;
    const c0 = performance.now();
    await Promise.all(Array.from({ length: 4 }, async (_, c) => {
      for (let i = 0; i < perClient; i++) await request(c * perClient + i);
    }));
    const reqPerSec = (4 * perClient) / ((performance.now() - c0) / 1000);

    // Up to 500 requests in all (every tenth with occlusion), then memory again.
    for (let i = sent; sent < 500; i++) {
      await request(i, i % 10 === 0 ? "?explain=top" : "");
      if (sent % 100 === 0) rssSeries.push(`${sent}: ${rssMb(child.pid!).toFixed(0)}`);
    }
    const rss500 = rssMb(child.pid!);
    const tensors500 = (await health()).tensors;
    const load1 = os.loadavg();
    const ms = (x: number) => `${Math.round(x)} ms`;
    console.log("");
    console.log(`| measure | value |`);
    console.log(`|---|---|`);
    console.log(`| predict latency, median / p95 (${predict.length} sequential) | ${ms(quantile(predict, 0.5))} / ${ms(quantile(predict, 0.95))} |`);
    console.log(`| predict + occlusion (top genre, 7×7), median / p95 (${occlusion.length} sequential) | ${ms(quantile(occlusion, 0.5))} / ${ms(quantile(occlusion, 0.95))} |`);
    console.log(`| requests/s, 4 concurrent clients (${4 * perClient} predicts) | ${reqPerSec.toFixed(2)} |`);
    console.log(`| server RSS after 10 / after ${sent} requests | ${rss10.toFixed(0)} MB / ${rss500.toFixed(0)} MB (${rss500 - rss10 >= 0 ? "+" : ""}${(rss500 - rss10).toFixed(0)} MB) |`);
    console.log(`| server RSS (MB) by requests served | ${rssSeries.join(", ")} |`);
    console.log(`| live tensors after 10 / after ${sent} requests | ${tensors10} / ${tensors500} |`);
    console.log(`| load average (1 min) at start / end | ${load0[0].toFixed(2)} / ${load1[0].toFixed(2)} on ${os.cpus().length} cores |`);
  } finally {
    child.kill("SIGINT");
  }
}

if (require.main === module) main().catch((err) => {
  console.error(`bench:serve: ${err instanceof Error ? err.message : err}`);
  process.exitCode = 1;
});
