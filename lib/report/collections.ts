/**
 * The report's parts about several cover collections studied at once: what each collection holds,
 * how each one scores inside the union CV, whether a model trained on one carries over to another
 * (transfer), and whether the other collections help as real extra training data. Each builder
 * returns HTML (tables and sentences; the figures are in ./figures) and each `…Of` accessor returns
 * null when results.json has nothing to show, so results written before collections existed, or
 * with one collection, render without these parts.
 */
import type { CollectionInfo, CollectionScores, ExtraDataResult, MetricSet, PairedDelta, StudyResults, TransferDirection, TransferResult } from "../train/results";
import { count, deltaHtml, escapeHtml, estimateHtml, num, percent, pValue, signed, tableHtml, type Column } from "./format";

/** The dataset's collections, or null when results.json predates them or lists none. */
export function collectionsInfoOf(r: StudyResults): CollectionInfo[] | null {
  const c = r.dataset.collections;
  return c && c.length ? c : null;
}

/** Per-collection scores of the union CV, or null when absent or empty (one collection writes `{}`). */
export function collectionScoresOf(r: StudyResults): Record<string, CollectionScores> | null {
  const c = r.collections;
  return c && Object.keys(c).length ? c : null;
}

/** The transfer result, or null when absent, not run (null) or without directions. */
export function transferOf(r: StudyResults): TransferResult | null {
  const t = r.transfer;
  return t && t.directions.length ? t : null;
}

/** The extra-data results, or null when absent or empty (one collection writes `[]`). */
export function extraDataOf(r: StudyResults): ExtraDataResult[] | null {
  const x = r.extraData;
  return x && x.length ? x : null;
}

/** "p = 0.012" or "p < 0.001": a p value inside a sentence. */
export function pText(p: number | null | undefined): string {
  const v = pValue(p);
  return v.startsWith("<") ? `p ${v}` : `p = ${v}`;
}

/** One sentence of a paired difference on both headline metrics, with intervals and p values. */
export function pairedDeltaHtml(d: { microF1: PairedDelta; rocAucMacro: PairedDelta }): string {
  const one = (label: string, x: PairedDelta) => `${label} ${deltaHtml(x.delta, x.ci)} (${escapeHtml(pText(x.p))})`;
  return `${one("micro-F1", d.microF1)}, ${one("macro ROC-AUC", d.rocAucMacro)}`;
}

/** Genres to list for the collections: the study's genres, then any a collection counts beyond them. */
function collectionGenres(cols: CollectionInfo[], genres: string[]): string[] {
  const out = [...genres];
  for (const c of cols) for (const g of Object.keys(c.genreCounts)) if (!out.includes(g)) out.push(g);
  return out;
}

/**
 * The collections side by side (one column each): size, faces, how multi-label they are, image
 * size and covers per genre. Collections can differ in all of these, and each difference is a way
 * a model could tell them apart besides genre.
 */
export function collectionsTableHtml(cols: CollectionInfo[], genres: string[]): string {
  type Row = { label: string; title?: string; cell: (c: CollectionInfo) => string };
  const genreRow = (g: string): Row => ({
    label: `covers tagged ${escapeHtml(g)}`,
    cell: (c) => {
      const n = c.genreCounts[g];
      return typeof n === "number" ? `${count(n)} <span class="base">${percent(c.rows > 0 ? n / c.rows : null, 0)}</span>` : "–";
    },
  });
  const rows: Row[] = [
    { label: "folder", cell: (c) => `<code>${escapeHtml(c.dir)}</code>` },
    { label: "usable covers", cell: (c) => count(c.rows) },
    { label: "with at least one face", cell: (c) => `${count(c.facesRows)} <span class="base">${percent(c.rows > 0 ? c.facesRows / c.rows : null, 0)}</span>` },
    { label: "genres per cover (mean)", cell: (c) => num(c.labelCardinality, 2) },
    { label: "covers with two or more genres", cell: (c) => percent(c.multiLabelShare) },
    { label: "median image size", cell: (c) => `${count(c.medianSize.width)} × ${count(c.medianSize.height)} px` },
    ...collectionGenres(cols, genres).map(genreRow),
  ];
  const columns: Column<Row>[] = [{ header: "", cell: (r) => r.label }, ...cols.map((c) => ({ header: c.name, cell: (r: Row) => r.cell(c) }))];
  return tableHtml(rows, columns);
}

/** The protocol item about collections (empty with fewer than two): where the covers come from and how folds are stratified. */
export function collectionsProtocolItem(cols: CollectionInfo[]): string {
  if (cols.length < 2) return "";
  const list = cols.map((c) => `<b>${escapeHtml(c.name)}</b> (${count(c.rows)} covers)`).join(", ");
  return `The covers come from ${cols.length} collections: ${list}. They are studied together, and the folds are <b>stratified by label set and collection</b>: every fold holds each collection, and each combination of genres within it, in about its overall share. So the per-collection numbers below are read off the very same folds as the union's.`;
}

/** The limit that several collections bring (empty with fewer than two): the ways they differ besides genre. */
export function collectionsLimitHtml(cols: CollectionInfo[], genres: string[]): string {
  if (cols.length < 2) return "";
  const parts: string[] = [];
  const sizes = cols.map((c) => `${c.medianSize.width}×${c.medianSize.height}`);
  if (new Set(sizes).size > 1) parts.push(`image size (median ${cols.map((c, i) => `${escapeHtml(c.name)} ${sizes[i]} px`).join(", ")})`);
  const all = collectionGenres(cols, genres);
  const missing = cols
    .map((c) => ({ c, g: all.filter((g) => !(c.genreCounts[g] > 0)) }))
    .filter((x) => x.g.length)
    .map((x) => `${escapeHtml(x.c.name)} has no ${x.g.map(escapeHtml).join(", ")}`);
  if (missing.length) parts.push(`genres (${missing.join("; ")})`);
  parts.push(`how often a cover has several genres (${cols.map((c) => `${escapeHtml(c.name)} ${percent(c.multiLabelShare)}`).join(", ")})`);
  return `<li>The collections differ in more than their covers' content: ${parts.join(", ")}. A model can partly tell collections apart by such traits, so union-CV scores mix genre with collection, and the transfer numbers measure this shift too.</li>`;
}

/** Column of a metric of one collection's MetricSet: estimate with its interval. */
function collectionColumn(c: CollectionScores, key: "microF1" | "rocAucMacro", label: string): Column<{ name: string; baseline: boolean }> {
  const pick = (r: { name: string; baseline: boolean }): MetricSet | undefined => (r.baseline ? c.baselines.predictAll : c.allCovers[r.name]);
  return { header: `${c.collection}: ${label}`, cell: (r) => estimateHtml(pick(r)?.[key]) };
}

/**
 * Per-collection scores of the union CV, one row per all-covers input set and the collections side
 * by side, each next to its own predict-all baseline (the first row): the same model can beat
 * predict-all on one collection and not on another.
 */
export function perCollectionTableHtml(scores: Record<string, CollectionScores>, order: string[] = []): string {
  const cs = Object.values(scores);
  const sets = [...order];
  for (const c of cs) for (const k of Object.keys(c.allCovers)) if (!sets.includes(k)) sets.push(k);
  const present = sets.filter((k) => cs.some((c) => c.allCovers[k]));
  type Row = { name: string; baseline: boolean };
  const rows: Row[] = [{ name: "baseline: predict every genre", baseline: true }, ...present.map((name) => ({ name, baseline: false }))];
  const columns: Column<Row>[] = [{ header: "model", cell: (r) => escapeHtml(r.name) }];
  for (const c of cs) {
    const base = c.baselines.predictAll.microF1.mean;
    columns.push(collectionColumn(c, "microF1", "micro-F1"), collectionColumn(c, "rocAucMacro", "macro ROC-AUC"), {
      header: `${c.collection}: Δ micro-F1 vs predict-all`,
      title: "difference of mean micro-F1 against predicting every genre, on this collection's test rows",
      cell: (r) => (r.baseline ? "" : signed(Number.isFinite(c.allCovers[r.name]?.microF1.mean) && Number.isFinite(base) ? c.allCovers[r.name].microF1.mean - base : null)),
    });
  }
  const sizes = cs.map((c) => `${escapeHtml(c.collection)} ${count(c.rows)}`).join(", ");
  return `<p>Covers scored per collection (each once per repeat, while in a test fold): ${sizes}.</p>` + tableHtml(rows, columns, { rowClass: (r) => (r.baseline ? "baseline" : "") });
}

/** The three models of one transfer direction on the same test rows, then the paired difference and its sentence. */
function transferDirectionHtml(d: TransferDirection): string {
  type Row = { name: string; trainedOn: string; m: MetricSet; baseline: boolean };
  const rows: Row[] = [
    { name: "transfer", trainedOn: `all ${count(d.trainRows)} covers of ${escapeHtml(d.train)}`, m: d.transfer, baseline: false },
    { name: "within", trainedOn: `the training folds of ${escapeHtml(d.test)}`, m: d.within, baseline: false },
    { name: "baseline: predict every genre", trainedOn: "—", m: d.predictAll, baseline: true },
  ];
  const table = tableHtml(
    rows,
    [
      { header: "model", cell: (r) => escapeHtml(r.name) },
      { header: "trained on", cell: (r) => r.trainedOn },
      { header: "micro-F1", cell: (r) => estimateHtml(r.m.microF1) },
      { header: "macro ROC-AUC", cell: (r) => estimateHtml(r.m.rocAucMacro) },
      { header: "micro precision", cell: (r) => estimateHtml(r.m.microPrecision) },
      { header: "micro recall", cell: (r) => estimateHtml(r.m.microRecall) },
    ],
    { rowClass: (r) => (r.baseline ? "baseline" : "") },
  );
  return (
    `<h4>Trained on ${escapeHtml(d.train)}, tested on ${escapeHtml(d.test)} (${count(d.testRows)} covers)</h4>` +
    table +
    `<p>Transfer − within, paired by test fold: ${pairedDeltaHtml(d.delta)}.</p>` +
    `<p class="words">${escapeHtml(d.words)}</p>`
  );
}

/**
 * The transfer section's tables and sentences: per direction, the model trained on the other
 * collection against the one trained on the test collection's own folds and against predict-all,
 * all on the same test rows.
 */
export function transferHtml(t: TransferResult): string {
  const intro =
    `<p>Input set <code>${escapeHtml(t.inputSet)}</code>. Genres scored (those with enough covers in every collection): ${t.genres.map(escapeHtml).join(", ")}. ` +
    `<i>Transfer</i> is trained on every cover of one collection and scored on the test folds of the other; <i>within</i> is trained on that collection's own training folds and scored on the same test folds, so the two are paired. Folds are the union CV's, restricted to each collection.</p>`;
  return intro + t.directions.map(transferDirectionHtml).join("\n");
}

/** Own vs own + extra training covers for one target collection, then the paired difference and its sentence. */
function extraDataBlockHtml(x: ExtraDataResult): string {
  type Row = { name: string; rows: number; m: MetricSet };
  const rows: Row[] = [
    { name: `own training folds of ${x.target}`, rows: x.ownTrainRows, m: x.own },
    { name: `+ every cover of ${x.extra.join(", ")}`, rows: x.withExtraTrainRows, m: x.withExtra },
  ];
  const table = tableHtml(rows, [
    { header: "trained on", cell: (r) => escapeHtml(r.name) },
    { header: "training covers per fold", cell: (r) => count(r.rows) },
    { header: "micro-F1", cell: (r) => estimateHtml(r.m.microF1) },
    { header: "macro ROC-AUC", cell: (r) => estimateHtml(r.m.rocAucMacro) },
    { header: "micro precision", cell: (r) => estimateHtml(r.m.microPrecision) },
    { header: "micro recall", cell: (r) => estimateHtml(r.m.microRecall) },
  ]);
  return (
    `<h4>${escapeHtml(x.target)}: own covers vs + ${x.extra.map(escapeHtml).join(", ")}</h4>` +
    `<p class="note">Input set <code>${escapeHtml(x.inputSet)}</code>; genres scored: ${x.genres.map(escapeHtml).join(", ")} (extra covers are labelled on these only).</p>` +
    table +
    `<p>With extra − own, paired by test fold: ${pairedDeltaHtml(x.delta)}.</p>` +
    `<p class="words">${escapeHtml(x.words)}</p>`
  );
}

/**
 * The extra-data section: on each collection's own test folds, training on its own folds vs the
 * same plus every cover of the other collections. Real extra covers, measured, next to the
 * data-size curve's extrapolation.
 */
export function extraDataHtml(extra: ExtraDataResult[]): string {
  return (
    `<p>Would more covers help? Here the extra covers are real: each collection's test folds are scored by a model trained on its own training folds, and by one trained on the same plus every cover of the other collections. Same test rows, so the difference is paired.</p>` +
    extra.map(extraDataBlockHtml).join("\n")
  );
}
