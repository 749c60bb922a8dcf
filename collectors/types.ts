// The interface every collector implements; what they write is results/sample.ts's Sample.
import type { Sample } from '../results-dir/index.ts';

export type { Sample };

export interface Collector {
  /** Unique among the collectors of a run, e.g. `postgres@localhost`. */
  name: string;
  /** Sample.source of what it writes. */
  source: string;
  /** Default Sample.host. */
  host: string;
  /**
   * Takes one reading. `now` is the tick time (use it for `ts` and for time lags). Rates are computed from
   * counter deltas against the previous call, so the first call returns gauges only. Throws when the source
   * cannot be read at all (the sampler turns that into a gap); may return gap samples for parts that failed.
   */
  sample(now: Date): Promise<Sample[]>;
  /** Releases connections. */
  close?(): Promise<void>;
}

/** Builds a sample; labels are copied so callers can reuse an object. */
export function sample(
  now: Date,
  source: string,
  host: string,
  metric: string,
  value: number,
  labels: Record<string, string> = {},
): Sample {
  return { ts: now.toISOString(), source, host, metric, value, labels: { ...labels } };
}

export function gapSample(now: Date, c: Pick<Collector, 'name' | 'source' | 'host'>, error: unknown, part?: string): Sample {
  const labels: Record<string, string> = { collector: c.name };
  if (part) labels.part = part;
  return { ts: now.toISOString(), source: c.source, host: c.host, metric: 'gap', value: 1, labels, gap: true, error: errorText(error) };
}

/** A one-line description of any error, with the errno code where there is one. */
export function errorText(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length) {
    return errorText(err.errors[0]);
  }
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    const cause = (err as { cause?: unknown }).cause;
    let msg = err.message || err.name;
    if (cause && (msg === 'fetch failed' || !code)) {
      const inner = cause instanceof Error ? errorText(cause) : '';
      if (inner && !msg.includes(inner)) msg = `${msg}: ${inner}`;
    }
    return code && !msg.includes(code) ? `${msg} (${code})` : msg;
  }
  return String(err);
}
