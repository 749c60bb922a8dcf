// The browser's side of an export, at HQ's URLs: prepare (a task status in Redis and a task on RabbitMQ, answered
// with the download id), poll (the status as JSON, every couple of seconds from the export page) and the download
// (the xlsx from object storage, through the web worker).
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type http from 'node:http';
import type { BlobStore } from './blobs.ts';
import type { TaskPublisher, ExportTask } from './export-queue.ts';
import type { ExportStatusStore, ExportStatus } from './export-status.ts';
import { HttpError, jsonError } from './http-error.ts';
import type { WebAuthenticator } from './web-users.ts';

export interface ExportWebDeps {
  statuses: ExportStatusStore;
  publisher: TaskPublisher;
  webAuth: WebAuthenticator;
  blobs: BlobStore;
}

export const EXPORT_ROUTES = {
  prepare: /^\/a\/([\w.-]+)\/data\/export\/custom\/prepare_custom_export\/$/,
  poll: /^\/a\/([\w.-]+)\/data\/export\/custom\/poll_custom_export_download\/$/,
  download: /^\/a\/([\w.-]+)\/retrieve_download\/([\w-]+)\/$/,
};

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

export async function requireWebUser(auth: WebAuthenticator, domain: string, req: http.IncomingMessage) {
  const user = await auth.authenticate(domain, req.headers.authorization);
  if (!user) throw new HttpError(401, 'authentication required', JSON.stringify({ error: 'authentication required' }), 'application/json');
  return user;
}

/** What the export page asks for: the model (case or form) and an optional case type or form xmlns. */
export function exportRequest(body: string, contentType: string | undefined): Pick<ExportTask, 'kind' | 'caseType' | 'xmlns'> {
  let fields: Record<string, unknown>;
  if ((contentType ?? '').includes('json')) {
    try {
      fields = JSON.parse(body || '{}') as Record<string, unknown>;
    } catch {
      throw jsonError(400, 'body is not JSON');
    }
  } else {
    fields = Object.fromEntries(new URLSearchParams(body));
  }
  const kind = fields.model_type ?? fields.export_type ?? fields.type;
  if (kind !== 'case' && kind !== 'form') throw jsonError(400, 'model_type must be "case" or "form"');
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  return { kind, caseType: str(fields.case_type), xmlns: str(fields.xmlns) };
}

export async function handlePrepare(
  deps: ExportWebDeps,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  domain: string,
  body: string,
): Promise<void> {
  if (req.method !== 'POST') throw jsonError(405, 'POST only');
  await requireWebUser(deps.webAuth, domain, req);
  const what = exportRequest(body, req.headers['content-type']);
  const downloadId = randomUUID().replaceAll('-', '');
  const task: ExportTask = { downloadId, domain, ...what };
  await deps.statuses.create({ downloadId, domain, kind: task.kind });
  try {
    await deps.publisher.publish(task);
  } catch (err) {
    // the broker never had it: nothing will run it, so the status says so at once
    await deps.statuses.fail(downloadId, `could not queue the export: ${(err as Error).message}`).catch(() => undefined);
    throw jsonError(503, 'the export could not be queued; try again');
  }
  json(res, 200, { success: true, download_id: downloadId });
}

export function pollAnswer(domain: string, s: ExportStatus): Record<string, unknown> {
  const ready = s.state === 'done';
  const failed = s.state === 'failed';
  return {
    is_poll_successful: true,
    is_ready: ready,
    has_file: ready,
    state: s.state,
    progress: {
      current: s.current,
      total: s.total,
      percent: s.total > 0 ? Math.floor((100 * s.current) / s.total) : ready ? 100 : 0,
      error: failed,
      error_message: failed ? (s.error ?? 'export failed') : '',
    },
    download_url: ready ? `/a/${domain}/retrieve_download/${s.downloadId}/?get_file` : null,
  };
}

export async function handlePoll(
  deps: ExportWebDeps,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  domain: string,
  url: URL,
): Promise<void> {
  await requireWebUser(deps.webAuth, domain, req);
  const id = url.searchParams.get('download_id') ?? '';
  if (!/^[\w-]+$/.test(id)) throw jsonError(400, 'download_id is required');
  const s = await deps.statuses.poll(id);
  if (!s || s.domain !== domain) throw jsonError(404, `no export ${id}`);
  json(res, 200, pollAnswer(domain, s));
}

export async function handleDownload(
  deps: ExportWebDeps,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  domain: string,
  id: string,
): Promise<void> {
  await requireWebUser(deps.webAuth, domain, req);
  const s = await deps.statuses.get(id);
  if (!s || s.domain !== domain) throw jsonError(404, `no export ${id}`);
  if (s.state !== 'done' || !s.blobKey) throw jsonError(409, `export ${id} is ${s.state}`);
  const file = deps.blobs.pathOf(s.blobKey);
  const stream = createReadStream(file);
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => {
      res.writeHead(200, {
        'Content-Type': XLSX,
        'Content-Disposition': `attachment; filename="${(s.filename ?? 'export.xlsx').replace(/"/g, '')}"`,
      });
      stream.pipe(res);
    });
    stream.once('error', (err) =>
      reject((err as NodeJS.ErrnoException).code === 'ENOENT' ? jsonError(410, `export ${id} file is gone`) : err),
    );
    res.once('close', () => resolve());
  });
}
