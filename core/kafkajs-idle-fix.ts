// kafkajs 2.2.4 spins while a connection is idle: RequestQueue.scheduleCheckPendingRequests() re-arms a
// setTimeout with a negative delay (throttledUntil starts at -1) even when nothing is pending, so every open
// connection runs a 1 ms timer loop (tulios/kafkajs#1556, #1704; fixes proposed, none released). An idle admin
// connection cost 3.5 % of a core here, more than all the other collectors together. The fix below is the one
// proposed upstream: with nothing pending and no throttle in force, schedule nothing (push() sends or schedules
// by itself, and each response re-checks the queue). Applied once, and only to the code that has the bug.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const CHECK_PENDING_REQUESTS_INTERVAL = 10; // as in kafkajs

interface RequestQueueLike {
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  pending: unknown[];
  checkPendingRequests(): void;
}

let applied: boolean | undefined;

/** True when the patch is in place (or kafkajs no longer has the bug and needs none). */
export function applyKafkajsIdleFix(): boolean {
  if (applied !== undefined) return applied;
  try {
    const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as {
      prototype: RequestQueueLike & { scheduleCheckPendingRequests(): void };
    };
    const original = RequestQueue.prototype.scheduleCheckPendingRequests;
    if (!/this\.throttledUntil - Date\.now\(\)/.test(original.toString())) {
      applied = false; // a kafkajs that schedules differently: leave it alone
      return applied;
    }
    RequestQueue.prototype.scheduleCheckPendingRequests = function (this: RequestQueueLike) {
      let scheduleAt = this.throttledUntil - Date.now();
      if (this.throttleCheckTimeoutId) return;
      if (this.pending.length > 0) scheduleAt = scheduleAt > 0 ? scheduleAt : CHECK_PENDING_REQUESTS_INTERVAL;
      else if (scheduleAt <= 0) return;
      this.throttleCheckTimeoutId = setTimeout(() => {
        this.throttleCheckTimeoutId = null;
        this.checkPendingRequests();
      }, scheduleAt);
    };
    applied = true;
  } catch {
    applied = false;
  }
  return applied;
}
