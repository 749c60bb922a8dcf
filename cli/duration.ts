import { parseDuration as parseMs } from '../collectors/duration.ts';
import { UserError } from './errors.ts';

/** Parses 90, 90s, 5m, 1h, 1h30m, 500ms into milliseconds (a bare number is seconds); a one-line error otherwise. */
export function parseDuration(text: string, what = 'duration'): number {
  const ms = parseMs(text);
  if (ms === undefined) throw new UserError(`${what}: "${text}" is not a duration (e.g. 30s, 5m, 1h30m)`);
  return ms;
}
