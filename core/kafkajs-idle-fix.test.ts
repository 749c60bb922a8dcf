import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { applyKafkajsIdleFix } from './kafkajs-idle-fix.ts';

const require = createRequire(import.meta.url);

describe('kafkajs idle timer fix', () => {
  it('applies to kafkajs 2.2.4 and leaves an idle queue without a timer', () => {
    assert.equal(applyKafkajsIdleFix(), true);
    assert.equal(applyKafkajsIdleFix(), true, 'idempotent');
    const RequestQueue = require('kafkajs/src/network/requestQueue/index.js');
    const q = Object.create(RequestQueue.prototype);
    Object.assign(q, { throttledUntil: -1, throttleCheckTimeoutId: null, pending: [], checkPendingRequests() {} });
    q.scheduleCheckPendingRequests();
    assert.equal(q.throttleCheckTimeoutId, null, 'nothing pending, not throttled: nothing scheduled');
    // pending work, or a throttle in force, is still scheduled as before
    q.pending.push({});
    q.scheduleCheckPendingRequests();
    assert.ok(q.throttleCheckTimeoutId);
    clearTimeout(q.throttleCheckTimeoutId);
    const t = Object.assign(Object.create(RequestQueue.prototype), {
      throttledUntil: Date.now() + 50,
      throttleCheckTimeoutId: null,
      pending: [],
      checkPendingRequests() {},
    });
    t.scheduleCheckPendingRequests();
    assert.ok(t.throttleCheckTimeoutId);
    clearTimeout(t.throttleCheckTimeoutId);
  });
});
