/**
 * `npm run bench:dump`: how fast the masters dump is read, against the alternatives, in one run.
 *
 * A large gzip dump (default 300k masters; BENCH_DUMP_MASTERS to change) is synthesised into
 * .cache/bench-dump/ from the real 1,000-master excerpt of the 2020 dump (records repeated with new
 * ids), then each reader runs in its own child process so its peak RSS is its own:
 * - gunzip:      raw decompression only — the ceiling for any reader of a .gz dump;
 * - ours:        lib/discogs/dump.ts (byte-level record split + targeted tag scanner);
 * - fxp-record:  the same record split, each record parsed by fast-xml-parser (the issue's suggestion);
 * - sax:         the `sax` streaming parser building the same fields;
 * - whole-doc:   the study's approach — the whole document in memory, parsed at once
 *                (fast-xml-parser), on a 50k-master file only: the full one would need several GB;
 * - ours-50k:    ours on that small file, to show its memory does not grow with the file.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";

const ROOT = path.resolve(__dirname, "..");
const CACHE = path.join(ROOT, ".cache", "bench-dump");
const SAMPLE = path.resolve(ROOT, "..", "shared", "data", "discogs-dump", "xml2db_discogs_20200806_masters.sample1000.xml.gz");

interface Result {
  method: string;
  file: string;
  masters: number;
  genres: number;
  bytes: number;
  seconds: number;
  /** CPU time (user + system, all threads): the fair measure when other jobs share the cores. */
  cpuSeconds: number;
  peakRssMB: number;
  /** ours only: largest heap + buffers after a forced full GC, sampled every 50k masters. */
  liveMB: number;
}

async function synthesise(target: string, masters: number): Promise<void> {
  if (fs.existsSync(target)) return;
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const text = zlib.gunzipSync(fs.readFileSync(SAMPLE)).toString("utf8");
  const records = text.match(/<master [\s\S]*?<\/master>/g) ?? [];
  if (records.length === 0) throw new Error(`no records in ${SAMPLE}`);
  process.stderr.write(`bench:dump: synthesising ${masters} masters from ${records.length} real ones into ${target} …\n`);
  function* lines(): Generator<string> {
    yield "<masters>\n";
    for (let i = 0; i < masters; i++) {
      const rec = records[i % records.length];
      yield rec.replace(/^<master id="\d+"/, `<master id="${i + 1}"`) + "\n";
    }
    yield "</masters>\n";
  }
  const tmp = `${target}.${process.pid}.tmp`;
  await pipeline(Readable.from(lines()), zlib.createGzip({ level: 6 }), fs.createWriteStream(tmp));
  fs.renameSync(tmp, target);
}

// ---------------------------------------------------------------- readers (run in a child)

async function runMethod(method: string, file: string): Promise<Omit<Result, "method" | "file" | "peakRssMB">> {
  // Load the parsers before the clock starts (tsx compiles our TypeScript on first require).
  const { readMasters } = require("../lib/discogs/dump") as typeof import("../lib/discogs/dump");
  const { XMLParser } = require("fast-xml-parser");
  const sax = require("sax") as typeof import("sax");
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  let liveMB = 0;
  let masters = 0;
  let genres = 0;
  let bytes = 0;
  if (method === "gunzip") {
    for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }).pipe(zlib.createGunzip({ chunkSize: 256 * 1024 }))) bytes += (chunk as Buffer).length;
  } else if (method === "ours") {
    const reader = readMasters(file);
    const gc = (globalThis as { gc?: () => void }).gc;
    for await (const batch of reader.batches()) {
      for (const m of batch) {
        masters++;
        genres += m.genres.length;
        // Peak RSS mostly shows how lazily V8 frees garbage; live memory after a full GC is what
        // must not grow with the file. A handful of forced GCs costs a few ms.
        if (gc && masters % 50_000 === 0) {
          gc();
          const u = process.memoryUsage();
          liveMB = Math.max(liveMB, (u.heapUsed + u.arrayBuffers) / 1e6);
        }
      }
    }
    bytes = reader.bytesRead;
  } else if (method === "fxp-record") {
    const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@_", isArray: (name: string) => ["genre", "style", "artist", "image", "video"].includes(name) });
    let pending = "";
    const dec = new (require("node:string_decoder").StringDecoder)("utf8");
    for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }).pipe(zlib.createGunzip({ chunkSize: 256 * 1024 }))) {
      bytes += (chunk as Buffer).length;
      pending += dec.write(chunk);
      let pos = 0;
      for (;;) {
        const start = pending.indexOf("<master ", pos);
        if (start === -1) break;
        const end = pending.indexOf("</master>", start);
        if (end === -1) {
          pos = start;
          break;
        }
        const doc = parser.parse(pending.slice(start, end + 9));
        const m = doc.master;
        masters++;
        genres += m.genres?.genre?.length ?? 0;
        pos = end + 9;
      }
      pending = pending.slice(pos);
    }
  } else if (method === "sax") {
    const stream = sax.parser(true, { trim: false });
    let depth = 0;
    let inGenres = false;
    let capture = false;
    let text = "";
    let current: { id: number; genres: string[]; title: string; mainRelease: string } | null = null;
    const stack: string[] = [];
    stream.onopentag = (node) => {
      stack.push(node.name);
      depth = stack.length;
      if (node.name === "master" && depth === 2) current = { id: Number(node.attributes.id), genres: [], title: "", mainRelease: "" };
      else if (current && depth === 3 && node.name === "genres") inGenres = true;
      else if (current && ((inGenres && node.name === "genre") || (depth === 3 && (node.name === "title" || node.name === "main_release")))) {
        capture = true;
        text = "";
      }
    };
    stream.ontext = (t) => {
      if (capture) text += t;
    };
    stream.onclosetag = (name) => {
      const d = stack.length;
      stack.pop();
      if (!current) return;
      if (capture) {
        if (name === "genre") current.genres.push(text);
        else if (name === "title" && d === 3) current.title = text;
        else if (name === "main_release") current.mainRelease = text;
        capture = false;
      }
      if (name === "genres") inGenres = false;
      if (name === "master" && d === 2) {
        masters++;
        genres += current.genres.length;
        current = null;
      }
    };
    stream.onerror = (e) => {
      throw e;
    };
    const dec = new (require("node:string_decoder").StringDecoder)("utf8");
    for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }).pipe(zlib.createGunzip({ chunkSize: 256 * 1024 }))) {
      bytes += (chunk as Buffer).length;
      stream.write(dec.write(chunk));
    }
    stream.close();
  } else if (method === "whole-doc") {
    const text = zlib.gunzipSync(fs.readFileSync(file)).toString("utf8");
    bytes = Buffer.byteLength(text);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@_", isArray: (name: string) => ["master", "genre", "style", "artist", "image", "video"].includes(name) }).parse(text);
    for (const m of doc.masters.master) {
      masters++;
      genres += m.genres?.genre?.length ?? 0;
    }
  } else throw new Error(`unknown method ${method}`);
  const cpu = process.cpuUsage(cpu0);
  return { masters, genres, bytes, seconds: Number(process.hrtime.bigint() - t0) / 1e9, cpuSeconds: (cpu.user + cpu.system) / 1e6, liveMB };
}

// ---------------------------------------------------------------- driver

function child(method: string, file: string): Result {
  const r = spawnSync(process.execPath, ["--max-old-space-size=6144", "--expose-gc", "-r", "tsx/cjs", __filename, "--child", method, file], { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${method} failed (exit ${r.status}): ${r.stderr.slice(-2000)}`);
  const res = JSON.parse(r.stdout.trim().split("\n").pop()!);
  return { method, file: path.basename(file), ...res };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === "--child") {
    const res = await runMethod(argv[1], argv[2]);
    const peakRssMB = process.resourceUsage().maxRSS / 1024;
    process.stdout.write(JSON.stringify({ ...res, peakRssMB }) + "\n");
    return;
  }
  if (!fs.existsSync(SAMPLE)) {
    console.log(`bench:dump skipped: the real excerpt ${SAMPLE} is not there (it is synthesised from it)`);
    return;
  }
  const big = Number(process.env.BENCH_DUMP_MASTERS ?? 300_000);
  const small = Math.min(50_000, big);
  const bigFile = path.join(CACHE, `masters-${big}.xml.gz`);
  const smallFile = path.join(CACHE, `masters-${small}.xml.gz`);
  await synthesise(bigFile, big);
  await synthesise(smallFile, small);
  const only = process.env.BENCH_DUMP_METHODS?.split(",");
  const plan: [string, string][] = [
    ["gunzip", bigFile],
    ["ours", bigFile],
    ["fxp-record", bigFile],
    ["sax", bigFile],
    ["ours-50k", smallFile],
    ["whole-doc", smallFile],
  ];
  const results: Result[] = [];
  for (const [name, file] of plan) {
    if (only && !only.includes(name)) continue;
    process.stderr.write(`bench:dump: ${name} on ${path.basename(file)} …\n`);
    const r = child(name.replace(/-50k$/, ""), file);
    r.method = name;
    results.push(r);
  }
  const ours = results.find((r) => r.method === "ours");
  const oursSmall = results.find((r) => r.method === "ours-50k");
  const ceiling = results.find((r) => r.method === "gunzip");
  const rows = results.map((r) => {
    const rate = r.masters / r.seconds;
    const ref = r.file === path.basename(smallFile) ? oursSmall : ours;
    return {
      method: r.method,
      file: r.file,
      masters: r.masters,
      "masters/s": r.masters ? Math.round(rate) : null,
      "MB/s (uncompressed)": +(r.bytes / 1e6 / r.seconds).toFixed(1),
      "peak RSS MB": +r.peakRssMB.toFixed(0),
      seconds: +r.seconds.toFixed(2),
      "masters/CPU-s": r.masters ? Math.round(r.masters / r.cpuSeconds) : null,
      "MB/CPU-s": +(r.bytes / 1e6 / r.cpuSeconds).toFixed(1),
      "ours ÷ this (speed)": ref && r.masters ? +((ref.masters / ref.seconds) / rate).toFixed(2) : null,
      "ours ÷ this (CPU)": ref && r.masters ? +((ref.masters / ref.cpuSeconds) / (r.masters / r.cpuSeconds)).toFixed(2) : null,
    };
  });
  console.log(`bench:dump — ${big.toLocaleString("en")} masters synthesised from the real 2020 excerpt (${(fs.statSync(bigFile).size / 1e6).toFixed(0)} MB gz), node ${process.version}, ${require("node:os").cpus().length} cores (load ${require("node:os").loadavg()[0].toFixed(2)})`);
  console.table(rows);
  if (ours && ceiling) {
    const wall = ours.masters / ours.seconds;
    const perCpu = ours.masters / ours.cpuSeconds;
    console.log(
      `ours: ${Math.round(wall).toLocaleString("en")} masters/s wall, ${Math.round(perCpu).toLocaleString("en")} per CPU-second; ` +
        `${((ours.bytes / ours.cpuSeconds) / (ceiling.bytes / ceiling.cpuSeconds) * 100).toFixed(0)}% of raw gunzip throughput per CPU-second; ` +
        `goal ≥ 100,000 masters/s: ${wall >= 100_000 ? "met (wall clock)" : perCpu >= 100_000 ? "met per CPU-second, not on the wall clock of this (shared) machine" : "NOT met"}`,
    );
  }
  if (ours && oursSmall) {
    console.log(
      `memory (ours): live heap + buffers after full GC ≤ ${oursSmall.liveMB.toFixed(0)} MB on ${small.toLocaleString("en")} masters, ≤ ${ours.liveMB.toFixed(0)} MB on ${big.toLocaleString("en")}; ` +
        `peak RSS ${oursSmall.peakRssMB.toFixed(0)} vs ${ours.peakRssMB.toFixed(0)} MB (garbage V8 had not collected yet)`,
    );
  }
  const check = results.filter((r) => r.masters && r.masters !== (r.file === path.basename(bigFile) ? big : small));
  if (check.length) {
    console.log(`WARNING: master counts differ from the synthesised count: ${check.map((r) => `${r.method} ${r.masters}`).join(", ")}`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
