/**
 * Issue 15: validation must not depend on what else is being decoded at the same time. Before the
 * fix the crawler's gate decoded with sharp's stats(), whose failure travels only through libvips'
 * process-wide error text; another sharp job finishing at the same moment clears that text, and
 * the failed stats() then resolved (with zero channels) — a truncated JPEG was kept as good. This
 * test decodes many complete and truncated copies of the same pictures concurrently, in one
 * process, as the crawler does; with the old gate it accepted a truncated copy in most rounds.
 */
import sharp from "sharp";
import { checkImage } from "../../lib/discogs/api";
import { decodeImage, validateImage } from "../../lib/vision/image";

interface Job {
  name: string;
  broken: boolean;
  body: Buffer;
}

async function picture(seed: number, width: number, height: number) {
  const raw = Buffer.alloc(width * height * 3);
  let s = seed;
  for (let i = 0; i < raw.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    raw[i] = ((i % (width * 3)) / 3 + (i / (width * 3)) * seed + (s & 31)) & 255;
  }
  const img = () => sharp(raw, { raw: { width, height, channels: 3 } });
  return {
    baseline: await img().jpeg({ quality: 85 }).toBuffer(),
    progressive: await img().jpeg({ quality: 85, progressive: true }).toBuffer(),
    png: await img().png().toBuffer(),
  };
}

/** Run `f` over `jobs` with `concurrency` in flight, like the crawler's workers. */
async function pool<T>(jobs: Job[], concurrency: number, f: (j: Job) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await f(jobs[i]);
      }
    }),
  );
  return out;
}

let files: { name: string; full: Buffer }[] = [];
beforeAll(async () => {
  for (const [seed, w, h] of [[1, 96, 96], [2, 160, 120], [3, 240, 240]]) {
    const p = await picture(seed, w, h);
    for (const [kind, full] of Object.entries(p)) files.push({ name: `${kind} ${w}x${h}`, full });
  }
});

/** One batch: 4 complete copies of every file, its first half, and (JPEG) its first half + a fake EOI. */
function batch(round: number): Job[] {
  const jobs: Job[] = [];
  for (const f of files) {
    for (let k = 0; k < 4; k++) jobs.push({ name: f.name, broken: false, body: Buffer.from(f.full) });
    const half = f.full.subarray(0, Math.floor(f.full.length / 2));
    jobs.push({ name: `${f.name} cut`, broken: true, body: Buffer.from(half) });
    // Structurally complete (EOI after the scan data) but the scan is cut: only the decoder can tell.
    if (f.name.startsWith("baseline") || f.name.startsWith("progressive")) {
      jobs.push({ name: `${f.name} cut+EOI`, broken: true, body: Buffer.concat([half, Buffer.from([0xff, 0xd9])]) });
    }
  }
  // a different interleaving each round
  return jobs.map((j, i) => ({ j, k: (i * 7919 + round * 104729) % 1009 })).sort((a, b) => a.k - b.k).map((x) => x.j);
}

test("20 rounds of concurrent batches: no truncated copy is ever accepted, no complete copy refused", async () => {
  const wrong: string[] = [];
  let broken = 0;
  for (let round = 0; round < 20; round++) {
    const jobs = batch(round);
    const gate = await pool(jobs, 8, (j) => checkImage(j.body, "image/jpeg", j.name));
    const decoded = await pool(jobs, 8, (j) => validateImage(j.body, { name: j.name }).then(() => null, (e: Error) => e.message));
    jobs.forEach((j, i) => {
      if (j.broken) broken++;
      if (gate[i].ok === j.broken) wrong.push(`round ${round}: checkImage ${j.broken ? "accepted" : "refused"} ${j.name}: ${gate[i].reason ?? ""}`);
      if ((decoded[i] === null) === j.broken) wrong.push(`round ${round}: validateImage ${j.broken ? "accepted" : "refused"} ${j.name}: ${decoded[i] ?? ""}`);
    });
  }
  expect(wrong).toEqual([]);
  expect(broken).toBe(20 * 15);
}, 60_000);

test("refusals name the image and the reason", async () => {
  const prog = files.find((f) => f.name === "progressive 160x120")!.full;
  const cut = prog.subarray(0, Math.floor(prog.length / 2));
  const n = cut.length.toLocaleString("en-US");
  await expect(decodeImage(cut, { name: "cover 42" })).rejects.toThrow(`cannot decode image cover 42: truncated JPEG: no EOI marker after the last scan (${n} bytes)`);
  expect((await checkImage(cut, "image/jpeg", "master 42's cover")).reason).toBe(
    `broken image (image/jpeg): master 42's cover: truncated JPEG: no EOI marker after the last scan (${n} bytes)`,
  );
  const png = files.find((f) => f.name === "png 160x120")!.full;
  await expect(decodeImage(png.subarray(0, png.length - 12), { name: "p.png" })).rejects.toThrow(/^cannot decode image p\.png: truncated PNG: no IEND chunk \([\d,]+ bytes\)$/);
  const baseline = files.find((f) => f.name === "baseline 160x120")!.full;
  const fakeEoi = Buffer.concat([baseline.subarray(0, baseline.length >> 1), Buffer.from([0xff, 0xd9])]);
  await expect(decodeImage(fakeEoi, { name: "b.jpg" })).rejects.toThrow(/^cannot decode image b\.jpg: .*(premature end|Corrupt JPEG)/i);
});
