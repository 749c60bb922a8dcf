// Sizes and rounding as commcare_resource_model uses them: decimal units (1 KB = 1000 bytes) and a rounding
// that keeps about two significant figures, always rounding up.

export const BYTES_PER_UNIT = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, PB: 1e15 } as const;
export type StorageUnit = keyof typeof BYTES_PER_UNIT;
export const DISPLAY_UNITS: StorageUnit[] = ['KB', 'MB', 'GB', 'TB', 'PB'];

const SIZE_RE = /^(\d+(?:\.\d*)?|\.\d+)\s*([KMGTP]?B?)?$/i;

/**
 * Bytes in a size: a plain number of bytes (1200), or a number with a decimal unit ("50GB", "2K", "1.5 TB").
 * Undefined when the text is not a size.
 */
export function parseSize(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = SIZE_RE.exec(value.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toUpperCase();
  if (unit === '' || unit === 'B') return n;
  const key = (unit.endsWith('B') ? unit : `${unit}B`) as StorageUnit;
  return n * BYTES_PER_UNIT[key];
}

/**
 * Powers of ten as the resource model's tenth_round gets them from numpy (1.26, vectorised pow on AVX-512), where
 * they are one float off: 10^-1 is 0.09999999999999999, so 7.2 / 10^-1 is just above 72 and rounds up to 7.3.
 * Measured with np.power(10.0, k) for k in -30..30; the other exponents are exact.
 */
const NUMPY_POW10 = new Map<number, number>([
  [-30, 9.999999999999999e-31],
  [-28, 1.0000000000000001e-28],
  [-26, 9.999999999999999e-27],
  [-22, 9.999999999999999e-23],
  [-20, 1.0000000000000001e-20],
  [-18, 9.999999999999999e-19],
  [-10, 9.999999999999999e-11],
  [-9, 9.999999999999999e-10],
  [-5, 9.999999999999999e-6],
  [-4, 9.999999999999999e-5],
  [-1, 0.09999999999999999],
  [26, 9.999999999999999e25],
  [30, 9.999999999999999e29],
]);

/**
 * Rounds up to the power of ten nearest to 1 % of the value (0.0752 -> 0.076, 1335 -> 1340, 91.2 -> 92),
 * which is how the resource model's summary shows storage. 0 stays 0.
 */
export function tenthRound(value: number): number {
  if (!value || !Number.isFinite(value)) return value;
  // utils.tenth_round: np.round (half to even) of log10(1 % of the value).
  const exact = Math.log10(value * 0.01);
  const p = Math.abs(exact % 1) === 0.5 ? 2 * Math.round(exact / 2) : Math.round(exact);
  const step = NUMPY_POW10.get(p) ?? (p >= 0 ? 10 ** p : 1 / 10 ** -p);
  return clean(Math.ceil(value / step) * step);
}

/** Removes float noise (0.07600000000000001 -> 0.076) from a figure meant for display. */
export function clean(value: number): number {
  return Number.isFinite(value) ? Number(value.toPrecision(12)) : value;
}
