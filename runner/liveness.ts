// Follows the request log (k6's console log, runner/requestlog.ts) while the run goes: every acknowledged form id
// is appended to acks.ndjson, and the forms the VUs marked (one in --liveness-every of each VU's) are polled in
// Elasticsearch until searchable, giving data liveness (ack -> searchable).
import fs from 'node:fs';
import { type AckRecord, type LivenessRecord, requestOf } from '../results-dir/index.ts';

export interface LivenessOptions {
  consoleLog: string;
  acksFile: string;
  livenessFile: string;
  elasticsearchUrl?: string;
  index?: string;
  pollMs?: number;
  /** A followed form not searchable after this long counts as never searchable. */
  giveUpMs?: number;
}

export interface LivenessStats {
  acks: number;
  followed: number;
  searchable: number;
  pending: number;
  lagsMs: number[];
}

export class LivenessFollower {
  private offset = 0;
  private partial = '';
  private timer: NodeJS.Timeout | undefined;
  private pending = new Map<string, number>();
  private busy = false;
  readonly stats: LivenessStats = { acks: 0, followed: 0, searchable: 0, pending: 0, lagsMs: [] };

  constructor(private opts: LivenessOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.opts.pollMs ?? 250);
  }

  /** Reads what is left of the log, then keeps polling the followed forms for up to `drainMs`. */
  async stop(drainMs = 0): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    while (this.busy) await new Promise((r) => setTimeout(r, 20));
    await this.tick();
    const deadline = Date.now() + drainMs;
    while (this.pending.size > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, this.opts.pollMs ?? 250));
      await this.tick();
    }
    // what never became searchable is recorded as such
    for (const [formId, ackedAt] of this.pending) this.append({ formId, ackedAt });
    this.pending.clear();
    this.stats.pending = 0;
  }

  private append(rec: LivenessRecord): void {
    fs.appendFileSync(this.opts.livenessFile, `${JSON.stringify(rec)}\n`);
  }

  private readNewLines(): string[] {
    let fd: number;
    try {
      fd = fs.openSync(this.opts.consoleLog, 'r');
    } catch {
      return [];
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size <= this.offset) return [];
      const buf = Buffer.alloc(size - this.offset);
      fs.readSync(fd, buf, 0, buf.length, this.offset);
      this.offset = size;
      const text = this.partial + buf.toString('utf8');
      const lines = text.split('\n');
      this.partial = lines.pop() ?? '';
      return lines;
    } finally {
      fs.closeSync(fd);
    }
  }

  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const acks: AckRecord[] = [];
      for (const line of this.readNewLines()) {
        const r = requestOf(line);
        if (!r?.ack) continue;
        acks.push({ ack: r.ack, t: r.t, w: r.w ?? -1, form: r.form });
        if (r.f && this.opts.elasticsearchUrl) {
          this.pending.set(r.ack, r.t);
          this.stats.followed++;
        }
      }
      if (acks.length) {
        fs.appendFileSync(this.opts.acksFile, acks.map((a) => JSON.stringify(a)).join('\n') + '\n');
        this.stats.acks += acks.length;
      }
      await this.poll();
      this.stats.pending = this.pending.size;
    } finally {
      this.busy = false;
    }
  }

  private async poll(): Promise<void> {
    if (!this.opts.elasticsearchUrl || this.pending.size === 0) return;
    const ids = [...this.pending.keys()].slice(0, 500);
    let docs: { _id: string; found?: boolean }[];
    try {
      const res = await fetch(`${this.opts.elasticsearchUrl}/${this.opts.index ?? 'xforms'}/_mget?_source=false&realtime=false`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ ids }),
        signal: AbortSignal.timeout(5000),
      });
      // realtime=false: only what a search would see (refreshed), not what a get would
      if (!res.ok) return; // index not there yet: nothing searchable
      docs = ((await res.json()) as { docs: { _id: string; found?: boolean }[] }).docs;
    } catch {
      return; // ES unreachable this time: try again next tick
    }
    const now = Date.now();
    for (const d of docs) {
      const ackedAt = this.pending.get(d._id);
      if (ackedAt === undefined) continue;
      if (d.found) {
        this.pending.delete(d._id);
        const lag = now - ackedAt;
        this.stats.searchable++;
        this.stats.lagsMs.push(lag);
        this.append({ formId: d._id, ackedAt, searchableAt: now, lagMs: lag });
      } else if (now - ackedAt > (this.opts.giveUpMs ?? 600_000)) {
        this.pending.delete(d._id);
        this.append({ formId: d._id, ackedAt });
      }
    }
  }
}
