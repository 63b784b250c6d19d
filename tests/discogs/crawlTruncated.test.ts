/**
 * Issue 15: a truncated cover must never be written, whatever else the crawl decodes at the same
 * time. The fault server answers some image requests with the first half of a baseline JPEG, a
 * progressive JPEG or a PNG, among many complete copies of the same picture, at concurrency 8.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { crawl } from "../../lib/discogs/crawl";
import { Manifest } from "../../lib/discogs/manifest";
import { parseCoverRelativePath } from "../../lib/discogs/genres";
import { validateImage } from "../../lib/vision/image";
import { FakeDiscogs, dumpXml, type ImageBody, type MasterSpec } from "./server";

const TRUNCATED: ImageBody[] = ["truncated", "truncated-progressive", "truncated-png"];
const GOOD: ImageBody[] = ["jpeg", "progressive", "png"];

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cg-crawl-trunc-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test("crawl at concurrency 8: truncated baseline/progressive JPEGs and PNGs among good copies are refused, never written", async () => {
  // 150 masters: every 5th serves a truncated file (10 of each kind), the rest complete copies.
  const specs: Record<number, MasterSpec> = {};
  const kind = new Map<number, ImageBody>();
  for (let id = 1; id <= 150; id++) {
    const body = id % 5 === 0 ? TRUNCATED[(id / 5) % 3] : GOOD[id % 3];
    specs[id] = { rating: 100, imageBody: body };
    kind.set(id, body);
  }
  const server = await new FakeDiscogs({ masters: specs, limits: { api: 10_000, image: 10_000 }, windowMs: 1000 }).start();
  try {
    const dump = path.join(tmp, "masters.xml");
    fs.writeFileSync(dump, dumpXml([...kind.keys()].map((id) => ({ id, genres: ["Pop"] }))));
    const out = path.join(tmp, "out");
    const summary = await crawl({
      dump,
      out,
      token: "tok-test",
      apiBase: server.base,
      concurrency: 8,
      windowMs: 1000,
      timeoutMs: 5000,
      retries: 1,
      backoffBaseMs: 10,
      progressStream: fs.createWriteStream("/dev/null"),
    });
    const m = Manifest.open(path.join(out, "manifest.csv"));
    const rows = m.all();
    m.close();
    expect(rows).toHaveLength(150);
    const expected = (id: number) => (TRUNCATED.includes(kind.get(id)!) ? "invalid_image" : "downloaded");
    const wrong = rows.filter((r) => r.status !== expected(r.masterId)).map((r) => `${r.masterId} (${kind.get(r.masterId)}): ${r.status} ${r.error}`);
    expect(wrong).toEqual([]);
    for (const r of rows.filter((r) => r.status === "invalid_image")) {
      const body = kind.get(r.masterId)!;
      expect(r.error).toContain(`master ${r.masterId}'s cover`);
      expect(r.error).toMatch(body === "truncated-png" ? /truncated PNG: .*no IEND chunk/ : /truncated JPEG: no EOI marker after the last scan \([\d,]+ bytes\)/);
      expect(r.path).toBe("");
    }
    expect(summary.counts).toEqual({ downloaded: 120, invalid_image: 30 });

    // What is on disk: exactly the 120 good covers, each complete (JPEGs byte-identical to the served file).
    const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.relative(out, path.join(d, e.name))]));
    const covers = walk(out).filter((f) => f !== "manifest.csv");
    expect(covers).toHaveLength(120);
    for (const rel of covers) {
      const id = Number(parseCoverRelativePath(rel)!.id);
      const body = kind.get(id)!;
      expect(GOOD).toContain(body);
      const bytes = fs.readFileSync(path.join(out, rel));
      if (body !== "png") expect(bytes.equals(server.picture[body as "jpeg" | "progressive"])).toBe(true);
      await expect(validateImage(bytes)).resolves.toMatchObject({ format: "jpeg", image: { width: 160, height: 120 } });
    }
  } finally {
    await server.stop();
  }
}, 60_000);
