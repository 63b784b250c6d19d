/**
 * lib/explain without models: the occlusion map of a scorer whose answer is known (it only looks at
 * one region), the serial queue's order and bounds, and the gallery's selection rules.
 */
import { buildGallery, type OofScores } from "../../lib/explain/gallery";
import { occlusionMaps, withPatch } from "../../lib/explain/occlusion";
import { occlusionOverlayPng } from "../../lib/explain/pictures";
import sharp from "sharp";
import { QueueFullError, SerialQueue } from "../../lib/serve/queue";
import type { DecodedImage } from "../../lib/vision/image";

/** A white 60 × 40 image. */
function white(width = 60, height = 40): DecodedImage {
  return { data: new Uint8Array(width * height * 3).fill(255), width, height };
}

/** Score of genre A: the mean brightness of the top-left quarter; genre B: of the bottom-right quarter. */
async function quarterScorer(images: DecodedImage[]): Promise<Float32Array> {
  const out = new Float32Array(images.length * 2);
  images.forEach((img, i) => {
    const mean = (x0: number, y0: number) => {
      let s = 0;
      let n = 0;
      for (let y = y0; y < y0 + img.height / 2; y++) for (let x = x0; x < x0 + img.width / 2; x++) (s += img.data[(y * img.width + x) * 3]), n++;
      return s / n / 255;
    };
    out[i * 2] = mean(0, 0);
    out[i * 2 + 1] = mean(img.width / 2, img.height / 2);
  });
  return out;
}

describe("occlusion maps", () => {
  test("a patch only lowers a genre's score where the genre looks; the map says where", async () => {
    const [a, b] = await occlusionMaps(white(), ["A", "B"], ["A", "B"], quarterScorer, { grid: 4, patchCells: 1, batch: 5 });
    expect(a).toMatchObject({ genre: "A", rows: 4, cols: 4, base: 1 });
    // cells (0..1, 0..1) are the top-left quarter: positive drop there, none elsewhere
    a.grid.forEach((row, r) => row.forEach((v, c) => expect([r, c, v > 0]).toEqual([r, c, r < 2 && c < 2])));
    b.grid.forEach((row, r) => row.forEach((v, c) => expect([r, c, v > 0]).toEqual([r, c, r >= 2 && c >= 2])));
    // grey (128) over a quarter of the white quarter: the mean drops by (255 − 128) / 255 / 4
    expect(a.grid[0][0]).toBeCloseTo((255 - 128) / 255 / 4, 3);
  });

  test("patches are clipped to the image and the input is not modified", () => {
    const img = white(4, 4);
    const p = withPatch(img, -2, -2, 2, 2, [0, 0, 0]);
    expect(Array.from(p.data.subarray(0, 3))).toEqual([0, 0, 0]);
    expect(p.data[(1 * 4 + 1) * 3]).toBe(0);
    expect(p.data[(2 * 4 + 2) * 3]).toBe(255);
    expect(img.data.every((v) => v === 255)).toBe(true);
  });

  test("unknown genres, bad grids and a scorer of the wrong size are refused clearly", async () => {
    await expect(occlusionMaps(white(), ["A", "B"], ["C"], quarterScorer)).rejects.toThrow(/cannot explain "C": the model's genres are A, B/);
    await expect(occlusionMaps(white(), ["A", "B"], ["A"], quarterScorer, { grid: 0 })).rejects.toThrow(/grid must be an integer from 1 to 32/);
    await expect(occlusionMaps(white(), ["A", "B", "C"], ["A"], quarterScorer, { grid: 2 })).rejects.toThrow(/returned 10 scores for 5 images × 3 genres/);
  });
});

describe("serial queue", () => {
  test("jobs run one at a time in arrival order, failures do not stop the queue, and a full queue refuses", async () => {
    const q = new SerialQueue(3);
    const log: string[] = [];
    let running = 0;
    const job = (name: string, fail = false) => async () => {
      running++;
      expect(running).toBe(1);
      log.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, 5));
      log.push(`end ${name}`);
      running--;
      if (fail) throw new Error(`${name} failed`);
      return name;
    };
    const a = q.run(job("a"));
    const b = q.run(job("b", true));
    const c = q.run(job("c"));
    await expect(q.run(job("d"))).rejects.toThrow(QueueFullError);
    expect(q.length).toBe(3);
    await expect(a).resolves.toBe("a");
    await expect(b).rejects.toThrow("b failed");
    await expect(c).resolves.toBe("c");
    expect(log).toEqual(["start a", "end a", "start b", "end b", "start c", "end c"]);
    await new Promise((r) => setTimeout(r, 0));
    expect(q.length).toBe(0);
    await expect(q.run(job("e"))).resolves.toBe("e");
  });
});

describe("gallery", () => {
  test("typical: the genre's own covers by score; mistakes: other covers by score", () => {
    const row = (id: string, genres: string[], scores: number[]) => ({ collection: "c", id, path: `/c/${id}.jpg`, genres, scores, predicted: [] });
    const oof: OofScores = {
      format: "covergenre-oof-scores",
      version: 1,
      inputSet: "img",
      genres: ["Rock", "Jazz"],
      rows: [row("1", ["Rock"], [0.9, 0.8]), row("2", ["Jazz"], [0.7, 0.3]), row("3", ["Rock"], [0.2, 0.1]), row("4", ["Jazz"], [0.95, 0.6])],
    };
    const [rock, jazz] = buildGallery(oof, 2);
    expect(rock.typical.map((t) => t.id)).toEqual(["1", "3"]);
    expect(rock.mistakes.map((t) => [t.id, t.score])).toEqual([["4", 0.95], ["2", 0.7]]);
    expect(jazz.typical.map((t) => t.id)).toEqual(["4", "2"]);
    expect(jazz.mistakes.map((t) => t.id)).toEqual(["1", "3"]);
  });
});

describe("pictures", () => {
  test("the overlay is red where hiding lowers the score, blue where it raises it, untouched where nothing changes; faces boxed", async () => {
    const grey = await sharp({ create: { width: 200, height: 100, channels: 3, background: { r: 128, g: 128, b: 128 } } }).png().toBuffer();
    const map = { genre: "A", rows: 1, cols: 3, base: 0.5, grid: [[0.2, 0, -0.2]] };
    const face = { box: [150, 10, 40, 40] as [number, number, number, number], score: 1, age: 30, gender: "male" as const, genderScore: 0.9, race: null, raceScore: null, emotion: null };
    const png = await occlusionOverlayPng(grey, map, [face], 300);
    const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([300, 150]);
    const at = (x: number, y: number) => Array.from(data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3));
    const [r0, , b0] = at(50, 120);
    expect(r0).toBeGreaterThan(b0 + 40); // red cell
    expect(at(150, 120)).toEqual([128, 128, 128]); // no change, no colour
    const [r2, , b2] = at(250, 120);
    expect(b2).toBeGreaterThan(r2 + 40); // blue cell
    const [, gBox] = at(Math.round(150 * 1.5), Math.round(30 * 1.5)); // left edge of the face box, scaled 1.5x
    expect(gBox).toBeGreaterThan(180);
  });
});
