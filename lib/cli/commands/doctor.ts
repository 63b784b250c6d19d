/**
 * `covergenre doctor`: what this machine can run — backend, SIMD, versions, models, data, Jupyter,
 * disk — so a newcomer sees at once what is missing and how to get it.
 */
import * as fs from "node:fs";
import type { Command } from "../framework";
import { initTf } from "../../tf";
import { PROJECT_ROOT, resolveCollections, resolveDataRoot, sharedModelsDir } from "../../paths";
import { packageVersion } from "../../util/packages";
import { findGearModel, humanModelsDir } from "../../vision/models";
import { BACKBONES } from "../../vision/backbone";
import { peekRuntime } from "../../onnx/backbone";
import { defaultThreads, effectiveRuntime, ortStatus } from "../../onnx/runtime";
import { chooseFaceRuntimesSync } from "../../onnx/faceModels";
import { exportPaths, onnxCacheDir } from "../../onnx/store";
import { defaultFeatureConfig } from "../../features/config";
import { jupyterStatus } from "../../notebooks";

export interface DoctorReport {
  ok: boolean;
  backend: string;
  simd: boolean | null;
  /**
   * Where the image backbones and the face models run (`COVERGENRE_RUNTIME`): onnx (onnxruntime-node)
   * or tfjs, why, and per model with how many threads.
   */
  runtime: {
    default: string;
    reason: string;
    onnxruntime: { available: boolean; version: string | null; error: string | null };
    exportsDir: string;
    featureWorkers: number;
    backbones: Record<string, { runtime: string; reason: string; threadsPerWorker: number; threadsInMainThread: number; export: string | null; maxDiff: number | null }>;
    faces: DoctorReport["runtime"]["backbones"];
  };
  matmulFix: boolean;
  node: string;
  versions: Record<string, string | null>;
  models: {
    human: { dir: string; found: string[] };
    gear: string | null;
    backbones: Record<string, string | null>;
  };
  data: { root: string; rootSource: string; covers: string | null; coversLayout: string | null; collections: { name: string; dir: string; layout: string }[]; coversError?: string };
  jupyter: { jupyter: string | null; nbconvert: boolean; tslabKernel: boolean };
  freeDiskBytes: number | null;
  problems: string[];
}

export async function doctor(env: NodeJS.ProcessEnv = process.env, dataFlag?: string): Promise<DoctorReport> {
  const status = await initTf();
  const problems: string[] = [];
  if (status.backend !== "wasm" && status.backend !== "tensorflow") problems.push(`running on the slow "${status.backend}" backend`);
  if (status.backend === "wasm" && !status.simd) problems.push("wasm SIMD is off: models run 2-3x slower");

  const humanDir = humanModelsDir();
  const humanFound = fs.existsSync(humanDir) ? fs.readdirSync(humanDir).filter((f) => f.endsWith(".json") && f !== "models.json").map((f) => f.replace(/\.json$/, "")) : [];
  const gear = findGearModel(env);
  if (!gear) problems.push("GEAR race model missing: run `npx covergenre setup` (downloads it once via npm)");
  const backbones: Record<string, string | null> = {};
  const ort = ortStatus();
  const eff = effectiveRuntime(env);
  if (eff.runtime === "tfjs" && env.COVERGENRE_RUNTIME?.trim().toLowerCase() === "onnx") problems.push(`COVERGENRE_RUNTIME=onnx, but ${eff.reason}`);
  const runtimeBackbones: DoctorReport["runtime"]["backbones"] = {};
  const placement = (choice: { runtime: string; reason: string; id?: string; record?: { ok: boolean } }, maxDiff: number | undefined) => {
    const onnx = choice.runtime === "onnx";
    return {
      runtime: onnx ? "onnx" : `tfjs (${status.backend})`,
      reason: choice.reason,
      threadsPerWorker: onnx ? defaultThreads(env, false) : 1,
      threadsInMainThread: onnx ? defaultThreads(env, true) : 1,
      export: choice.id && choice.record?.ok ? exportPaths(choice.id, env).onnx : null,
      maxDiff: maxDiff ?? null,
    };
  };
  for (const [name, make] of Object.entries(BACKBONES)) {
    const spec = make();
    backbones[name] = spec ? spec.source : null;
    if (!spec) continue;
    const choice = peekRuntime(spec, env);
    runtimeBackbones[name] = placement(choice, choice.record?.maxDiffPooled);
  }
  // Face models: the same decision the feature cache key makes, without exporting anything here.
  const runtimeFaces: DoctorReport["runtime"]["faces"] = {};
  for (const [name, choice] of chooseFaceRuntimesSync(env, { peek: true })) runtimeFaces[name] = placement(choice, choice.record?.maxRelDiff);

  const root = resolveDataRoot({ data: dataFlag, env });
  let covers: string | null = null;
  let coversLayout: string | null = null;
  let coversError: string | undefined;
  let collections: { name: string; dir: string; layout: string }[] = [];
  try {
    const locs = resolveCollections({ data: dataFlag, env });
    covers = locs[0].dir;
    coversLayout = locs[0].layout;
    collections = locs.map((l) => ({ name: l.name, dir: l.dir, layout: l.layout }));
  } catch (err) {
    coversError = (err as Error).message.split("\n")[0];
    problems.push("no covers found (see `covergenre doctor` text output for how to get them)");
  }

  const jupyter = jupyterStatus();
  if (!jupyter.jupyter) problems.push("Jupyter not found: notebooks cannot run headless (Debian: apt-get install jupyter-notebook jupyter-nbconvert python3-ipykernel)");

  let freeDiskBytes: number | null = null;
  try {
    const s = fs.statfsSync(PROJECT_ROOT);
    freeDiskBytes = s.bavail * s.bsize;
  } catch {
    freeDiskBytes = null;
  }

  const versions: Record<string, string | null> = {};
  for (const name of [
    "@tensorflow/tfjs",
    "@tensorflow/tfjs-backend-wasm",
    "onnxruntime-node",
    "onnx-proto",
    "@vladmandic/human",
    "sharp",
    "danfojs-node",
    "fast-xml-parser",
    "nsfwjs",
    "tslab",
    "plotly.js-dist-min",
  ]) {
    versions[name] = packageVersion(name);
  }

  return {
    ok: problems.length === 0,
    backend: status.backend,
    simd: status.simd,
    runtime: {
      default: eff.runtime,
      reason: eff.reason,
      onnxruntime: ort,
      exportsDir: onnxCacheDir(env),
      featureWorkers: defaultFeatureConfig().workers,
      backbones: runtimeBackbones,
      faces: runtimeFaces,
    },
    matmulFix: status.matmulFix,
    node: process.version,
    versions,
    models: { human: { dir: humanDir, found: humanFound }, gear, backbones },
    data: { root: root.dir, rootSource: root.source, covers, coversLayout, collections, ...(coversError ? { coversError } : {}) },
    jupyter,
    freeDiskBytes,
    problems,
  };
}

function humanBytes(n: number | null): string {
  if (n == null) return "?";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

export const doctorCommand: Command = {
  name: "doctor",
  summary: "check the backend, models, data, Jupyter and disk",
  usage: "covergenre doctor [--json]",
  options: {},
  async run(ctx) {
    const report = await doctor(process.env, typeof ctx.values.data === "string" ? ctx.values.data : undefined);
    if (ctx.json) {
      ctx.printJson(report);
      return 0;
    }
    const yes = (b: boolean | null) => (b ? "yes" : "no");
    ctx.print(`backend        ${report.backend} (SIMD ${yes(report.simd)}, matmul fix ${yes(report.matmulFix)}), node ${report.node}`);
    ctx.print(`packages       ${Object.entries(report.versions).map(([k, v]) => `${k} ${v ?? "MISSING"}`).join(", ")}`);
    ctx.print(`face models    ${report.models.human.found.join(", ")} (${report.models.human.dir})`);
    ctx.print(`race (GEAR)    ${report.models.gear ?? "missing — run: npx covergenre setup"}`);
    for (const [name, src] of Object.entries(report.models.backbones)) ctx.print(`backbone       ${name}: ${src ?? "not found"}`);
    const rt = report.runtime;
    ctx.print(`runtime        ${rt.default} (${rt.reason}); onnxruntime-node ${rt.onnxruntime.version ?? "missing"}${rt.onnxruntime.available ? "" : ` does not load: ${rt.onnxruntime.error}`}; exports in ${rt.exportsDir}`);
    const entries = [...Object.entries(rt.backbones), ...Object.entries(rt.faces).map(([n, b]) => [`face ${n}`, b] as const)];
    for (const [name, b] of entries) {
      const threads = b.runtime === "onnx" ? `${b.threadsPerWorker} thread per feature worker (${rt.featureWorkers} workers), ${b.threadsInMainThread} in the main thread` : "1 thread (wasm is single-threaded in Node)";
      // Backbones: absolute on the pooled embedding; face models: relative to each output's scale.
      const diff = b.maxDiff != null ? `, max ${name.startsWith("face ") ? "relative " : ""}|diff| vs tfjs ${b.maxDiff.toExponential(1)}` : "";
      ctx.print(`runs on        ${name}: ${b.runtime}, ${threads}${diff}${b.runtime === "onnx" && !b.export ? " — " + b.reason : b.runtime !== "onnx" ? " — " + b.reason : ""}`);
    }
    ctx.print(`data root      ${report.data.root} (${report.data.rootSource})`);
    if (!report.data.collections.length) ctx.print(`covers         ${report.data.coversError}`);
    for (const c of report.data.collections) ctx.print(`collection     ${c.name}: ${c.dir} (${c.layout})`);
    ctx.print(`jupyter        ${report.jupyter.jupyter ?? "not found"}; nbconvert ${yes(report.jupyter.nbconvert)}; tslab kernel ${yes(report.jupyter.tslabKernel)}`);
    ctx.print(`free disk      ${humanBytes(report.freeDiskBytes)}`);
    ctx.print(report.ok ? "all good" : `problems:\n${report.problems.map((p) => `  - ${p}`).join("\n")}`);
    return 0;
  },
};

