import * as fs from "node:fs";
import * as path from "node:path";
import sharp from "sharp";
import { tf } from "../../lib/tf";
import { decodeImage, DecodedImage, padImage } from "../../lib/vision/image";
import {
  loadFaceAnalyzer,
  FaceAnalyzer,
  combineFace,
  toOriginalBox,
  faceresAge,
  gearAge,
  dominantEmotion,
  DEFAULT_FACE_CONFIG,
  EMOTIONS,
  RawFace,
} from "../../lib/vision/faces";
import { packageDir } from "../../lib/util/packages";
import { findGearModel } from "../../lib/vision/models";
import { needs, SHARED_PART } from "../helpers/parts";

const ASSETS = path.join(packageDir("@vladmandic/human"), "assets");
const PORTRAIT = path.join(ASSETS, "screenshot-faceid.jpg");

describe("pure face helpers", () => {
  test("toOriginalBox removes padding offsets and clips", () => {
    expect(toOriginalBox([110, 60, 50, 40], 100, 50, 300, 200)).toEqual([10, 10, 50, 40]);
    // A box hanging over the left/top edge of the original is clipped to it.
    expect(toOriginalBox([90, 40, 50, 40], 100, 50, 300, 200)).toEqual([0, 0, 40, 30]);
    // Entirely inside the padding: zero size.
    expect(toOriginalBox([0, 0, 20, 20], 100, 50, 300, 200)[2]).toBe(0);
  });

  test("age decoders", () => {
    const oneHot = (n: number, i: number) => Array.from({ length: n }, (_, j) => (j === i ? 1 : 0));
    expect(faceresAge(oneHot(100, 37))).toBe(37);
    expect(faceresAge([0, 0.5, 0.5, ...new Array(97).fill(0)])).toBeCloseTo(1.5);
    expect(gearAge(oneHot(7, 0))).toBe(15);
    expect(gearAge(oneHot(7, 6))).toBe(65);
    expect(gearAge([0.5, 0, 0, 0, 0, 0, 0.5])).toBeCloseTo(40);
  });

  const raw: RawFace = {
    box: [1, 2, 3, 4],
    score: 0.9,
    faceresMale: [0.8, 0.4], // flip view disagrees
    faceresAge: [Array.from({ length: 100 }, (_, j) => (j === 30 ? 1 : 0)), Array.from({ length: 100 }, (_, j) => (j === 40 ? 1 : 0))],
    descriptor: [0.1, 0.2],
    gearMale: [0.1, 0.1],
    gearAge: [[0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1]],
    gearRace: [[0.1, 0.6, 0.1, 0.1, 0.1], [0.1, 0.2, 0.5, 0.1, 0.1]],
    emotion: [[0, 0, 0, 0.9, 0, 0, 0.1], [0, 0, 0, 0.5, 0, 0, 0.5]],
  };

  test("combineFace follows the configured sources and flip averaging", () => {
    const noFlip = combineFace(raw, { ...DEFAULT_FACE_CONFIG, flip: false, genderFrom: "faceres", ageFrom: "faceres" });
    expect(noFlip.gender).toBe("male");
    expect(noFlip.genderScore).toBeCloseTo(0.8);
    expect(noFlip.age).toBe(30);
    expect(noFlip.race).toBe("black");
    expect(noFlip.emotion!.happy).toBeCloseTo(0.9);

    const flip = combineFace(raw, { ...DEFAULT_FACE_CONFIG, flip: true, genderFrom: "faceres", ageFrom: "faceres" });
    expect(flip.genderScore).toBeCloseTo(0.6);
    expect(flip.age).toBe(35);
    expect(flip.race).toBe("black"); // mean [0.1, 0.4, 0.3, 0.1, 0.1]
    expect(flip.raceScore).toBeCloseTo(0.4);
    expect(flip.emotion!.happy).toBeCloseTo(0.7);
    expect(dominantEmotion(flip.emotion)).toBe("happy");
    expect(Object.keys(flip.emotion!)).toEqual([...EMOTIONS]);

    const gear = combineFace(raw, { ...DEFAULT_FACE_CONFIG, flip: false, genderFrom: "gear", ageFrom: "gear" });
    expect(gear.gender).toBe("female");
    expect(gear.genderScore).toBeCloseTo(0.9);
    expect(gear.age).toBe(65);
    const mean = combineFace(raw, { ...DEFAULT_FACE_CONFIG, flip: false, genderFrom: "mean", ageFrom: "mean" });
    expect(mean.age).toBeCloseTo(47.5);
    expect(mean.gender).toBe("female"); // (0.8 + 0.1) / 2 = 0.45
    expect(mean.embedding).toBeUndefined();
    expect(combineFace(raw, { ...DEFAULT_FACE_CONFIG, embedding: true }).embedding).toEqual([0.1, 0.2]);
  });

  test("without GEAR outputs, race is null and age/gender fall back to FaceRes", () => {
    const info = combineFace({ ...raw, gearMale: null, gearAge: null, gearRace: null, emotion: null }, { ...DEFAULT_FACE_CONFIG, flip: false, ageFrom: "gear", genderFrom: "gear" });
    expect(info.race).toBeNull();
    expect(info.raceScore).toBeNull();
    expect(info.emotion).toBeNull();
    expect(info.age).toBe(30);
    expect(info.gender).toBe("male");
  });

  test("invalid configs are refused with the field named", async () => {
    await expect(loadFaceAnalyzer({ maxDetected: 0 })).rejects.toThrow(/maxDetected/);
    await expect(loadFaceAnalyzer({ margin: -1 })).rejects.toThrow(/margin/);
    await expect(loadFaceAnalyzer({ cropScale: 9 })).rejects.toThrow(/cropScale/);
    await expect(loadFaceAnalyzer({ ageFrom: "x" as never })).rejects.toThrow(/ageFrom/);
  });
});

describe("face analyzer on real pictures", () => {
  let analyzer: FaceAnalyzer;
  let portrait: DecodedImage;
  beforeAll(async () => {
    analyzer = await loadFaceAnalyzer();
    portrait = await decodeImage(PORTRAIT);
  });
  afterAll(() => analyzer?.dispose());

  test("finds the face in Human's sample portrait with every attribute", async () => {
    const faces = await analyzer.analyze(portrait);
    expect(faces.length).toBeGreaterThanOrEqual(1);
    const f = faces[0];
    const [x, y, w, h] = f.box;
    expect(x).toBeGreaterThanOrEqual(0);
    expect(y).toBeGreaterThanOrEqual(0);
    expect(x + w).toBeLessThanOrEqual(portrait.width);
    expect(y + h).toBeLessThanOrEqual(portrait.height);
    expect(w).toBeGreaterThan(40);
    expect(f.score).toBeGreaterThan(0.5);
    expect(f.age).toBeGreaterThan(10);
    expect(f.age).toBeLessThan(70);
    expect(["male", "female"]).toContain(f.gender);
    expect(f.genderScore).toBeGreaterThanOrEqual(0.5);
    const sum = EMOTIONS.reduce((a, k) => a + f.emotion![k], 0);
    expect(sum).toBeCloseTo(1, 2);
    if (findGearModel()) {
      expect(["white", "black", "asian", "indian", "other"]).toContain(f.race);
      expect(f.raceScore).toBeGreaterThan(0.2);
    } else {
      console.warn("GEAR model not cached: race not checked (run `covergenre setup`)");
      expect(f.race).toBeNull();
    }
    // Largest first.
    for (let i = 1; i < faces.length; i++) expect(faces[i - 1].box[2] * faces[i - 1].box[3]).toBeGreaterThanOrEqual(faces[i].box[2] * faces[i].box[3]);
  });

  test("an image without a face gives no faces", async () => {
    const width = 300;
    const height = 300;
    const data = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 3;
        data[i] = x % 256;
        data[i + 1] = y % 256;
        data[i + 2] = ((x >> 4) ^ (y >> 4)) & 1 ? 200 : 40; // checkerboard over a gradient
      }
    }
    expect(await analyzer.analyze({ data, width, height })).toEqual([]);
  });

  test("a face on a very wide canvas is found and its box maps back to original coordinates", async () => {
    const alone = (await analyzer.analyze(portrait))[0];
    // Put the portrait at x = 900 on a 2.5x wider canvas: the detector would squash it without padding.
    const left = 900;
    const wide = padImage(portrait, { left, top: 0, right: Math.round(portrait.width * 2.5) - portrait.width - left, bottom: 0 }, [128, 128, 128]);
    const faces = await analyzer.analyze(wide);
    expect(faces.length).toBeGreaterThanOrEqual(1);
    const f = faces[0];
    // The detector sees the face at 1/2.5 of the resolution here, so the box may move a little.
    const tol = Math.max(12, alone.box[2] * 0.2);
    expect(Math.abs(f.box[0] - (alone.box[0] + left))).toBeLessThan(tol);
    expect(Math.abs(f.box[1] - alone.box[1])).toBeLessThan(tol);
    expect(Math.abs(f.box[2] - alone.box[2])).toBeLessThan(tol);
  });

  test("a tight face crop is still found (margin padding)", async () => {
    const f = (await analyzer.analyze(portrait))[0];
    const [x, y, w, h] = f.box;
    const tight = await sharp(PORTRAIT).extract({ left: x, top: y, width: w, height: h }).jpeg().toBuffer();
    const faces = await analyzer.analyze(await decodeImage(tight));
    expect(faces.length).toBe(1);
  });

  test("no tensor leak over repeated calls; version is a stable cache key", async () => {
    await analyzer.analyze(portrait);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await analyzer.analyze(portrait);
    expect(tf.memory().numTensors).toBe(before);
    const other = await loadFaceAnalyzer({ flip: !analyzer.config.flip });
    expect(other.version).not.toBe(analyzer.version);
    expect((await loadFaceAnalyzer()).version).toBe(analyzer.version);
    other.dispose();
  });
});

const SHARED_FACES = path.resolve(__dirname, "..", "..", "..", "shared", "data", "faces", "photos");
const SHARED = fs.existsSync(SHARED_FACES);
needs({ [`face photos in ${SHARED_FACES} (${SHARED_PART})`]: SHARED }).test("shared group photo: several faces, all inside the picture", async () => {
  const analyzer = await loadFaceAnalyzer();
  const img = await decodeImage(path.join(SHARED_FACES, "couple.jpg"));
  const faces = await analyzer.analyze(img);
  expect(faces.length).toBe(2);
  for (const f of faces) {
    expect(f.box[0] + f.box[2]).toBeLessThanOrEqual(img.width);
    expect(f.box[1] + f.box[3]).toBeLessThanOrEqual(img.height);
  }
  analyzer.dispose();
});
