// nginx stub_status: connections by state and request/accept rates.
import { httpGetText } from './http.ts';
import { RateTracker } from './rates.ts';
import { sample, type Collector, type Sample } from './types.ts';

export interface StubStatus {
  active: number;
  accepts: number;
  handled: number;
  requests: number;
  reading: number;
  writing: number;
  waiting: number;
}

/** Parses the stub_status page (the format has not changed since nginx 1.x). */
export function parseStubStatus(text: string): StubStatus {
  const active = /Active connections:\s*(\d+)/.exec(text);
  const counts = /server accepts handled requests\s+(\d+)\s+(\d+)\s+(\d+)/.exec(text);
  const rww = /Reading:\s*(\d+)\s+Writing:\s*(\d+)\s+Waiting:\s*(\d+)/.exec(text);
  if (!active || !counts || !rww) throw new Error(`not an nginx stub_status page: ${text.slice(0, 60).replace(/\s+/g, ' ')}`);
  return {
    active: Number(active[1]),
    accepts: Number(counts[1]),
    handled: Number(counts[2]),
    requests: Number(counts[3]),
    reading: Number(rww[1]),
    writing: Number(rww[2]),
    waiting: Number(rww[3]),
  };
}

export interface NginxTarget {
  /** Full URL of the stub_status page, e.g. http://127.0.0.1:18080/nginx_status */
  statusUrl: string;
  host: string;
}

export function nginxCollector(target: NginxTarget, opts: { timeoutMs?: number } = {}): Collector {
  const rates = new RateTracker();
  const c: Collector = {
    name: `nginx@${target.host}`,
    source: 'nginx',
    host: target.host,
    async sample(now: Date): Promise<Sample[]> {
      const s = parseStubStatus(await httpGetText(target.statusUrl, { timeoutMs: opts.timeoutMs }));
      const t = now.getTime();
      const out: Sample[] = [];
      const add = (metric: string, value: number | undefined) => {
        if (value !== undefined) out.push(sample(now, 'nginx', target.host, metric, value));
      };
      add('active_connections', s.active);
      add('reading', s.reading);
      add('writing', s.writing);
      add('waiting', s.waiting);
      add('requests_per_s', rates.rate('requests', s.requests, t));
      add('accepts_per_s', rates.rate('accepts', s.accepts, t));
      // accepted but not handled: connections dropped for lack of worker_connections
      add('dropped_per_s', rates.rate('dropped', s.accepts - s.handled, t));
      return out;
    },
  };
  return c;
}
