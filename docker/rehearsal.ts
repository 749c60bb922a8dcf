// A rehearsal on the Docker engine: the plan of rehearsal-plan.ts started with the images of images.ts, one
// container per host (`<stack>-<host>`, labelled capacity.stack=<stack>) on its own loopback address, each
// health-checked from the host through what it publishes (as a client of real VMs would reach them). A host that
// fails is named with its log tail and the whole rehearsal is removed. Then the workers, the credentials file and
// the topology file the run uses (rehearsal-files.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { Kafka, logLevel } from 'kafkajs';
import { Redis } from 'ioredis';
import { UserError } from '../core/errors.ts';
import { writeFileAtomic } from '../core/fs.ts';
import { stackPaths } from '../core/paths.ts';
import { applyKafkajsIdleFix } from '../core/kafkajs-idle-fix.ts';
import { celeryWorkerKey, createPool } from '../hq/index.ts';
import type { StackPorts } from '../stack/config.ts';
import { loadTopology } from '../topology/load.ts';
import type { Topology } from '../topology/model.ts';
import {
  COMPONENT_LABEL,
  containerLogTail,
  docker,
  ensureNetwork,
  listStack,
  removeStack,
  requireEngine,
  stackMemory,
  startContainer,
  type ContainerSpec,
} from './engine.ts';
import { buildImages, type ImageName } from './images.ts';
import { provisionRehearsal, REHEARSAL_PG, rehearsalFiles, rehearsalPostgresUrl } from './rehearsal-files.ts';
import { formatPlan, parseScale, planRehearsal, REHEARSAL_STACK, type ContainerPlan, type RehearsalPlan } from './rehearsal-plan.ts';
import {
  BLOBS_IN_CONTAINER,
  KAFKA_PARTITIONS,
  PILLOWS,
  proxyConf,
  serviceProcesses,
  serviceUrls,
  supervisorCommand,
} from './rehearsal-processes.ts';

applyKafkajsIdleFix();

export const REHEARSAL_LABELS = {
  host: 'capacity.rehearsal.host',
  address: 'capacity.rehearsal.address',
  topology: 'capacity.rehearsal.topology',
  scale: 'capacity.rehearsal.scale',
  cpus: 'capacity.rehearsal.cpus',
} as const;

/** Mobile workers made in the rehearsal's database (the credentials file's lines). */
export const DEFAULT_REHEARSAL_WORKERS = 200;

export interface RehearsalOptions {
  topologyFile: string;
  scale: string;
  ports: StackPorts;
  log: (m: string) => void;
  /** Container name prefix and label (default `rehearsal`). */
  stack?: string;
  workers?: number;
  /** Where the topology and credentials files go (default .capacity/rehearsal-*.{yaml,csv}). */
  files?: { topology: string; credentials: string };
  startupTimeoutMs?: number;
  client?: Docker;
}

export interface RehearsalUp {
  plan: RehearsalPlan;
  topology: Topology;
  files: { topology: string; credentials: string };
  workers: number;
  /** Seconds: images (built or found), containers to healthy, the whole stack up. */
  seconds: { images: number; containers: number; total: number };
  imagesBuilt: ImageName[];
  /** Memory in use per container once healthy (bytes, the engine's stats). */
  memoryAtRest: Record<string, number>;
}

/** The rehearsal's own folder: the blob store the service's containers share (object storage) and nginx's file. */
export function rehearsalWorkDir(stack: string, home = stackPaths().home): string {
  return path.join(home, 'rehearsal', stack);
}

const secs = (t0: number) => (Date.now() - t0) / 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The plan for a topology file and a scale, refused in one line when the machine cannot give a container its CPUs. */
export function rehearsalPlan(topologyFile: string, scale: string, ports: StackPorts, stack = REHEARSAL_STACK) {
  const s = parseScale(scale);
  const topology = loadTopology(topologyFile);
  const plan = planRehearsal(topology, s, ports, stack);
  const cpus = os.cpus().length;
  const big = plan.containers.find((c) => c.cpus > cpus);
  if (big)
    throw new UserError(
      `--scale ${scale}: ${big.host} would get ${big.cpus} cores and this machine has ${cpus}; use a smaller scale (1/24 plays the seed on 2 cores)`,
    );
  return { topology, plan };
}

function spec(
  c: ContainerPlan,
  plan: RehearsalPlan,
  ports: StackPorts,
  ctx: { image: string; network: string; topologyFile: string; workDir: string },
): ContainerSpec {
  const base: ContainerSpec = {
    image: ctx.image,
    name: c.container,
    stack: plan.stack,
    component: c.host,
    labels: {
      [REHEARSAL_LABELS.host]: c.host,
      [REHEARSAL_LABELS.address]: c.address,
      [REHEARSAL_LABELS.topology]: path.resolve(ctx.topologyFile),
      [REHEARSAL_LABELS.scale]: plan.scale.text,
      [REHEARSAL_LABELS.cpus]: String(c.cpus),
    },
    ports: Object.fromEntries(c.ports.map((p) => [p.containerPort, p.hostPort])),
    hostIp: c.address,
    network: ctx.network,
    alias: c.container,
    // the CPU limit is set once every host is healthy (applyCpuLimits): start-up is not what a rehearsal measures
    memoryBytes: c.memMb * 1024 * 1024,
  };
  switch (c.image) {
    case 'postgres':
      return {
        ...base,
        env: { POSTGRES_USER: REHEARSAL_PG.user, POSTGRES_PASSWORD: REHEARSAL_PG.password, POSTGRES_DB: REHEARSAL_PG.database },
      };
    case 'kafka': {
      const external = c.ports.find((p) => p.service === 'kafka')!;
      return {
        ...base,
        env: {
          KAFKA_INTERNAL: serviceUrls(plan, REHEARSAL_PG).kafka,
          KAFKA_EXTERNAL: `${c.address}:${external.hostPort}`,
          KAFKA_PARTITIONS: String(KAFKA_PARTITIONS),
        },
      };
    }
    case 'nginx':
      return { ...base, binds: { [path.join(ctx.workDir, 'nginx.conf')]: '/etc/capacity/nginx.conf:ro' } };
    case 'hq':
      return {
        ...base,
        cmd: supervisorCommand(serviceProcesses(c, plan, ports, REHEARSAL_PG)),
        binds: { [path.join(ctx.workDir, 'blobs')]: BLOBS_IN_CONTAINER },
      };
    default:
      return base;
  }
}

async function httpOk(url: string, headers: Record<string, string> = {}): Promise<boolean> {
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/** Each host's health, checked from the host through its published ports (pillows and celery through PostgreSQL and Redis). */
async function healthy(c: ContainerPlan, plan: RehearsalPlan): Promise<boolean> {
  const port = (s: string) => c.ports.find((p) => p.service === s)?.hostPort;
  const at = (s: string) => `http://${c.address}:${port(s)}`;
  for (const k of c.services) {
    let ok = false;
    if (k === 'postgresql') {
      const pool = createPool(rehearsalPostgresUrl(plan), 1);
      ok = await pool.query('select 1').then(
        () => true,
        () => false,
      );
      await pool.end().catch(() => undefined);
    } else if (k === 'redis') ok = await redisCheck(`redis://${c.address}:${port('redis')}`, async (r) => (await r.ping()) === 'PONG');
    else if (k === 'kafka') ok = await kafkaCheck(`${c.address}:${port('kafka')}`);
    else if (k === 'elasticsearch') ok = await httpOk(`${at('elasticsearch')}/_cluster/health?wait_for_status=yellow&timeout=1s`);
    else if (k === 'rabbitmq')
      ok = await httpOk(`${at('rabbitmq-management')}/api/overview`, {
        authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}`,
      });
    else if (k === 'nginx' || k === 'django') ok = await httpOk(`${at(k)}/healthz`);
    else if (k === 'pillowtop') ok = await pillowsJoined(plan);
    else if (k === 'celery') ok = await celeryConsuming(plan);
    if (!ok) return false;
  }
  return true;
}

async function redisCheck(url: string, fn: (r: Redis) => Promise<boolean>): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1500, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return await fn(r);
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

async function kafkaCheck(broker: string): Promise<boolean> {
  const admin = new Kafka({
    clientId: 'capacity-rehearsal',
    brokers: [broker],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1500,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    return (await admin.describeCluster()).brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Every pillow has joined the feed: a checkpoint row per partition, as the local stack checks. */
async function pillowsJoined(plan: RehearsalPlan): Promise<boolean> {
  const pool = createPool(rehearsalPostgresUrl(plan), 1);
  try {
    const res = await pool.query<{ n: number }>(
      'select count(*)::int as n from pillowtop_kafkacheckpoint where checkpoint_id = any($1) group by checkpoint_id',
      [PILLOWS.map((p) => `${p}-pillow`)],
    );
    return res.rows.length === PILLOWS.length && res.rows.every((r) => r.n >= KAFKA_PARTITIONS);
  } catch {
    return false;
  } finally {
    await pool.end().catch(() => undefined);
  }
}

async function celeryConsuming(plan: RehearsalPlan): Promise<boolean> {
  const redis = plan.containers.find((c) => c.services.includes('redis'));
  if (!redis) return true; // no Redis, no export workers (serviceProcesses starts none)
  const port = redis.ports.find((p) => p.service === 'redis')!.hostPort;
  return redisCheck(
    `redis://${redis.address}:${port}`,
    async (r) => (await r.exists(celeryWorkerKey('celery-1'), celeryWorkerKey('celery-2'))) === 2,
  );
}

/** Waits for every host of a group: a container that stops, or one not healthy in time, fails the rehearsal. */
async function waitHealthy(
  group: ContainerPlan[],
  plan: RehearsalPlan,
  client: Docker,
  deadline: number,
  log: (m: string) => void,
  t0: number,
): Promise<void> {
  const pending = new Set(group);
  while (pending.size) {
    for (const c of [...pending]) {
      const state = await client
        .getContainer(c.container)
        .inspect()
        .then((i) => i.State)
        .catch(() => undefined);
      if (!state?.Running) throw await hostFailed(c, `stopped (exit code ${state?.ExitCode ?? '?'})`, client);
      if (await healthy(c, plan)) {
        pending.delete(c);
        log(`rehearsal: ${c.host} healthy (${secs(t0).toFixed(1)} s)`);
      }
    }
    if (!pending.size) break;
    if (Date.now() > deadline)
      throw await hostFailed([...pending][0]!, `not healthy after ${Math.round(secs(t0))} s`, client, [...pending].slice(1));
    await sleep(1000);
  }
}

async function hostFailed(c: ContainerPlan, what: string, client: Docker, others: ContainerPlan[] = []): Promise<UserError> {
  const tail = await containerLogTail(c.container, 15, client);
  const also = others.length ? ` (also not healthy: ${others.map((o) => o.host).join(', ')})` : '';
  return new UserError(`rehearsal: ${c.host} (${c.container}, ${c.services.join(', ')}) ${what}${also}; its log ends:\n${tail}`, 1);
}

/**
 * `capacity stack up --containers --topology FILE --scale S`: images, containers in dependency order (the
 * infrastructure, then the service's processes, then the proxy), CPU limits, workers and files. On any failure
 * the whole rehearsal is removed and the failing host named.
 */
export async function rehearsalUp(opts: RehearsalOptions): Promise<RehearsalUp> {
  const t0 = Date.now();
  const client = opts.client ?? docker();
  const stack = opts.stack ?? REHEARSAL_STACK;
  const { topology, plan } = rehearsalPlan(opts.topologyFile, opts.scale, opts.ports, stack);
  const log = opts.log;
  log(formatPlan(plan));
  const version = await requireEngine(client);
  log(`rehearsal: Docker engine ${version}`);
  const ti = Date.now();
  const wanted = [...new Set(plan.containers.map((c) => c.image))];
  const images = await buildImages({ log, only: wanted }, client);
  const imagesS = secs(ti);
  log(`rehearsal: images ready (${imagesS.toFixed(1)} s${images.built.length ? `, built ${images.built.join(', ')}` : ', all cached'})`);

  const left = await listStack(stack, client);
  if (left.length) {
    log(`rehearsal: removing the ${left.length} containers a previous rehearsal left (${stack})`);
    await removeStack(stack, client);
  }
  const workDir = rehearsalWorkDir(stack);
  fs.rmSync(workDir, { recursive: true, force: true });
  fs.mkdirSync(path.join(workDir, 'blobs'), { recursive: true });
  writeFileAtomic(path.join(workDir, 'nginx.conf'), proxyConf(plan, opts.ports));
  await ensureNetwork(stack, stack, client);

  const tc = Date.now();
  const deadline = tc + (opts.startupTimeoutMs ?? 300_000);
  const infra = plan.containers.filter((c) => c.image !== 'hq' && c.image !== 'nginx');
  const service = plan.containers.filter((c) => c.image === 'hq');
  const proxy = plan.containers.filter((c) => c.image === 'nginx');
  try {
    for (const group of [infra, service, proxy]) {
      for (const c of group) {
        await startContainer(
          spec(c, plan, opts.ports, { image: images.tags[c.image], network: stack, topologyFile: opts.topologyFile, workDir }),
          client,
        );
        log(`rehearsal: ${c.host} started (${c.image}, ${c.services.join(' ')}) on ${c.address}`);
      }
      await waitHealthy(group, plan, client, deadline, log, tc);
    }
    await applyCpuLimits(plan, client);
    const containersS = secs(tc);
    const files = await provisionRehearsal(topology, plan, {
      workers: opts.workers ?? DEFAULT_REHEARSAL_WORKERS,
      files: opts.files ?? rehearsalFiles(),
    });
    const memoryAtRest = await stackMemory(stack, client);
    const total = secs(t0);
    const mem = Object.values(memoryAtRest).reduce((a, b) => a + b, 0);
    log(
      `rehearsal: up in ${total.toFixed(1)} s (containers ${containersS.toFixed(1)} s); ${(mem / 2 ** 20).toFixed(0)} MB in use at rest; ` +
        `${files.workers} mobile workers; target ${plan.entry!.url}`,
    );
    return {
      plan,
      topology,
      files: { topology: files.topology, credentials: files.credentials },
      workers: files.workers,
      seconds: { images: imagesS, containers: containersS, total },
      imagesBuilt: images.built,
      memoryAtRest,
    };
  } catch (err) {
    log(`rehearsal: failed; removing its containers`);
    await removeStack(stack, client).catch(() => undefined);
    fs.rmSync(workDir, { recursive: true, force: true });
    throw err;
  }
}

/** Each container's CPU limit, as planned (the engine's `docker update --cpus`). */
async function applyCpuLimits(plan: RehearsalPlan, client: Docker): Promise<void> {
  for (const c of plan.containers) await client.getContainer(c.container).update({ NanoCpus: Math.round(c.cpus * 1e9) });
}

/** `capacity stack down --containers --topology`: the rehearsal's containers and network (by label), its files. */
export async function rehearsalDown(
  opts: { stack?: string; files?: { topology: string; credentials: string }; client?: Docker } = {},
): Promise<string[]> {
  const stack = opts.stack ?? REHEARSAL_STACK;
  const removed = await removeStack(stack, opts.client ?? docker());
  fs.rmSync(rehearsalWorkDir(stack), { recursive: true, force: true });
  const files = opts.files ?? rehearsalFiles();
  for (const f of [files.topology, files.credentials]) fs.rmSync(f, { force: true });
  return removed;
}

export interface RehearsalHostStatus {
  host: string;
  container: string;
  state: string;
  address: string;
  cpus?: number;
  memLimitBytes?: number;
  memUsedBytes?: number;
}

/** `capacity stack status --containers --topology`: each host's container, state, address, limits and memory in use. */
export async function rehearsalStatus(
  opts: { stack?: string; client?: Docker } = {},
): Promise<{ hosts: RehearsalHostStatus[]; topology?: string; scale?: string }> {
  const stack = opts.stack ?? REHEARSAL_STACK;
  const client = opts.client ?? docker();
  await requireEngine(client);
  const mine = await listStack(stack, client);
  const memory = await stackMemory(stack, client);
  const hosts: RehearsalHostStatus[] = [];
  let topology: string | undefined;
  let scale: string | undefined;
  for (const c of mine) {
    const info = await client.getContainer(c.id).inspect();
    const labels = info.Config.Labels ?? {};
    topology ??= labels[REHEARSAL_LABELS.topology];
    scale ??= labels[REHEARSAL_LABELS.scale];
    const nano = info.HostConfig.NanoCpus;
    hosts.push({
      host: labels[REHEARSAL_LABELS.host] ?? labels[COMPONENT_LABEL] ?? c.name,
      container: c.name,
      state: c.state,
      address: labels[REHEARSAL_LABELS.address] ?? '-',
      ...(nano ? { cpus: nano / 1e9 } : {}),
      ...(info.HostConfig.Memory ? { memLimitBytes: info.HostConfig.Memory } : {}),
      ...(memory[c.name] !== undefined ? { memUsedBytes: memory[c.name] } : {}),
    });
  }
  hosts.sort((a, b) => a.address.localeCompare(b.address, undefined, { numeric: true }));
  return { hosts, ...(topology ? { topology } : {}), ...(scale ? { scale } : {}) };
}
