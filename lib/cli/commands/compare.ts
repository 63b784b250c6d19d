/**
 * `covergenre compare A/results.json B/results.json`: two studies on identical folds (e.g. the
 * study run on one backbone's embeddings and on another's), input set by input set, paired by fold.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Command } from "../framework";
import { compareResults } from "../../train/compare";
import type { StudyResults } from "../../train/results";
import { UsageError, UserError } from "../../util/errors";

function readResults(file: string): StudyResults {
  const p = path.resolve(file);
  if (!fs.existsSync(p)) throw new UserError(`results file ${p} not found`);
  try {
    return JSON.parse(fs.readFileSync(p, "utf8")) as StudyResults;
  } catch (err) {
    throw new UserError(`results file ${p} is not valid JSON: ${(err as Error).message}`);
  }
}

export const compareCommand: Command = {
  name: "compare",
  summary: "compare two studies made on identical folds (e.g. two backbones), input set by input set, paired by fold",
  usage: "covergenre compare <a/results.json> <b/results.json> [--json]",
  options: {},
  positionals: true,
  details: "Prints a − b for micro-F1 and macro ROC-AUC of every input set both studies have, with the corrected resampled t\ninterval and Holm-adjusted p. Refuses results whose folds differ.",
  async run(ctx) {
    if (ctx.positionals.length !== 2) throw new UsageError("compare needs exactly two results.json files");
    const [a, b] = ctx.positionals.map(readResults);
    const deltas = compareResults(a, b);
    if (ctx.json) {
      ctx.printJson(deltas);
      return 0;
    }
    const f = (x: number) => (x >= 0 ? "+" : "") + x.toFixed(3);
    ctx.print(`a: ${ctx.positionals[0]} (img = ${a.protocol.imgBackbones.join(" + ")})\nb: ${ctx.positionals[1]} (img = ${b.protocol.imgBackbones.join(" + ")})`);
    for (const d of deltas) {
      ctx.print(`${d.population.padEnd(5)} ${d.inputSet.padEnd(14)} ${d.metric.padEnd(12)} a ${d.a.toFixed(3)}  b ${d.b.toFixed(3)}  a − b ${f(d.delta)} [${f(d.ci[0])}, ${f(d.ci[1])}]  p ${d.p.toFixed(3)}  Holm ${d.pHolm.toFixed(3)}`);
    }
    return 0;
  },
};
