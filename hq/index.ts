// The HQ-compatible service's one public face for the rest of capacity: its database and users, its Kafka
// topics and pillows, its blob store, exports and the audit. The processes themselves start from web.ts, pillow.ts
// and export-worker.ts.
import { fileURLToPath } from 'node:url';
export { audit, totalPillowLag, type AuditInput, type AuditReport, type RefusedSubmissions } from './audit.ts';
export { BlobStore } from './blobs.ts';
export { createPool, waitForDatabase } from './db.ts';
export { ensureTopics } from './outbox.ts';
export { pillows } from './pillows.ts';
export { DEMO_DOMAIN, demoWorkers, ensureMobileWorkers, type MobileWorkerAccount } from './users.ts';
export { DEMO_WEB_USER, createApiKey, ensureWebUser, newApiKeyFor, type WebUserAccount } from './web-users.ts';
export { EXPORT_QUEUE, TaskPublisher, type ExportTask } from './export-queue.ts';
export { EXPORT_TOTALS, ExportStatusStore, type ExportStatus } from './export-status.ts';
export { workerKey as celeryWorkerKey } from './export-worker.ts';

/**
 * V8 flags every process of the service runs with. The young generation is fixed at V8's own maximum here (16 MB a
 * semi-space), the size it grows to under load anyway: left to itself V8 shrinks it whenever the load pauses and grows
 * it back, which moved a process's resident memory by about 35 MB with no change in what it holds.
 */
export const SERVICE_NODE_FLAGS = ['--min-semi-space-size=16', '--max-semi-space-size=16'] as const;

/** The service's entry points, for whoever starts its processes. */
export const HQ_ENTRY = {
  web: fileURLToPath(new URL('./web.ts', import.meta.url)),
  pillow: fileURLToPath(new URL('./pillow.ts', import.meta.url)),
  exportWorker: fileURLToPath(new URL('./export-worker.ts', import.meta.url)),
} as const;
