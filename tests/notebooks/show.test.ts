/**
 * What the notebooks display: figures as one MIME bundle (plotly JSON for JupyterLab / VS Code, the
 * HTML fallback for Notebook 6 / nbconvert), tables through one show() built on the report's table
 * code, and progress inside a notebook (a display replaced in place, else a handful of lines on
 * stdout, never stderr). No kernel needed: the display sinks are recorders.
 */
import * as fs from "node:fs";
import { PassThrough } from "node:stream";
import * as dfd from "danfojs-node";
import {
  figureBundle,
  PLOTLY_MIME,
  resetPlotlySession,
  setDisplaySink,
  show,
  showFigure,
  showableHtml,
  type DisplaySink,
  type MimeBundle,
} from "../../lib/plot";
import { reportHtml } from "../../lib/report";
import { metricsTableHtml } from "../../lib/report/tables";
import { dataCellHtml, examplesTableHtml } from "../../lib/report/format";
import { Progress, setNotebookProgress, type LiveLine } from "../../lib/util/progress";
import type { StudyResults } from "../../lib/train/results";
import { FIXTURE } from "../report/fixture";

class Recorder implements DisplaySink {
  htmls: string[] = [];
  bundles: MimeBundle[] = [];
  html(s: string) { this.htmls.push(s); }
  png() {}
  jpeg() {}
  bundle(b: MimeBundle) { this.bundles.push(b); }
}

const fig = { data: [{ type: "bar", x: ["Rock", "Jazz"], y: [0.42, 0.17], name: "recall", skip: undefined }], layout: { title: "per genre" } };
const results = () => JSON.parse(fs.readFileSync(FIXTURE, "utf8")) as StudyResults;

afterEach(() => {
  setDisplaySink(undefined);
  setNotebookProgress(undefined);
  resetPlotlySession();
});

describe("figure bundle", () => {
  test("carries the plotly JSON, the HTML fallback and a text summary of the same figure", () => {
    const b = figureBundle(fig, { id: "f1", height: 300 });
    expect(Object.keys(b).sort()).toEqual([PLOTLY_MIME, "text/html", "text/plain"].sort());
    expect(PLOTLY_MIME).toBe("application/vnd.plotly.v1+json");
    const p = b[PLOTLY_MIME] as { data: unknown[]; layout: Record<string, unknown>; config: Record<string, unknown> };
    // exactly what Plotly.newPlot takes, JSON-clean (undefined dropped), the height in the layout
    expect(p.data).toEqual([{ type: "bar", x: ["Rock", "Jazz"], y: [0.42, 0.17], name: "recall" }]);
    expect(p.layout).toEqual({ title: "per genre", height: 300 });
    expect(p.config).toMatchObject({ responsive: true, displaylogo: false });
    expect(JSON.parse(JSON.stringify(p))).toEqual(p);
    expect(b["text/html"]).toContain('<div id="f1"');
    expect(b["text/html"]).toContain("Plotly.newPlot");
    expect(b["text/html"]).not.toContain("plotly.js v");
    expect(b["text/plain"]).toBe('<plotly figure: 1 trace(s), "per genre">');
  });

  test("showFigure sends one bundle per figure; the first of a session also carries plotly.min.js in its HTML", () => {
    const rec = new Recorder();
    setDisplaySink(rec);
    showFigure(fig);
    showFigure(fig);
    expect(rec.htmls).toEqual([]);
    expect(rec.bundles).toHaveLength(2);
    expect(rec.bundles[0]["text/html"]).toContain("plotly.js v");
    expect(rec.bundles[1]["text/html"]).not.toContain("plotly.js v");
    for (const b of rec.bundles) expect((b[PLOTLY_MIME] as { data: unknown[] }).data).toHaveLength(1);
  });

  test("a sink that cannot send bundles gets the HTML alone", () => {
    const rec = new Recorder();
    const htmlOnly: DisplaySink = { html: (s) => rec.html(s), png: () => {}, jpeg: () => {} };
    setDisplaySink(htmlOnly);
    showFigure(fig);
    expect(rec.htmls).toHaveLength(1);
    expect(rec.htmls[0]).toContain("plotly.js v");
  });
});

describe("show()", () => {
  test("a danfo DataFrame: every column (none elided), its index, numbers formatted, NaN as –, text escaped", () => {
    const cols: Record<string, unknown[]> = { master_id: [2703, 154419], path: ["images/2703.jpg", "<b>x</b>"], sad: [0.0700000002980232, NaN] };
    for (let i = 0; i < 12; i++) cols[`col${i}`] = [i, i + 0.5];
    const df = new dfd.DataFrame(cols);
    const html = showableHtml(df);
    expect(html.match(/<table>/g)).toHaveLength(1);
    expect(html).toContain("<caption>2 rows × 15 columns</caption>");
    for (const c of Object.keys(cols)) expect(html).toContain(`>${c}</th>`);
    expect(html).not.toContain("...");
    expect(html).toContain(">154419<"); // ids: no thousands separator
    expect(html).toContain(">0.070<");
    expect(html).toContain("&lt;b&gt;x&lt;/b&gt;");
    expect(html).toContain("–");
    expect(html).toContain('<th class="idx">1</th>');
    expect(html).toContain("<style>"); // the scoped table style
    expect(html.startsWith('<div class="cg-nb">')).toBe(true);
  });

  test("a Series, records (the union of their keys), one record, and long tables say how many rows are not shown", () => {
    const s = new dfd.Series([1.23456, 2], { columns: ["x"] });
    expect(showableHtml(s)).toContain(">1.235<");
    const recs = showableHtml([{ file: "a.jpg", genres: ["Rock", "Pop"], scores: { Rock: 0.91234 } }, { file: "b.jpg", error: "file not found" }]);
    expect(recs).toContain(">error</th>");
    expect(recs).toContain("Rock, Pop");
    expect(recs).toContain("{&quot;Rock&quot;:0.912}");
    expect(showableHtml({ folds: 5, seed: 1 })).toMatch(/<td>folds<\/td><td class="num">5<\/td>/);
    const many = showableHtml(Array.from({ length: 120 }, (_, i) => ({ i })), { maxRows: 10 });
    expect(many).toContain("120 rows × 1 column, first 10 shown");
    expect(many.match(/<tr>/g)).toHaveLength(11);
    expect(() => showableHtml([1, 2] as unknown as object[])).toThrow(/item 0 of the array is not a record/);
    expect(() => showableHtml(42 as unknown as object)).toThrow(/cannot show a number/);
    expect(dataCellHtml(-3)).toBe("−3");
  });

  test("the report's metrics table: intervals as mean [lo, hi], baselines grey, the best row marked — identical to the report's", async () => {
    const r = results();
    const table = metricsTableHtml(r.allCovers, r.baselines);
    const m = r.allCovers[Object.keys(r.allCovers)[0]].microF1;
    expect(table).toContain(`${m.mean.toFixed(3)} <span class="ci">[${m.ci[0].toFixed(3)}, ${m.ci[1].toFixed(3)}]</span>`);
    const best = Object.entries(r.allCovers).sort((a, b) => b[1].microF1.mean - a[1].microF1.mean)[0][0];
    expect(table).toMatch(new RegExp(`<tr class="best"><td>${best.replace(/\+/g, "\\+")} <span class="best-mark"`));
    expect(table.match(/class="best"/g)).toHaveLength(1);
    // the report page holds this very table
    const page = await reportHtml({ ...r, examples: [] });
    expect(page).toContain(table);
    // in a notebook: the same table, with the look as inline styles too
    const html = showableHtml(table, { caption: "All covers" });
    expect(html).toContain("<h4>All covers</h4>");
    expect(html).toContain('<tr class="baseline" style="color:#666;');
    expect(html).toContain('<tr class="best" style="font-weight:600">');
    expect(html).toContain('<span class="ci" style="color:#777;');
    // one model alone is not "best" of anything
    const one = metricsTableHtml({ img: r.allCovers[Object.keys(r.allCovers)[0]] }, r.baselines);
    expect(one).not.toContain("best");
  });

  test("show() displays HTML through the sink; outside a kernel it prints a note", () => {
    const rec = new Recorder();
    setDisplaySink(rec);
    show([{ a: 1 }]);
    show(examplesTableHtml(results().examples.slice(0, 2)));
    expect(rec.htmls).toHaveLength(2);
    expect(rec.htmls[1]).toContain("predicted (out-of-fold)");
    setDisplaySink(null);
    const writes: string[] = [];
    const spy = jest.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => {
      writes.push(String(s));
      return true;
    });
    try {
      show(new dfd.DataFrame({ a: [1, 2] }));
    } finally {
      spy.mockRestore();
    }
    expect(writes.join("")).toMatch(/table not shown \(no notebook kernel\): a table of 2 × 1/);
  });
});

describe("progress in a notebook", () => {
  function clocked(total: number | null) {
    const clock = { now: 0 };
    return { clock, make: (label = "study") => new Progress(label, total, { unit: "folds", now: () => clock.now }) };
  }

  test("a replaceable display: one live line, updated at most once a second, ending on the final state; nothing on stderr", () => {
    const sets: { text: string; fraction: number | null; final: boolean }[] = [];
    let created = 0;
    const lines: string[] = [];
    setNotebookProgress({
      live: (): LiveLine => {
        created++;
        return { set: (text, fraction, final) => sets.push({ text, fraction, final }) };
      },
      write: (l) => lines.push(l),
    });
    const err = jest.spyOn(process.stderr, "write");
    try {
      const { clock, make } = clocked(200);
      const p = make();
      for (let i = 0; i < 200; i++) {
        clock.now += 100; // 20 s in all
        p.tick("img");
      }
      p.finish();
      expect(err).not.toHaveBeenCalled();
    } finally {
      err.mockRestore();
    }
    expect(created).toBe(1);
    expect(lines).toEqual([]);
    expect(sets.length).toBeGreaterThan(5);
    expect(sets.length).toBeLessThanOrEqual(22);
    expect(sets[sets.length - 1]).toMatchObject({ final: true, fraction: 1 });
    expect(sets[sets.length - 1].text).toMatch(/^study 200\/200 folds .* in 20s \[img 200\]$/);
  });

  test("without a replaceable display: a handful of lines (start, every 10 %, end) on the notebook's stdout, never a line per step", () => {
    const lines: string[] = [];
    setNotebookProgress({ live: () => null, write: (l) => lines.push(l) });
    const { clock, make } = clocked(56);
    const p = make();
    for (let i = 0; i < 56; i++) {
      clock.now += 20_000; // slow steps: the CLI's plain mode would write one line per step
      p.tick();
    }
    p.finish();
    expect(lines.length).toBeGreaterThanOrEqual(10);
    expect(lines.length).toBeLessThanOrEqual(12);
    expect(lines[0]).toMatch(/^study 1\/56 folds/);
    expect(lines[lines.length - 1]).toMatch(/^study 56\/56 folds .* in 18m40s$/);
    // unknown total: the first line, then at most one a minute
    lines.length = 0;
    const q = clocked(null);
    const u = q.make("crawl");
    for (let i = 0; i < 100; i++) {
      q.clock.now += 3_000;
      u.tick();
    }
    u.finish();
    expect(lines.length).toBeLessThanOrEqual(7);
    expect(lines[lines.length - 1]).toMatch(/^crawl 100 folds/);
  });

  test("a given stream (or plain mode) keeps the CLI behaviour even in a notebook; outside one nothing changes", () => {
    const live = jest.fn();
    setNotebookProgress({ live: () => ({ set: live }), write: () => {} });
    const stream = new PassThrough();
    let text = "";
    stream.on("data", (d) => (text += d));
    const p = new Progress("features", 3, { stream, now: () => 0 });
    p.tick();
    p.finish();
    expect(live).not.toHaveBeenCalled();
    expect(text).toMatch(/^features 1\/3/);
    setNotebookProgress(undefined);
    expect((globalThis as { __tslab__?: unknown }).__tslab__).toBeUndefined();
    const err = jest.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      const q = new Progress("study", 2, { now: () => 0 });
      q.tick();
      expect(err).toHaveBeenCalled(); // the CLI still writes to stderr
    } finally {
      err.mockRestore();
    }
  });
});
