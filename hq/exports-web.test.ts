import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportRequest, pollAnswer } from './exports-web.ts';
import { parseApiKeyAuth } from './web-users.ts';

describe("exports at HQ's URLs", () => {
  it('reads the export asked for from JSON or a form post, and refuses anything else in one line', () => {
    assert.deepEqual(exportRequest('{"model_type":"case","case_type":"household"}', 'application/json'), {
      kind: 'case',
      caseType: 'household',
      xmlns: undefined,
    });
    assert.deepEqual(exportRequest('model_type=form&xmlns=http%3A%2F%2Fx', 'application/x-www-form-urlencoded'), {
      kind: 'form',
      caseType: undefined,
      xmlns: 'http://x',
    });
    assert.throws(() => exportRequest('{"model_type":"sms"}', 'application/json'), /model_type must be "case" or "form"/);
    assert.throws(() => exportRequest('{', 'application/json'), /not JSON/);
  });

  it('answers a poll with progress, and the download link once ready', () => {
    const s = { downloadId: 'abc', domain: 'd', kind: 'case' as const, current: 50, total: 200, attempts: 1, createdAt: 0, heartbeatAt: 0 };
    const running = pollAnswer('d', { ...s, state: 'running' });
    assert.deepEqual(running.progress, { current: 50, total: 200, percent: 25, error: false, error_message: '' });
    assert.equal(running.download_url, null);
    const done = pollAnswer('d', { ...s, state: 'done', current: 200 });
    assert.equal(done.is_ready, true);
    assert.equal(done.download_url, '/a/d/retrieve_download/abc/?get_file');
    const failed = pollAnswer('d', { ...s, state: 'failed', error: 'export worker lost' });
    assert.deepEqual([failed.is_ready, (failed.progress as { error_message: string }).error_message], [false, 'export worker lost']);
  });

  it('takes `ApiKey user:key` as HQ documents it', () => {
    assert.deepEqual(parseApiKeyAuth('ApiKey admin@x.org:0123abc'), { username: 'admin@x.org', key: '0123abc' });
    assert.equal(parseApiKeyAuth('Basic YTpi'), undefined);
    assert.equal(parseApiKeyAuth('ApiKey nokey'), undefined);
  });
});
