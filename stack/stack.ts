// The local stack as a whole: install (cached), start in parallel, health-check, roll back on failure,
// stop by pid, report status. Other commands call loadStackContext() to reach the stack that is running.
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../core/errors.ts';
import type { Component, Progress, StackContext } from './component.ts';
import { configWithPorts, parsePortOverrides, type StackConfig, type StackPorts, defaultConfig } from './config.ts';
import { elasticsearch } from './components/elasticsearch.ts';
import { k6 } from './components/k6.ts';
import { kafka, kafkaBroker } from './components/kafka.ts';
import { nginx } from './components/nginx.ts';
import { postgres } from './components/postgres.ts';
import { rabbitmq } from './components/rabbitmq.ts';
import { redis } from './components/redis.ts';
import { celeryWorker, HQ_TOPICS, pillow, webWorker } from './components/hq.ts';
import { ensureTopics } from '../hq/index.ts';
import { stackPaths } from '../core/paths.ts';
import { writeFileAtomic } from '../core/fs.ts';
import { groupRssBytes, ownedPid, stopOwned, tailFile } from './process.ts';
import { portHolder, portIsFree } from './ports.ts';
import { currentUser, ensureServiceUser, grantPassage } from './service-user.ts';

// Kafka's topics for HQ's change feed exist before any web worker publishes or pillow reads.
const kafkaWithTopics: Component = {
  ...kafka,
  afterStart: (ctx) => ensureTopics([kafkaBroker(ctx)], HQ_TOPICS, ctx.config.kafkaPartitions),
};

/**
 * The local stack's components, in start order (stopped in reverse). A function, not a constant: the counts come from the environment
 * (CAPACITY_CELERY_WORKERS...), and a bad value must reach the CLI as one line, not fail the import.
 */
export function components(): Component[] {
  const config = defaultConfig();
  return [
    postgres,
    redis,
    rabbitmq,
    kafkaWithTopics,
    elasticsearch,
    nginx,
    k6,
    ...Array.from({ length: config.webWorkers }, (_, i) => webWorker(i)),
    pillow('xform'),
    pillow('case'),
    pillow('ucr'),
    ...Array.from({ length: config.celeryWorkers }, (_, i) => celeryWorker(i)),
  ];
}

const readyTimeoutMs: Record<string, number> = { elasticsearch: 180_000, kafka: 90_000, rabbitmq: 90_000 };

export const quietProgress: Progress = { step: () => undefined };
export const stderrProgress: Progress = {
  step: (m) => process.stderr.write(`[stack] ${m}\n`),
};

interface SavedState {
  ports: StackPorts;
  startedAt: string;
}

const stateFile = (ctx: Pick<StackContext, 'paths'>) => path.join(ctx.paths.run, 'stack.json');

function readState(file: string): SavedState | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as SavedState;
  } catch {
    return undefined;
  }
}

/**
 * The context for the stack in this checkout. When a stack is already running, its saved ports win; asking for
 * different ports then is an error rather than a second stack on top of the first.
 */
export function loadStackContext(opts: { ports?: Partial<StackPorts>; progress?: Progress; createUser?: boolean } = {}): StackContext {
  const paths = stackPaths();
  opts = { ...opts, ports: opts.ports ?? parsePortOverrides(process.env.CAPACITY_PORTS) };
  const saved = readState(path.join(paths.run, 'stack.json'));
  const running = saved && components().some((c) => c.start && ownedPid(paths.run, c.name) !== undefined);
  let config: StackConfig;
  if (running && saved) {
    config = configWithPorts(saved.ports);
    for (const [name, port] of Object.entries(opts.ports ?? {})) {
      if (saved.ports[name as keyof StackPorts] !== port) {
        throw new UserError(
          `the stack is already running with ${name} on port ${saved.ports[name as keyof StackPorts]}; run \`capacity stack down\` before changing ports`,
        );
      }
    }
  } else {
    config = configWithPorts(opts.ports ?? {});
  }
  return { config, paths, user: ensureServiceUser(opts.createUser ?? false), progress: opts.progress ?? quietProgress };
}

/**
 * The tool's own folders (k6's build, the corpus cache) for a run against a deployment elsewhere: nothing of a local
 * stack is read (no saved state, pid files or /proc), whether one runs on this machine or not.
 */
export function toolContext(opts: { progress?: Progress } = {}): StackContext {
  // nothing runs as the stack's service user here: this process's own user
  return { config: configWithPorts({}), paths: stackPaths(), user: currentUser(), progress: opts.progress ?? quietProgress };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function timed<T>(progress: Progress, label: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  const out = await fn();
  progress.step(`${label} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return out;
}

/** Installs every component that is missing; downloads and builds run in parallel. */
export async function installStack(ctx: StackContext): Promise<void> {
  fs.mkdirSync(ctx.paths.home, { recursive: true });
  grantPassage(ctx.paths.home, ctx.user, (m) => ctx.progress.step(m));
  const missing = components().filter((c) => !c.isInstalled(ctx));
  if (missing.length === 0) return;
  ctx.progress.step(`installing: ${missing.map((c) => c.name).join(', ')}`);
  const results = await Promise.allSettled(missing.map((c) => timed(ctx.progress, `${c.name}: installed`, () => c.install(ctx))));
  const failed = results
    .map((r, i) => (r.status === 'rejected' ? `${missing[i]!.name}: ${(r.reason as Error).message}` : undefined))
    .filter(Boolean);
  if (failed.length) throw new UserError(`install failed\n${failed.join('\n')}`, 1);
}

async function waitHealthy(ctx: StackContext, c: Component): Promise<void> {
  const deadline = Date.now() + (readyTimeoutMs[c.name] ?? 30_000);
  while (Date.now() < deadline) {
    if (ownedPid(ctx.paths.run, c.name) === undefined) throw new Error('exited during start-up');
    if (await c.healthy!(ctx)) return;
    await sleep(300);
  }
  throw new Error(`not healthy after ${(readyTimeoutMs[c.name] ?? 30_000) / 1000} s`);
}

export interface UpResult {
  started: string[];
  alreadyRunning: string[];
}

/** Installs what is missing, then starts every server that is not already running and waits until all are healthy. */
export async function stackUp(ctx: StackContext): Promise<UpResult> {
  await installStack(ctx);
  const servers = components().filter((c) => c.start);
  const alreadyRunning: Component[] = [];
  const toStart: Component[] = [];
  for (const c of servers) {
    if (ownedPid(ctx.paths.run, c.name) !== undefined) alreadyRunning.push(c);
    else toStart.push(c);
  }
  for (const c of toStart) {
    for (const port of c.ports(ctx)) {
      if (!(await portIsFree(port, ctx.config.host))) {
        const who = portHolder(port);
        throw new UserError(
          `port ${port} for ${c.name} is already in use${who ? ` by ${who}` : ''}; free it or choose another with --ports ${portName(ctx, port)}=<port>`,
        );
      }
    }
  }
  writeFileAtomic(stateFile(ctx), JSON.stringify({ ports: ctx.config.ports, startedAt: new Date().toISOString() }, null, 2));
  const started: Component[] = [];
  try {
    for (const phase of [1, 2]) {
      const inPhase = (c: Component) => (c.phase ?? 1) === phase;
      const starting = toStart.filter(inPhase);
      for (const c of starting) {
        ctx.progress.step(`starting ${c.name}`);
        await c.start!(ctx);
        started.push(c);
      }
      const results = await Promise.allSettled(
        starting.map((c) => timed(ctx.progress, `${c.name}: healthy at ${c.endpoint(ctx)}`, () => waitHealthy(ctx, c))),
      );
      const failedIdx = results.findIndex((r) => r.status === 'rejected');
      if (failedIdx >= 0) {
        const c = starting[failedIdx]!;
        const reason = (results[failedIdx] as PromiseRejectedResult).reason as Error;
        throw new ComponentStartError(c, reason.message, tailFile(c.logFile(ctx), 15));
      }
      for (const c of [...alreadyRunning, ...starting].filter(inPhase)) {
        if (c.afterStart) await c.afterStart(ctx);
      }
    }
  } catch (err) {
    // Nothing is left half-running: stop what this call started, newest first.
    for (const c of [...started].reverse()) await stopOwned(ctx.paths.run, c.name, 10_000, c.stopSignal);
    if (err instanceof ComponentStartError) {
      throw new UserError(
        `${err.component.name} failed to start: ${err.message}\n--- last lines of ${err.component.logFile(ctx)}\n${err.logTail.join('\n')}`,
        1,
      );
    }
    throw err;
  }
  return { started: toStart.map((c) => c.name), alreadyRunning: alreadyRunning.map((c) => c.name) };
}

class ComponentStartError extends Error {
  constructor(
    readonly component: Component,
    message: string,
    readonly logTail: string[],
  ) {
    super(message);
  }
}

function portName(ctx: StackContext, port: number): string {
  for (const [name, p] of Object.entries(ctx.config.ports)) if (p === port) return name;
  return 'web';
}

/** Stops the servers this stack started (by pid, newest first). Returns the names that were running. */
export async function stackDown(ctx: StackContext): Promise<string[]> {
  const stopped: string[] = [];
  for (const c of components().reverse()) {
    if (!c.start) continue;
    if (await stopOwned(ctx.paths.run, c.name, 20_000, c.stopSignal)) {
      ctx.progress.step(`stopped ${c.name}`);
      stopped.push(c.name);
    }
  }
  return stopped;
}

export interface ComponentStatus {
  name: string;
  version: string;
  installed: boolean;
  state: 'running' | 'unhealthy' | 'stopped' | 'installed' | 'missing';
  pid?: number;
  endpoint: string;
  rssBytes?: number;
}

export async function stackStatus(ctx: StackContext): Promise<ComponentStatus[]> {
  return Promise.all(
    components().map(async (c): Promise<ComponentStatus> => {
      const installed = c.isInstalled(ctx);
      const base = { name: c.name, version: c.version, installed, endpoint: c.endpoint(ctx) };
      if (!c.start) return { ...base, state: installed ? 'installed' : 'missing' };
      const pid = ownedPid(ctx.paths.run, c.name);
      if (pid === undefined) return { ...base, state: installed ? 'stopped' : 'missing' };
      const ok = await c.healthy!(ctx);
      return { ...base, state: ok ? 'running' : 'unhealthy', pid, rssBytes: groupRssBytes(pid) };
    }),
  );
}

/** Stops one component of the stack (for fault tests and `capacity stack restart`-like use). */
export async function stopComponent(ctx: StackContext, name: string): Promise<boolean> {
  const c = componentByName(name);
  return stopOwned(ctx.paths.run, c.name, 20_000, c.stopSignal);
}

export function componentByName(name: string): Component {
  const c = components().find((x) => x.name === name);
  if (!c)
    throw new UserError(
      `unknown component "${name}": one of ${components()
        .map((x) => x.name)
        .join(', ')}`,
    );
  return c;
}
