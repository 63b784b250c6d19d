/**
 * The study keeps its best configuration's out-of-fold scores beside the checkpoint (oof.json, the
 * serve gallery's source): one row per training row of the checkpoint, the same scores results.json
 * shows for its examples; `covergenre serve` refuses to start on a bad checkpoint with the reason.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main } from "../../lib/cli/main";
import { buildGallery, readOofScores } from "../../lib/explain/gallery";
import { loadCheckpoint } from "../../lib/train/checkpoint";
import { DEFAULT_HEAD } from "../../lib/train/heads";
import { defaultStudyConfig, runStudy } from "../../lib/train/study";
import { capture } from "../helpers/cli";
import { syntheticFeatureSet, SYN_GENRES } from "../train/synthetic";

test("the study writes oof.json beside the best checkpoint: every training row, the examples' own out-of-fold scores", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cg-oof-"));
  try {
    const { results } = await runStudy(
      syntheticFeatureSet(180, 3),
      defaultStudyConfig({ folds: 3, repeats: 1, head: { ...DEFAULT_HEAD, epochs: 3, minSteps: 40, batchSize: 64 }, variants: false, dataFractions: [], collectionSteps: false, checkpointDir: path.join(dir, "best"), examples: 5, log: () => undefined }),
    );
    const ckpt = await loadCheckpoint(results.bestCheckpoint!);
    const read = readOofScores(results.bestCheckpoint!);
    if (!("oof" in read)) throw new Error(read.missing);
    const oof = read.oof;
    expect(oof.inputSet).toBe(results.bestCheckpointInputSet);
    expect(oof.genres).toEqual(SYN_GENRES);
    expect(oof.rows).toHaveLength(ckpt.meta.trainedOn.rows);
    for (const ex of results.examples) {
      const row = oof.rows.find((r) => r.id === ex.masterId && r.collection === ex.collection)!;
      expect(row.genres).toEqual(ex.trueGenres);
      expect(row.predicted).toEqual(ex.predictedGenres);
      expect(row.scores).toEqual(SYN_GENRES.map((g) => ex.scores[g]));
    }
    const gallery = buildGallery(oof, 3);
    expect(gallery.map((g) => g.genre)).toEqual(SYN_GENRES);
    expect(gallery.every((g) => g.typical.length === 3 && g.mistakes.length === 3)).toBe(true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);

test("covergenre serve names a folder that is not a checkpoint, and shows its options", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cg-serve-cli-"));
  try {
    const bad = capture();
    expect(await main(["serve", "--model", dir, "--port", "0"], bad.out, bad.err)).toBe(1);
    expect(bad.text().stderr).toContain(`${dir} is not a checkpoint: it has no checkpoint.json`);
    const help = capture();
    expect(await main(["serve", "--help"], help.out, help.err)).toBe(0);
    expect(help.text().stdout).toMatch(/--model[\s\S]*--port[\s\S]*--host[\s\S]*127\.0\.0\.1/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
