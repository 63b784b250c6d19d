/**
 * The GEAR race model is fetched on first use by every command that needs it, through an injectable
 * npm runner: these tests never touch the network.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { ensureGearForCommand, findGearModel, gearModelDir, HUMAN_MODELS_PACKAGE, type NpmRunner } from "../../lib/vision/models";

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cg-gear-"));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** An npm that fails as it does without a registry. */
function offlineNpm(calls: string[][]): NpmRunner {
  return (args) => {
    calls.push(args);
    throw Object.assign(new Error("Command failed: npm pack"), {
      stderr: "npm error code ENOTFOUND\nnpm error network request to https://registry.npmjs.org/@vladmandic%2fhuman-models failed",
    });
  };
}

test("offline: says exactly what is missing and how to get it, returns null, and tries only once per process", () => {
  const env = { COVERGENRE_CACHE: path.join(tmp, "cache") };
  const calls: string[][] = [];
  const lines: string[] = [];
  expect(ensureGearForCommand((l) => lines.push(l), { command: "faces", env, npm: offlineNpm(calls) })).toBeNull();
  expect(calls).toEqual([["pack", HUMAN_MODELS_PACKAGE, "--silent", "--pack-destination", expect.any(String)]]);
  const said = lines.join("\n");
  expect(said).toContain(`faces: downloading the GEAR race model (${HUMAN_MODELS_PACKAGE}`);
  expect(said).toContain(`faces: race will be empty: the GEAR race model is missing (gear.json and gear.bin in ${gearModelDir(env)})`);
  expect(said).toContain("ENOTFOUND");
  expect(said).toContain("npx covergenre setup");
  // a second command invocation in the same process does not try again (nor repeat the message)
  expect(ensureGearForCommand((l) => lines.push(l), { command: "faces", env, npm: offlineNpm(calls) })).toBeNull();
  expect(calls).toHaveLength(1);
  expect(findGearModel(env)).toBeNull();
});

test("COVERGENRE_NO_FETCH=1: no npm call, the same explanation", () => {
  const env = { COVERGENRE_CACHE: path.join(tmp, "cache2"), COVERGENRE_NO_FETCH: "1" };
  const calls: string[][] = [];
  const lines: string[] = [];
  expect(ensureGearForCommand((l) => lines.push(l), { command: "predict", env, npm: offlineNpm(calls) })).toBeNull();
  expect(calls).toEqual([]);
  expect(lines).toEqual([expect.stringMatching(/^predict: race will be empty: .*COVERGENRE_NO_FETCH=1.*npx covergenre setup/)]);
});

test("first use fetches through npm pack and keeps only gear.json, gear.bin and the licence; later uses find it", () => {
  const env = { COVERGENRE_CACHE: path.join(tmp, "cache3") };
  const calls: string[][] = [];
  // A stand-in for the human-models tarball, built locally.
  const npm: NpmRunner = (args) => {
    calls.push(args);
    const dest = args[args.indexOf("--pack-destination") + 1];
    const pkg = path.join(tmp, "src", "package");
    fs.mkdirSync(path.join(pkg, "models"), { recursive: true });
    fs.writeFileSync(path.join(pkg, "models", "gear.json"), "{}");
    fs.writeFileSync(path.join(pkg, "models", "gear.bin"), Buffer.alloc(16));
    fs.writeFileSync(path.join(pkg, "models", "other.bin"), Buffer.alloc(16));
    fs.writeFileSync(path.join(pkg, "LICENSE"), "MIT");
    execFileSync("tar", ["-czf", path.join(dest, "human-models-3.0.4.tgz"), "-C", path.join(tmp, "src"), "package"]);
    return "human-models-3.0.4.tgz\n";
  };
  const lines: string[] = [];
  const gear = ensureGearForCommand((l) => lines.push(l), { command: "features", env, npm });
  expect(gear).toBe(path.join(gearModelDir(env), "gear.json"));
  expect(fs.readdirSync(gearModelDir(env)).sort()).toEqual(["LICENSE", "gear.bin", "gear.json"]);
  expect(ensureGearForCommand((l) => lines.push(l), { command: "features", env, npm })).toBe(gear);
  expect(calls).toHaveLength(1);
  expect(lines).toEqual([expect.stringMatching(/^features: downloading the GEAR race model/)]);
});
