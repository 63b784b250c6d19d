import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { DumpError, readMasters, type DumpMaster } from "../../lib/discogs/dump";
import { decodeXmlText, parseMasterRecord, DumpRecordError } from "../../lib/discogs/record";
import { dumpStats } from "../../lib/discogs/stats";
import { needs, SHARED_PART } from "../helpers/parts";

const FIX = path.join(__dirname, "..", "fixtures", "discogs");
const SHARED_DUMP = path.resolve(__dirname, "..", "..", "..", "shared", "data", "discogs-dump");
const SHARED = fs.existsSync(SHARED_DUMP);
const withDump = needs({ [`the real dump excerpts in ${SHARED_DUMP} (${SHARED_PART})`]: SHARED }).test;

async function all(file: string): Promise<{ masters: DumpMaster[]; errors: DumpRecordError[] }> {
  const reader = readMasters(file);
  const masters: DumpMaster[] = [];
  for await (const m of reader) masters.push(m);
  return { masters, errors: reader.errors };
}

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cg-dump-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("decodeXmlText", () => {
  test("decodes named and numeric entities", () => {
    expect(decodeXmlText("Folk, World, &amp; Country")).toBe("Folk, World, & Country");
    expect(decodeXmlText("&lt;a&gt; &quot;b&quot; &apos;c&apos; &#233;&#xE9;")).toBe(`<a> "b" 'c' éé`);
  });
  test("drops characters XML forbids, raw or as references", () => {
    expect(decodeXmlText("a\u0003b&#7;c&#x1;d\u0007")).toBe("abcd");
    expect(decodeXmlText("tab\tok\nline")).toBe("tab\tok\nline");
  });
  test("keeps an unknown named entity visible", () => {
    expect(decodeXmlText("a &nbsp; b")).toBe("a &nbsp; b");
  });
});

describe("parseMasterRecord", () => {
  test("reads the fields and ignores video titles", () => {
    const m = parseMasterRecord(
      '<master id="7"><main_release>70</main_release><genres><genre>Rock</genre></genres><title>T</title><videos><video><title>V</title></video></videos></master>',
      123,
    );
    expect(m).toMatchObject({ id: 7, mainRelease: 70, genres: ["Rock"], title: "T", offset: 123, images: null, year: null });
  });
  test("names the master and the byte offset when tags do not nest", () => {
    expect(() => parseMasterRecord('<master id="9"><genres><genre>Pop</genres></genre></master>', 500)).toThrow(
      /master 9 \(byte 500\): <\/genres> closes <genre>/,
    );
    expect(() => parseMasterRecord('<master id="x"></master>', 5)).toThrow(DumpRecordError);
  });
});

describe("readMasters", () => {
  test("2020 format: entities, primary image not first, control characters, empty children", async () => {
    const { masters, errors } = await all(path.join(FIX, "masters-2020.xml"));
    expect(errors).toEqual([]);
    expect(masters.map((m) => m.id)).toEqual([101, 102, 103, 104]);
    const [a, b, c, d] = masters;
    expect(a.genres).toEqual(["Folk, World, & Country", "Rock"]);
    expect(a.title).toBe("Café <Live>");
    expect(a.artists).toEqual(["Sim & Fixture"]);
    expect(a.images!.map((i) => i.type)).toEqual(["secondary", "primary"]);
    expect(a.images![1]).toMatchObject({ width: 600, height: 598, uri: "" });
    expect(a.year).toBe(1971);
    expect(b.artists).toEqual(["CtrlBand"]);
    expect(b.title).toBe("Bell Sounds");
    expect(b.year).toBeNull(); // year 0 = unknown
    expect(b.styles).toEqual([]);
    expect(c.images).toBeNull();
    expect(c.genres).toEqual(["Electronic", "Hip Hop", "Pop"]);
    expect(d.genres).toEqual([]);
    // offsets point at the record in the file
    const bytes = fs.readFileSync(path.join(FIX, "masters-2020.xml"));
    for (const m of masters) expect(bytes.toString("utf8", m.offset, m.offset + 16)).toBe(`<master id="${m.id}"`);
  });

  test("2025 format: no <images>, omitted children, artist without id", async () => {
    const { masters, errors } = await all(path.join(FIX, "masters-2025.xml"));
    expect(errors).toEqual([]);
    expect(masters).toHaveLength(2);
    expect(masters[0]).toMatchObject({ id: 201, mainRelease: 2001, genres: ["Jazz"], artists: ["No Id Artist"], title: "Blue & Green", images: null, year: 1958 });
    expect(masters[1]).toMatchObject({ id: 202, genres: ["Electronic", "Rock"], year: null, title: "No Year", styles: [] });
  });

  test("gzip and plain give the same records; gzip is detected from the bytes", async () => {
    const plain = path.join(FIX, "masters-2020.xml");
    const gz = path.join(tmp, "no-extension");
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(plain)));
    const a = await all(plain);
    const b = await all(gz);
    expect(b.masters).toEqual(a.masters);
  });

  test("records split across read chunks are reassembled", async () => {
    const file = path.join(FIX, "masters-2020.xml");
    const reader = readMasters(file, { chunkBytes: 7 });
    const ids: number[] = [];
    for await (const m of reader) ids.push(m.id);
    expect(ids).toEqual([101, 102, 103, 104]);
  });

  test("broken records are reported with id and byte offset, and the stream goes on", async () => {
    const file = path.join(FIX, "masters-broken.xml");
    const seen: string[] = [];
    const reader = readMasters(file, { onError: (e) => seen.push(e.message) });
    const ids: number[] = [];
    for await (const m of reader) ids.push(m.id);
    expect(ids).toEqual([301, 304, 305]);
    const bytes = fs.readFileSync(file, "utf8");
    const offsetOf = (id: string) => Buffer.byteLength(bytes.slice(0, bytes.indexOf(`<master id="${id}"`)));
    expect(seen).toHaveLength(4);
    expect(seen[0]).toBe(`master 302 (byte ${offsetOf("302")}): </genres> closes <genre>`);
    expect(seen[1]).toBe(`master 303 (byte ${offsetOf("303")}): a new <master> starts before this one ends`);
    expect(seen[2]).toMatch(new RegExp(`^record at byte ${offsetOf("abc")}: <master> has no numeric id`));
    expect(seen[3]).toBe(`master 306 (byte ${offsetOf("306")}): the file ends inside this record (truncated?)`);
    expect(reader.errors.map((e) => e.masterId)).toEqual([302, 303, null, 306]);
  });

  test("a truncated gzip delivers what came before, then fails naming offsets and the last master", async () => {
    const text = fs.readFileSync(path.join(FIX, "masters-2020.xml"), "utf8").repeat(1); // 4 records
    // make it big enough that truncation lands after at least one complete record
    const body = Array.from({ length: 200 }, (_, i) => text.split("\n").slice(2, 6).join("\n").replace(/id="1(\d\d)"/g, (_m, d) => `id="${i + 1}${d}"`)).join("\n");
    const full = zlib.gzipSync(Buffer.from(`<masters>\n${body}\n</masters>\n`), { level: 1 });
    const cut = path.join(tmp, "cut.xml.gz");
    fs.writeFileSync(cut, full.subarray(0, Math.floor(full.length * 0.6)));
    const reader = readMasters(cut);
    const ids: number[] = [];
    let error: unknown;
    try {
      for await (const m of reader) ids.push(m.id);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DumpError);
    const e = error as DumpError;
    expect(ids.length).toBeGreaterThan(100);
    expect(e.lastMasterId).toBe(ids[ids.length - 1]);
    expect(e.message).toMatch(/gzip stream ends early \(compressed byte \d+, uncompressed byte \d+ after master \d+\): the file is truncated/);
    expect(e.message).toContain(`after master ${ids[ids.length - 1]}`);
  });

  test("a missing file is a DumpError naming it", () => {
    expect(() => readMasters(path.join(tmp, "nope.xml.gz"))).toThrow(/nope\.xml\.gz does not exist/);
  });

  test("memory stays flat over many records (no accumulation)", async () => {
    const rec = '<master id="ID"><main_release>1</main_release><genres><genre>Rock</genre></genres><title>x</title><videos><video><title>v</title><description>' + "d".repeat(2000) + "</description></video></videos></master>\n";
    const file = path.join(tmp, "big.xml.gz");
    const gz = zlib.createGzip({ level: 1 });
    const out = fs.createWriteStream(file);
    gz.pipe(out);
    gz.write("<masters>\n");
    for (let i = 0; i < 40_000; i++) gz.write(rec.replace("ID", String(i + 1)));
    gz.end("</masters>\n");
    await new Promise<void>((res) => out.on("finish", () => res()));
    let n = 0;
    let heapAt1k = 0;
    let maxHeap = 0;
    for await (const _m of readMasters(file)) {
      n++;
      if (n % 1000 === 0) {
        const h = process.memoryUsage().heapUsed;
        if (n === 5000) heapAt1k = h;
        if (n > 5000) maxHeap = Math.max(maxHeap, h);
      }
    }
    expect(n).toBe(40_000);
    // 80 MB of records flowed through; the heap must not grow with them.
    expect(maxHeap - heapAt1k).toBeLessThan(30e6);
  });
});

describe("dumpStats", () => {
  test("counts genres, multi-label share, years and co-occurrence", async () => {
    const s = await dumpStats(path.join(FIX, "masters-2020.xml"));
    expect(s.masters).toBe(4);
    expect(s.format).toBe("2020");
    expect(s.mastersWithGenres).toBe(3);
    expect(s.genresPerMaster).toEqual({ "0": 1, "1": 1, "2": 1, "3": 1 });
    expect(s.multiLabelShare).toBeCloseTo(2 / 3);
    expect(s.labelCardinality).toBeCloseTo(2);
    expect(s.yearRange).toEqual([1971, 2004]);
    expect(s.yearUnknown).toBe(1);
    expect(s.genreCounts["Folk, World, & Country"]).toBe(1);
    const i = s.genres.indexOf("Electronic");
    const j = s.genres.indexOf("Pop");
    expect(s.cooccurrence[i][j]).toBe(1);
    expect(s.cooccurrence[j][i]).toBe(1);
    expect(s.cooccurrence[i][i]).toBe(1);
    expect(s.cooccurrence[i][s.genres.indexOf("Rock")]).toBe(0);
    const s25 = await dumpStats(path.join(FIX, "masters-2025.xml"));
    expect(s25.format).toBe("2025");
  });

  withDump("real 2020 excerpt: 1,000 masters with the documented genres-per-master distribution", async () => {
    const s = await dumpStats(path.join(SHARED_DUMP, "xml2db_discogs_20200806_masters.sample1000.xml.gz"));
    expect(s.masters).toBe(1000);
    expect(s.errors).toEqual([]);
    // SOURCE.md: 1 → 753, 2 → 193, 3 → 43, 4 → 8, 5 → 3
    expect(s.genresPerMaster).toEqual({ "1": 753, "2": 193, "3": 43, "4": 8, "5": 3 });
    expect(Object.keys(s.genreCounts)).toContain("Folk, World, & Country");
    const plain = await dumpStats(path.join(SHARED_DUMP, "xml2db_discogs_20200806_masters.sample1000.xml"));
    expect(plain.genreCounts).toEqual(s.genreCounts);
  });

  withDump("real 2019 and 2025 excerpts parse without errors", async () => {
    for (const [f, n, format] of [
      ["lukasaron_data_samples_masters.46.xml", 46, "2020"],
      ["tgmz_2025-era_masters.4.xml", 4, "2025"],
      ["tgmz_discogs_20250101_masters_Lila_Wolken.xml", 1, "2025"],
    ] as const) {
      const s = await dumpStats(path.join(SHARED_DUMP, f));
      expect([f, s.masters, s.format, s.errors]).toEqual([f, n, format, []]);
    }
  });
});
