import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import sharp from "sharp";
import { crawl, CrawlStopped, type CrawlConfig } from "../../lib/discogs/crawl";
import { Manifest } from "../../lib/discogs/manifest";
import { parseCoverRelativePath } from "../../lib/discogs/genres";
import { FakeDiscogs, dumpXml, type MasterSpec } from "./server";

const TOKEN = "tok-SECRET-4242-abcdef";
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cg-crawl-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function setup(name: string, masters: { id: number; genres: string[] }[]) {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  const dump = path.join(dir, "masters.xml");
  fs.writeFileSync(dump, dumpXml(masters));
  return { dir, dump, out: path.join(dir, "out") };
}

function readManifest(out: string) {
  const text = fs.readFileSync(path.join(out, "manifest.csv"), "utf8");
  const m = Manifest.open(path.join(out, "manifest.csv"));
  const rows = m.all();
  m.close();
  return { text, rows, byId: new Map(rows.map((r) => [r.masterId, r])) };
}

const FAST: Partial<CrawlConfig> = { windowMs: 1000, timeoutMs: 400, retries: 2, backoffBaseMs: 20, concurrency: 3 };

describe("crawl against a local Discogs-like server", () => {
  const specs: Record<number, MasterSpec> = {
    1: { rating: 60 },
    2: { rating: 40 },
    3: { rating: 20 },
    4: { rating: 100, images: [{ type: "secondary", name: "s" }, { type: "primary", name: "p" }] },
    5: { rating: 70, images: "none" },
    6: { rating: 70, imageBody: "html" },
    7: { rating: 70, imageBody: "truncated" },
    8: { rating: 70, fail500: 2 },
    9: { rating: 70, fail500: Infinity, echoAuthIn500: true },
    10: { rating: 70, force429: 1 },
    11: { rating: 70, resetImage: 1 },
    12: { rating: 70, slowMs: 1500 },
    13: { rating: 70, missing: true },
    14: { rating: null },
    15: { rating: 70, imageBody: "png" },
    16: { rating: 70, imageBody: "404" },
  };
  const dumpMasters = [
    { id: 1, genres: ["Rock"] },
    { id: 2, genres: ["Rock"] },
    { id: 3, genres: ["Jazz"] },
    { id: 4, genres: ["Electronic", "Funk / Soul"] },
    ...[5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16].map((id) => ({ id, genres: ["Pop"] })),
    { id: 17, genres: [] }, // no genres: not part of the crawl
  ];
  let server: FakeDiscogs;
  let env: ReturnType<typeof setup>;
  const logs: string[] = [];
  let first: Awaited<ReturnType<typeof crawl>>;

  beforeAll(async () => {
    server = await new FakeDiscogs({ masters: specs, limits: { api: 8, image: 8 }, windowMs: 1000 }).start();
    env = setup("mixed", dumpMasters);
    first = await crawl({ ...FAST, dump: env.dump, out: env.out, token: TOKEN, apiBase: server.base, log: (l) => logs.push(l), progressStream: fs.createWriteStream("/dev/null") });
  }, 60_000);
  afterAll(() => server.stop());

  test("each master ends with the right status", () => {
    const { byId } = readManifest(env.out);
    const status = Object.fromEntries([...byId].map(([id, r]) => [id, r.status]));
    expect(status).toEqual({
      1: "downloaded",
      2: "below_threshold",
      3: "downloaded",
      4: "downloaded",
      5: "no_image",
      6: "invalid_image",
      7: "invalid_image",
      8: "downloaded",
      9: "failed",
      10: "downloaded",
      11: "downloaded",
      12: "failed",
      13: "not_found",
      14: "no_rating",
      15: "downloaded",
      16: "no_image",
    });
    expect(byId.get(2)!.ratingCount).toBe(40);
    expect(byId.get(2)!.minRatings).toBe(50); // Rock → 50
    expect(byId.get(3)!.minRatings).toBe(15); // Jazz → 15
    expect(byId.get(6)!.error).toMatch(/not an image \(text\/html/);
    expect(byId.get(7)!.error).toMatch(/broken image|not an image/);
    expect(byId.get(12)!.error).toMatch(/timed out/);
    expect(first.counts.downloaded).toBe(7);
    expect(first.plan.withGenres).toBe(16);
  });

  test("covers are real JPEGs in the study's layout, the primary image is the one taken", async () => {
    const { byId } = readManifest(env.out);
    expect(byId.get(1)!.path).toBe("Rock/1.jpeg");
    expect(byId.get(4)!.path).toBe("multi/Electronic+Funk&Soul/4.jpeg");
    expect(parseCoverRelativePath(byId.get(4)!.path)).toEqual({ id: "4", genres: ["Electronic", "Funk / Soul"] });
    for (const r of [...byId.values()].filter((r) => r.status === "downloaded")) {
      const meta = await sharp(path.join(env.out, r.path)).metadata();
      expect(meta.format).toBe("jpeg"); // the PNG of master 15 was re-encoded
    }
    const images4 = server.log.filter((l) => l.kind === "image" && l.path.startsWith("/img/4/")).map((l) => l.path);
    expect(images4).toEqual(["/img/4/p-full.jpeg"]);
    // no temp files left behind
    const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [e.name]));
    expect(walk(env.out).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  test("politeness: pace kept under the advertised limit, token only to the API, a User-Agent always", () => {
    expect(server.maxInWindow("api")).toBeLessThanOrEqual(8);
    expect(server.maxInWindow("image")).toBeLessThanOrEqual(8);
    // the only 429s are the one the server forced for master 10
    const unforced429 = server.log.filter((l) => l.status === 429 && l.path !== "/masters/10");
    expect(unforced429).toEqual([]);
    expect(first.status429).toBe(1);
    for (const l of server.log) {
      expect(l.userAgent).toMatch(/^covergenre\//);
      if (l.kind === "api") expect(l.auth).toBe(`Discogs token=${TOKEN}`);
      else expect(l.auth).toBeNull();
    }
    // retried: master 8 twice, master 11's reset once, 9 and 12 to exhaustion
    expect(server.log.filter((l) => l.path === "/masters/8")).toHaveLength(3);
    expect(server.log.filter((l) => l.path === "/masters/9")).toHaveLength(3);
  });

  test("the token appears in no manifest, log or summary although the server echoed it", () => {
    const { text, byId } = readManifest(env.out);
    expect(byId.get(9)!.error).toMatch(/HTTP 500/);
    expect(text).not.toContain(TOKEN);
    expect(logs.join("\n")).not.toContain(TOKEN);
    expect(JSON.stringify(first)).not.toContain(TOKEN);
  });

  test("a re-run requests only what failed, and the manifest keeps one row per master", async () => {
    const before = server.log.length;
    const second = await crawl({ ...FAST, dump: env.dump, out: env.out, token: TOKEN, apiBase: server.base, progressStream: fs.createWriteStream("/dev/null") });
    const touched = new Set(server.log.slice(before).map((l) => Number(/\/(\d+)/.exec(l.path)![1])));
    // ratings are asked by release id (master × 10)
    const masters = new Set([...touched].map((n) => (n >= 10 && n % 10 === 0 && n / 10 <= 16 ? n / 10 : n)));
    expect([...masters].sort((a, b) => a - b)).toEqual([9, 12]);
    expect(second.plan.alreadyDone).toBe(14);
    expect(second.plan.retrying).toBe(2);
    const { text, rows } = readManifest(env.out);
    expect(rows).toHaveLength(16);
    const ids = text.trim().split("\n").slice(1).map((l) => l.split(",")[0]);
    expect(new Set(ids).size).toBe(ids.length);
  }, 30_000);
});

describe("crawl: edge cases", () => {
  test("hostile genre names never lead outside the output folder", async () => {
    const server = await new FakeDiscogs({ masters: Object.fromEntries([401, 402, 403, 404, 405, 406].map((id) => [id, { rating: 999 }])), releaseOf: (r) => r - 3600 }).start();
    try {
      const root = path.join(tmp, "hostile");
      fs.mkdirSync(root);
      const out = path.join(root, "out");
      const dump = path.join(__dirname, "..", "fixtures", "discogs", "masters-hostile.xml");
      const s = await crawl({ ...FAST, dump, out, token: TOKEN, apiBase: server.base, progressStream: fs.createWriteStream("/dev/null") });
      expect(s.counts.downloaded).toBe(6);
      expect(fs.readdirSync(root)).toEqual(["out"]);
      const { rows } = readManifest(out);
      for (const r of rows) {
        const abs = path.resolve(out, r.path);
        expect(abs.startsWith(out + path.sep)).toBe(true);
        expect(fs.existsSync(abs)).toBe(true);
        expect(r.path.split("/").some((part) => part === ".." || part === ".")).toBe(false);
        // eslint-disable-next-line no-control-regex
        expect(r.path).not.toMatch(/[\u0000-\u001f\\]/);
      }
      const paths = Object.fromEntries(rows.map((r) => [r.masterId, r.path]));
      expect(paths[405]).toBe("_multi/405.jpeg");
      expect(paths[406]).toBe("multi/Funk&Soul+A_B/406.jpeg");
    } finally {
      await server.stop();
    }
  }, 30_000);

  test("no token: stops before any request with a clear message", async () => {
    const server = await new FakeDiscogs({ masters: { 1: { rating: 99 } } }).start();
    try {
      const env = setup("notoken", [{ id: 1, genres: ["Rock"] }]);
      await expect(crawl({ ...FAST, dump: env.dump, out: env.out, apiBase: server.base })).rejects.toThrow(/DISCOGS_TOKEN is not set/);
      expect(server.log).toEqual([]);
    } finally {
      await server.stop();
    }
  });

  test("a token the server does not accept (empty image URLs): stops early, records nothing wrong", async () => {
    const masters = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [i + 1, { rating: 99 }]));
    const server = await new FakeDiscogs({ masters, ignoreAuth: true }).start();
    try {
      const env = setup("badtoken", Array.from({ length: 30 }, (_, i) => ({ id: i + 1, genres: ["Rock"] })));
      await expect(
        crawl({ ...FAST, concurrency: 2, dump: env.dump, out: env.out, token: TOKEN, apiBase: server.base, progressStream: fs.createWriteStream("/dev/null") }),
      ).rejects.toThrow(CrawlStopped);
      const masterRequests = server.log.filter((l) => l.path.startsWith("/masters/")).length;
      expect(masterRequests).toBeLessThanOrEqual(3);
      const { rows } = readManifest(env.out);
      expect(rows.filter((r) => r.status !== "downloaded" && r.status !== "below_threshold")).toEqual([]);
    } finally {
      await server.stop();
    }
  });

  test("--rating-source page reads the JSON-LD at top level and under @graph; --image-size 150", async () => {
    const server = await new FakeDiscogs({ masters: { 1: { rating: 51 }, 2: { rating: 51, pageGraph: true }, 3: { rating: 49, pageGraph: true }, 4: { rating: null } } }).start();
    try {
      const env = setup("page", [1, 2, 3, 4].map((id) => ({ id, genres: ["Rock"] })));
      const s = await crawl({ ...FAST, dump: env.dump, out: env.out, token: TOKEN, apiBase: server.base, webBase: server.base, ratingSource: "page", imageSize: "150", progressStream: fs.createWriteStream("/dev/null") });
      const { byId } = readManifest(env.out);
      expect([1, 2, 3, 4].map((id) => [byId.get(id)!.status, byId.get(id)!.ratingCount])).toEqual([
        ["downloaded", 51],
        ["downloaded", 51],
        ["below_threshold", 49],
        ["no_rating", null],
      ]);
      expect(s.requests.web).toBe(4);
      expect(server.log.filter((l) => l.kind === "image").every((l) => l.path.endsWith("-150.jpeg"))).toBe(true);
      expect(server.log.filter((l) => l.path.startsWith("/releases/"))).toEqual([]);
    } finally {
      await server.stop();
    }
  });

  test("filters: --ids, --from-id/--to-id, --limit, --min-ratings 0 skips the rating request; --dry-run sends nothing", async () => {
    const server = await new FakeDiscogs({ masters: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [i + 1, { rating: 1 }])) }).start();
    try {
      const env = setup("filters", Array.from({ length: 10 }, (_, i) => ({ id: i + 1, genres: ["Pop"] })));
      const dry = await crawl({ dump: env.dump, out: env.out, dryRun: true, ids: new Set([2, 3, 4, 5, 6, 99]), fromId: 3, toId: 9, limit: 2 });
      expect(dry.plan.eligible).toBe(2);
      expect(dry.plan.todo).toBe(2);
      expect(server.log).toEqual([]);
      expect(fs.existsSync(env.out)).toBe(false);
      const s = await crawl({ ...FAST, dump: env.dump, out: env.out, token: TOKEN, apiBase: server.base, fromId: 3, toId: 5, minRatings: 0, progressStream: fs.createWriteStream("/dev/null") });
      expect(s.counts.downloaded).toBe(3);
      expect(server.log.filter((l) => l.path.startsWith("/releases/"))).toEqual([]);
      expect(readManifest(env.out).rows.map((r) => r.masterId).sort()).toEqual([3, 4, 5]);
    } finally {
      await server.stop();
    }
  });
});
