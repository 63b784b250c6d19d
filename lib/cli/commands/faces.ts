/**
 * `covergenre faces [--json] <image…>`: every face on each image with box, age, gender, race and
 * emotion — the quickest way to see what the feature table will say about a cover. A file that
 * cannot be read gets an `error` and the others still run; the exit code is 1 if any file failed.
 */
import type { Command } from "../framework";
import { floatOpt, intOpt } from "../framework";
import { describeError, UsageError } from "../../util/errors";
import { Progress } from "../../util/progress";
import { decodeImage } from "../../vision/image";
import { DEFAULT_FACE_CONFIG, dominantEmotion, FaceInfo, loadFaceAnalyzer } from "../../vision/faces";
import { ensureGearForCommand } from "../../vision/models";

export interface FacesFileResult {
  file: string;
  faces: FaceInfo[];
  error?: string;
}

/** Analyze files one by one; failures are recorded per file, never thrown. */
export async function facesForFiles(
  files: string[],
  options: { maxFaces?: number; margin?: number; cropScale?: number; embedding?: boolean; flip?: boolean } = {},
  onFile?: (r: FacesFileResult) => void,
): Promise<{ version: string; results: FacesFileResult[] }> {
  const analyzer = await loadFaceAnalyzer({
    ...(options.maxFaces !== undefined ? { maxDetected: options.maxFaces } : {}),
    ...(options.margin !== undefined ? { margin: options.margin } : {}),
    ...(options.cropScale !== undefined ? { cropScale: options.cropScale } : {}),
    ...(options.flip !== undefined ? { flip: options.flip } : {}),
    embedding: Boolean(options.embedding),
  });
  const results: FacesFileResult[] = [];
  try {
    for (const file of files) {
      let r: FacesFileResult;
      try {
        r = { file, faces: await analyzer.analyze(await decodeImage(file)) };
      } catch (err) {
        r = { file, faces: [], error: describeError(err) };
      }
      results.push(r);
      onFile?.(r);
    }
  } finally {
    analyzer.dispose();
  }
  return { version: analyzer.version, results };
}

function describeFace(f: FaceInfo, i: number): string {
  const [x, y, w, h] = f.box;
  const emo = dominantEmotion(f.emotion);
  const parts = [
    `  face ${i + 1}: box ${x},${y} ${w}x${h} (score ${f.score.toFixed(2)})`,
    f.age !== null ? `age ${f.age.toFixed(0)}` : null,
    f.gender ? `${f.gender} ${f.genderScore?.toFixed(2)}` : null,
    f.race ? `${f.race} ${f.raceScore?.toFixed(2)}` : null,
    emo && f.emotion ? `${emo} ${f.emotion[emo].toFixed(2)}` : null,
  ];
  return parts.filter(Boolean).join(", ");
}

export const facesCommand: Command = {
  name: "faces",
  summary: "find every face on images with box, age, gender, race (GEAR) and the 7 emotion scores",
  usage: "covergenre faces [--json] [--max-faces N] <image…>",
  positionals: true,
  options: {
    "max-faces": { type: "string", description: "most faces reported per image", defaultText: String(DEFAULT_FACE_CONFIG.maxDetected) },
    margin: { type: "string", description: "border added before detection, as a fraction of the image side", defaultText: String(DEFAULT_FACE_CONFIG.margin) },
    "crop-scale": { type: "string", description: "face crop side for the attribute models, × the face box (0 = detector crop)", defaultText: String(DEFAULT_FACE_CONFIG.cropScale) },
    flip: { type: "boolean", description: "also run the models on the mirror image and average (2x the attribute cost; no measured gain on the shared sets)" },
    embedding: { type: "boolean", description: "include each face's 1024-d descriptor in --json output" },
  },
  details:
    "Boxes are [x, y, width, height] in the original image's pixels; emotion scores sum to 1.\n" +
    "Race needs the GEAR model: fetched once through npm on first use (as `npm start` and `covergenre setup` do);\n" +
    "offline, the command says what is missing and race is null.\n" +
    "A truncated or corrupt image gets an `error` (never faces of a half-decoded picture).\n" +
    "Exit code 1 if any file could not be analyzed (each such file has an `error`).",
  async run(ctx) {
    const files = ctx.positionals;
    if (files.length === 0) throw new UsageError("give at least one image file");
    const maxFaces = intOpt(ctx.values, "max-faces", DEFAULT_FACE_CONFIG.maxDetected, 1, 1000);
    const margin = floatOpt(ctx.values, "margin", DEFAULT_FACE_CONFIG.margin, 0, 2);
    const cropScale = floatOpt(ctx.values, "crop-scale", DEFAULT_FACE_CONFIG.cropScale, 0, 4);
    ensureGearForCommand(ctx.log, { command: "faces" }); // fetched once on first use; offline: race stays null
    const progress = files.length > 20 ? new Progress("faces", files.length, { unit: "images" }) : null;
    const { results, version } = await facesForFiles(
      files,
      { maxFaces, margin, cropScale, flip: Boolean(ctx.values.flip), embedding: Boolean(ctx.values.embedding) },
      (r) => {
        progress?.tick(r.error ? "failed" : "ok");
        if (r.error && ctx.json) ctx.log(`faces: ${r.error}`);
      },
    );
    progress?.finish();
    const failed = results.filter((r) => r.error).length;
    if (ctx.json) {
      ctx.printJson(results);
    } else {
      for (const r of results) {
        if (r.error) {
          ctx.print(`${r.file}: error: ${r.error}`);
          continue;
        }
        ctx.print(`${r.file}: ${r.faces.length} face${r.faces.length === 1 ? "" : "s"}`);
        r.faces.forEach((f, i) => ctx.print(describeFace(f, i)));
      }
      ctx.log(`faces: ${results.length - failed} analyzed, ${failed} failed (analyzer ${version})`);
    }
    return failed > 0 ? 1 : 0;
  },
};
