// A rehearsal on the Docker engine: the plan of rehearsal-plan.ts started with the images of images.ts, one
// container per host (`<stack>-<host>`, labelled capacity.stack=<stack>) on its own loopback address, each
// health-checked from the host through what it publishes (as a client of real VMs would reach them). A host that
// fails is named with its log tail and the whole rehearsal is removed. Then the workers, the credentials file and
// the topology file the run uses (rehearsal-files.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { UserError } from '../core/errors.ts';
import { writeFileAtomic } from '../core/fs.ts';
import { stackPaths } from '../core/paths.ts';
import type { StackContext } from '../stack/component.ts';
import type { StackConfig, StackPorts } from '../stack/config.ts';
import { currentUser } from '../stack/service-user.ts';
import { quietProgress } from '../stack/stack.ts';
import { loadTopology } from '../topology/load.ts';
import type { Topology } from '../topology/model.ts';
import { BLOBS_IN_CONTAINER, healthProbe, NGINX_CONF_IN_CONTAINER, type ComponentSpec } from './container-specs.ts';
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
import { provisionRehearsal, rehearsalFiles } from './rehearsal-files.ts';
import { formatPlan, parseScale, planRehearsal, REHEARSAL_STACK, type ContainerPlan, type RehearsalPlan } from './rehearsal-plan.ts';
import { hostCommand, hostComponents, hostEnv, networkAlias, proxyConf, rehearsalConfig } from './rehearsal-processes.ts';

export const REHEARSAL_LABELS = {
  host: 'capacity.rehearsal.host',
  address: 'capacity.rehearsal.address',
  topology: 'capacity.rehearsal.topology',
  scale: 'capacity.rehearsal.scale',
  cpus: 'capacity.rehearsal.cpus',
} as const;

/** Mobile workers made in the rehearsal's database (the credentials file's lines): `capacity run`'s default --users. */
export const DEFAULT_REHEARSAL_WORKERS = 100;

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

/** The engine's spec of a host's container (pure: unit-tested). */
export function hostSpec(
  c: ContainerPlan,
  plan: RehearsalPlan,
  cfg: StackConfig,
  ctx: { image: string; topologyFile: string; workDir: string },
): ContainerSpec {
  const components = hostComponents(c, cfg);
  const binds: Record<string, string> = {};
  if (components.some((s) => s.blobs)) binds[path.join(ctx.workDir, 'blobs')] = BLOBS_IN_CONTAINER;
  if (c.image === 'nginx') binds[path.join(ctx.workDir, 'nginx.conf')] = `${NGINX_CONF_IN_CONTAINER}:ro`;
  const cmd = hostCommand(components);
  return {
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
    env: hostEnv(c, components),
    ...(cmd ? { cmd } : {}),
    ports: Object.fromEntries(c.ports.map((p) => [p.containerPort, p.hostPort])),
    hostIp: c.address,
    network: plan.stack,
    alias: networkAlias(c, components),
    // the CPU limit is set once every host is healthy (applyCpuLimits): start-up is not what a rehearsal measures
    memoryBytes: c.memMb * 1024 * 1024,
    binds,
    // as the full stack's: the service's processes run as the user running capacity, so the blob store stays theirs
    ...(components.some((s) => s.blobs) ? { user: `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}` } : {}),
  };
}

/**
 * The shared probes (container-specs.ts), given a context whose host is the address they reach: the host's own,
 * but PostgreSQL's for the pillows (their checkpoints) and Redis's for the export workers (their heartbeats).
 */
function probeContext(component: ComponentSpec, c: ContainerPlan, plan: RehearsalPlan, cfg: StackConfig): StackContext {
  const on = (k: 'postgresql' | 'redis') => plan.containers.find((x) => x.services.includes(k))?.address ?? c.address;
  const host = component.component.startsWith('pillow-')
    ? on('postgresql')
    : component.component.startsWith('celery-')
      ? on('redis')
      : c.address;
  return { config: { ...cfg, host }, paths: stackPaths(), user: currentUser(), progress: quietProgress };
}

async function healthy(c: ContainerPlan, plan: RehearsalPlan, cfg: StackConfig): Promise<boolean> {
  for (const s of hostComponents(c, cfg)) if (!(await healthProbe(s.component)(probeContext(s, c, plan, cfg)))) return false;
  return true;
}

/** Waits for every host of a group: a container that stops, or one not healthy in time, fails the rehearsal. */
async function waitHealthy(
  group: ContainerPlan[],
  plan: RehearsalPlan,
  cfg: StackConfig,
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
      if (await healthy(c, plan, cfg)) {
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
  const cfg = rehearsalConfig(opts.ports);
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
  writeFileAtomic(path.join(workDir, 'nginx.conf'), proxyConf(plan));
  await ensureNetwork(stack, stack, client);

  const tc = Date.now();
  const deadline = tc + (opts.startupTimeoutMs ?? 300_000);
  const infra = plan.containers.filter((c) => c.image !== 'hq' && c.image !== 'nginx');
  const service = plan.containers.filter((c) => c.image === 'hq');
  const proxy = plan.containers.filter((c) => c.image === 'nginx');
  try {
    for (const group of [infra, service, proxy]) {
      for (const c of group) {
        await startContainer(hostSpec(c, plan, cfg, { image: images.tags[c.image], topologyFile: opts.topologyFile, workDir }), client);
        log(`rehearsal: ${c.host} started (${c.image}, ${c.services.join(' ')}) on ${c.address}`);
      }
      await waitHealthy(group, plan, cfg, client, deadline, log, tc);
    }
    await applyCpuLimits(plan, client);
    const containersS = secs(tc);
    const tw = Date.now();
    const files = await provisionRehearsal(topology, plan, {
      workers: opts.workers ?? DEFAULT_REHEARSAL_WORKERS,
      files: opts.files ?? rehearsalFiles(),
    });
    log(`rehearsal: ${files.workers} mobile workers made, topology and credentials files written (${secs(tw).toFixed(1)} s)`);
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
