/**
 * The report's tables of the study's numbers, shared by the report page and the notebooks' `show()`
 * so the two never disagree: input sets beside both baselines, the paired comparisons, the study's
 * own rows and its Flatten head. Each returns HTML (a sentence where the table needs one).
 *
 * Compiles under tslab's TypeScript 5.0 (non-strict) as well as the project's strict 5.9: notebooks
 * import it directly.
 */
import type { BaselineResults, Comparison, EstimateKey, MetricSet, StudyResults, ThesisHeadResult } from "../train/results";
import { BEST_MARK, bestRow, count, deltaHtml, escapeHtml, estimateHtml, num, pValue, signed, tableHtml, type Column } from "./format";
import { metricLabel } from "./figures";

const TABLE_METRICS: EstimateKey[] = ["microF1", "macroF1", "microPrecision", "microRecall", "rocAucMacro", "lrap", "top1Accuracy", "hammingLoss"];

/**
 * Input sets beside both baselines (grey rows first): every metric as mean [95 % CI], and the
 * difference of micro-F1 against predict-all. The input set with the highest mean micro-F1 is
 * marked (bold, ★) when at least two compete. The report's tables and the notebooks' `show()` use this.
 */
export function metricsTableHtml(sets: Record<string, MetricSet>, baselines: BaselineResults): string {
  type Row = { name: string; m: MetricSet; baseline: boolean };
  const rows: Row[] = [
    { name: "baseline: predict every genre", m: baselines.predictAll, baseline: true },
    { name: "baseline: genre prior", m: baselines.prior, baseline: true },
    ...Object.entries(sets).map(([name, m]) => ({ name, m, baseline: false })),
  ];
  const best = bestRow(rows, (r) => r.m.microF1?.mean, (r) => !r.baseline);
  const cols: Column<Row>[] = [
    { header: "model", cell: (r) => escapeHtml(r.name) + (r === best ? BEST_MARK : "") },
    ...TABLE_METRICS.map((k) => ({
      header: metricLabel(k),
      title: k === "hammingLoss" ? "lower is better" : undefined,
      cell: (r: Row) => estimateHtml(r.m[k]),
    })),
    {
      header: "Δ micro-F1 vs predict-all",
      title: "difference of mean micro-F1 against the stronger baseline, predicting every genre",
      cell: (r: Row) => (r.baseline ? "" : signed(Number.isFinite(r.m.microF1.mean) && Number.isFinite(baselines.predictAll.microF1.mean) ? r.m.microF1.mean - baselines.predictAll.microF1.mean : null)),
    },
  ];
  return tableHtml(rows, cols, { rowClass: (r) => (r.baseline ? "baseline" : r === best ? "best" : "") });
}

/** The paired comparisons: a − b with its corrected 95 % CI, p and Holm-adjusted p, and the sentence. */
export function comparisonsTableHtml(comparisons: Comparison[]): string {
  const cols: Column<Comparison>[] = [
    { header: "a", cell: (c) => escapeHtml(c.a) },
    { header: "b", cell: (c) => escapeHtml(c.b) },
    { header: "population", cell: (c) => escapeHtml(c.population === "faces" ? "covers with faces" : "all covers") },
    { header: "metric", cell: (c) => escapeHtml(metricLabel(c.metric)) },
    { header: "a − b", cell: (c) => deltaHtml(c.delta, c.ci) },
    { header: "p", cell: (c) => pValue(c.p) },
    { header: "p (Holm)", cell: (c) => pValue(c.pHolm) },
    { header: "in words", cell: (c) => escapeHtml(c.words) },
  ];
  return tableHtml(comparisons, cols);
}

/**
 * The face + colour model on the study's own table (its 1,016 rows): the study's reported numbers,
 * this reproduction with the study's protocol (one split, threshold 0.5), with tuned thresholds, and
 * cross-validated, beside both baselines. A sentence naming the table leads.
 */
export function thesisTablesTableHtml(t: NonNullable<ThesisHeadResult["thesisTables"]>): string {
  type Row = { name: string; p: string; rc: string; f1: string; auc: string; cls?: string };
  const e = (m: MetricSet) => ({ p: estimateHtml(m.microPrecision), rc: estimateHtml(m.microRecall), f1: estimateHtml(m.microF1), auc: estimateHtml(m.rocAucMacro) });
  const rows: Row[] = [
    ...t.reported.map((x) => ({ name: `study (reported): ${x.model}`, p: num(x.microPrecision, 2), rc: num(x.microRecall, 2), f1: num(x.microF1, 2), auc: "–", cls: "study" })),
    { name: "here: same protocol (one split, threshold 0.5)", ...e(t.singleSplit) },
    { name: "here: one split, thresholds tuned in training rows", ...e(t.singleSplitTuned) },
    { name: `here: cross-validated, tuned thresholds`, ...e(t.cv) },
    { name: "baseline: predict every genre", ...e(t.baselines.predictAll), cls: "baseline" },
    { name: "baseline: genre prior", ...e(t.baselines.prior), cls: "baseline" },
  ];
  return (
    `<p>Reproduced on the study's own table (${count(t.rows)} rows, inputs ${escapeHtml(t.inputs.join(" + "))}, head ${escapeHtml(t.head)}; source <code>${escapeHtml(t.source)}</code>):</p>` +
    tableHtml(
      rows,
      [
        { header: "model", cell: (x) => escapeHtml(x.name) },
        { header: "micro precision", cell: (x) => x.p },
        { header: "micro recall", cell: (x) => x.rc },
        { header: "micro-F1", cell: (x) => x.f1 },
        { header: "macro ROC-AUC", title: "0.5 is chance; the study reported none", cell: (x) => x.auc },
      ],
      { rowClass: (x) => x.cls ?? "" },
    )
  );
}

/** The study's Flatten head trained with its single-split protocol, one row per input set, after a sentence naming the architecture. */
export function thesisHeadTableHtml(th: ThesisHeadResult): string {
  type Row = { name: string; s: (typeof th.singleSplit)[string] };
  const rows = Object.entries(th.singleSplit).map(([name, s]) => ({ name, s }));
  return (
    `<p>The study's architecture (${escapeHtml(th.architecture)}, backbone ${escapeHtml(th.backbone)}) trained on these covers with its single-split protocol:</p>` +
    tableHtml(rows, [
      { header: "input set", cell: (x: Row) => escapeHtml(x.name) },
      { header: "train / test covers", cell: (x: Row) => `${count(x.s.trainRows)} / ${count(x.s.testRows)}` },
      { header: "micro P / R at 0.5", cell: (x: Row) => `${num(x.s.at05.microPrecision.mean)} / ${num(x.s.at05.microRecall.mean)}` },
      { header: "micro-F1 at 0.5", cell: (x: Row) => estimateHtml(x.s.at05.microF1) },
      { header: "micro-F1 tuned", cell: (x: Row) => estimateHtml(x.s.tuned.microF1) },
      { header: "macro ROC-AUC", cell: (x: Row) => estimateHtml(x.s.tuned.rocAucMacro) },
      { header: "epochs", cell: (x: Row) => String(x.s.epochs) },
    ])
  );
}

/** The study's Flatten head cross-validated, beside the faces population's baselines; "" when it was not. */
export function thesisHeadCvHtml(r: StudyResults): string {
  const th = r.thesisHead;
  if (!th || !th.cv || !th.cvProtocol) return "";
  return (
    `<p>Cross-validated (${th.cvProtocol.folds} folds × ${th.cvProtocol.repeats}, thresholds tuned on each training fold's validation part; the baseline rows are the study's ${r.protocol.folds} × ${r.protocol.repeats} CV on all ${count(r.dataset.facesRows)} covers with faces):</p>` +
    metricsTableHtml(th.cv, r.baselinesFaces)
  );
}
