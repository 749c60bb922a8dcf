/** Date/time formatting without the Date object's locale handling: fast, deterministic, platform neutral. */

const P2: string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? '0' : '') + i);
const P3: string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

export const DAY_MS = 86_400_000;

/** Days since 1970-01-01 -> [year, month (1-12), day]. (H. Hinnant's civil_from_days.) */
export function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

/** [year, month, day] -> days since 1970-01-01. */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Parses YYYY-MM-DD to a day number; throws on anything else. */
export function parseDay(s: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) throw new Error(`expected a date as YYYY-MM-DD, got "${s}"`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const days = daysFromCivil(y, mo, d);
  const [cy, cm, cd] = civilFromDays(days);
  if (cy !== y || cm !== mo || cd !== d) throw new Error(`not a real date: "${s}"`);
  return days;
}

function year4(y: number): string {
  return y >= 1000 && y <= 9999 ? String(y) : String(y).padStart(4, '0');
}

/** Day number -> YYYY-MM-DD. */
export function formatDay(days: number): string {
  const [y, m, d] = civilFromDays(days);
  return `${year4(y)}-${P2[m]}-${P2[d]}`;
}

export function formatOffset(offsetMin: number): string {
  if (offsetMin === 0) return 'Z';
  const sign = offsetMin < 0 ? '-' : '+';
  const a = Math.abs(offsetMin);
  return `${sign}${P2[Math.floor(a / 60)]}:${P2[a % 60]}`;
}

/** UTC epoch ms -> local ISO 8601 with milliseconds and offset, e.g. 2024-03-04T08:12:33.120+05:30. */
export function formatDateTime(utcMs: number, offsetMin: number): string {
  const local = utcMs + offsetMin * 60_000;
  const days = Math.floor(local / DAY_MS);
  let rem = local - days * DAY_MS;
  const h = Math.floor(rem / 3_600_000);
  rem -= h * 3_600_000;
  const mi = Math.floor(rem / 60_000);
  rem -= mi * 60_000;
  const s = Math.floor(rem / 1000);
  const ms = Math.floor(rem - s * 1000);
  return `${formatDay(days)}T${P2[h]}:${P2[mi]}:${P2[s]}.${P3[ms]}${formatOffset(offsetMin)}`;
}

/** Local day number of a UTC instant. */
export function localDay(utcMs: number, offsetMin: number): number {
  return Math.floor((utcMs + offsetMin * 60_000) / DAY_MS);
}

/** Seconds of the day -> HH:MM:SS.000 */
export function formatTimeOfDay(secs: number): string {
  const h = Math.floor(secs / 3600) % 24;
  const m = Math.floor((secs % 3600) / 60);
  const s = secs % 60;
  return `${P2[h]}:${P2[m]}:${P2[s]}.000`;
}
