// The HQ-compatible service's processes: web workers behind nginx and pillows, as separate node processes
// started after the infrastructure they depend on (phase 2).
import fs from 'node:fs';
import path from 'node:path';
import type { Component, StackContext } from '../component.ts';
import { webWorkerPorts } from '../config.ts';
import { createPool, DEMO_DOMAIN, demoWorkers, ensureMobileWorkers, HQ_ENTRY } from '../../hq/index.ts';
import { startDetached } from '../process.ts';
import { repoRoot } from '../../core/paths.ts';
import { elasticsearchUrl } from './elasticsearch.ts';
import { kafkaBroker } from './kafka.ts';
import { postgresUrl } from './postgres.ts';

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
        args: ['--import', tsxLoader, script, '--port', String(port(ctx)), ...commonArgs(ctx), '--delay-ms', delayMs()],
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
      } finally {
        await pool.end();
      }
    },
    endpoint: (ctx) => `http://${ctx.config.host}:${port(ctx)}`,
    logFile: (ctx) => path.join(ctx.paths.logs, `${name}.log`),
  };
}

export function pillow(kind: 'xform' | 'case' | 'ucr'): Component {
  const name = `pillow-${kind}`;
  const checkpointId = `${kind}-pillow`;
  return {
    name,
    version: 'hq-compatible',
    phase: 2,
    ports: () => [],
    isInstalled: () => fs.existsSync(tsxLoader),
    async install() {},
    async start(ctx) {
      startDetached({
        name,
        command: process.execPath,
        args: ['--import', tsxLoader, HQ_ENTRY.pillow, '--pillow', kind, ...commonArgs(ctx),
          '--partitions', String(ctx.config.kafkaPartitions)],
        runDir: ctx.paths.run,
        logFile: this.logFile(ctx),
        marker: `--pillow ${kind}`,
        cwd: repoRoot,
      });
    },
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
    logFile: (ctx) => path.join(ctx.paths.logs, `${name}.log`),
  };
}
