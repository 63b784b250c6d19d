import * as fs from "node:fs";
import * as path from "node:path";
import { inspectExecuted, NOTEBOOKS, NOTEBOOKS_DIR } from "../../lib/notebooks";

describe("notebooks", () => {
  test("the four study notebooks exist, use the tslab kernel and are committed without outputs", () => {
    for (const name of NOTEBOOKS) {
      const nb = JSON.parse(fs.readFileSync(path.join(NOTEBOOKS_DIR, `${name}.ipynb`), "utf8"));
      expect(nb.metadata.kernelspec.name).toBe("tslab");
      const code = nb.cells.filter((c: { cell_type: string }) => c.cell_type === "code");
      expect(code.length).toBeGreaterThan(0);
      for (const cell of code) expect(cell.outputs ?? []).toEqual([]);
    }
  });

  test("notebooks reach lib/ through the notebooks/lib symlink", () => {
    const link = path.join(NOTEBOOKS_DIR, "lib");
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.realpathSync(link)).toBe(fs.realpathSync(path.join(NOTEBOOKS_DIR, "..", "lib")));
  });

  test("a failing cell is reported with its number, first line and printed output", () => {
    const nb = {
      cells: [
        { cell_type: "markdown", source: "# title" },
        { cell_type: "code", source: "console.log(1)", outputs: [{ output_type: "stream", name: "stdout", text: "1\n" }] },
        { cell_type: "code", source: ["const x: number = 'a';\n", "x"], outputs: [
          { output_type: "stream", name: "stderr", text: ["1:7 - Type 'string' is not assignable to type 'number'.\n"] },
          { output_type: "error", ename: "", evalue: "" },
        ] },
        { cell_type: "code", source: "later()", outputs: [{ output_type: "error", ename: "ReferenceError", evalue: "later is not defined" }] },
      ],
    };
    const r = inspectExecuted(nb);
    expect(r.stderrCells).toBe(1);
    expect(r.error).toMatch(/^code cell 2 \(const x: number = 'a';\) failed/);
    expect(r.error).toContain("Type 'string' is not assignable to type 'number'.");
    expect(inspectExecuted({ cells: [nb.cells[1]] })).toEqual({ error: undefined, stderrCells: 0 });
  });
});
