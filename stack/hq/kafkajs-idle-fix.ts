// kafkajs 2.2.4 keeps a 1 ms timer loop running on every broker connection while nothing is pending
// (RequestQueue.scheduleCheckPendingRequests with a negative delay: tulios/kafkajs#1556, fix proposed in #1667,
// never released). Each idle web worker and pillow then burns CPU spinning its event loop, on the same cores as
// the rest of the stack. This applies the proposed fix at load time: schedule a check only when a request is
// pending or the broker asked us to back off. Imported (for its effect) before kafkajs is used.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const CHECK_PENDING_REQUESTS_INTERVAL = 10; // as in kafkajs

interface RequestQueueLike {
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  pending: unknown[];
  checkPendingRequests(): void;
}

const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueueLike & { scheduleCheckPendingRequests(): void } };

RequestQueue.prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueueLike) {
  let scheduleAt = this.throttledUntil - Date.now();
  if (this.throttleCheckTimeoutId) return;
  if (this.pending.length > 0) scheduleAt = scheduleAt > 0 ? scheduleAt : CHECK_PENDING_REQUESTS_INTERVAL;
  else if (scheduleAt <= 0) return; // nothing waiting and not throttled: a new request is sent (or queued and scheduled) by push()
  this.throttleCheckTimeoutId = setTimeout(() => {
    this.throttleCheckTimeoutId = null;
    this.checkPendingRequests();
  }, scheduleAt);
};

export const kafkajsIdleFixApplied = true;
