/**
 * Parsing one `<master>…</master>` record of a Discogs masters dump into the fields the project
 * uses. A hand-written tag scanner rather than a general XML parser: it checks that tags nest
 * properly (a broken record is reported, not guessed at) but only builds strings for the few
 * elements it keeps, which is what makes a multi-GB dump stream at > 100k masters/s
 * (see bench/dump.ts for the measured comparison with fast-xml-parser and sax).
 *
 * Real dumps contain characters XML forbids (0x03, 0x07 …, raw or as `&#3;`); they are dropped
 * from kept text instead of failing the record.
 */

/** One image entry of the 2020-era format (`uri` is always "" in dumps since 2015). */
export interface DumpImage {
  type: string;
  uri: string;
  uri150: string;
  width: number | null;
  height: number | null;
}

/** The fields of a master the crawl and the statistics need. */
export interface DumpMaster {
  id: number;
  /** Release whose rating the API crawl reads; null if the dump omits it. */
  mainRelease: number | null;
  /** Top-level genres in dump order (entities decoded, e.g. "Folk, World, & Country"). */
  genres: string[];
  styles: string[];
  /** null when absent or 0 (the dumps' "unknown"). */
  year: number | null;
  title: string;
  artists: string[];
  dataQuality: string | null;
  /** `<images>` of the 2020 format; null in the 2025 format, which has no `<images>` element. */
  images: DumpImage[] | null;
  /** Byte offset of `<master` in the uncompressed stream (for error messages and resumable tools). */
  offset: number;
}

/** A record that could not be parsed; the stream goes on after it. */
export class DumpRecordError extends Error {
  constructor(
    message: string,
    /** Byte offset of the record start in the uncompressed stream. */
    readonly offset: number,
    /** The master id when the opening tag was readable. */
    readonly masterId: number | null,
  ) {
    super(message);
    this.name = "DumpRecordError";
  }
}

const NAMED_ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** True for code points XML 1.0 allows in documents. */
function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

// eslint-disable-next-line no-control-regex
const INVALID_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

/**
 * Decode XML entities and drop characters XML does not allow. Unknown named entities are kept
 * verbatim: dropping text silently would be worse than showing `&foo;`.
 */
export function decodeXmlText(raw: string): string {
  // Fast path: almost every field has neither entities nor forbidden characters.
  let clean = true;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 38 || (c < 32 && c !== 9 && c !== 10 && c !== 13) || c >= 0xfffe) {
      clean = false;
      break;
    }
  }
  if (clean) return raw;
  let text = raw;
  if (text.indexOf("&") !== -1) {
    text = text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, ref: string) => {
      if (ref[0] === "#") {
        const cp = ref[1] === "x" || ref[1] === "X" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
        return isXmlChar(cp) ? String.fromCodePoint(cp) : "";
      }
      return NAMED_ENTITIES[ref] ?? whole;
    });
  }
  INVALID_CHARS.lastIndex = 0;
  if (INVALID_CHARS.test(text)) text = text.replace(INVALID_CHARS, "");
  return text;
}

/** Value of attribute `name` in a start tag's attribute text, decoded; undefined if absent. */
export function attribute(attrs: string, name: string): string | undefined {
  let from = 0;
  for (;;) {
    const at = attrs.indexOf(name, from);
    if (at === -1) return undefined;
    from = at + name.length;
    const before = at === 0 ? " " : attrs[at - 1];
    if (before !== " " && before !== "\t" && before !== "\n" && before !== "\r") continue;
    let i = from;
    while (attrs[i] === " ") i++;
    if (attrs[i] !== "=") continue;
    i++;
    while (attrs[i] === " ") i++;
    const quote = attrs[i];
    if (quote !== '"' && quote !== "'") return undefined;
    const end = attrs.indexOf(quote, i + 1);
    if (end === -1) return undefined;
    return decodeXmlText(attrs.slice(i + 1, end));
  }
}

/**
 * The attributes of an `<image …>` tag between `from` and `to` of `xml`, read in place: every
 * master has images in the 2020 format, so a generic attribute map was a quarter of parse time.
 */
function imageAttributes(xml: string, from: number, to: number): DumpImage {
  const img: DumpImage = { type: "", uri: "", uri150: "", width: null, height: null };
  let i = from;
  for (;;) {
    while (i < to && xml.charCodeAt(i) <= 32) i++;
    if (i >= to) return img;
    const eq = xml.indexOf("=", i);
    if (eq === -1 || eq >= to) return img;
    let nameEnd = eq;
    while (nameEnd > i && xml.charCodeAt(nameEnd - 1) <= 32) nameEnd--;
    let j = eq + 1;
    while (j < to && xml.charCodeAt(j) <= 32) j++;
    const quote = xml.charCodeAt(j);
    if (quote !== 34 && quote !== 39) return img;
    const end = xml.indexOf(quote === 34 ? '"' : "'", j + 1);
    if (end === -1 || end > to) return img;
    const len = nameEnd - i;
    if (end > j + 1) {
      // empty values (uri="" in every dump since 2015) need no work
      if (len === 4 && xml.startsWith("type", i)) img.type = decodeXmlText(xml.slice(j + 1, end));
      else if (len === 3 && xml.startsWith("uri", i)) img.uri = decodeXmlText(xml.slice(j + 1, end));
      else if (len === 6 && xml.startsWith("uri150", i)) img.uri150 = decodeXmlText(xml.slice(j + 1, end));
      else if (len === 5 && xml.startsWith("width", i)) img.width = toInt(xml.slice(j + 1, end));
      else if (len === 6 && xml.startsWith("height", i)) img.height = toInt(xml.slice(j + 1, end));
    }
    i = end + 1;
  }
}

function toInt(text: string | null): number | null {
  if (text == null) return null;
  let i = 0;
  let j = text.length;
  while (i < j && text.charCodeAt(i) <= 32) i++;
  while (j > i && text.charCodeAt(j - 1) <= 32) j--;
  if (i === j) return null;
  let n = 0;
  const neg = text.charCodeAt(i) === 45;
  if (neg && ++i === j) return null;
  for (; i < j; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return null;
    n = n * 10 + d;
  }
  return neg ? -n : n;
}

/** Children of <master> the scanner walks into; any other subtree is skipped unread. */
const KEPT_CHILDREN = new Set(["main_release", "year", "title", "data_quality", "genres", "styles", "images", "artists"]);

// What to keep, by path below <master>: depth-1 children, and list items one level deeper.
const enum Keep {
  None,
  MainRelease,
  Year,
  Title,
  DataQuality,
  Genre,
  Style,
  ArtistName,
}

function failRecord(id: number, offset: number, why: string): never {
  throw new DumpRecordError(`master ${id} (byte ${offset}): ${why}`, offset, id);
}

/**
 * Parse one record. `xml` must start at `<master` and end after `</master>`; `offset` is its byte
 * offset in the stream. Throws {@link DumpRecordError} for a record whose tags do not nest.
 */
export function parseMasterRecord(xml: string, offset = 0): DumpMaster {
  const openEnd = xml.indexOf(">");
  if (!xml.startsWith("<master") || openEnd === -1) throw new DumpRecordError(`record at byte ${offset} does not start with <master>`, offset, null);
  const idText = attribute(xml.slice(7, openEnd), "id");
  const id = toInt(idText ?? null);
  if (id == null) throw new DumpRecordError(`record at byte ${offset}: <master> has no numeric id (id="${idText ?? ""}")`, offset, null);

  const m: DumpMaster = {
    id,
    mainRelease: null,
    genres: [],
    styles: [],
    year: null,
    title: "",
    artists: [],
    dataQuality: null,
    images: null,
    offset,
  };
  let mainRelease: string | null = null;
  let year: string | null = null;

  // Stack of open element names below <master>; depth 0 = inside <master> itself.
  const stack: string[] = [];
  let keep: Keep = Keep.None;
  let keepStart = 0;
  let pos = openEnd + 1;
  if (xml[openEnd - 1] === "/") failRecord(id, offset, "empty <master/> element");
  for (;;) {
    const lt = xml.indexOf("<", pos);
    if (lt === -1) failRecord(id, offset, "ends before </master>");
    const c = xml.charCodeAt(lt + 1);
    if (c === 33 /* ! */) {
      // comment or CDATA
      if (xml.startsWith("<!--", lt)) {
        const end = xml.indexOf("-->", lt + 4);
        if (end === -1) failRecord(id, offset, "unterminated comment");
        pos = end + 3;
        continue;
      }
      if (xml.startsWith("<![CDATA[", lt)) {
        const end = xml.indexOf("]]>", lt + 9);
        if (end === -1) failRecord(id, offset, "unterminated CDATA section");
        if (keep !== Keep.None) failRecord(id, offset, "CDATA in a kept field is not supported");
        pos = end + 3;
        continue;
      }
      failRecord(id, offset, `unexpected "<!" at byte ${offset + lt}`);
    }
    if (c === 63 /* ? */) {
      const end = xml.indexOf("?>", lt + 2);
      if (end === -1) failRecord(id, offset, "unterminated processing instruction");
      pos = end + 2;
      continue;
    }
    const gt = xml.indexOf(">", lt + 1);
    if (gt === -1) failRecord(id, offset, "a tag is not closed");
    if (c === 47 /* / */) {
      // end tag
      if (stack.length === 0) {
        const name = xml.slice(lt + 2, gt).trim();
        if (name !== "master") failRecord(id, offset, `unexpected </${name}>`);
        break; // done
      }
      const open = stack.pop()!;
      // Compare in place: slicing every end tag's name costs more than the whole rest.
      if (gt !== lt + 2 + open.length || !xml.startsWith(open, lt + 2)) {
        if (xml.slice(lt + 2, gt).trim() !== open) failRecord(id, offset, `</${xml.slice(lt + 2, gt).trim()}> closes <${open}>`);
      }
      if (keep !== Keep.None) {
        const raw = xml.slice(keepStart, lt);
        // numbers need no entity decoding (toInt rejects anything odd)
        const text = keep === Keep.MainRelease || keep === Keep.Year ? raw : decodeXmlText(raw);
        switch (keep) {
          case Keep.MainRelease:
            mainRelease = text;
            break;
          case Keep.Year:
            year = text;
            break;
          case Keep.Title:
            m.title = text.trim();
            break;
          case Keep.DataQuality:
            m.dataQuality = text.trim();
            break;
          case Keep.Genre: {
            const g = text.trim();
            if (g) m.genres.push(g);
            break;
          }
          case Keep.Style: {
            const s = text.trim();
            if (s) m.styles.push(s);
            break;
          }
          case Keep.ArtistName:
            m.artists.push(text.trim());
            break;
        }
        keep = Keep.None;
      }
      pos = gt + 1;
      continue;
    }
    // start tag (maybe self-closing)
    const selfClosing = xml.charCodeAt(gt - 1) === 47;
    let nameEnd = lt + 1;
    while (nameEnd < gt) {
      const ch = xml.charCodeAt(nameEnd);
      if (ch === 32 || ch === 47 || ch === 9 || ch === 10 || ch === 13) break;
      nameEnd++;
    }
    const name = xml.slice(lt + 1, nameEnd);
    if (name === "") failRecord(id, offset, `empty tag name at byte ${offset + lt}`);
    if (name === "master") failRecord(id, offset, "a new <master> starts before this one ends");
    if (keep !== Keep.None) failRecord(id, offset, `<${name}> inside <${stack[stack.length - 1]}>`);
    const depth = stack.length;
    if (depth === 0 && !selfClosing && !KEPT_CHILDREN.has(name)) {
      // A subtree we do not keep (videos: most of a record's bytes, notes …): jump to its end.
      const close = xml.indexOf(`</${name}>`, gt + 1);
      if (close === -1) failRecord(id, offset, `<${name}> is not closed`);
      pos = close + name.length + 3;
      continue;
    }
    if (depth === 0) {
      if (name === "images" && m.images === null) m.images = [];
      if (!selfClosing) {
        if (name === "main_release") keep = Keep.MainRelease;
        else if (name === "year") keep = Keep.Year;
        else if (name === "title") keep = Keep.Title;
        else if (name === "data_quality") keep = Keep.DataQuality;
      }
    } else if (depth === 1) {
      const parent = stack[0];
      if (!selfClosing) {
        if (name === "genre" && parent === "genres") keep = Keep.Genre;
        else if (name === "style" && parent === "styles") keep = Keep.Style;
      }
      if (name === "image" && parent === "images") {
        m.images!.push(imageAttributes(xml, nameEnd, selfClosing ? gt - 1 : gt));
      }
    } else if (depth === 2 && !selfClosing && name === "name" && stack[0] === "artists" && stack[1] === "artist") {
      keep = Keep.ArtistName;
    }
    if (!selfClosing) {
      stack.push(name);
      if (keep !== Keep.None) keepStart = gt + 1;
    }
    pos = gt + 1;
  }
  m.mainRelease = toInt(mainRelease);
  const y = toInt(year);
  m.year = y != null && y > 0 ? y : null;
  return m;
}
