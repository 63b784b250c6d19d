import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import sharp from "sharp";
import { checkImage, pickCover, ratingFromApi, ratingFromMasterPage } from "../../lib/discogs/api";
import { Manifest, parseCsvLine, formatRow, type ManifestRow } from "../../lib/discogs/manifest";
import { readIdsFile, studyMinRatings } from "../../lib/discogs/plan";
import { needs, SHARED_PART } from "../helpers/parts";

const SHARED_DATA = path.resolve(__dirname, "..", "..", "..", "shared", "data");
const SHARED = fs.existsSync(SHARED_DATA);
const withShared = needs({ [`real API samples and the study's CSV in ${SHARED_DATA} (${SHARED_PART})`]: SHARED }).test;

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cg-units-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("rating counts", () => {
  test("API body", () => {
    expect(ratingFromApi({ rating: { count: 47, average: 4.19 }, release_id: 249504 })).toBe(47);
    expect(ratingFromApi({ rating: {} })).toBeNull();
    expect(ratingFromApi(null)).toBeNull();
  });
  test("master page JSON-LD at top level or under @graph; other script blocks ignored", () => {
    const page = (json: unknown, id = "master_schema") =>
      `<html><script type="application/ld+json" id="other">{"aggregateRating":{"ratingCount":1}}</script><script type="application/ld+json" id="${id}">${JSON.stringify(json)}</script></html>`;
    expect(ratingFromMasterPage(page({ aggregateRating: { ratingCount: 18012 } }))).toBe(18012);
    expect(ratingFromMasterPage(page({ "@graph": [{ aggregateRating: { ratingCount: "33" } }] }))).toBe(33);
    expect(ratingFromMasterPage(page({ name: "no rating" }))).toBeNull();
    expect(ratingFromMasterPage(page({ aggregateRating: { ratingCount: 5 } }, "release_schema"))).toBeNull();
    expect(ratingFromMasterPage("<html>nothing</html>")).toBeNull();
  });
  withShared("the real saved master page block (Abbey Road, ca. 2020)", () => {
    const json = fs.readFileSync(path.join(SHARED_DATA, "discogs-api", "discogs_master_24047_master_schema_ca2020.json"), "utf8");
    expect(ratingFromMasterPage(`<script type="application/ld+json" id="master_schema">${json}</script>`)).toBe(18012);
  });
});

describe("pickCover", () => {
  test("primary wins even when not first; else the first; sizes", () => {
    const imgs = [
      { type: "secondary", uri: "s", uri150: "s150" },
      { type: "primary", uri: "p", uri150: "p150" },
    ];
    expect(pickCover(imgs, "full")).toEqual({ url: "p", type: "primary" });
    expect(pickCover(imgs, "150")!.url).toBe("p150");
    expect(pickCover([{ type: "secondary", uri: "a" }, { type: "secondary", uri: "b" }], "full")!.url).toBe("a");
    expect(pickCover([], "full")).toBeNull();
    expect(pickCover(undefined, "full")).toBeNull();
  });
  withShared("real responses: authenticated master has URLs, unauthenticated has empty ones", () => {
    const auth = JSON.parse(fs.readFileSync(path.join(SHARED_DATA, "discogs-api", "peacefixation_masters_1521183.json"), "utf8"));
    const unauth = JSON.parse(fs.readFileSync(path.join(SHARED_DATA, "discogs-api", "irlndts_masters_718441_unauth.json"), "utf8"));
    expect(pickCover(auth.images, "full")!.url).toMatch(/^https:\/\/i\.discogs\.com\/.*h:600/);
    expect(pickCover(auth.images, "150")!.url).toMatch(/h:150/);
    expect(pickCover(unauth.images, "full")!.url).toBe("");
  });
});

describe("checkImage", () => {
  test("accepts a complete JPEG, re-encodes PNG, rejects HTML, truncation and empty bodies", async () => {
    const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: "#808080" } }).jpeg().toBuffer();
    const png = await sharp({ create: { width: 20, height: 10, channels: 3, background: "#102030" } }).png().toBuffer();
    const ok = await checkImage(jpeg, "image/jpeg");
    expect(ok.ok && ok.width).toBe(64);
    const p = await checkImage(png, "image/png");
    expect(p.ok).toBe(true);
    if (p.ok) expect((await sharp(p.jpeg).metadata()).format).toBe("jpeg");
    const html = await checkImage(Buffer.from("<!DOCTYPE html><html>Too many requests</html>"), "text/html");
    expect(html).toEqual({ ok: false, reason: expect.stringMatching(/^not an image \(text\/html, \d+ bytes\)/) });
    const cut = await checkImage(jpeg.subarray(0, jpeg.length >> 1), "image/jpeg");
    expect(cut.ok).toBe(false);
    expect(await checkImage(Buffer.alloc(0))).toEqual({ ok: false, reason: "empty body" });
  });
});

describe("study threshold and id lists", () => {
  test("≥ 50 when any genre is Electronic or Rock, else ≥ 15", () => {
    expect(studyMinRatings(["Rock"])).toBe(50);
    expect(studyMinRatings(["Jazz", "Electronic"])).toBe(50);
    expect(studyMinRatings(["Jazz", "Funk / Soul"])).toBe(15);
  });
  test("ids from a CSV column, from plain lines, and clear errors", () => {
    const csv = path.join(tmp, "ids.csv");
    fs.writeFileSync(csv, 'path,"Folk, World, & Country",master_release\nx,1,11\ny,0,12\n');
    expect([...readIdsFile(csv)]).toEqual([11, 12]);
    const plain = path.join(tmp, "ids.txt");
    fs.writeFileSync(plain, "5\n6\n\n7\n");
    expect([...readIdsFile(plain)]).toEqual([5, 6, 7]);
    const bad = path.join(tmp, "bad.csv");
    fs.writeFileSync(bad, "name,genre\nfoo,Rock\n");
    expect(() => readIdsFile(bad)).toThrow(/no master_release\/master_id\/id column/);
    expect(() => readIdsFile(path.join(tmp, "none.csv"))).toThrow(/does not exist/);
  });
  withShared("the study's album_data_0522.csv gives its 14,302 master ids", () => {
    expect(readIdsFile(path.join(SHARED_DATA, "thesis", "album_data_0522.csv")).size).toBe(14302);
  });
});

describe("manifest", () => {
  const row = (id: number, status: ManifestRow["status"], error = ""): ManifestRow => ({
    masterId: id,
    mainRelease: id * 10,
    genres: ["Folk, World, & Country", "Rock"],
    ratingCount: 3,
    minRatings: 50,
    status,
    path: "",
    error,
    updatedAt: "2026-01-01T00:00:00.000Z",
  });
  test("CSV round trip with commas, quotes and newlines in fields", () => {
    const r = row(1, "failed", 'bad "thing",\nsecond line');
    const fields = parseCsvLine(formatRow(r));
    expect(fields[2]).toBe("Folk, World, & Country|Rock");
    expect(fields[7]).toBe('bad "thing", second line');
  });
  test("a torn last line (kill during a write) and duplicate rows are repaired on open", () => {
    const file = path.join(tmp, "manifest.csv");
    const m = Manifest.open(file);
    m.append(row(1, "downloaded"));
    m.append(row(2, "failed", "HTTP 500"));
    m.append(row(2, "downloaded"));
    m.close(); // folds the duplicate
    expect(fs.readFileSync(file, "utf8").trim().split("\n")).toHaveLength(3);
    fs.appendFileSync(file, formatRow(row(3, "failed")) + "\n" + formatRow(row(3, "downloaded")) + "\n" + "4,40,Rock,,50,downl");
    const again = Manifest.open(file);
    expect(again.repaired).toEqual({ tornLine: true, duplicates: 1, badLines: 0 });
    expect(again.all().map((r) => [r.masterId, r.status])).toEqual([
      [1, "downloaded"],
      [2, "downloaded"],
      [3, "downloaded"],
    ]);
    again.close();
    expect(fs.readFileSync(file, "utf8").trim().split("\n")).toHaveLength(4);
  });
  test("refuses a file that is not a manifest", () => {
    const file = path.join(tmp, "other.csv");
    fs.writeFileSync(file, "a,b\n1,2\n");
    expect(() => Manifest.open(file)).toThrow(/is not a crawl manifest/);
  });
});

describe("other label sources", () => {
  const { labelsCsvCounts, oneHotCsvCounts } = require("../../lib/discogs/sources") as typeof import("../../lib/discogs/sources");
  test("labels.csv and a one-hot table give counts in Discogs spelling", () => {
    const labels = path.join(tmp, "labels.csv");
    fs.writeFileSync(labels, 'release_id,genres,file\n1,Rock,images/1.jpg\n2,"Folk, World, & Country|Pop",images/2.jpg\n3,HipHop,images/3.jpg\n');
    expect(labelsCsvCounts(labels)).toEqual({ items: 3, multiLabel: 1, ids: [1, 2, 3], genreCounts: { Rock: 1, "Folk, World, & Country": 1, Pop: 1, "Hip Hop": 1 } });
    const onehot = path.join(tmp, "album.csv");
    fs.writeFileSync(onehot, 'master_release,path,Blues,"Folk, World, & Country",Funk&Soul\n10,x,1.0,0.0,1.0\n11,y,0.0,1.0,0.0\n');
    expect(oneHotCsvCounts(onehot)).toEqual({ items: 2, multiLabel: 1, ids: [10, 11], genreCounts: { Blues: 1, "Funk / Soul": 1, "Folk, World, & Country": 1 } });
  });
  withShared("the shared covers and the study's table", () => {
    const covers = labelsCsvCounts(path.join(SHARED_DATA, "discogs-covers", "labels.csv"));
    expect(covers.items).toBe(3763);
    expect(covers.multiLabel).toBe(201);
    expect(covers.genreCounts.Jazz).toBeUndefined();
    const study = oneHotCsvCounts(path.join(SHARED_DATA, "thesis", "album_data_0522.csv"));
    expect(study.items).toBe(14302);
    expect(Object.keys(study.genreCounts)).toHaveLength(15);
  });
});
