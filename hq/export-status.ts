// An export's task status in Redis (HQ: soil's download status): created by the web worker, updated by the celery
// worker as it goes, read by the browser's polls. A status never stays pending or running for ever: a running task
// whose worker has not beaten for STALE_MS, or any task past its deadline, is reported failed (and marked so),
// so the browser stops waiting and can ask again.
import type { Redis } from 'ioredis';

export type ExportState = 'pending' | 'running' | 'done' | 'failed';

export interface ExportStatus {
  downloadId: string;
  domain: string;
  kind: 'case' | 'form';
  state: ExportState;
  current: number;
  total: number;
  /** The file's blob key once done. */
  blobKey?: string;
  filename?: string;
  error?: string;
  /** The worker process running it (or that last ran it). */
  worker?: string;
  /** How many times a worker has taken the task (more than 1: redelivered). */
  attempts: number;
  createdAt: number;
  /** Last sign of life of the worker running it (ms). */
  heartbeatAt: number;
  finishedAt?: number;
}

/** How long a finished export stays downloadable (HQ keeps them for hours; a load test needs less). */
export const STATUS_TTL_S = 3600;
/** A running task with no heartbeat for this long has lost its worker. */
export const STALE_MS = Number(process.env.CAPACITY_EXPORT_STALE_MS ?? 30_000);
/** No task may take longer than this from request to file, queueing included (celery's hard time limit). */
export const DEADLINE_MS = Number(process.env.CAPACITY_EXPORT_DEADLINE_MS ?? 15 * 60_000);

const key = (downloadId: string) => `hq:export:${downloadId}`;

/** Running totals of finished exports and their rows (the collectors read them: collectors/local-stack.ts). */
export const EXPORT_TOTALS = { exports: 'hq:export-totals:exports', rows: 'hq:export-totals:rows' } as const;

function toHash(s: Partial<ExportStatus>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(s)) if (v !== undefined) out[k] = String(v);
  return out;
}

function fromHash(h: Record<string, string>): ExportStatus | undefined {
  if (!h.downloadId) return undefined;
  const n = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  return {
    downloadId: h.downloadId,
    domain: h.domain ?? '',
    kind: h.kind === 'form' ? 'form' : 'case',
    state: (h.state as ExportState) ?? 'pending',
    current: n(h.current) ?? 0,
    total: n(h.total) ?? 0,
    blobKey: h.blobKey,
    filename: h.filename,
    error: h.error,
    attempts: n(h.attempts) ?? 0,
    createdAt: n(h.createdAt) ?? 0,
    heartbeatAt: n(h.heartbeatAt) ?? 0,
    finishedAt: n(h.finishedAt),
    worker: h.worker || undefined,
  };
}

export class ExportStatusStore {
  constructor(private redis: Redis) {}

  async create(s: Pick<ExportStatus, 'downloadId' | 'domain' | 'kind'>): Promise<void> {
    const now = Date.now();
    await this.redis
      .multi()
      .hset(key(s.downloadId), toHash({ ...s, state: 'pending', current: 0, total: 0, attempts: 0, createdAt: now, heartbeatAt: now }))
      .expire(key(s.downloadId), STATUS_TTL_S)
      .exec();
  }

  async get(downloadId: string): Promise<ExportStatus | undefined> {
    return fromHash(await this.redis.hgetall(key(downloadId)));
  }

  /** A worker takes the task: running, one more attempt. Returns the status as it was, or undefined if unknown. */
  async start(downloadId: string, worker: string): Promise<ExportStatus | undefined> {
    const before = await this.get(downloadId);
    if (!before) return undefined;
    if (before.state === 'done') return before;
    await this.redis
      .multi()
      .hset(key(downloadId), toHash({ state: 'running', heartbeatAt: Date.now(), error: '', worker }))
      .hincrby(key(downloadId), 'attempts', 1)
      .exec();
    return before;
  }

  /** Progress and a heartbeat in one write. */
  async progress(downloadId: string, current: number, total: number): Promise<void> {
    await this.redis.hset(key(downloadId), toHash({ current, total, heartbeatAt: Date.now() }));
  }

  async heartbeat(downloadId: string): Promise<void> {
    await this.redis.hset(key(downloadId), 'heartbeatAt', String(Date.now()));
  }

  async done(downloadId: string, fields: { blobKey: string; filename: string; rows: number }): Promise<void> {
    await this.redis
      .multi()
      .hset(
        key(downloadId),
        toHash({
          state: 'done',
          blobKey: fields.blobKey,
          filename: fields.filename,
          current: fields.rows,
          total: fields.rows,
          finishedAt: Date.now(),
        }),
      )
      .expire(key(downloadId), STATUS_TTL_S)
      .incr(EXPORT_TOTALS.exports)
      .incrby(EXPORT_TOTALS.rows, fields.rows)
      .exec();
  }

  async fail(downloadId: string, error: string): Promise<void> {
    await this.redis.hset(key(downloadId), toHash({ state: 'failed', error, finishedAt: Date.now() }));
  }

  /**
   * The status as a poll should see it: a task whose worker stopped beating, or that is past its deadline, is
   * failed here and now (written back, so every later poll and a redelivered copy agree).
   */
  async poll(downloadId: string, now = Date.now()): Promise<ExportStatus | undefined> {
    const s = await this.get(downloadId);
    if (!s) return undefined;
    const verdict = overdue(s, now);
    if (!verdict) return s;
    await this.fail(downloadId, verdict);
    return { ...s, state: 'failed', error: verdict, finishedAt: now };
  }
}

/** Why a pending or running status can no longer be believed, or undefined while it can. */
export function overdue(s: ExportStatus, now: number, staleMs = STALE_MS, deadlineMs = DEADLINE_MS): string | undefined {
  if (s.state === 'done' || s.state === 'failed') return undefined;
  if (now - s.createdAt > deadlineMs) return `export not finished within ${Math.round(deadlineMs / 1000)} s`;
  if (s.state === 'running' && now - s.heartbeatAt > staleMs)
    return `export worker lost (no heartbeat for ${Math.round((now - s.heartbeatAt) / 1000)} s)`;
  return undefined;
}
