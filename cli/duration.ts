import { UserError } from './errors.ts';

/** Parses 90, 90s, 5m, 1h, 1h30m, 500ms into milliseconds; a bare number is seconds. */
export function parseDuration(text: string, what = 'duration'): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    const n = Number(m[1]);
    total += m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n * 3_600_000;
    matched = re.lastIndex;
  }
  if (matched !== t.length || t.length === 0) throw new UserError(`${what}: "${text}" is not a duration (e.g. 30s, 5m, 1h30m)`);
  return Math.round(total);
}
