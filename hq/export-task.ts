// What a celery worker does with one export task: make sure it runs once (a redelivered copy waits for a first copy
// that still beats), run it (hq/export-file.ts) and keep its status in Redis; a failure is thrown to have the task
// requeued, until MAX_ATTEMPTS.
import type pg from 'pg';
import type { BlobStore } from './blobs.ts';
import { writeExport } from './export-file.ts';
import type { Delivery } from './export-queue.ts';
import { DEADLINE_MS, ExportStatusStore, STALE_MS } from './export-status.ts';

/** A task that has failed this many times is marked failed rather than requeued again. */
export const MAX_ATTEMPTS = 3;
const HEARTBEAT_MS = 5000;

export interface ExportWorkerDeps {
  pool: pg.Pool;
  blobs: BlobStore;
  statuses: ExportStatusStore;
  /** This worker's name (celery-1...) */
  name: string;
  log: (m: string) => void;
}

/** What a worker does with one delivery; throws to have the task requeued. */
export async function handleExportTask(deps: ExportWorkerDeps, { task, redelivered }: Delivery): Promise<void> {
  const { statuses, log } = deps;
  // A redelivered copy (the broker lost another worker's channel) while the first copy still runs and beats: wait for
  // it rather than export twice; take over only if it stops beating. (A copy of a task this worker runs in another
  // slot is held back by the worker's parent: see export-worker.ts.)
  let seen = await statuses.get(task.downloadId);
  while (redelivered && seen?.state === 'running' && seen.worker !== deps.name && Date.now() - seen.heartbeatAt < STALE_MS) {
    await new Promise((r) => setTimeout(r, 1000));
    seen = await statuses.get(task.downloadId);
  }
  if (seen?.state === 'done') return log(`${task.downloadId}: already done${redelivered ? ' (redelivered copy)' : ''}`);
  const before = await statuses.start(task.downloadId, deps.name);
  if (!before) return log(`${task.downloadId}: no status (expired); dropped`);
  if (before.state === 'done') return log(`${task.downloadId}: already done${redelivered ? ' (redelivered copy)' : ''}`);
  if (Date.now() - before.createdAt > DEADLINE_MS) {
    await statuses.fail(task.downloadId, `export not started within ${DEADLINE_MS / 1000} s`);
    return;
  }
  if (redelivered) log(`${task.downloadId}: redelivered (attempt ${before.attempts + 1})`);
  const beat = setInterval(() => void statuses.heartbeat(task.downloadId).catch(() => undefined), HEARTBEAT_MS);
  try {
    const t0 = Date.now();
    const result = await writeExport(deps.pool, deps.blobs, task, (current, total) => statuses.progress(task.downloadId, current, total));
    await statuses.done(task.downloadId, result);
    log(`${task.downloadId}: ${task.kind} export of ${result.rows} rows in ${Date.now() - t0} ms`);
  } catch (err) {
    const message = (err as Error).message;
    if (before.attempts + 1 >= MAX_ATTEMPTS) {
      await statuses.fail(task.downloadId, `export failed after ${MAX_ATTEMPTS} attempts: ${message}`).catch(() => undefined);
      log(`${task.downloadId}: failed for good: ${message}`);
      return;
    }
    throw err;
  } finally {
    clearInterval(beat);
  }
}
