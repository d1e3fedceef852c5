// Did-you-mean for names given by hand: config keys, acknowledgement codes, query fields.

/** The known name a typo most likely meant: same letters ignoring case, `_` and `-`, or at most a third of them different. */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  const plain = (s: string): string => s.toLowerCase().replace(/[-_\s]/g, '');
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(plain(key), plain(candidate));
    if (distance <= Math.max(1, Math.floor(candidate.length / 3)) && (best === undefined || distance < best.distance)) best = { key: candidate, distance };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] as number;
}
