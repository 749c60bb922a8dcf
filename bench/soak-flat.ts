// Whether memory stayed flat over a soak: each process's mean resident memory in the run's second minute against
// its last minute (the first minute is warm-up: caches fill, the JIT and the pools settle).

export interface MemorySample {
  /** seconds since the load generator started */
  t: number;
  process: string;
  mb: number;
}

export interface Flatness {
  process: string;
  /** mean MB in [60 s, 120 s) */
  second: number;
  /** mean MB in the last 60 s of the run */
  last: number;
  /** last / second - 1 */
  change: number;
  /** |change| <= the tolerance */
  ok: boolean;
  /** MB per minute over the second half of the run (least squares): a climb, where a step shows near 0 */
  slope: number;
}

/** least-squares slope of y over x */
function slopeOf(points: MemorySample[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, p) => a + p.t, 0) / n;
  const my = points.reduce((a, p) => a + p.mb, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mx) * (p.mb - my);
    den += (p.t - mx) ** 2;
  }
  return den ? num / den : 0;
}

/** One row per process with samples in both minutes, in the order processes first appear. */
export function flatness(samples: MemorySample[], tolerance: number): Flatness[] {
  const end = Math.max(...samples.map((s) => s.t));
  if (end < 180) throw new Error(`the run lasted ${end.toFixed(0)} s: the second minute and the last need at least 3 minutes`);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const out: Flatness[] = [];
  for (const p of [...new Set(samples.map((s) => s.process))]) {
    const mine = samples.filter((s) => s.process === p);
    const second = mine.filter((s) => s.t >= 60 && s.t < 120).map((s) => s.mb);
    const last = mine.filter((s) => s.t > end - 60).map((s) => s.mb);
    if (!second.length || !last.length) continue; // started late or ended early: no comparison
    const change = mean(last) / mean(second) - 1;
    const slope = slopeOf(mine.filter((s) => s.t >= end / 2)) * 60;
    out.push({ process: p, second: mean(second), last: mean(last), change, ok: Math.abs(change) <= tolerance, slope });
  }
  return out;
}
