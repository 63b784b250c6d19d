/** `covergenre serve`: a local page and JSON API that show what a checkpoint makes of any cover (lib/serve). */
import * as path from "node:path";
import type { Command } from "../framework";
import { intOpt, stringOpt } from "../framework";
import { checkpointsDir } from "../../paths";
import { CoverModel } from "../../explain/coverModel";
import { writeRecomputedOof } from "../../explain/gallery";
import { DEFAULT_MAX_BYTES, startServer } from "../../serve/server";
import { ensureGearForCommand } from "../../vision/models";

export const serveCommand: Command = {
  name: "serve",
  summary: "a local page + API: drop a cover, see its genre scores, why (occlusion), its faces and nearest training covers",
  usage: "covergenre serve [--model checkpoints/best] [--port 8080] [--host 127.0.0.1] [--table <covers.csv>] [--oof]",
  options: {
    model: { type: "string", description: "checkpoint folder", defaultText: "checkpoints/best (written by npm start)" },
    port: { type: "string", description: "TCP port (0: any free port)", defaultText: "8080" },
    host: { type: "string", description: "address to bind; anything but 127.0.0.1 exposes the page to the network", defaultText: "127.0.0.1" },
    table: { type: "string", description: "feature table for the nearest covers", defaultText: "the table the checkpoint was trained on" },
    oof: { type: "boolean", description: "first recompute the gallery's out-of-fold scores for a checkpoint that lacks oof.json (5 folds on its table, a few minutes)" },
    "max-mb": { type: "string", description: "largest upload in MB (larger: 413)", defaultText: String(DEFAULT_MAX_BYTES / 1024 / 1024) },
  },
  details:
    "API: POST /api/predict (image bytes as the body; ?explain=top or ?explain=<genre> adds an occlusion map), GET /api/health, GET /api/gallery.\n" +
    "Stop with Ctrl-C.",
  async run(ctx) {
    const v = ctx.values;
    const model = path.resolve(stringOpt(v, "model") ?? path.join(checkpointsDir(), "best"));
    const port = intOpt(v, "port", 8080, 0, 65535);
    const host = stringOpt(v, "host") ?? "127.0.0.1";
    const maxBytes = Math.round(intOpt(v, "max-mb", DEFAULT_MAX_BYTES / 1024 / 1024, 1, 1024) * 1024 * 1024);
    // The face block includes race: fetch the GEAR model on first use, as predict does.
    ensureGearForCommand(ctx.log, { command: "serve" });
    if (v.oof === true) await writeRecomputedOof(model, stringOpt(v, "table"), (l) => ctx.log(`serve: ${l}`));
    ctx.log(`serve: loading ${model}…`);
    const cover = await CoverModel.load(model, { table: stringOpt(v, "table"), log: (l) => ctx.log(`serve: ${l}`) });
    if (cover.neighboursMissing) ctx.log(`serve: no nearest covers: ${cover.neighboursMissing}`);
    if (cover.galleryMissing) ctx.log(`serve: no gallery: ${cover.galleryMissing}`);
    const running = await startServer(cover, { host, port, maxBytes, log: (l) => ctx.log(`serve: ${l}`) });
    if (!["127.0.0.1", "localhost", "::1"].includes(host)) ctx.log(`serve: listening on ${host}: anyone who can reach this machine can use the page and the API`);
    if (ctx.json) ctx.printJson({ url: running.url, model });
    else ctx.print(`covergenre serve: ${running.url} (model ${model}; Ctrl-C stops)`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    await running.close();
    cover.dispose();
    return 0;
  },
};
