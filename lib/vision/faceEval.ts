/**
 * Measuring the face analyzer against labelled face crops (UTKFace-style age/gender/race and an
 * emotion set), so every accuracy lever in FaceConfig is chosen by evidence. Used by
 * `npm run bench:faces`; the scoring is pure and unit-tested.
 *
 * Label mapping (documented because it decides the numbers):
 * - race: UTKFace's "others" is GEAR's "other"; the other four names match.
 * - emotion: anger→angry, disgust, fear, happiness→happy, sadness→sad, surprise, neutral.
 *   "contempt" has no class among the study's 7 (DeepFace's) and is excluded from the accuracy;
 *   what the model calls those faces is reported separately.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { combineFace, EMOTIONS, EmotionName, dominantEmotion, FaceConfig, RawFace, Race, RACES } from "./faces";

export interface LabelledFace {
  file: string;
  age?: number;
  gender?: "male" | "female";
  race?: Race;
  /** Emotion among the 7 classes; null when the label has no class (contempt). */
  emotion?: EmotionName | null;
  /** The label as written in the file. */
  rawLabel?: string;
}

const EMOTION_LABELS: Record<string, EmotionName | null> = {
  anger: "angry",
  angry: "angry",
  disgust: "disgust",
  fear: "fear",
  happiness: "happy",
  happy: "happy",
  sadness: "sad",
  sad: "sad",
  surprise: "surprise",
  neutral: "neutral",
  contempt: null,
};

/** Map a dataset's emotion label to the 7 classes (null: contempt); throws on an unknown label. */
export function mapEmotionLabel(label: string): EmotionName | null {
  const key = label.trim().toLowerCase();
  if (!(key in EMOTION_LABELS)) throw new Error(`unknown emotion label "${label}"`);
  return EMOTION_LABELS[key];
}

/** Map a dataset's race label to GEAR's names; throws on an unknown label. */
export function mapRaceLabel(label: string): Race {
  const key = label.trim().toLowerCase();
  const mapped = key === "others" ? "other" : key;
  if (!(RACES as readonly string[]).includes(mapped)) throw new Error(`unknown race label "${label}"`);
  return mapped as Race;
}

/** Parse a small labels.csv (header row, no quoted fields) into records. */
export function parseSimpleCsv(text: string, source = "labels.csv"): Record<string, string>[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  if (lines.length === 0) throw new Error(`${source}: empty file`);
  if (text.includes('"')) throw new Error(`${source}: quoted CSV fields are not supported here`);
  const header = lines[0].split(",").map((h) => h.trim());
  return lines.slice(1).map((line, i) => {
    const cells = line.split(",");
    if (cells.length !== header.length) throw new Error(`${source} line ${i + 2}: ${cells.length} fields, expected ${header.length}`);
    return Object.fromEntries(header.map((h, j) => [h, cells[j].trim()]));
  });
}

/**
 * Read a labelled face folder: `labels.csv` with `file` and any of age, gender, race, emotion.
 * Returns absolute file paths.
 */
export function loadLabelledFaces(dir: string): LabelledFace[] {
  const csv = path.join(dir, "labels.csv");
  const rows = parseSimpleCsv(fs.readFileSync(csv, "utf8"), csv);
  return rows.map((r, i) => {
    if (!r.file) throw new Error(`${csv} line ${i + 2}: no file`);
    const item: LabelledFace = { file: path.join(dir, r.file) };
    if (r.age !== undefined) {
      const age = Number(r.age);
      if (!Number.isFinite(age)) throw new Error(`${csv} line ${i + 2}: age "${r.age}" is not a number`);
      item.age = age;
    }
    if (r.gender !== undefined) {
      if (r.gender !== "male" && r.gender !== "female") throw new Error(`${csv} line ${i + 2}: gender "${r.gender}"`);
      item.gender = r.gender;
    }
    if (r.race !== undefined) item.race = mapRaceLabel(r.race);
    if (r.emotion !== undefined) {
      item.rawLabel = r.emotion;
      item.emotion = mapEmotionLabel(r.emotion);
    }
    return item;
  });
}

export interface FaceMetrics {
  images: number;
  /** Share of images with at least one face found. */
  found: number;
  /** Over images with a gender label and a face found. */
  gender: number | null;
  genderN: number;
  ageMae: number | null;
  ageN: number;
  race: number | null;
  raceN: number;
  emotion: number | null;
  emotionN: number;
  /** What the contempt (unmapped) faces were called, e.g. {neutral: 3, happy: 2}. */
  unmappedEmotion: Record<string, number>;
}

/** The prediction for one crop: its largest face (index 0) or null if none was found. */
export interface Prediction {
  age: number | null;
  gender: "male" | "female" | null;
  race: Race | null;
  emotion: EmotionName | null;
}

/** Score predictions (aligned with `items`; null = no face found). Misses are excluded from attribute scores and counted in `found`. */
export function scoreFaces(items: LabelledFace[], preds: (Prediction | null)[]): FaceMetrics {
  if (items.length !== preds.length) throw new Error(`scoreFaces: ${items.length} items but ${preds.length} predictions`);
  let found = 0;
  let gOk = 0, gN = 0, aErr = 0, aN = 0, rOk = 0, rN = 0, eOk = 0, eN = 0;
  const unmapped: Record<string, number> = {};
  items.forEach((item, i) => {
    const p = preds[i];
    if (!p) return;
    found++;
    if (item.gender && p.gender) {
      gN++;
      if (p.gender === item.gender) gOk++;
    }
    if (item.age !== undefined && p.age !== null) {
      aN++;
      aErr += Math.abs(p.age - item.age);
    }
    if (item.race && p.race) {
      rN++;
      if (p.race === item.race) rOk++;
    }
    if (item.emotion !== undefined && p.emotion) {
      if (item.emotion === null) unmapped[p.emotion] = (unmapped[p.emotion] ?? 0) + 1;
      else {
        eN++;
        if (p.emotion === item.emotion) eOk++;
      }
    }
  });
  return {
    images: items.length,
    found: items.length ? found / items.length : 0,
    gender: gN ? gOk / gN : null,
    genderN: gN,
    ageMae: aN ? aErr / aN : null,
    ageN: aN,
    race: rN ? rOk / rN : null,
    raceN: rN,
    emotion: eN ? eOk / eN : null,
    emotionN: eN,
    unmappedEmotion: unmapped,
  };
}

/** The main-face prediction from raw outputs under a config (for offline ablations). */
export function predictFromRaw(raw: RawFace[], config: FaceConfig): Prediction | null {
  if (raw.length === 0) return null;
  const info = combineFace(raw[0], config);
  return { age: info.age, gender: info.gender, race: info.race, emotion: dominantEmotion(info.emotion) };
}

export { EMOTIONS };
