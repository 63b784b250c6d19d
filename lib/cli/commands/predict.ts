/** `covergenre predict --model <dir> <image…>`: genres for new covers with a trained checkpoint. */
import type { Command } from "../framework";
import { requireOpt } from "../framework";
import { UsageError } from "../../util/errors";
import { predictFiles } from "../../train/predict";
import { ensureGearForCommand } from "../../vision/models";

export const predictCommand: Command = {
  name: "predict",
  summary: "predict genres of new covers with a checkpoint (the whole feature path runs on each image)",
  usage: "covergenre predict --model <checkpoint dir> [--json] <image…>",
  positionals: true,
  options: {
    model: { type: "string", description: "checkpoint folder (checkpoints/<name>)" },
  },
  async run(ctx) {
    const model = requireOpt(ctx.values, "model");
    if (ctx.positionals.length === 0) throw new UsageError("give at least one image file");
    // The face features include race: fetch the GEAR model on first use, as `npm start` does.
    ensureGearForCommand(ctx.log, { command: "predict" });
    // Every image passes the same validation as the crawl (lib/vision/image validateImage): a truncated
    // cover is one ERROR answer, never a prediction.
    const predictions = await predictFiles(model, ctx.positionals);
    if (ctx.json) ctx.printJson(predictions);
    else {
      for (const p of predictions) {
        if (p.error) ctx.print(`${p.file}: ERROR ${p.error}`);
        else ctx.print(`${p.file}: ${p.genres!.join(", ") || "(no genre above its threshold)"}  [${Object.entries(p.scores!).map(([g, s]) => `${g} ${s.toFixed(2)}`).join(", ")}]`);
      }
    }
    return predictions.some((p) => p.error) ? 1 : 0;
  },
};
