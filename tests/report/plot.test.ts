import {
  figureHtml,
  plotlyScript,
  showFigure,
  showHtml,
  showImage,
  setDisplaySink,
  resetPlotlySession,
  scriptJson,
  sniffImageMime,
  DisplaySink,
} from "../../lib/plot";

class Recorder implements DisplaySink {
  htmls: string[] = [];
  pngs: Uint8Array[] = [];
  jpegs: Uint8Array[] = [];
  html(s: string) { this.htmls.push(s); }
  png(b: Uint8Array) { this.pngs.push(b); }
  jpeg(b: Uint8Array) { this.jpegs.push(b); }
}

const fig = { data: [{ type: "bar", x: ["Rock", "Jazz"], y: [0.42, 0.17], name: "recall" }], layout: { title: "per genre" } };

afterEach(() => {
  setDisplaySink(undefined);
  resetPlotlySession();
});

describe("figureHtml", () => {
  test("carries the data, layout and a newPlot call on its own div", () => {
    const html = figureHtml(fig, { id: "f1", height: 300 });
    expect(html).toContain('<div id="f1"');
    expect(html).toContain("Plotly.newPlot");
    expect(html).toContain('"Rock"');
    expect(html).toContain("0.42");
    expect(html).toContain('"height":300');
    expect(html).not.toContain("plotly.js v"); // never the library itself
  });

  test("ids are unique by default and invalid ids are refused", () => {
    const a = figureHtml(fig).match(/id="([^"]+)"/)![1];
    const b = figureHtml(fig).match(/id="([^"]+)"/)![1];
    expect(a).not.toEqual(b);
    expect(() => figureHtml(fig, { id: 'x" onload="alert(1)' })).toThrow(/invalid element id/);
    expect(() => figureHtml({ data: undefined as unknown as object[] })).toThrow(/data must be an array/);
  });

  test("labels cannot close the script tag", () => {
    const html = figureHtml({ data: [{ x: ["</script><b>x"], y: [1] }] }, { id: "f2" });
    expect(html.match(/<\/script>/g)!.length).toBe(1);
    expect(JSON.parse(scriptJson("</script>\u2028"))).toBe("</script>\u2028");
  });
});

describe("plotlyScript", () => {
  test("inlines plotly.min.js and hides window.define while it loads", () => {
    const s = plotlyScript();
    expect(s.length).toBeGreaterThan(1_000_000);
    expect(s).toContain("plotly.js v");
    expect(s.indexOf("window.define=undefined")).toBeLessThan(s.indexOf("plotly.js v"));
    expect(s.lastIndexOf("window.define=window.__cgDefine")).toBeGreaterThan(s.indexOf("plotly.js v"));
  });
});

describe("show*", () => {
  test("showFigure inlines plotly once per session, then only the figure", () => {
    const rec = new Recorder();
    setDisplaySink(rec);
    showFigure(fig);
    showFigure(fig);
    expect(rec.htmls).toHaveLength(2);
    expect(rec.htmls[0]).toContain("plotly.js v");
    expect(rec.htmls[0]).toContain("Plotly.newPlot");
    expect(rec.htmls[1]).not.toContain("plotly.js v");
    expect(rec.htmls[1]).toContain("Plotly.newPlot");
    resetPlotlySession();
    showFigure(fig);
    expect(rec.htmls[2]).toContain("plotly.js v");
  });

  test("showImage sends PNG/JPEG by magic bytes and refuses other bytes", () => {
    const rec = new Recorder();
    setDisplaySink(rec);
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]);
    const jpg = Buffer.from([0xff, 0xd8, 0xff, 0xe0]);
    expect(sniffImageMime(png)).toBe("image/png");
    expect(sniffImageMime(jpg)).toBe("image/jpeg");
    showImage(png);
    showImage(jpg);
    expect(rec.pngs).toHaveLength(1);
    expect(rec.jpegs).toHaveLength(1);
    expect(() => showImage(Buffer.from("GIF89a"))).toThrow(/neither PNG nor JPEG/);
    showHtml("<b>hi</b>");
    expect(rec.htmls).toEqual(["<b>hi</b>"]);
  });

  test("outside a kernel show* write a note instead of throwing", () => {
    const writes: string[] = [];
    const spy = jest.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => {
      writes.push(String(s));
      return true;
    });
    try {
      expect((globalThis as { __tslab__?: unknown }).__tslab__).toBeUndefined();
      showFigure(fig);
      showHtml("<p>x</p>");
      showImage(Buffer.from([0xff, 0xd8, 0xff, 0xe0]));
    } finally {
      spy.mockRestore();
    }
    expect(writes.join("")).toMatch(/figure not shown \(no notebook kernel\): 1 trace\(s\), "per genre"/);
    expect(writes.join("")).toMatch(/HTML not shown/);
    expect(writes.join("")).toMatch(/image not shown.*image\/jpeg/);
  });
});
