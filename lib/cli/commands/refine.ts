/** `covergenre refine`: the study's 03.Refine_Divide on a feature table (CSVs + folds.json). */
import * as path from "node:path";
import type { Command } from "../framework";
import { intOpt, stringOpt } from "../framework";
import { datasetsDir, defaultFeatureTable } from "../../paths";
import { readFeatureSet } from "../../features/store";
import { DEFAULT_REFINE, refine, writeRefined } from "../../train/refine";

export const refineCommand: Command = {
  name: "refine",
  summary: "keep the major genres and covers with faces, divide into img/face/clr/y_label CSVs, write the folds",
  usage: "covergenre refine [--table <csv>] [--out <dir>] [--folds 5] [--repeats 2] [--json]",
  options: {
    table: { type: "string", description: "feature table", defaultText: "datasets/features/covers.csv" },
    out: { type: "string", description: "output folder", defaultText: "datasets/refined" },
    folds: { type: "string", description: "folds", defaultText: "5" },
    repeats: { type: "string", description: "repeats", defaultText: "2" },
    seed: { type: "string", description: "seed", defaultText: "42" },
    genres: { type: "string", description: "comma-separated genres to keep", defaultText: "the 7 major genres" },
  },
  async run(ctx) {
    const v = ctx.values;
    const table = path.resolve(stringOpt(v, "table") ?? defaultFeatureTable());
    const out = path.resolve(stringOpt(v, "out") ?? path.join(datasetsDir(), "refined"));
    // Options first: a usage error (exit 2) should not wait for, or be masked by, reading the table.
    const config = {
      ...DEFAULT_REFINE,
      folds: intOpt(v, "folds", 5, 2, 50),
      repeats: intOpt(v, "repeats", 2, 1, 50),
      seed: intOpt(v, "seed", 42, 0),
      ...(stringOpt(v, "genres") ? { genres: stringOpt(v, "genres")!.split(",").map((s) => s.trim()) } : {}),
    };
    const r = refine(await readFeatureSet(table), config);
    const files = await writeRefined(out, r);
    const summary = { out, genres: r.genres, droppedGenres: r.droppedGenres, droppedRows: r.droppedRows, faces: r.faces.n, all: r.all.n, files };
    if (ctx.json) ctx.printJson(summary);
    else {
      ctx.print(`kept genres: ${r.genres.join(", ")}`);
      for (const d of r.droppedGenres) ctx.print(`dropped genre ${d.genre}: ${d.reason}`);
      for (const d of r.droppedRows) ctx.print(`dropped ${d.count} covers: ${d.reason}`);
      ctx.print(`covers: ${r.all.n} (${r.faces.n} with a face); wrote ${files.length} files under ${out}`);
    }
    return 0;
  },
};
