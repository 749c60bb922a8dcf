// The HQ-compatible service's processes: web workers behind nginx and pillows, as separate node processes
// started after the infrastructure they depend on (phase 2).
import fs from 'node:fs';
import path from 'node:path';
import type { Component, StackContext } from '../component.ts';
import { webWorkerPorts } from '../config.ts';
import {
  celeryWorkerKey,
  createPool,
  DEMO_DOMAIN,
  DEMO_WEB_USER,
  demoWorkers,
  ensureMobileWorkers,
  ensureWebUser,
  HQ_ENTRY,
  SERVICE_NODE_FLAGS,
} from '../../hq/index.ts';
import { ownedPid, startDetached } from '../process.ts';
import { repoRoot } from '../../core/paths.ts';
import { elasticsearchUrl } from './elasticsearch.ts';
import { kafkaBroker } from './kafka.ts';
import { postgresUrl } from './postgres.ts';
import { rabbitmqUrl } from './rabbitmq.ts';
import { probeRedis, redisUrl } from './redis.ts';

export const HQ_TOPICS = ['form-sql', 'case-sql'];
const tsxLoader = path.join(repoRoot, 'node_modules', 'tsx', 'dist', 'loader.mjs');

export function blobRoot(ctx: Pick<StackContext, 'paths'>): string {
  return path.join(ctx.paths.data, 'blobs');
}

function commonArgs(ctx: StackContext): string[] {
  return ['--pg-url', postgresUrl(ctx), '--kafka', kafkaBroker(ctx), '--es', elasticsearchUrl(ctx), '--blobs', blobRoot(ctx)];
}

/** Extra latency per request for web workers (CAPACITY_HQ_DELAY_MS): a deliberately slower build for gate tests. */
const delayMs = () => process.env.CAPACITY_HQ_DELAY_MS ?? '0';

export function webWorker(index: number): Component {
  const name = `web-${index + 1}`;
  const port = (ctx: StackContext) => webWorkerPorts(ctx.config)[index]!;
  return {
    name,
    version: 'hq-compatible',
    phase: 2,
    ports: (ctx) => [port(ctx)],
    isInstalled: () => fs.existsSync(tsxLoader),
    async install() {},
    async start(ctx) {
      fs.mkdirSync(blobRoot(ctx), { recursive: true });
      const script = HQ_ENTRY.web;
      startDetached({
        name,
        command: process.execPath,
        args: [
          ...SERVICE_NODE_FLAGS,
          '--import',
          tsxLoader,
          script,
          '--port',
          String(port(ctx)),
          ...commonArgs(ctx),
          '--delay-ms',
          delayMs(),
          '--redis',
          redisUrl(ctx),
          '--amqp',
          rabbitmqUrl(ctx),
        ],
        runDir: ctx.paths.run,
        logFile: this.logFile(ctx),
        marker: `--port ${port(ctx)}`,
        cwd: repoRoot,
      });
    },
    async healthy(ctx) {
      try {
        const res = await fetch(`http://${ctx.config.host}:${port(ctx)}/healthz`, { signal: AbortSignal.timeout(2000) });
        return res.ok;
      } catch {
        return false;
      }
    },
    async afterStart(ctx) {
      if (index !== 0) return;
      const pool = createPool(postgresUrl(ctx), 2);
      try {
        await ensureMobileWorkers(pool, DEMO_DOMAIN, demoWorkers());
        await ensureWebUser(pool, DEMO_DOMAIN, DEMO_WEB_USER);
      } finally {
        await pool.end();
      }
    },
    endpoint: (ctx) => `http://${ctx.config.host}:${port(ctx)}`,
    logFile: (ctx) => path.join(ctx.paths.logs, `${name}.log`),
  };
}

/** A process of the service with no port of its own (pillows, celery workers): `node <entry> <args>` in phase 2. */
function serviceProcess(
  name: string,
  entry: string,
  args: (ctx: StackContext) => string[],
  marker: string,
): Pick<Component, 'name' | 'version' | 'phase' | 'ports' | 'isInstalled' | 'install' | 'start' | 'logFile'> {
  return {
    name,
    version: 'hq-compatible',
    phase: 2,
    ports: () => [],
    isInstalled: () => fs.existsSync(tsxLoader),
    async install() {},
    async start(ctx) {
      fs.mkdirSync(blobRoot(ctx), { recursive: true });
      startDetached({
        name,
        command: process.execPath,
        args: [...SERVICE_NODE_FLAGS, '--import', tsxLoader, entry, ...args(ctx)],
        runDir: ctx.paths.run,
        logFile: path.join(ctx.paths.logs, `${name}.log`),
        marker,
        cwd: repoRoot,
      });
    },
    logFile: (ctx) => path.join(ctx.paths.logs, `${name}.log`),
  };
}

export function pillow(kind: 'xform' | 'case' | 'ucr'): Component {
  const name = `pillow-${kind}`;
  const checkpointId = `${kind}-pillow`;
  return {
    ...serviceProcess(
      name,
      HQ_ENTRY.pillow,
      (ctx) => ['--pillow', kind, ...commonArgs(ctx), '--partitions', String(ctx.config.kafkaPartitions)],
      `--pillow ${kind}`,
    ),
    // Healthy once it has joined the feed: a checkpoint row for every partition it reads.
    async healthy(ctx) {
      const pool = createPool(postgresUrl(ctx), 1);
      try {
        const res = await pool.query('select count(*)::int as n from pillowtop_kafkacheckpoint where checkpoint_id = $1', [checkpointId]);
        return res.rows[0].n >= ctx.config.kafkaPartitions; // each pillow reads one topic
      } catch {
        return false;
      } finally {
        await pool.end();
      }
    },
    endpoint: () => `checkpoint ${checkpointId}`,
  };
}

/**
 * A celery worker process for exports (HQ runs celery workers per queue, each with a concurrency): the count and
 * the concurrency are the stack config's celeryWorkers and celeryConcurrency (CAPACITY_CELERY_WORKERS,
 * CAPACITY_CELERY_CONCURRENCY).
 */
export function celeryWorker(index: number): Component {
  const name = `celery-${index + 1}`;
  return {
    ...serviceProcess(
      name,
      HQ_ENTRY.exportWorker,
      (ctx) => [
        '--name',
        name,
        '--concurrency',
        String(ctx.config.celeryConcurrency),
        '--max-tasks-per-child',
        String(ctx.config.celeryMaxTasksPerChild),
        '--amqp',
        rabbitmqUrl(ctx),
        '--redis',
        redisUrl(ctx),
        '--pg-url',
        postgresUrl(ctx),
        '--blobs',
        blobRoot(ctx),
      ],
      `--name ${name} `,
    ),
    // Healthy once consuming: the worker keeps a key with a short expiry in Redis while it is, naming its pid (so a
    // key left by the process it replaces does not count).
    healthy: (ctx) =>
      probeRedis(ctx, async (client) => {
        const alive = JSON.parse((await client.get(celeryWorkerKey(name))) ?? '{}') as { pid?: number };
        return alive.pid !== undefined && alive.pid === ownedPid(ctx.paths.run, name);
      }),
    endpoint: (ctx) => `queue on ${rabbitmqUrl(ctx)}`,
  };
}
