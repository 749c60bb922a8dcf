// What k6 itself knows each second while it runs (its REST API): dropped iterations so far and VUs. The request log
// has every request; these two exist only inside k6's executors. Only counter and gauge endpoints are asked: a
// trend (all of /v1/metrics) makes k6 sort every value it holds, every time.
import fs from 'node:fs';
import net from 'node:net';
import type { ProgressPoint } from '../results-dir/index.ts';

/** A free loopback port for k6's REST API (`--address`): two runs on one machine must not share one. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function metric(base: string, name: string, field: 'count' | 'value'): Promise<number | undefined> {
  const res = await fetch(`${base}/v1/metrics/${name}`, { signal: AbortSignal.timeout(800) });
  if (res.status === 404) return 0; // k6 registers dropped_iterations with the first one
  if (!res.ok) return undefined;
  const body = (await res.json()) as { data?: { attributes?: { sample?: Record<string, number> } } };
  return body.data?.attributes?.sample?.[field];
}

/** Polls k6's REST API once a second; each answer is appended to `file` (one JSON line) as it comes. */
export class K6Progress {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  readonly points: ProgressPoint[] = [];

  constructor(
    private readonly apiBase: string,
    private readonly file: string,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), 1000);
  }

  async stop(): Promise<ProgressPoint[]> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    while (this.busy) await new Promise((r) => setTimeout(r, 20));
    return this.points;
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const [dropped, vus] = await Promise.all([metric(this.apiBase, 'dropped_iterations', 'count'), metric(this.apiBase, 'vus', 'value')]);
      if (dropped === undefined || vus === undefined) return;
      const p: ProgressPoint = { second: Math.floor(Date.now() / 1000), droppedTotal: dropped, vus };
      this.points.push(p);
      fs.appendFileSync(this.file, `${JSON.stringify(p)}\n`);
    } catch {
      // k6 not listening yet, or gone: nothing to record this second
    } finally {
      this.busy = false;
    }
  }
}
