import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadLabelledFaces, mapEmotionLabel, mapRaceLabel, parseSimpleCsv, scoreFaces, predictFromRaw, LabelledFace } from "../../lib/vision/faceEval";
import { DEFAULT_FACE_CONFIG, RawFace } from "../../lib/vision/faces";

describe("face evaluation", () => {
  test("label mapping: contempt has no class, others → other, unknown labels throw", () => {
    expect(mapEmotionLabel("happiness")).toBe("happy");
    expect(mapEmotionLabel("anger")).toBe("angry");
    expect(mapEmotionLabel("Sadness ")).toBe("sad");
    expect(mapEmotionLabel("contempt")).toBeNull();
    expect(() => mapEmotionLabel("boredom")).toThrow(/unknown emotion label "boredom"/);
    expect(mapRaceLabel("others")).toBe("other");
    expect(mapRaceLabel("Asian")).toBe("asian");
    expect(() => mapRaceLabel("martian")).toThrow(/martian/);
  });

  test("parseSimpleCsv and loadLabelledFaces", () => {
    expect(parseSimpleCsv("file,age\na.jpg,3\n\nb.jpg,40\n")).toEqual([
      { file: "a.jpg", age: "3" },
      { file: "b.jpg", age: "40" },
    ]);
    expect(() => parseSimpleCsv("file,age\na.jpg\n", "x.csv")).toThrow(/x\.csv line 2: 1 fields, expected 2/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "covergenre-faceeval-"));
    try {
      fs.writeFileSync(path.join(dir, "labels.csv"), "file,age,gender,race\n1.jpg,25,female,others\n");
      expect(loadLabelledFaces(dir)).toEqual([{ file: path.join(dir, "1.jpg"), age: 25, gender: "female", race: "other" }]);
      fs.writeFileSync(path.join(dir, "labels.csv"), "file,age\n1.jpg,old\n");
      expect(() => loadLabelledFaces(dir)).toThrow(/age "old" is not a number/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("scoreFaces counts misses in found only and reports contempt separately", () => {
    const items: LabelledFace[] = [
      { file: "a", age: 20, gender: "male", race: "white" },
      { file: "b", age: 40, gender: "female", race: "black" },
      { file: "c", age: 60, gender: "female", race: "asian" },
      { file: "d", emotion: "happy" },
      { file: "e", emotion: null, rawLabel: "contempt" },
    ];
    const m = scoreFaces(items, [
      { age: 30, gender: "male", race: "white", emotion: "sad" },
      { age: 40, gender: "male", race: "black", emotion: null },
      null,
      { age: null, gender: null, race: null, emotion: "happy" },
      { age: null, gender: null, race: null, emotion: "neutral" },
    ]);
    expect(m.found).toBeCloseTo(0.8);
    expect(m.gender).toBeCloseTo(0.5);
    expect(m.genderN).toBe(2);
    expect(m.ageMae).toBeCloseTo(5);
    expect(m.race).toBe(1);
    expect(m.emotion).toBe(1);
    expect(m.emotionN).toBe(1);
    expect(m.unmappedEmotion).toEqual({ neutral: 1 });
    expect(() => scoreFaces(items, [])).toThrow(/5 items but 0 predictions/);
  });

  test("predictFromRaw uses the main (first) face", () => {
    expect(predictFromRaw([], DEFAULT_FACE_CONFIG)).toBeNull();
    const raw: RawFace = {
      box: [0, 0, 1, 1],
      score: 1,
      faceresMale: [0.2],
      faceresAge: [Array.from({ length: 100 }, (_, i) => (i === 8 ? 1 : 0))],
      descriptor: null,
      gearMale: null,
      gearAge: null,
      gearRace: [[0, 0, 0, 1, 0]],
      emotion: [[0, 0, 0.7, 0.1, 0.1, 0.05, 0.05]],
    };
    expect(predictFromRaw([raw], { ...DEFAULT_FACE_CONFIG, flip: false })).toEqual({ age: 8, gender: "female", race: "indian", emotion: "fear" });
  });
});
