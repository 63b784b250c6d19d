/**
 * Discogs genres and the study's on-disk cover layout, shared by the crawler (which writes it) and
 * the feature extractor (which reads it), so the two can never disagree.
 *
 * Layout: one genre → `<Genre>/<id>.jpeg`; several → `multi/<G1+G2+…>/<id>.jpeg` in the dump's
 * order. Folder names replace "Funk / Soul" by "Funk&Soul" (the study's spelling) and are sanitised
 * so that no genre name from outside can lead out of the covers folder.
 */

/** The 15 top-level Discogs genres, as Discogs spells them. */
export const DISCOGS_GENRES = [
  "Blues",
  "Brass & Military",
  "Children's",
  "Classical",
  "Electronic",
  "Folk, World, & Country",
  "Funk / Soul",
  "Hip Hop",
  "Jazz",
  "Latin",
  "Non-Music",
  "Pop",
  "Reggae",
  "Rock",
  "Stage & Screen",
] as const;

export type DiscogsGenre = (typeof DISCOGS_GENRES)[number];

/** The study's 7 major genres (03.Refine_Divide keeps these). */
export const MAJOR_GENRES: readonly DiscogsGenre[] = [
  "Electronic",
  "Folk, World, & Country",
  "Funk / Soul",
  "Hip Hop",
  "Jazz",
  "Pop",
  "Rock",
];

/** Genres whose masters need ≥ 50 ratings in the study's crawl (else ≥ 15): they are over-represented. */
export const POPULAR_GENRES: readonly string[] = ["Electronic", "Rock"];

/** Folder-name spellings that differ from the Discogs name (the study wrote Funk&Soul). */
const FOLDER_ALIASES: Record<string, string> = { "Funk / Soul": "Funk&Soul" };
const FROM_FOLDER: Record<string, string> = Object.fromEntries(Object.entries(FOLDER_ALIASES).map(([k, v]) => [v, k]));

/** Spellings seen in other sources, mapped to the Discogs name ("Funk&Soul", "HipHop", …). */
const NAME_ALIASES: Record<string, DiscogsGenre> = {
  "funk&soul": "Funk / Soul",
  "funk/soul": "Funk / Soul",
  "funk & soul": "Funk / Soul",
  hiphop: "Hip Hop",
  "hip-hop": "Hip Hop",
  country: "Folk, World, & Country",
  "folk, world, and country": "Folk, World, & Country",
};

/** The Discogs name of a genre written any common way, or null if it is not one of the 15. */
export function canonicalGenre(name: string): DiscogsGenre | null {
  const trimmed = name.trim();
  const exact = DISCOGS_GENRES.find((g) => g === trimmed);
  if (exact) return exact;
  const lower = trimmed.toLowerCase();
  return NAME_ALIASES[lower] ?? DISCOGS_GENRES.find((g) => g.toLowerCase() === lower) ?? null;
}

/**
 * A folder name for one genre that is safe on every file system: the study's alias, then any
 * path separator, `..`, control or reserved character replaced, never empty, never a dot name.
 */
export function genreFolderName(genre: string): string {
  let name = FOLDER_ALIASES[genre] ?? genre;
  name = name
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f]/g, "")
    .replace(/[/\\:*?"<>|]/g, "_")
    .replace(/\+/g, "_") // '+' joins genres in multi/ folder names
    .replace(/\.{2,}/g, "_")
    .trim();
  if (name === "" || name === "." || /^\.+$/.test(name)) name = "_";
  if (name.toLowerCase() === "multi") name = "_multi";
  return name.slice(0, 100);
}

/** The genre a folder name stands for (inverse of {@link genreFolderName} for real genres). */
export function genreFromFolderName(folder: string): string {
  return FROM_FOLDER[folder] ?? canonicalGenre(folder) ?? folder;
}

/** Relative path of a cover in the study's layout (POSIX separators). */
export function coverRelativePath(id: string | number, genres: readonly string[], ext = "jpeg"): string {
  const idText = String(id);
  if (!/^[A-Za-z0-9_-]+$/.test(idText)) throw new Error(`cover id "${idText}" is not a plain identifier`);
  if (genres.length === 0) throw new Error(`master ${idText} has no genres: it has no place in the layout`);
  if (genres.length === 1) return `${genreFolderName(genres[0])}/${idText}.${ext}`;
  return `multi/${genres.map(genreFolderName).join("+")}/${idText}.${ext}`;
}

/**
 * Genres and id from a path in the study's layout (`Rock/1.jpeg`, `multi/Pop+Rock/2.jpeg`, also the
 * study's Windows `Rock\1.jpeg`). Returns null for a path that is not in the layout.
 */
export function parseCoverRelativePath(relPath: string): { id: string; genres: string[] } | null {
  const parts = relPath.split(/[\\/]/).filter(Boolean);
  const file = parts[parts.length - 1];
  const dot = file?.lastIndexOf(".") ?? -1;
  if (!file || dot <= 0) return null;
  const id = file.slice(0, dot);
  if (parts.length === 2) return { id, genres: [genreFromFolderName(parts[0])] };
  if (parts.length === 3 && parts[0] === "multi") return { id, genres: parts[1].split("+").map(genreFromFolderName) };
  return null;
}
