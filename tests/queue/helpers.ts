/** Worker processes, generated covers and file comparisons for the queue tests (real redis-server, real CLI). */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import sharp from "sharp";
import { PROJECT_ROOT } from "../../lib/paths";
import { packageDir } from "../../lib/util/packages";
import { BIN } from "../helpers/cli";

export interface WorkerProcess {
  child: ChildProcess;
  /** Everything it wrote (stdout + stderr). */
  output(): string;
  /** Resolves when its output matches `re` (rejects after `ms`). */
  waitFor(re: RegExp, ms?: number): Promise<void>;
  /** Resolves with the exit code (or signal name) when it ends. */
  exited: Promise<number | string>;
}

/** `covergenre worker --queue <url> …` as its own process, as on another machine. */
export function startWorker(url: string, args: string[] = []): WorkerProcess {
  const child = spawn(process.execPath, [BIN, "worker", "--queue", url, "--workers", "1", "--batch-size", "1", ...args], { cwd: PROJECT_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  const listeners: (() => void)[] = [];
  const onData = (d: Buffer) => {
    text += d.toString();
    for (const l of listeners) l();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<number | string>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    child,
    output: () => text,
    exited,
    waitFor(re, ms = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`worker output never matched ${re} within ${ms} ms:\n${text}`)), ms);
        const check = () => {
          if (re.test(text)) {
            clearTimeout(timer);
            resolve();
          }
        };
        listeners.push(check);
        check();
        void exited.then(() => {
          if (!re.test(text)) {
            clearTimeout(timer);
            reject(new Error(`worker exited before its output matched ${re}:\n${text}`));
          }
        });
      });
    },
  };
}

/**
 * A small crawl-layout collection: `n` generated covers (different sizes and colours), one of
 * Human's package photos (real faces), a file that is not an image, and a duplicate.
 */
export async function makeCovers(dir: string, n: number, seed = 0): Promise<void> {
  const put = (rel: string, data: Buffer | string) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), data);
  };
  const genres = ["Rock", "Jazz", "Pop", "Electronic"];
  for (let i = 0; i < n; i++) {
    const v = (i * 37 + seed * 11) % 200;
    const img = await sharp({ create: { width: 96 + ((i * 13) % 80), height: 96 + ((i * 7) % 60), channels: 3, background: { r: v, g: 255 - v, b: (v * 3) % 256 } } })
      .composite([{ input: { create: { width: 30, height: 30, channels: 3, background: { r: 255 - v, g: v, b: 40 } } }, left: 10 + (i % 20), top: 12 }])
      .jpeg()
      .toBuffer();
    put(`${genres[i % genres.length]}/${1000 + seed * 100 + i}.jpeg`, img);
  }
  put(`multi/Pop+Rock/${2000 + seed}.jpeg`, fs.readFileSync(path.join(packageDir("@vladmandic/human"), "assets", "samples.jpg")));
  put(`Jazz/${3000 + seed}.jpeg`, "this is not a jpeg");
  put(`Rock/${4000 + seed}.jpeg`, fs.readFileSync(path.join(dir, `${genres[1]}/${1000 + seed * 100 + 1}.jpeg`))); // same bytes as cover 1
}

/** Every file of a built table (CSV + sidecars), by name; the manifest without its run-specific fields. */
export function tableFiles(table: string): Record<string, Buffer> {
  const dir = path.dirname(table);
  const stem = path.basename(table, ".csv");
  const out: Record<string, Buffer> = {};
  for (const f of fs.readdirSync(dir).sort()) {
    if (!f.startsWith(stem + ".") || fs.statSync(path.join(dir, f)).isDirectory()) continue;
    let data = fs.readFileSync(path.join(dir, f));
    if (f.endsWith(".manifest.json")) {
      // createdAt is the build's time and cacheDir its cache folder: the only fields that may differ.
      const { createdAt: _t, cacheDir: _c, ...rest } = JSON.parse(data.toString("utf8"));
      data = Buffer.from(JSON.stringify(rest));
    }
    out[f] = data;
  }
  return out;
}
