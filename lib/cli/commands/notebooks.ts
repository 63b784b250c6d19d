/**
 * `covergenre notebooks [name…]`: execute the notebooks headless (what CI runs);
 * `covergenre lab`: open them in Jupyter with the project's tslab kernel.
 */
import type { Command } from "../framework";
import { NOTEBOOKS, runNotebooks, startJupyter } from "../../notebooks";
import { UsageError } from "../../util/errors";

export const notebooksCommand: Command = {
  name: "notebooks",
  summary: "execute the notebooks headless; executed copies go to notebooks/_executed/",
  usage: "covergenre notebooks [--json] [name…]",
  options: {},
  positionals: true,
  details: `Notebooks: ${NOTEBOOKS.join(", ")} (all by default). Environment: COVERGENRE_QUICK=1 runs the quick variants.`,
  async run(ctx) {
    const names = ctx.positionals.length ? ctx.positionals.map((n) => n.replace(/\.ipynb$/, "")) : [...NOTEBOOKS];
    for (const n of names) if (!(NOTEBOOKS as readonly string[]).includes(n)) throw new UsageError(`unknown notebook "${n}"; known: ${NOTEBOOKS.join(", ")}`);
    const results = await runNotebooks(names, { log: ctx.log });
    if (ctx.json) ctx.printJson(results.map(({ output: _output, ...r }) => r));
    const failed = results.filter((r) => !r.ok);
    if (!ctx.json) ctx.print(`${results.length - failed.length} passed, ${failed.length} failed`);
    return failed.length ? 1 : 0;
  },
};

export const labCommand: Command = {
  name: "lab",
  summary: "open the notebooks in Jupyter Notebook with the project's tslab kernel",
  usage: "covergenre lab [-- jupyter options]",
  options: {},
  positionals: true,
  async run(ctx) {
    return startJupyter(ctx.positionals);
  },
};
