/**
 * One rule for where data lives, used by every command, notebook and benchmark.
 *
 * Data root: `--data` flag > `COVERGENRE_DATA` env > a sibling `../shared/data` next to the checkout
 * (how the development machines and CI provide real data) > `<project>/datasets`.
 *
 * Covers, as one or more collections (folders) studied together: `--covers` flags (repeatable) >
 * `COVERGENRE_COVERS` env (folders separated by the platform's path delimiter, `:` on Linux) > the
 * user's own crawl in `datasets/covers` first when present, then every labelled collection in the
 * data root (`images/` + `labels.csv`, by folder name: today `discogs-covers` and
 * `discogs-popular-covers`). Nothing under the data root is ever committed: it comes from public
 * sources outside this project.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { UserError } from "./util/errors";
import { isDirectory } from "./util/fsx";

/**
 * The project checkout (the folder holding our package.json), found from this file's real path, not
 * from cwd: notebooks run with cwd = notebooks/ and reach lib/ through a symlink.
 */
export const PROJECT_ROOT = findProjectRoot(__dirname);

function findProjectRoot(start: string): string {
  let dir = fs.realpathSync(start);
  for (;;) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, "utf8")).name === "covergenre") return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(start, "..");
    dir = parent;
  }
}

export interface LocateOptions {
  /** Explicit `--data` value. */
  data?: string;
  /** Explicit `--covers` value(s). */
  covers?: string | string[];
  env?: NodeJS.ProcessEnv;
  /** Project root override (tests). */
  projectRoot?: string;
}

export interface DataRoot {
  dir: string;
  /** Which rule chose it, for `doctor` and error messages. */
  source: "flag" | "env" | "shared" | "datasets";
}

export function resolveDataRoot(opts: LocateOptions = {}): DataRoot {
  const env = opts.env ?? process.env;
  const root = opts.projectRoot ?? PROJECT_ROOT;
  if (opts.data) return { dir: path.resolve(opts.data), source: "flag" };
  if (env.COVERGENRE_DATA) return { dir: path.resolve(env.COVERGENRE_DATA), source: "env" };
  const shared = path.resolve(root, "..", "shared", "data");
  if (isDirectory(shared)) return { dir: shared, source: "shared" };
  return { dir: path.join(root, "datasets"), source: "datasets" };
}

/** Where the project keeps generated data (features, crawls, folds) — always inside the checkout. */
export function datasetsDir(projectRoot: string = PROJECT_ROOT): string {
  return path.join(projectRoot, "datasets");
}

/** The feature table every step reads by default (`covergenre features` writes it). */
export function defaultFeatureTable(projectRoot: string = PROJECT_ROOT): string {
  return path.join(datasetsDir(projectRoot), "features", "covers.csv");
}

export function checkpointsDir(projectRoot: string = PROJECT_ROOT): string {
  return path.join(projectRoot, "checkpoints");
}

/** Shared pretrained backbones beside the data root (`../shared/models`), if present. */
export function sharedModelsDir(opts: LocateOptions = {}): string | null {
  const root = opts.projectRoot ?? PROJECT_ROOT;
  const env = opts.env ?? process.env;
  if (env.COVERGENRE_MODELS) return path.resolve(env.COVERGENRE_MODELS);
  const dir = path.resolve(root, "..", "shared", "models");
  return isDirectory(dir) ? dir : null;
}

/**
 * How a folder of covers is laid out:
 * - `crawl`: the crawler's `<Genre>/<id>.jpeg` and `multi/<A+B>/<id>.jpeg` tree;
 * - `labelled`: an `images/` folder plus a `labels.csv` (id, genres `|`-separated), as the shared set ships.
 */
export type CoversLayout = "crawl" | "labelled";

export interface CoversLocation {
  /**
   * The collection's name: its folder's name. Rows are keyed by collection + cover id everywhere
   * (table, caches, predictions, reports), since ids of different collections can collide.
   */
  name: string;
  dir: string;
  layout: CoversLayout;
  source: "flag" | "env" | "crawl" | "data-root";
}

export function detectCoversLayout(dir: string): CoversLayout {
  if (fs.existsSync(path.join(dir, "labels.csv")) && isDirectory(path.join(dir, "images"))) return "labelled";
  return "crawl";
}

const HOW_TO_GET_COVERS = [
  "No album covers found. Get some in one of these ways:",
  "  - crawl Discogs: DISCOGS_TOKEN=<your token> npx covergenre crawl --dump discogs_YYYYMMDD_masters.xml.gz --out datasets/covers",
  "    (the monthly dumps are at the Discogs data page; a personal token is under Settings > Developers)",
  "  - point at a folder laid out as <Genre>/<id>.jpeg and multi/<GenreA+GenreB>/<id>.jpeg: --covers <dir>",
  "  - or set COVERGENRE_DATA to a data root that holds discogs-covers/ (images/ + labels.csv)",
].join("\n");

/** Does `dir` hold a labelled collection (`images/` + `labels.csv`)? */
export function isLabelledCollection(dir: string): boolean {
  return detectCoversLayout(dir) === "labelled";
}

function location(dir: string, source: CoversLocation["source"]): CoversLocation {
  return { name: path.basename(dir), dir, layout: detectCoversLayout(dir), source };
}

/**
 * Every collection to work on, in order, or a UserError that says exactly how to get some. Two
 * collections may not share a folder name (the name is part of every row's key).
 */
export function resolveCollections(opts: LocateOptions = {}): CoversLocation[] {
  const env = opts.env ?? process.env;
  const root = opts.projectRoot ?? PROJECT_ROOT;
  const flags = opts.covers === undefined ? [] : (Array.isArray(opts.covers) ? opts.covers : [opts.covers]).filter((c) => c !== "");
  const fromEnv = flags.length ? [] : (env.COVERGENRE_COVERS ?? "").split(path.delimiter).filter(Boolean);
  let found: CoversLocation[];
  if (flags.length || fromEnv.length) {
    const source = flags.length ? "flag" : "env";
    found = (flags.length ? flags : fromEnv).map((c) => {
      const dir = path.resolve(c);
      if (!isDirectory(dir)) throw new UserError(`covers folder ${dir} does not exist.\n${HOW_TO_GET_COVERS}`);
      return location(dir, source);
    });
  } else {
    found = [];
    const crawl = path.join(datasetsDir(root), "covers");
    if (isDirectory(crawl) && fs.readdirSync(crawl).some((n) => !n.startsWith(".") && n !== "manifest.csv")) found.push(location(crawl, "crawl"));
    const dataRoot = resolveDataRoot(opts).dir;
    if (isDirectory(dataRoot)) {
      for (const name of fs.readdirSync(dataRoot).sort()) {
        const dir = path.join(dataRoot, name);
        if (!name.startsWith(".") && isDirectory(dir) && isLabelledCollection(dir)) found.push(location(dir, "data-root"));
      }
    }
    if (!found.length) throw new UserError(HOW_TO_GET_COVERS);
  }
  const byName = new Map<string, string>();
  for (const c of found) {
    const other = byName.get(c.name);
    if (other !== undefined) {
      if (other === c.dir) throw new UserError(`covers folder ${c.dir} is given twice`);
      throw new UserError(`two covers folders are both named "${c.name}" (${other} and ${c.dir}): a collection is known by its folder's name, so rename one`);
    }
    byName.set(c.name, c.dir);
  }
  return found;
}

/** The first collection {@link resolveCollections} finds (commands that work on one folder). */
export function resolveCovers(opts: LocateOptions = {}): CoversLocation {
  return resolveCollections(opts)[0];
}
