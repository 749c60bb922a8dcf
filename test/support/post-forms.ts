// A bounded Node-side load for integration tests and benchmarks: posts generated submissions through nginx
// as phones do (each worker's forms in order, retrying a form until it is acknowledged or out of attempts)
// and records every acknowledgement (the X-CommCareHQ-FormID the client was given).
import { createPopulation, type GeneratedSubmission, type K6Population } from '../../generators/k6.ts';
import { submissionRequest } from '../../generators/requests.ts';
import { loadApp } from '../../generators/node/apps.ts';
import type { MobileWorkerAccount } from '../../hq/index.ts';

export interface Ack {
  formId: string;
  instanceId: string;
  worker: number;
  kind: GeneratedSubmission['kind'];
  latencyMs: number;
  ackedAt: number;
}

export interface PostOptions {
  baseUrl: string;
  domain: string;
  population: K6Population;
  /** Forms to send in all (bounded). */
  count: number;
  concurrency: number;
  /** Stop sending new forms after this long (bounded in time too). */
  maxDurationMs: number;
  /** Attempts per form before it is given up (a phone keeps it and retries later). */
  attempts?: number;
  /** Forms per second across all lanes (open model); unlimited when absent. */
  ratePerSec?: number;
}

export interface PostResult {
  acks: Ack[];
  givenUp: { instanceId: string; lastStatus: number | string }[];
  retries: number;
  submissions: GeneratedSubmission[];
  elapsedMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function populationFor(
  domain: string,
  users: number,
  seed: number,
  app = 'household',
  extra: Record<string, unknown> = {},
): K6Population {
  return createPopulation({ app: loadApp(app).app, domain, users, seed, ...extra });
}

export function accountsOf(pop: K6Population): MobileWorkerAccount[] {
  return pop.users().map((u) => ({ username: u.login, userId: u.userId, password: u.password, deviceId: u.deviceId }));
}

export async function postGenerated(opts: PostOptions): Promise<PostResult> {
  const started = Date.now();
  const deadline = started + opts.maxDurationMs;
  const users = opts.population.size;
  const acks: Ack[] = [];
  const givenUp: PostResult['givenUp'] = [];
  const submissions: GeneratedSubmission[] = [];
  let sent = 0;
  let retries = 0;
  let nextSlot = started;
  const target = { baseUrl: opts.baseUrl, domain: opts.domain };

  async function lane(k: number): Promise<void> {
    // Lane k owns workers k, k+concurrency, ...: a worker's forms are never in flight twice at once.
    const mine = Array.from({ length: users }, (_, i) => i).filter((i) => i % opts.concurrency === k);
    if (mine.length === 0) return;
    for (let turn = 0; ; turn++) {
      if (sent >= opts.count || Date.now() > deadline) return;
      sent++;
      if (opts.ratePerSec) {
        const slot = nextSlot;
        nextSlot += 1000 / opts.ratePerSec;
        if (slot > Date.now()) await sleep(slot - Date.now());
      }
      const index = mine[turn % mine.length]!;
      const worker = opts.population.worker(index);
      const sub = worker.nextSubmission();
      submissions.push(sub);
      const req = submissionRequest(sub, worker.user, target, { multipart: true });
      let last: number | string = 0;
      let acked = false;
      for (let attempt = 1; attempt <= (opts.attempts ?? 60) && !acked; attempt++) {
        if (attempt > 1) {
          retries++;
          await sleep(Math.min(250 * attempt, 2000));
        }
        const t0 = performance.now();
        try {
          const res = await fetch(req.url, {
            method: 'POST',
            headers: req.headers,
            body: req.body as string | Uint8Array,
            signal: AbortSignal.timeout(30_000),
          });
          const text = await res.text();
          last = res.status;
          if (res.status === 201 && text.includes('submit_success')) {
            acks.push({
              formId: res.headers.get('x-commcarehq-formid') ?? '',
              instanceId: sub.instanceID,
              worker: index,
              kind: sub.kind,
              latencyMs: performance.now() - t0,
              ackedAt: Date.now(),
            });
            acked = true;
          }
        } catch (err) {
          last = (err as Error).message;
        }
      }
      if (!acked) givenUp.push({ instanceId: sub.instanceID, lastStatus: last });
    }
  }

  await Promise.all(Array.from({ length: opts.concurrency }, (_, k) => lane(k)));
  return { acks, givenUp, retries, submissions, elapsedMs: Date.now() - started };
}

export { percentile } from '../../core/stats.ts';
