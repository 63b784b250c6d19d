/**
 * The study's own 1,016-row tables (`thesis/` in the data root): facial.csv (DeepFace age, gender,
 * dominant race, 7 emotion scores), clr.csv (dominant colour), y_label.csv (7 genres). Read with
 * danfojs as the study read them with pandas, then one-hot encoded exactly as the study fed its
 * model: gender (2) + race (6 DeepFace classes) + age + 7 emotions = 16 face inputs, 3 colour inputs.
 * There are no images, so only the face + colour model can be rerun on them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { canonicalGenre } from "../discogs/genres";
import { danfo } from "../features/store";
import { UserError } from "../util/errors";
import type { LabelledDataset } from "./dataset";

export const DEEPFACE_RACES = ["asian", "indian", "black", "white", "middle eastern", "latino hispanic"] as const;
export const THESIS_EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"] as const;

async function readFrame(file: string): Promise<{ columns: string[]; values: unknown[][] }> {
  if (!fs.existsSync(file)) throw new UserError(`thesis table ${file} does not exist`);
  const df = await danfo().readCSV(file, { dynamicTyping: false, skipEmptyLines: true });
  return { columns: df.columns, values: df.values };
}

/** Load facial/clr/y_label.csv of a thesis folder into one dataset (blocks face and clr). */
export async function readThesisTables(dir: string): Promise<LabelledDataset> {
  const [facial, clr, ylab] = await Promise.all(["facial.csv", "clr.csv", "y_label.csv"].map((f) => readFrame(path.join(dir, f))));
  const n = facial.values.length;
  if (clr.values.length !== n || ylab.values.length !== n) {
    throw new UserError(`thesis tables in ${dir} are not row-aligned: facial ${n}, clr ${clr.values.length}, y_label ${ylab.values.length} rows`);
  }
  const col = (frame: { columns: string[] }, name: string, file: string) => {
    const i = frame.columns.indexOf(name);
    if (i < 0) throw new UserError(`${path.join(dir, file)} has no column "${name}"`);
    return i;
  };
  const faceColumns = ["gender_man", "gender_woman", ...DEEPFACE_RACES.map((r) => `race_${r.replace(" ", "_")}`), "age", ...THESIS_EMOTIONS.map((e) => `emotion_${e}`)];
  const face = new Float32Array(n * faceColumns.length);
  const iAge = col(facial, "age", "facial.csv");
  const iGender = col(facial, "gender", "facial.csv");
  const iRace = col(facial, "dominant_race", "facial.csv");
  const iEmo = THESIS_EMOTIONS.map((e) => col(facial, e, "facial.csv"));
  facial.values.forEach((v, i) => {
    const o = i * faceColumns.length;
    const gender = String(v[iGender]);
    face[o] = gender === "Man" ? 1 : 0;
    face[o + 1] = gender === "Woman" ? 1 : 0;
    DEEPFACE_RACES.forEach((r, j) => (face[o + 2 + j] = String(v[iRace]) === r ? 1 : 0));
    face[o + 8] = Number(v[iAge]);
    // DeepFace scores are percentages; the study fed them as they were.
    iEmo.forEach((c, j) => (face[o + 9 + j] = Number(v[c])));
  });
  const clrCols = ["dominant_r", "dominant_g", "dominant_b"];
  const clrIdx = clrCols.map((c) => col(clr, c, "clr.csv"));
  const clrData = new Float32Array(n * 3);
  clr.values.forEach((v, i) => clrIdx.forEach((c, j) => (clrData[i * 3 + j] = Number(v[c]))));
  const genres = ylab.columns.map((c) => canonicalGenre(c) ?? c);
  const k = genres.length;
  const y = new Uint8Array(n * k);
  ylab.values.forEach((v, i) => v.forEach((x, j) => (y[i * k + j] = Number(x) >= 0.5 ? 1 : 0)));
  for (const [name, data] of [["facial.csv", face], ["clr.csv", clrData]] as const) {
    const bad = data.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new UserError(`${path.join(dir, name)}: row ${Math.floor(bad / (data.length / n)) + 1} has a value that is not a number`);
  }
  return {
    sourceRows: Array.from({ length: n }, (_, i) => i),
    ids: Array.from({ length: n }, (_, i) => String(i)),
    collections: Array.from({ length: n }, () => "thesis"),
    paths: Array.from({ length: n }, () => ""),
    genres,
    n,
    k,
    y,
    blocks: {
      face: { dim: faceColumns.length, columns: faceColumns, data: face },
      clr: { dim: 3, columns: clrCols, data: clrData },
    },
  };
}
