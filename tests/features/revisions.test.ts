/**
 * Guards the feature cache keys. Cached features are keyed by each stage's revision constant
 * (DECODE_REVISION, COLOUR_REVISION, FACES_REVISION, EMBED_REVISION), not by source text, so a
 * comment edit recomputes nothing. The price is a duty: a change that alters a stage's output must
 * bump its revision, or users would silently keep stale cached features. This test computes each
 * stage's output on fixed inputs and compares a digest with the one recorded for the current
 * revision in tests/fixtures/revisions.json; it fails, naming the constant to bump and the digest
 * to record, whenever outputs and revisions disagree.
 *
 * Digests are taken after rounding (embeddings to 2 decimals, scores to 2), so they follow real
 * changes, not last-bit noise. They are tied to the package versions in package-lock.json, which
 * are keyed separately: an upgrade that changes outputs also needs a new digest here.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import sharp from "sharp";
import { packageDir } from "../../lib/util/packages";
import { DECODE_REVISION, decodeImage, type DecodedImage } from "../../lib/vision/image";
import { COLOUR_REVISION, colourFeatures } from "../../lib/vision/colour";
import { FACES_REVISION, loadFaceAnalyzer } from "../../lib/vision/faces";
import { EMBED_REVISION, loadEmbedder } from "../../lib/vision/embed";

jest.setTimeout(120_000);

const RECORD = path.join(__dirname, "..", "fixtures", "revisions.json");
const PORTRAIT = path.join(packageDir("@vladmandic/human"), "assets", "screenshot-faceid.jpg");

type Recorded = Record<string, { revision: number; digest: string; constant: string; file: string }>;

function digest(value: unknown, decimals: number): string {
  const f = 10 ** decimals;
  const round = (_k: string, v: unknown) => {
    if (typeof v === "number") return Math.round(v * f) / f;
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>, (x) => Math.round(x * f) / f);
    return v;
  };
  return createHash("sha1").update(JSON.stringify(value, round)).digest("hex").slice(0, 16);
}

/** Deterministic inputs of every kind the decoder handles differently. */
async function inputs(): Promise<Record<string, Buffer>> {
  const w = 96;
  const h = 64;
  const raw = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      raw[i] = (x * 255) / w;
      raw[i + 1] = (y * 255) / h;
      raw[i + 2] = ((x + y) * 7) % 256;
      raw[i + 3] = x < w / 2 ? 255 : 96;
    }
  }
  const rgba = { raw: { width: w, height: h, channels: 4 as const } };
  return {
    portrait: fs.readFileSync(PORTRAIT),
    pngAlpha: await sharp(raw, rgba).png().toBuffer(),
    greyJpeg: await sharp(raw, rgba).removeAlpha().greyscale().jpeg({ quality: 90 }).toBuffer(),
    cmykJpeg: await sharp(raw, rgba).removeAlpha().toColourspace("cmyk").jpeg({ quality: 90 }).toBuffer(),
    webp: await sharp(raw, rgba).webp({ lossless: true }).toBuffer(),
  };
}

describe("feature revisions match their outputs", () => {
  const recorded: Recorded = JSON.parse(fs.readFileSync(RECORD, "utf8"));
  let images: Record<string, DecodedImage>;

  beforeAll(async () => {
    images = {};
    for (const [name, buf] of Object.entries(await inputs())) images[name] = await decodeImage(buf);
  });

  const check = (stage: string, revision: number, value: unknown, decimals: number) => {
    const rec = recorded[stage];
    const now = digest(value, decimals);
    if (!rec || rec.revision !== revision) {
      throw new Error(`${stage}: revision ${revision} has no recorded digest: record {"revision": ${revision}, "digest": "${now}"} for "${stage}" in ${RECORD}`);
    }
    if (rec.digest !== now) {
      throw new Error(
        `${stage}: outputs changed (digest ${now}, recorded ${rec.digest} for revision ${revision}) but ${rec.constant} was not bumped: ` +
          `bump it in ${rec.file} so cached features are recomputed, then record the new digest in ${RECORD}`,
      );
    }
  };

  test("decode", () => {
    check("decode", DECODE_REVISION, Object.fromEntries(Object.entries(images).map(([k, im]) => [k, { w: im.width, h: im.height, px: im.data }])), 0);
  });

  test("colour", () => {
    check("colour", COLOUR_REVISION, Object.fromEntries(Object.entries(images).map(([k, im]) => [k, colourFeatures(im)])), 3);
  });

  test("faces", async () => {
    const analyzer = await loadFaceAnalyzer();
    try {
      const faces = await analyzer.analyze(images.portrait);
      expect(faces.length).toBeGreaterThan(0);
      check("faces", FACES_REVISION, faces, 2);
    } finally {
      analyzer.dispose();
    }
  });

  test("embeddings", async () => {
    const embedder = await loadEmbedder(["inception_v3"]);
    try {
      const out = await embedder.embed([images.portrait, images.pngAlpha]);
      check("embeddings", EMBED_REVISION, out.pooled, 2);
    } finally {
      embedder.dispose();
    }
  });

  test("a changed output without a bumped revision is refused", () => {
    const rec = recorded.colour;
    expect(() => check("colour", rec.revision, { something: "else" }, 3)).toThrow(/COLOUR_REVISION was not bumped/);
    expect(() => check("colour", rec.revision + 1, {}, 3)).toThrow(/has no recorded digest/);
  });
});
