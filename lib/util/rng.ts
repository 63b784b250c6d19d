/**
 * A small seeded random generator, so that folds, bootstrap samples and weight initialisations are
 * reproducible from one integer (Math.random cannot be seeded).
 */

/** mulberry32: fast, 32-bit state, good enough for shuffling and resampling. Returns [0, 1). */
export function makeRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates shuffle in place. */
export function shuffleInPlace<T>(items: T[], rng: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const tmp = items[i];
    items[i] = items[j];
    items[j] = tmp;
  }
  return items;
}

/** 0..n-1 shuffled. */
export function permutation(n: number, rng: () => number): number[] {
  return shuffleInPlace(Array.from({ length: n }, (_, i) => i), rng);
}
