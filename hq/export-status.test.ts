import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { overdue, type ExportStatus } from './export-status.ts';

const base: ExportStatus = {
  downloadId: 'd',
  domain: 'x',
  kind: 'case',
  state: 'running',
  current: 0,
  total: 0,
  attempts: 1,
  createdAt: 0,
  heartbeatAt: 0,
};

describe('export status: nothing stays pending or running for ever', () => {
  it('a running task whose worker stopped beating is lost; one that beats is not', () => {
    assert.equal(overdue({ ...base, heartbeatAt: 10_000 }, 20_000, 30_000, 600_000), undefined);
    assert.match(overdue({ ...base, heartbeatAt: 10_000 }, 45_000, 30_000, 600_000)!, /worker lost \(no heartbeat for 35 s\)/);
  });

  it('past the deadline, pending or running, it is over; done and failed stay as they are', () => {
    assert.match(overdue({ ...base, state: 'pending' }, 700_000, 30_000, 600_000)!, /not finished within 600 s/);
    assert.equal(overdue({ ...base, state: 'pending' }, 500_000, 30_000, 600_000), undefined, 'queued behind others: still believed');
    assert.equal(overdue({ ...base, state: 'done' }, 9e9, 30_000, 600_000), undefined);
    assert.equal(overdue({ ...base, state: 'failed' }, 9e9, 30_000, 600_000), undefined);
  });
});
