import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import sharp from "sharp";
import { faceGridPng, faceLabel, genreFigures, genresPresent, swatchFigure } from "../../lib/features/figures";
import type { CoverRow, FaceInfo, FeatureSet } from "../../lib/features/store";

function face(gender: "male" | "female", age: number, happy: number, box: [number, number, number, number] = [10, 10, 40, 40]): FaceInfo {
  return {
    box,
    score: 0.9,
    age,
    gender,
    genderScore: 0.9,
    race: gender === "male" ? "white" : "black",
    raceScore: 0.8,
    emotion: { angry: 0, disgust: 0, fear: 0, happy, sad: 0, surprise: 0, neutral: 1 - happy },
  };
}

function row(id: string, genres: string[], faces: FaceInfo[], dominant: [number, number, number] = [200, 10, 10], error: string | null = null): CoverRow {
  return { collection: "nowhere", masterId: id, path: `images/${id}.png`, width: 100, height: 100, genres, isMultiLabeled: genres.length > 1, dominant, meanColour: dominant, faces, error };
}

describe("figures", () => {
  const rows = [
    row("1", ["Rock"], [face("male", 30, 0.9), face("female", 20, 0.1, [5, 5, 10, 10])]),
    row("2", ["Rock", "Pop"], [face("female", 40, 0.2)], [10, 10, 200]),
    row("3", ["Pop"], []),
    row("4", ["Jazz"], [], [0, 0, 0], "cannot decode image images/4.png: not a supported image"),
  ];
  const set: FeatureSet = { tablePath: "t.csv", coversDir: "/nowhere", rows, embeddings: {} };

  test("labels and genres", () => {
    expect(faceLabel(face("female", 31.4, 0.8))).toBe("F 31 happy");
    expect(genresPresent(rows.filter((r) => !r.error))).toEqual(["Pop", "Rock"]);
  });

  test("per-genre shares are computed from every face of the genre's covers", () => {
    const f = genreFigures(set);
    const gender = f.gender.data as { name: string; x: string[]; y: number[] }[];
    expect(gender[0].x).toEqual(["Pop (2)", "Rock (2)"]);
    const male = gender.find((t) => t.name === "male")!;
    expect(male.y[0]).toBeCloseTo(0); // Pop: one female face
    expect(male.y[1]).toBeCloseTo(100 / 3); // Rock: 1 male of 3 faces
    const perCover = f.facesPerCover.data as { name: string; y: number[] }[];
    expect(perCover.find((t) => t.name === "0 faces")!.y[0]).toBeCloseTo(50);
    expect(perCover.find((t) => t.name === "2 faces")!.y[1]).toBeCloseTo(50);
    const happy = (f.emotion.data as { name: string; y: number[] }[]).find((t) => t.name === "happy")!;
    expect(happy.y[1]).toBeCloseTo((0.9 + 0.1 + 0.2) / 3);
    const sw = swatchFigure(set, 10).data as { y: string[]; marker: { color: string[] } }[];
    expect(sw[1].marker.color).toEqual(["rgb(200,10,10)", "rgb(10,10,200)"]); // Rock, by hue: red (0°) before blue (240°)
  });

  test("face grid draws boxes on real covers into one PNG", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "grid-"));
    fs.mkdirSync(path.join(dir, "images"));
    for (const id of ["1", "2"]) {
      await sharp({ create: { width: 100, height: 100, channels: 3, background: "#808080" } }).png().toFile(path.join(dir, "images", `${id}.png`));
    }
    const png = await faceGridPng({ ...set, coversDir: dir }, { tile: 100, cols: 2 });
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["png", 200, 100]);
    // The male face's box on cover 1 is drawn in blue at x = 10 (tile scale 1).
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    const px = (x: number, y: number) => Array.from(data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3));
    const edge = px(10, 30);
    expect(edge[2]).toBeGreaterThan(200);
    expect(edge[0]).toBeLessThan(100);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
