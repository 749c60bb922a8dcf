// Flag value parsers for every command: one rule each, one line naming the flag when a value is wrong.
import { requireDuration, requirePositiveDuration } from '../core/duration.ts';
import { UserError } from '../core/errors.ts';

/** A number above 0 (a whole one with integer); `1_000` is read as 1000. */
export function positive(flag: string, integer = false): (v: string) => number {
  return (v: string) => {
    const n = Number(v.replace(/_/g, ''));
    if (v.trim() === '' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
      throw new UserError(`${flag} must be a ${integer ? 'whole ' : ''}number above 0, not "${v}"`);
    }
    return n;
  };
}

/** A whole number of at least `min`. */
export function wholeNumber(flag: string, min: number): (v: string) => number {
  return (v: string) => {
    const n = Number(v.replace(/_/g, ''));
    if (!/^\d+$/.test(v.replace(/_/g, '')) || n < min) throw new UserError(`${flag} must be a whole number of at least ${min}, not "${v}"`);
    return n;
  };
}

/** A share from 0 to 1, or a percentage such as 5%; above0 refuses 0. */
export function share(flag: string, opts: { above0?: boolean } = {}): (v: string) => number {
  return (v: string) => {
    const pct = v.trim().endsWith('%');
    const n = Number(pct ? v.trim().slice(0, -1) : v);
    const s = pct ? n / 100 : n;
    if (v.trim() === '' || !Number.isFinite(s) || s < 0 || s > 1 || (opts.above0 && s === 0)) {
      throw new UserError(
        `${flag} must be a share ${opts.above0 ? 'above 0 and at most 1' : 'from 0 to 1'} (or a percentage such as 5%), not "${v}"`,
      );
    }
    return s;
  };
}

/** A duration (30s, 5m, 1h30m, or seconds), in seconds; above0 for a length that must be more than nothing. */
export function seconds(flag: string, opts: { above0?: boolean } = {}): (v: string) => number {
  return (v: string) => (opts.above0 ? requirePositiveDuration(v, flag) : requireDuration(v, flag)) / 1000;
}
