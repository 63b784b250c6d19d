/**
 * Plotly figures built from results.json. Pure functions from data to {@link Figure}, so the report,
 * the notebooks (`showFigure(forestPlot(r.comparisons))`) and the PNG export draw the same pictures.
 */
import type { Figure } from "../plot";
import { signed } from "./format";
import type {
  BaselineResults,
  CollectionInfo,
  CollectionScores,
  Comparison,
  DataSizeCurve,
  EstimateKey,
  ExtraDataResult,
  InputSetResult,
  LearningCurve,
  MetricSet,
  StudyResults,
  TransferResult,
} from "../train/results";

/** Plotly's default qualitative palette, fixed so an input set keeps its colour across figures. */
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

const METRIC_LABEL: Record<string, string> = {
  microF1: "micro-F1",
  macroF1: "macro-F1",
  microPrecision: "micro precision",
  microRecall: "micro recall",
  rocAucMacro: "macro ROC-AUC",
  lrap: "LRAP",
  hammingLoss: "Hamming loss",
  subsetAccuracy: "subset accuracy",
  top1Accuracy: "top-1 accuracy",
};

export function metricLabel(key: string): string {
  return METRIC_LABEL[key] ?? key;
}

/** toFixed that survives the nulls JSON makes of NaN (e.g. AUC of a genre with one class). */
function fx(x: number | null | undefined, digits = 3): string {
  return typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "–";
}

/** a − b, or null when either is missing (null − x would silently be −x). */
function sub(a: number | null | undefined, b: number | null | undefined): number | null {
  return typeof a === "number" && typeof b === "number" && Number.isFinite(a) && Number.isFinite(b) ? a - b : null;
}

function fp(x: number | null | undefined): string {
  return typeof x === "number" && Number.isFinite(x) ? x.toPrecision(2) : "–";
}

const BASE_LAYOUT = {
  margin: { l: 60, r: 20, t: 50, b: 60 },
  font: { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 13 },
  paper_bgcolor: "#fff",
  plot_bgcolor: "#fff",
  legend: { orientation: "h", y: -0.2 },
};

/**
 * Forest plot of the paired comparisons: the effect of adding an input block, with its corrected
 * 95 % interval. A line at 0 makes "no detectable effect" visible at a glance.
 */
export function forestPlot(comparisons: Comparison[]): Figure {
  const rows = [...comparisons].reverse(); // plotly draws the first category at the bottom
  const labels = rows.map((c) => `${c.a} vs ${c.b} · ${c.population} · ${metricLabel(c.metric)}`);
  const significant = rows.map((c) => c.pHolm < 0.05);
  return {
    data: [
      {
        type: "scatter",
        mode: "markers",
        x: rows.map((c) => c.delta),
        y: labels,
        marker: { size: 10, color: significant.map((s) => (s ? "#d62728" : "#1f77b4")) },
        error_x: {
          type: "data",
          symmetric: false,
          array: rows.map((c) => sub(c.ci?.[1], c.delta)),
          arrayminus: rows.map((c) => sub(c.delta, c.ci?.[0])),
          thickness: 2,
          width: 6,
        },
        text: rows.map((c) => `Δ ${fx(c.delta)} [${fx(c.ci?.[0])}, ${fx(c.ci?.[1])}]<br>p ${fp(c.p)}, Holm ${fp(c.pHolm)}`),
        hoverinfo: "text",
        showlegend: false,
      },
    ],
    layout: {
      ...BASE_LAYOUT,
      title: { text: "Effect of adding an input (a − b) with 95 % CI; red: Holm-adjusted p < 0.05" },
      xaxis: { title: { text: "difference (positive: a is better)" }, zeroline: true, zerolinewidth: 2, zerolinecolor: "#444" },
      yaxis: { automargin: true },
      height: Math.max(260, 60 + 42 * rows.length),
      margin: { ...BASE_LAYOUT.margin, l: 20 },
    },
  };
}

/**
 * One metric of every input set with its CI, beside the two baselines as horizontal lines: every
 * bar is read against "predict all" and "genre prior".
 */
export function metricWithBaselines(sets: Record<string, InputSetResult | MetricSet>, baselines: BaselineResults, metric: EstimateKey, title: string): Figure {
  const names = Object.keys(sets);
  const means = names.map((n) => sets[n][metric].mean);
  const los = names.map((n) => sets[n][metric].ci[0]);
  const his = names.map((n) => sets[n][metric].ci[1]);
  const line = (y: number, name: string, dash: string, color: string) => ({
    type: "scatter",
    mode: "lines",
    x: names,
    y: names.map(() => y),
    name,
    line: { dash, color, width: 2 },
    hoverinfo: "name+y",
  });
  return {
    data: [
      {
        type: "bar",
        x: names,
        y: means,
        name: metricLabel(metric),
        marker: { color: names.map((_, i) => PALETTE[i % PALETTE.length]) },
        error_y: { type: "data", symmetric: false, array: his.map((h, i) => sub(h, means[i])), arrayminus: los.map((l, i) => sub(means[i], l)) },
        showlegend: false,
      },
      line(baselines.predictAll[metric].mean, `baseline: predict every genre (${fx(baselines.predictAll[metric].mean)})`, "dash", "#444"),
      line(baselines.prior[metric].mean, `baseline: genre prior (${fx(baselines.prior[metric].mean)})`, "dot", "#888"),
    ],
    layout: { ...BASE_LAYOUT, title: { text: title }, yaxis: { title: { text: metricLabel(metric) }, rangemode: "tozero" }, height: 420 },
  };
}

/** Per-genre precision or recall of each input set (grouped bars), with the prior baseline (precision ≈ recall ≈ the genre's share) as its own group. */
export function perGenreBars(sets: Record<string, MetricSet>, genres: string[], which: "precision" | "recall" | "f1" | "auc", title: string): Figure {
  const data = Object.entries(sets).map(([name, m], i) => ({
    type: "bar",
    name,
    x: genres,
    y: genres.map((g) => {
      const v = m.perGenre[g]?.[which];
      return typeof v === "number" ? v : null;
    }),
    marker: { color: name.startsWith("baseline") ? "#bbb" : PALETTE[i % PALETTE.length] },
  }));
  return {
    data,
    layout: { ...BASE_LAYOUT, barmode: "group", title: { text: title }, yaxis: { title: { text: which }, range: [0, 1] }, height: 440 },
  };
}

/** Precision-recall curves of one model, one line per genre (average precision in the legend). */
export function prCurvesFigure(set: InputSetResult, title: string): Figure {
  const curves = set.prCurves ?? {};
  const data = Object.entries(curves).map(([genre, c], i) => ({
    type: "scatter",
    mode: "lines",
    name: `${genre} (AP ${fx(c.averagePrecision)})`,
    x: c.recall,
    y: c.precision,
    line: { color: PALETTE[i % PALETTE.length], width: 2 },
  }));
  return {
    data,
    layout: {
      ...BASE_LAYOUT,
      title: { text: title },
      xaxis: { title: { text: "recall" }, range: [0, 1] },
      yaxis: { title: { text: "precision" }, range: [0, 1] },
      height: 440,
    },
  };
}

/** Training and validation loss per epoch of each curve; a marker at the epoch whose weights were kept. */
export function learningCurvesFigure(curves: LearningCurve[], title = "Learning curves"): Figure {
  const data: object[] = [];
  curves.forEach((c, i) => {
    const color = PALETTE[i % PALETTE.length];
    const epochs = c.points.map((p) => p.epoch);
    data.push({ type: "scatter", mode: "lines", name: `${c.name}: training loss`, x: epochs, y: c.points.map((p) => p.loss), line: { color, width: 2 } });
    if (c.points.some((p) => p.valLoss !== null)) {
      data.push({ type: "scatter", mode: "lines", name: `${c.name}: validation loss`, x: epochs, y: c.points.map((p) => p.valLoss), line: { color, width: 2, dash: "dash" } });
      const best = c.points.find((p) => p.epoch === c.bestEpoch);
      if (best && best.valLoss !== null) {
        data.push({ type: "scatter", mode: "markers", name: `${c.name}: kept epoch ${c.bestEpoch}`, x: [best.epoch], y: [best.valLoss], marker: { color, size: 12, symbol: "star" } });
      }
    }
  });
  return { data, layout: { ...BASE_LAYOUT, title: { text: title }, xaxis: { title: { text: "epoch" } }, yaxis: { title: { text: "binary cross-entropy" } }, height: 420 } };
}

/**
 * Micro-F1 and macro ROC-AUC against the number of training covers (log scale), with 95 % CIs and
 * the predict-all micro-F1 as a line: whether more covers would help, and how fast.
 */
export function dataSizeFigure(curve: DataSizeCurve, baselines: BaselineResults, title = "Would more covers help? Score against training covers"): Figure {
  const x = curve.points.map((p) => p.trainRows);
  const trace = (key: "microF1" | "rocAucMacro", color: string) => {
    const ys = curve.points.map((p) => p[key].mean);
    return {
      type: "scatter",
      mode: "lines+markers",
      name: `${curve.inputSet}: ${metricLabel(key)} (${signed(curve.perDoubling[key])} per doubling)`,
      x,
      y: ys,
      line: { color, width: 2 },
      error_y: { type: "data", symmetric: false, array: curve.points.map((p, i) => sub(p[key].ci[1], ys[i])), arrayminus: curve.points.map((p, i) => sub(ys[i], p[key].ci[0])) },
    };
  };
  const base = baselines.predictAll.microF1.mean;
  return {
    data: [
      trace("microF1", PALETTE[0]),
      trace("rocAucMacro", PALETTE[1]),
      { type: "scatter", mode: "lines", name: `predict every genre: micro-F1 ${fx(base)}`, x, y: x.map(() => base), line: { color: "#444", dash: "dash", width: 2 } },
    ],
    layout: { ...BASE_LAYOUT, title: { text: title }, xaxis: { title: { text: "training covers per fold (log scale)" }, type: "log", tickvals: x, ticktext: x.map((n) => n.toLocaleString("en-US")) }, yaxis: { title: { text: "score" } }, height: 420 },
  };
}

/**
 * The study's reported micro precision/recall next to this project's reproduction on the same
 * 1,016 rows (single split at 0.5, the same split with tuned thresholds, and k-fold CV).
 */
export function thesisComparisonFigure(r: StudyResults): Figure | null {
  const t = r.thesisHead?.thesisTables;
  if (!t) return null;
  const rows: { name: string; p: number; r: number }[] = [
    ...t.reported.map((x) => ({ name: `study: ${x.model}`, p: x.microPrecision, r: x.microRecall })),
    { name: "here: one split, threshold 0.5", p: t.singleSplit.microPrecision.mean, r: t.singleSplit.microRecall.mean },
    { name: "here: one split, tuned thresholds", p: t.singleSplitTuned.microPrecision.mean, r: t.singleSplitTuned.microRecall.mean },
    { name: "here: cross-validated, tuned", p: t.cv.microPrecision.mean, r: t.cv.microRecall.mean },
    { name: "baseline: predict every genre", p: t.baselines.predictAll.microPrecision.mean, r: t.baselines.predictAll.microRecall.mean },
  ];
  return {
    data: [
      { type: "bar", name: "micro precision", x: rows.map((x) => x.name), y: rows.map((x) => x.p), marker: { color: PALETTE[0] } },
      { type: "bar", name: "micro recall", x: rows.map((x) => x.name), y: rows.map((x) => x.r), marker: { color: PALETTE[1] } },
    ],
    layout: { ...BASE_LAYOUT, barmode: "group", title: { text: `The study's face + colour numbers vs this reproduction (${t.rows} rows)` }, yaxis: { range: [0, 1] }, xaxis: { automargin: true }, height: 460 },
  };
}

/** One bar series of {@link twoMetricBars}: a model (or baseline) with one MetricSet per category (null: not measured there). */
export interface BarSeries {
  name: string;
  values: (MetricSet | null | undefined)[];
  /** Bar colour; default the palette colour of the series' position. */
  color?: string;
}

/** Colour of baseline series in grouped bars: grey, so models stand out against it. */
export const BASELINE_COLOR = "#aaa";

/**
 * Grouped bars with 95 % CI error bars, two metrics side by side (default micro-F1 left, macro
 * ROC-AUC right) so that a threshold-dependent and a threshold-free score are read together. One
 * group per category (a collection, a transfer direction, a target), one bar per series; a series'
 * two bars share one legend entry.
 */
export function twoMetricBars(categories: string[], series: BarSeries[], title: string, metrics: [EstimateKey, EstimateKey] = ["microF1", "rocAucMacro"]): Figure {
  const data: object[] = [];
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    metrics.forEach((metric, j) => {
      const est = s.values.map((m) => m?.[metric]);
      const means = est.map((e) => (e && typeof e.mean === "number" && Number.isFinite(e.mean) ? e.mean : null));
      data.push({
        type: "bar",
        name: s.name,
        legendgroup: s.name,
        showlegend: j === 0,
        x: categories,
        y: means,
        xaxis: j === 0 ? "x" : "x2",
        yaxis: j === 0 ? "y" : "y2",
        marker: { color },
        error_y: { type: "data", symmetric: false, array: est.map((e, k) => sub(e?.ci?.[1], means[k])), arrayminus: est.map((e, k) => sub(means[k], e?.ci?.[0])) },
        hovertext: est.map((e) => (e ? `${s.name}: ${metricLabel(metric)} ${fx(e.mean)} [${fx(e.ci?.[0])}, ${fx(e.ci?.[1])}]` : "")),
        hoverinfo: "text",
      });
    });
  });
  return {
    data,
    layout: {
      ...BASE_LAYOUT,
      barmode: "group",
      title: { text: title },
      // above the plots: two-line category labels below would run into a legend there
      legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" },
      margin: { ...BASE_LAYOUT.margin, t: 100 },
      xaxis: { domain: [0, 0.47], anchor: "y", automargin: true },
      xaxis2: { domain: [0.53, 1], anchor: "y2", automargin: true },
      yaxis: { title: { text: metricLabel(metrics[0]) }, rangemode: "tozero", anchor: "x" },
      yaxis2: { title: { text: metricLabel(metrics[1]) }, rangemode: "tozero", anchor: "x2" },
      height: 460,
    },
  };
}

/**
 * Per-collection scores inside the union CV: one group per collection, one bar per all-covers input
 * set, and the collection's own predict-all baseline in grey. Shows whether the model is equally
 * good on every collection or carried by one.
 */
export function collectionScoresFigure(collections: Record<string, CollectionScores>, title = "Per collection: micro-F1 and macro ROC-AUC (95 % CI)"): Figure {
  const cs = Object.values(collections);
  const sets: string[] = [];
  for (const c of cs) for (const k of Object.keys(c.allCovers)) if (!sets.includes(k)) sets.push(k);
  const series: BarSeries[] = [
    ...sets.map((k) => ({ name: k, values: cs.map((c) => c.allCovers[k]) })),
    { name: "baseline: predict every genre", values: cs.map((c) => c.baselines.predictAll), color: BASELINE_COLOR },
  ];
  return twoMetricBars(cs.map((c) => `${c.collection}<br>(${c.rows.toLocaleString("en-US")} covers)`), series, title);
}

/**
 * Transfer: for each direction (trained on one collection, tested on another), the transferred
 * model beside the model trained on the test collection's own folds and predict-all, all on the
 * same test rows. The gap between the first two bars is what does not carry over.
 */
export function transferFigure(t: TransferResult, title = `Does it carry over? ${t.inputSet} trained on one collection, tested on another`): Figure {
  const d = t.directions;
  return twoMetricBars(
    d.map((x) => `${x.train} →<br>${x.test}`),
    [
      { name: "transfer: trained on the other collection", values: d.map((x) => x.transfer) },
      { name: "within: trained on the test collection's own folds", values: d.map((x) => x.within) },
      { name: "baseline: predict every genre", values: d.map((x) => x.predictAll), color: BASELINE_COLOR },
    ],
    title,
  );
}

/**
 * Real extra data: for each target collection, its own training folds vs the same plus every row of
 * the other collections, on the target's test folds: the measured answer to "would more covers
 * help?" where the data-size curve only extrapolates.
 */
export function extraDataFigure(extra: ExtraDataResult[], title = "Real extra data: own training folds vs + the other collections"): Figure {
  return twoMetricBars(
    extra.map((x) => `${x.target}<br>(${x.ownTrainRows.toLocaleString("en-US")} → ${x.withExtraTrainRows.toLocaleString("en-US")} training covers)`),
    [
      { name: "own training folds", values: extra.map((x) => x.own) },
      { name: "own + extra collections", values: extra.map((x) => x.withExtra) },
    ],
    title,
  );
}

/**
 * Each genre's share of each collection's covers, side by side (03.Refine_Divide): shares, not
 * counts, because the collections differ in size and in how many genres a cover carries.
 */
export function collectionGenresFigure(cols: CollectionInfo[], genres: string[], title = "Genres per collection (share of its covers; a cover can have several)"): Figure {
  return {
    data: cols.map((c) => ({
      type: "bar",
      name: `${c.name} (${c.rows})`,
      x: genres,
      y: genres.map((g) => (c.rows ? (100 * (c.genreCounts[g] ?? 0)) / c.rows : 0)),
      text: genres.map((g) => String(c.genreCounts[g] ?? 0)),
      hovertemplate: "%{x}: %{y:.1f} % (%{text} covers)<extra>%{fullData.name}</extra>",
    })),
    layout: { title: { text: title }, barmode: "group", yaxis: { title: { text: "% of the collection's covers" } }, margin: { b: 120 } },
  };
}
