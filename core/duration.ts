// Durations as people write them on the command line: 500ms, 5s, 1.5m, 2h, 1h30m, or a bare number of seconds.
import { UserError } from './errors.ts';

/** Milliseconds for "500ms", "5s", "1.5m", "2h", "1h30m", "90" (seconds); undefined for anything else. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const re = /\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    const n = Number(m[1]);
    total += m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n * 3_600_000;
    end = re.lastIndex;
  }
  return t.length > 0 && end === t.length ? Math.round(total) : undefined;
}

/** parseDuration for user input: a one-line error naming `what` when the text is not a duration. */
export function requireDuration(text: string, what = 'duration'): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new UserError(`${what}: "${text}" is not a duration (e.g. 30s, 5m, 1h30m)`);
  return ms;
}

/** requireDuration for a length that must be more than nothing: refused while the flags are read, not mid-run. */
export function requirePositiveDuration(text: string, what = 'duration'): number {
  const ms = requireDuration(text, what);
  if (ms <= 0) throw new UserError(`${what} must be longer than 0, not "${text}"`);
  return ms;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${+(ms / 1000).toFixed(1)} s`;
  return `${+(ms / 60_000).toFixed(1)} min`;
}
