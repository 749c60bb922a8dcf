// Rates from monotonic counters: the delta between two readings divided by the time between them.

/**
 * Remembers the last reading of each counter (by key) and returns per-second rates. The first reading of a
 * key, a reading that went backwards (the source restarted and its counters reset), or a zero time step give
 * `undefined`: no rate rather than a wrong one.
 */
export class RateTracker {
  private last = new Map<string, { value: number; tMs: number }>();

  /** Per-second rate of `key` between its previous reading and this one. */
  rate(key: string, value: number, tMs: number): number | undefined {
    const d = this.delta(key, value, tMs);
    if (d === undefined || d.dtMs <= 0) return undefined;
    return (d.delta * 1000) / d.dtMs;
  }

  /** The raw delta and elapsed time of `key`; also records the reading. */
  delta(key: string, value: number, tMs: number): { delta: number; dtMs: number } | undefined {
    if (!Number.isFinite(value)) return undefined;
    const prev = this.last.get(key);
    this.last.set(key, { value, tMs });
    if (!prev) return undefined;
    const delta = value - prev.value;
    if (delta < 0) return undefined;
    return { delta, dtMs: tMs - prev.tMs };
  }

  /** Forgets every key not in `keys`: bounds memory for label sets that come and go. */
  retain(keys: Set<string>): void {
    for (const k of this.last.keys()) if (!keys.has(k)) this.last.delete(k);
  }

  clear(): void {
    this.last.clear();
  }
}

/** Ratio of two deltas (e.g. hit / (hit + miss) over an interval); undefined when the denominator did not move. */
export function deltaRatio(num: number | undefined, den: number | undefined): number | undefined {
  if (num === undefined || den === undefined || den <= 0) return undefined;
  return num / den;
}
