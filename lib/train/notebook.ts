/**
 * Helpers for the 03.Refine_Divide and Inception_7genre notebooks, kept here (tested, typed) so the
 * notebooks only narrate and call.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { datasetsDir, resolveCollections, defaultFeatureTable } from "../paths";
import { buildFeatureTable } from "../features/build";
import { defaultFeatureConfig, withInceptionMaps } from "../features/config";

/** Quick mode (CI): `COVERGENRE_QUICK=1`. */
export function isQuick(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.COVERGENRE_QUICK === "1";
}

/**
 * The feature table a notebook works on: `COVERGENRE_TABLE`, else datasets/features/covers.csv
 * (built by 02.MakeCSV / `covergenre features`). In quick mode without a full table, a small
 * table of the first `quickCovers` covers is built (cached, so a re-run is instant).
 */
export async function locateTable(opts: { quick?: boolean; quickCovers?: number; log?: (s: string) => void } = {}): Promise<string> {
  const quick = opts.quick ?? isQuick();
  if (process.env.COVERGENRE_TABLE) return path.resolve(process.env.COVERGENRE_TABLE);
  const full = defaultFeatureTable();
  if (fs.existsSync(full)) return full;
  if (!quick) {
    throw new Error(`no feature table at ${full}: run notebook 02.MakeCSV or \`covergenre features\` first (or set COVERGENRE_TABLE, or COVERGENRE_QUICK=1 for a small one)`);
  }
  const table = path.join(datasetsDir(), "features", "quick.csv");
  opts.log?.(`building a quick table of ${opts.quickCovers ?? 150} covers at ${table}…`);
  await buildFeatureTable({
    collections: resolveCollections(),
    tablePath: table,
    // Share the full table's cache: covers already computed there are not computed again. With
    // InceptionV3 maps, so the quick notebook can train its tiny version of the study's Flatten head.
    config: { ...defaultFeatureConfig(), ...withInceptionMaps(defaultFeatureConfig()), limit: opts.quickCovers ?? 150, sample: "spread", workers: 1, cacheDir: path.join(datasetsDir(), "features", "covers.cache") },
    progress: false,
    log: opts.log ?? (() => undefined),
  });
  return table;
}
