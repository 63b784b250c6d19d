/**
 * The study's report: one self-contained `index.html` (plotly inlined once, covers embedded as data
 * URIs) that a lecturer can open from disk or mail around. It leads with the answer to "do faces
 * help?", then shows every number beside its baselines and interval, the protocol in plain words,
 * the study's original numbers, figures, tables, an example grid, and the limits.
 */
import * as path from "node:path";
import { figureHtml, plotlyScript, type Figure } from "../plot";
import type { Comparison, ExamplePrediction, MetricSet, StudyResults } from "../train/results";
import { writeFileAtomic } from "../util/fsx";
import { coverThumbnail, type FaceBox } from "./covers";
import { count, escapeHtml, interval, num, pValue, signed, tableHtml, type Column } from "./format";
import { comparisonsTableHtml, metricsTableHtml, thesisHeadCvHtml, thesisHeadTableHtml, thesisTablesTableHtml } from "./tables";
import {
  collectionScoresOf,
  collectionsInfoOf,
  collectionsLimitHtml,
  collectionsProtocolItem,
  collectionsTableHtml,
  extraDataHtml,
  extraDataOf,
  perCollectionTableHtml,
  transferHtml,
  transferOf,
} from "./collections";
import {
  forestPlot,
  learningCurvesFigure,
  metricLabel,
  metricWithBaselines,
  perGenreBars,
  prCurvesFigure,
  thesisComparisonFigure,
  dataSizeFigure,
  collectionScoresFigure,
  transferFigure,
  extraDataFigure,
} from "./figures";

export { coverThumbnail, type FaceBox } from "./covers";
export * from "./tables";
export * from "./figures";
export * from "./collections";

/** Options of {@link writeReport}. */
export interface ReportOptions {
  /** Page title; default "Can you tell an album's genres from its cover?". */
  title?: string;
  /** Face boxes of an example cover (pixels of the original), drawn on its thumbnail; default none. */
  faces?: (example: ExamplePrediction) => FaceBox[] | null | undefined | Promise<FaceBox[] | null | undefined>;
  /** Longest side of the grid thumbnails in px; default 180. */
  thumbnailSize?: number;
  /** Where progress/warnings go; default silent. */
  log?: (line: string) => void;
}

/** The study's published numbers (thesis notebook, one random split, threshold 0.5), for the side-by-side. */
export const STUDY_REPORTED = {
  imageOnly: { microPrecision: 0.56, microRecall: 0.17 },
  faceColour: { microPrecision: 0.75, microRecall: 0.06 },
  predictAllMicroF1OnItsRows: 0.32,
} as const;

/** A figure of the report with a stable name (used for element ids and PNG file names). */
export interface NamedFigure {
  name: string;
  caption: string;
  figure: Figure;
}

/** The input set whose comparison answers the faces question: img+face vs img on the faces population. */
export function primaryFacesComparison(r: StudyResults): Comparison | null {
  const faces = r.comparisons.filter((c) => /(^|\+)face(\+|$)/.test(c.a) && !/(^|\+)face(\+|$)/.test(c.b));
  return (
    faces.find((c) => c.a === "img+face" && c.b === "img" && c.population === "faces" && c.metric === "microF1") ??
    faces.find((c) => c.population === "faces" && c.metric === "microF1") ??
    faces[0] ??
    null
  );
}

/** The set with the highest mean micro-F1 (ties: first). */
function bestSet<T extends MetricSet>(sets: Record<string, T>): [string, T] | null {
  let best: [string, T] | null = null;
  for (const [k, v] of Object.entries(sets)) if (!best || v.microF1.mean > best[1].microF1.mean) best = [k, v];
  return best;
}

/** Every figure of the report, in page order. */
export function reportFigures(r: StudyResults): NamedFigure[] {
  const out: NamedFigure[] = [];
  if (r.comparisons.length) out.push({ name: "forest", caption: "Paired effects of adding inputs (corrected 95 % CI).", figure: forestPlot(r.comparisons) });
  if (Object.keys(r.inputSets).length) {
    out.push({
      name: "faces-microf1",
      caption: "Micro-F1 of each input set on the covers with faces, against both baselines.",
      figure: metricWithBaselines(r.inputSets, r.baselinesFaces, "microF1", `Covers with faces (${count(r.dataset.facesRows)}): micro-F1 by input set`),
    });
    out.push({
      name: "faces-auc",
      caption: "Macro ROC-AUC (threshold-free) on the covers with faces; 0.5 is chance.",
      figure: metricWithBaselines(r.inputSets, r.baselinesFaces, "rocAucMacro", "Covers with faces: macro ROC-AUC by input set"),
    });
  }
  if (Object.keys(r.allCovers).length) {
    out.push({
      name: "all-microf1",
      caption: "Micro-F1 on all covers, against both baselines.",
      figure: metricWithBaselines(r.allCovers, r.baselines, "microF1", `All covers (${count(r.dataset.rows)}): micro-F1 by input set`),
    });
  }
  const genres = r.dataset.genres;
  const facesWithBase: Record<string, MetricSet> = { "baseline: prior": r.baselinesFaces.prior, ...r.inputSets };
  if (Object.keys(r.inputSets).length) {
    out.push({ name: "genre-precision", caption: "Per-genre precision per input set (covers with faces).", figure: perGenreBars(facesWithBase, genres, "precision", "Per-genre precision (covers with faces)") });
    out.push({ name: "genre-recall", caption: "Per-genre recall per input set (covers with faces).", figure: perGenreBars(facesWithBase, genres, "recall", "Per-genre recall (covers with faces)") });
  }
  const bestAll = bestSet(r.allCovers);
  if (bestAll && bestAll[1].prCurves && Object.keys(bestAll[1].prCurves).length) {
    out.push({ name: "pr-all", caption: `Precision-recall curves of the best all-covers input set (${bestAll[0]}), out-of-fold scores.`, figure: prCurvesFigure(bestAll[1], `PR curves: ${bestAll[0]} on all covers`) });
  }
  const bestFaces = bestSet(r.inputSets);
  if (bestFaces && bestFaces[1].prCurves && Object.keys(bestFaces[1].prCurves).length) {
    out.push({ name: "pr-faces", caption: `Precision-recall curves of ${bestFaces[0]} on the covers with faces.`, figure: prCurvesFigure(bestFaces[1], `PR curves: ${bestFaces[0]} on covers with faces`) });
  }
  if (r.dataSizeCurve && r.dataSizeCurve.points.length > 1) {
    const c = r.dataSizeCurve;
    out.push({
      name: "data-size",
      caption: `The same folds with each training fold cut to a stratified ${c.points.slice(0, -1).map((p) => `${Math.round(p.fraction * 100)} %`).join(", ")} of itself (test folds unchanged): ${c.inputSet} gains ${signed(c.perDoubling.microF1)} micro-F1 and ${signed(c.perDoubling.rocAucMacro)} macro ROC-AUC per doubling of the training covers.`,
      figure: dataSizeFigure(c, r.baselines),
    });
  }
  out.push(...collectionFigures(r));
  const curves = [...r.learningCurves, ...(r.thesisHead?.learningCurves ?? [])];
  if (curves.length) out.push({ name: "learning", caption: "Training and validation loss per epoch (star: the epoch whose weights were kept).", figure: learningCurvesFigure(curves) });
  const thesis = thesisComparisonFigure(r);
  if (thesis) out.push({ name: "thesis", caption: "The study's own numbers next to this reproduction on its 1,016 rows.", figure: thesis });
  return out;
}

/** The figures about several collections (per-collection scores, transfer, extra data), each only when results.json has its data. */
export function collectionFigures(r: StudyResults): NamedFigure[] {
  const out: NamedFigure[] = [];
  const scores = collectionScoresOf(r);
  if (scores) {
    out.push({
      name: "collections",
      caption: "Each collection's covers scored inside the same union CV (95 % CI), every all-covers input set beside that collection's own predict-all baseline (grey).",
      figure: collectionScoresFigure(scores),
    });
  }
  const t = transferOf(r);
  if (t) {
    out.push({
      name: "transfer",
      caption: `${t.inputSet} trained on one collection and scored on another (transfer), against the model trained on the test collection's own folds (within) and predict-all, on the same test rows; genres: ${t.genres.join(", ")}.`,
      figure: transferFigure(t),
    });
  }
  const x = extraDataOf(r);
  if (x) {
    out.push({
      name: "extra-data",
      caption: "Each collection's test folds, scored by a model trained on its own training folds and by one trained on the same plus every cover of the other collections (95 % CI).",
      figure: extraDataFigure(x),
    });
  }
  return out;
}

/** `rows`: covers evaluated (per repeat), so that support / rows is the genre's positive rate. */
function perGenreTable(name: string, m: MetricSet, baseline: MetricSet, genres: string[], rows: number): string {
  type Row = { g: string };
  const gm = (s: MetricSet, g: string) => s.perGenre[g];
  const cols: Column<Row>[] = [
    { header: "genre", cell: (r) => escapeHtml(r.g) },
    { header: "precision", cell: (r) => num(gm(m, r.g)?.precision) },
    { header: "recall", cell: (r) => num(gm(m, r.g)?.recall) },
    { header: "F1", cell: (r) => num(gm(m, r.g)?.f1) },
    { header: "F1 of predict-all", title: "F1 of predicting this genre for every cover: 2p / (1 + p) for a genre on a share p of covers", cell: (r) => `<span class="base">${num(gm(baseline, r.g)?.f1)}</span>` },
    { header: "ROC-AUC", title: "0.5 is chance", cell: (r) => num(gm(m, r.g)?.auc) },
    { header: "average precision", cell: (r) => num(gm(m, r.g)?.averagePrecision) },
    { header: "AP of chance", title: "positive rate: the AP of random scores", cell: (r) => `<span class="base">${num(rows > 0 && gm(m, r.g) ? gm(m, r.g).support / rows : null)}</span>` },
    { header: "positives", cell: (r) => count(gm(m, r.g)?.support ?? 0) },
    { header: "threshold", cell: (r) => num(gm(m, r.g)?.threshold, 2) },
  ];
  return `<h4>${escapeHtml(name)}</h4>` + tableHtml(genres.map((g) => ({ g })), cols);
}

function protocolHtml(r: StudyResults): string {
  const p = r.protocol;
  const d = r.dataset;
  const head = Object.entries(p.head)
    .map(([k, v]) => `${k} ${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
    .join(", ");
  const sizes = p.foldSizes.length
    ? `Each fold trains on about ${count(mean(p.foldSizes.map((f) => f.trainSize)))} covers and tests on about ${count(mean(p.foldSizes.map((f) => f.testSize)))}.`
    : "";
  const cols = collectionsInfoOf(r) ?? [];
  const from = cols.length > 1 ? `${cols.length} collections (${cols.map((c) => `<code>${escapeHtml(c.dir)}</code>`).join(", ")})` : `<code>${escapeHtml(d.coversDir)}</code>`;
  const items = [
    `We took ${count(d.rowsInTable)} covers from ${from}; ${count(d.rows)} were usable, and ${count(d.facesRows)} of them show at least one face (the study's population: it kept only covers with faces).`,
    `Each cover is described by up to three blocks of inputs: <b>img</b> (what a pretrained image network sees: ${escapeHtml(p.imgBackbones.join(" + ") || "—")}), <b>face</b> (attributes a face model estimates for the faces on it) and <b>clr</b> (colour statistics). An <i>input set</i> such as <code>img+face</code> joins blocks.`,
    `Genres: ${d.genres.map(escapeHtml).join(", ")}. A cover can have several (on average ${num(d.labelCardinality.all, 2)}).${d.droppedGenres.length ? ` Left out: ${d.droppedGenres.map((g) => `${escapeHtml(g.genre)} (${escapeHtml(g.reason)})`).join("; ")}.` : ""}`,
    `Every model is scored on covers it never saw: ${p.folds}-fold cross-validation repeated ${p.repeats} time(s) with seed ${p.seed} (${escapeHtml(p.stratification)}). ${sizes} All input sets of a population use the very same folds, so their differences are paired.`,
    `A genre is predicted when its score passes a threshold: ${escapeHtml(p.thresholds)}.`,
    `The model on top of the inputs: ${escapeHtml(head)}.${p.testTimeFlip ? " Scores average the cover and its mirror image." : ""}`,
    `Numbers are means over all folds with a 95 % interval by the ${escapeHtml(p.ciMethod)}. Comparisons: ${escapeHtml(p.comparisonTest)}.`,
    `Two baselines sit next to every number: <i>predict every genre</i> for every cover, and <i>genre prior</i> (guess each genre at random, as often as it occurs in the training folds: chance level for a model that knows nothing about the cover). Predicting every genre is the stronger of the two: a model that does not beat it has learned nothing useful.`,
  ];
  const collectionsItem = collectionsProtocolItem(cols);
  if (collectionsItem) items.splice(1, 0, collectionsItem);
  if (p.quick) items.unshift(`<b>Quick mode:</b> this run used a reduced protocol (fewer folds/repeats or covers) to finish fast; its intervals are wide and its numbers are for checking the pipeline, not for conclusions.`);
  const list = `<ol class="protocol">${items.map((i) => `<li>${i}</li>`).join("\n")}</ol>`;
  return cols.length ? `${list}\n<h3 id="collections-data">Collections</h3>\n${collectionsTableHtml(cols, d.genres)}` : list;
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}

function thesisHtml(r: StudyResults): string {
  const parts: string[] = [];
  parts.push(
    `<p>The study reported, on one random split of its 1,016 covers with faces and a 0.5 threshold: micro precision <b>${num(STUDY_REPORTED.imageOnly.microPrecision, 2)}</b> / recall <b>${num(STUDY_REPORTED.imageOnly.microRecall, 2)}</b> from the image alone, and <b>${num(STUDY_REPORTED.faceColour.microPrecision, 2)}</b> / <b>${num(STUDY_REPORTED.faceColour.microRecall, 2)}</b> with face and colour attributes. On those rows, predicting every genre for every cover already reaches micro-F1 ≈ ${num(STUDY_REPORTED.predictAllMicroF1OnItsRows, 2)}: high precision with almost no recall is what a model that rarely dares to predict looks like.</p>`,
  );
  const t = r.thesisHead?.thesisTables;
  if (t) parts.push(thesisTablesTableHtml(t));
  const th = r.thesisHead;
  if (th && Object.keys(th.singleSplit).length) {
    parts.push(thesisHeadTableHtml(th));
    const cv = thesisHeadCvHtml(r);
    if (cv) parts.push(cv);
  }
  if (th?.skipped) parts.push(`<p class="note">${Object.keys(th.singleSplit).length ? "Note" : "Not run"}: ${escapeHtml(th.skipped)}</p>`);
  if (!th) parts.push(`<p class="note">The study's own architecture was not run in this study.</p>`);
  return parts.join("\n");
}

async function examplesHtml(r: StudyResults, opts: ReportOptions): Promise<string> {
  if (!r.examples.length) return `<p class="note">No example predictions in results.json.</p>`;
  const cards: string[] = [];
  for (const ex of r.examples) {
    const faces = (opts.faces ? await opts.faces(ex) : null) ?? [];
    const thumb = await coverThumbnail(ex.path, faces, opts.thumbnailSize ?? 180);
    if (!thumb.ok) opts.log?.(`report: ${thumb.error}`);
    const img = thumb.ok
      ? `<img src="${thumb.dataUri}" width="${thumb.width}" height="${thumb.height}" alt="cover ${escapeHtml(ex.masterId)}">`
      : `<div class="missing">${escapeHtml(thumb.error)}</div>`;
    const truth = new Set(ex.trueGenres);
    const pred = new Set(ex.predictedGenres);
    const tags = [
      ...ex.predictedGenres.map((g) => `<span class="tag ${truth.has(g) ? "hit" : "wrong"}" title="predicted${truth.has(g) ? ", correct" : ", wrong"}">${escapeHtml(g)}</span>`),
      ...ex.trueGenres.filter((g) => !pred.has(g)).map((g) => `<span class="tag missed" title="true genre, not predicted">${escapeHtml(g)}</span>`),
    ].join(" ");
    const top = Object.entries(ex.scores)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([g, s]) => `${escapeHtml(g)} ${num(s, 2)}`)
      .join(" · ");
    cards.push(
      `<figure class="cover">${img}<figcaption><div class="id">#${escapeHtml(ex.masterId)}${ex.collection ? ` · ${escapeHtml(ex.collection)}` : ""}${faces.length ? ` · ${faces.length} face(s)` : ""}</div><div>${tags || '<span class="tag">none predicted</span>'}</div><div class="scores">true: ${ex.trueGenres.map(escapeHtml).join(", ")}</div><div class="scores">top scores: ${top}</div></figcaption></figure>`,
    );
  }
  return (
    `<p class="legend"><span class="tag hit">predicted and true</span> <span class="tag wrong">predicted, wrong</span> <span class="tag missed">true, missed</span> — out-of-fold predictions${r.bestCheckpointInputSet ? ` of <code>${escapeHtml(r.bestCheckpointInputSet)}</code>` : ""}: no cover was in the training folds of the model that scored it.</p>` +
    `<div class="grid">${cards.join("\n")}</div>`
  );
}

function limitsHtml(r: StudyResults): string {
  const missing = r.dataset.droppedGenres.map((g) => g.genre);
  return `<ul>
${missing.length || r.dataset.genres.length < 7 ? `<li>The shared covers carry ${r.dataset.genres.length} of the study's 7 major genres${missing.length ? ` (missing: ${missing.map(escapeHtml).join(", ")})` : ""}; results on a crawl with all 7 may differ.</li>` : ""}
<li>Face attributes (age, gender, emotion, race) are <b>model estimates</b> from a face-analysis network, not facts about the people shown; they are noisy, worse for children, older people and stylised artwork.</li>
<li>Race is a sensitive attribute. It is estimated by a model (the GEAR model's five coarse categories) and reported here only because the original study used it; it must not be read as anyone's identity.</li>
<li>The image features come from frozen backbones trained for other tasks (ImageNet; the study's InceptionV3 is a content-classification fine-tune), so these numbers are a lower bound of what a cover can tell.</li>
${collectionsLimitHtml(collectionsInfoOf(r) ?? [], r.dataset.genres)}
<li>Covers with faces are a selected population: differences between populations mix the effect of faces with what kind of albums show faces.</li>
</ul>`;
}

const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1180px;margin:0 auto;padding:24px;color:#222;line-height:1.45}
h1{font-size:1.8em;margin-bottom:.2em} h2{margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.answer{font-size:1.25em;background:#f3f7ff;border-left:6px solid #1f77b4;padding:14px 18px;margin:18px 0}
.answer .detail{font-size:.8em;color:#444;margin-top:6px}
.quick{background:#fff4e0;border-left:6px solid #ff7f0e;padding:10px 14px}
table{border-collapse:collapse;margin:10px 0 18px;font-size:.88em;width:100%}
th,td{border-bottom:1px solid #e5e5e5;padding:5px 7px;text-align:left;vertical-align:top}
th{background:#fafafa;font-weight:600}
tr.baseline td{color:#666;background:#f7f7f7;font-style:italic}
tr.study td{background:#fffbe6}
tr.best td{font-weight:600} .best-mark{color:#d62728}
.ci,.base{color:#777;font-size:.9em;white-space:nowrap}
.note{color:#666}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:14px}
figure.cover{margin:0;border:1px solid #ddd;border-radius:6px;padding:6px;background:#fff}
figure.cover img{display:block;margin:0 auto;max-width:100%;height:auto}
figure.cover .missing{height:150px;display:flex;align-items:center;justify-content:center;background:#eee;color:#a00;font-size:.8em;padding:6px;text-align:center;word-break:break-all}
figcaption{font-size:.8em;margin-top:4px} figcaption .id{color:#555}
.tag{display:inline-block;border-radius:3px;padding:0 5px;margin:1px 0;font-size:.95em;background:#eee}
.tag.hit{background:#d4f5d4;color:#155d15} .tag.wrong{background:#fde0e0;color:#8a1010} .tag.missed{background:#fff;border:1px dashed #8a1010;color:#8a1010}
.scores{color:#666}
ol.protocol li{margin-bottom:6px}
.figcap{color:#555;font-size:.9em;margin-top:-4px}
nav a{margin-right:12px}
`;

/**
 * The lead sentence of an answer and the rest. The study's answers list every comparison after a
 * one-sentence verdict; the page leads with the verdict and folds the list away. Decimals ("0.270")
 * and "95 % CI" never split: only a period followed by a space and a capital/letter does.
 */
export function splitFirstSentence(text: string): { first: string; rest: string } {
  const m = /^(.+?[.!?])\s+(?=[A-Za-z])/s.exec(text ?? "");
  if (!m) return { first: text ?? "", rest: "" };
  return { first: m[1], rest: text.slice(m[0].length).trim() };
}

/** Nav links to the collection sections that the page has. */
function collectionsNav(r: StudyResults): string {
  return [
    collectionScoresOf(r) ? `<a href="#collections">per collection</a>` : "",
    transferOf(r) ? `<a href="#transfer">transfer</a>` : "",
    extraDataOf(r) ? `<a href="#extra-data">extra data</a>` : "",
  ].join("");
}

/**
 * The sections about several collections, each only when results.json has its data: scores per
 * collection, transfer between collections, and the other collections as extra training data.
 * `fig` embeds a named figure of {@link collectionFigures}.
 */
export function collectionSectionsHtml(r: StudyResults, fig: (name: string) => string): string {
  const parts: string[] = [];
  const scores = collectionScoresOf(r);
  if (scores) parts.push(`<h2 id="collections">Per collection</h2>\n${fig("collections")}\n${perCollectionTableHtml(scores, Object.keys(r.allCovers))}`);
  const t = transferOf(r);
  if (t) parts.push(`<h2 id="transfer">Does it carry over? (transfer)</h2>\n${fig("transfer")}\n${transferHtml(t)}`);
  const x = extraDataOf(r);
  if (x) parts.push(`<h2 id="extra-data">Real extra data</h2>\n${fig("extra-data")}\n${extraDataHtml(x)}`);
  return parts.join("\n");
}

/** Build the whole page as a string (what {@link writeReport} writes). */
export async function reportHtml(r: StudyResults, opts: ReportOptions = {}): Promise<string> {
  if (!r || r.version !== 1) throw new Error(`results: unsupported version ${(r as { version?: unknown } | null)?.version} (expected 1)`);
  const title = opts.title ?? "Can you tell an album's genres from its cover?";
  const figs = reportFigures(r);
  const byName = new Map(figs.map((f) => [f.name, f]));
  const fig = (name: string) => {
    const f = byName.get(name);
    return f ? `${figureHtml(f.figure, { id: `fig-${f.name}` })}\n<p class="figcap">${escapeHtml(f.caption)}</p>` : "";
  };
  const primary = primaryFacesComparison(r);
  const faces = splitFirstSentence(r.answer.faces);
  const colour = splitFirstSentence(r.answer.colour);
  const answer = `<div class="answer" id="answer"><div>${escapeHtml(faces.first)}</div>${
    primary
      ? `<div class="detail">Measured as ${escapeHtml(metricLabel(primary.metric))} of <code>${escapeHtml(primary.a)}</code> minus <code>${escapeHtml(primary.b)}</code> on ${primary.population === "faces" ? `the ${count(r.dataset.facesRows)} covers with faces` : `all ${count(r.dataset.rows)} covers`}: ${signed(primary.delta)} (95 % CI ${escapeHtml(interval(primary.ci, 3, true))}, Holm-adjusted p ${pValue(primary.pHolm)}).</div>`
      : ""
  }<div class="detail">${escapeHtml(colour.first)}</div>${
    faces.rest || colour.rest
      ? `<details class="detail"><summary>every comparison in words</summary>${[faces.rest, colour.rest].filter(Boolean).map((t) => `<p>${escapeHtml(t)}</p>`).join("")}</details>`
      : ""
  }</div>`;

  const facesGenre = (() => {
    const b = bestSet(r.inputSets);
    return b ? perGenreTable(`Covers with faces: ${b[0]} (best micro-F1) per genre`, b[1], r.baselinesFaces.predictAll, r.dataset.genres, r.dataset.facesRows) : "";
  })();
  const allGenre = (() => {
    const b = bestSet(r.allCovers);
    return b ? perGenreTable(`All covers: ${b[0]} (best micro-F1) per genre`, b[1], r.baselines.predictAll, r.dataset.genres, r.dataset.rows) : "";
  })();

  const best = r.bestCheckpoint
    ? `<p>Best checkpoint: <code>${escapeHtml(r.bestCheckpoint)}</code>, input set <code>${escapeHtml(r.bestCheckpointInputSet ?? "?")}</code>, trained on all covers. Its cross-validated numbers (same folds as above):</p>` +
      (r.bestCheckpointCv ? metricsTableHtml({ [r.bestCheckpointInputSet ?? "best"]: r.bestCheckpointCv }, r.baselines) : "")
    : `<p class="note">No checkpoint was written in this run.</p>`;

  const variants = Object.keys(r.variants).length
    ? `<h3>Variants (all covers)</h3><p>Other heads and backbones, scored on the same folds:</p>${metricsTableHtml(r.variants, r.baselines)}`
    : "";

  const timings = Object.entries(r.timings.steps)
    .map(([k, v]) => `${escapeHtml(k)} ${num(v, 1)} s`)
    .join(" · ");

  const sections = `
<h1>${escapeHtml(title)}</h1>
<p class="note">And do the faces on the cover help? Study run of ${escapeHtml(r.createdAt)} on ${count(r.dataset.rows)} covers (${count(r.dataset.facesRows)} with faces), ${r.protocol.folds}-fold CV × ${r.protocol.repeats}.</p>
${r.protocol.quick ? `<p class="quick"><b>Quick run:</b> reduced protocol for a fast check; do not draw conclusions from these numbers.</p>` : ""}
<nav><a href="#answer">answer</a><a href="#protocol">protocol</a><a href="#numbers">numbers</a>${collectionsNav(r)}<a href="#genres">per genre</a><a href="#curves">curves</a><a href="#study">the original study</a><a href="#examples">examples</a><a href="#limits">limits</a></nav>
${answer}
<h2 id="protocol">How it was measured</h2>
${protocolHtml(r)}
<h2 id="numbers">Do faces (and colours) help?</h2>
${fig("forest")}
${r.comparisons.length ? comparisonsTableHtml(r.comparisons) : '<p class="note">No comparisons in results.json.</p>'}
<h3>Covers with faces (${count(r.dataset.facesRows)})</h3>
${fig("faces-microf1")}
${fig("faces-auc")}
${Object.keys(r.inputSets).length ? metricsTableHtml(r.inputSets, r.baselinesFaces) : '<p class="note">No input sets were evaluated on the faces population.</p>'}
<h3>All covers (${count(r.dataset.rows)})</h3>
${fig("all-microf1")}
${Object.keys(r.allCovers).length ? metricsTableHtml(r.allCovers, r.baselines) : '<p class="note">No input sets were evaluated on all covers.</p>'}
${variants}
${r.dataSizeCurve ? `<h3>Would more covers help?</h3>${fig("data-size")}` : ""}
<h3>Best checkpoint</h3>
${best}
${collectionSectionsHtml(r, fig)}
<h2 id="genres">Per genre</h2>
${fig("genre-precision")}
${fig("genre-recall")}
${facesGenre}
${allGenre}
<h2 id="curves">Curves</h2>
${fig("pr-all")}
${fig("pr-faces")}
${fig("learning")}
<h2 id="study">The original study's numbers</h2>
${thesisHtml(r)}
${fig("thesis")}
<h2 id="examples">Example covers: true vs predicted genres</h2>
${await examplesHtml(r, opts)}
<h2 id="limits">Limits</h2>
${limitsHtml(r)}
${r.notes.length ? `<h3>Notes from the run</h3><ul>${r.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("")}</ul>` : ""}
<p class="note">Total ${num(r.timings.totalSeconds, 0)} s${timings ? ` (${timings})` : ""}. Generated by covergenre from results.json.</p>
`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
${plotlyScript()}
</head><body>
${sections}
</body></html>
`;
}

/**
 * Write `<outDir>/index.html` (atomically) for `results` and return its path. The page needs no
 * other file: plotly.min.js is inlined once and covers are embedded.
 */
export async function writeReport(results: StudyResults, outDir: string, opts: ReportOptions = {}): Promise<string> {
  const html = await reportHtml(results, opts);
  const file = path.join(path.resolve(outDir), "index.html");
  await writeFileAtomic(file, html);
  return file;
}
