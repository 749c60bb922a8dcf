// The full stack in containers on the Docker engine (`capacity stack up|down|status --containers`, `--target containers`):
// PostgreSQL, Redis, RabbitMQ, Kafka, Elasticsearch, the service's web workers, pillows and export workers, and nginx,
// on one user network, ports published on 127.0.0.1 only. Health is probed from the host through the published ports
// with the local stack's own probes. A component that fails is named with its log tail and the whole stack is removed.
// Everything is found again by the stack's label, so `down` removes only what capacity started.
import fs from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { UserError } from '../core/errors.ts';
import { stackPaths, type StackPaths } from '../core/paths.ts';
import { ensureTopics } from '../hq/index.ts';
import type { StackContext } from '../stack/component.ts';
import { elasticsearchUrl } from '../stack/components/elasticsearch.ts';
import { celeryWorker, HQ_TOPICS, pillow, webWorker } from '../stack/components/hq.ts';
import { kafkaBroker } from '../stack/components/kafka.ts';
import { nginxUrl } from '../stack/components/nginx.ts';
import { postgres, postgresUrl } from '../stack/components/postgres.ts';
import { quietProgress } from '../stack/stack.ts';
import { portHolder, portIsFree } from '../stack/ports.ts';
import { currentUser } from '../stack/service-user.ts';
import { LOCAL_HOST, localTargets, type CollectorTargets } from '../collectors/targets.ts';
import { maskUrlPasswords } from '../core/redact.ts';
import { containerPorts, containerStackConfig, containerStackName, type ContainerPorts } from './container-ports.ts';
import {
  BLOBS_IN_CONTAINER,
  containerNginxConf,
  healthProbe,
  NGINX_CONF_IN_CONTAINER,
  stackSpecs,
  type ComponentSpec,
  type PillowKind,
} from './container-specs.ts';
import {
  containerLogTail,
  containerName,
  docker,
  ensureNetwork,
  removeStack,
  requireEngine,
  restartContainer,
  STACK_LABEL,
  COMPONENT_LABEL,
  stackMemory,
  specChanges,
  startContainer,
  createdAs,
  type ContainerSpec,
} from './engine.ts';
import { buildImages, type ImageName } from './images.ts';

/** Every container carries the stack's port plan, so later commands find the ports without any local state. */
export const PORTS_LABEL = 'capacity.ports';

export const networkName = (stack: string) => `${stack}-net`;
/** The stack's files on the host: the blob store (bind-mounted into the service's containers) and nginx's configuration. */
export const stackDir = (stack: string, paths: StackPaths = stackPaths()) => path.join(paths.home, 'containers', stack);
export const blobDir = (stack: string, paths: StackPaths = stackPaths()) => path.join(stackDir(stack, paths), 'blobs');
const nginxConfFile = (stack: string, paths: StackPaths) => path.join(stackDir(stack, paths), 'nginx.conf');

/** A context whose ports are the containers' published ones: the local stack's URL helpers and probes then reach them. */
export function containerContext(ports: ContainerPorts, progress = quietProgress): StackContext {
  return { config: containerStackConfig(ports), paths: stackPaths(), user: currentUser(), progress };
}

/** The engine's spec of a component (pure: unit-tested). */
export function engineSpec(
  spec: ComponentSpec,
  o: { stack: string; ports: ContainerPorts; tags: Record<ImageName, string>; paths: StackPaths },
): ContainerSpec {
  const binds: Record<string, string> = {};
  if (spec.blobs) binds[blobDir(o.stack, o.paths)] = BLOBS_IN_CONTAINER;
  if (spec.component === 'nginx') binds[nginxConfFile(o.stack, o.paths)] = `${NGINX_CONF_IN_CONTAINER}:ro`;
  return {
    image: o.tags[spec.image],
    name: containerName(o.stack, spec.component),
    stack: o.stack,
    component: spec.component,
    labels: { [PORTS_LABEL]: JSON.stringify(o.ports) },
    env: spec.env,
    cmd: spec.cmd,
    ports: Object.fromEntries(spec.publish.map((p) => [p.inner, o.ports[p.port as keyof ContainerPorts] + (p.offset ?? 0)])),
    network: networkName(o.stack),
    alias: spec.component,
    binds,
    // the blob store's files belong to whoever runs capacity, so the audit and `down` can read and remove them
    user: spec.blobs ? `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}` : undefined,
  };
}

interface Found {
  id: string;
  component: string;
  state: string;
  image: string;
  ports?: ContainerPorts;
}

async function findStack(stack: string, client: Docker): Promise<Found[]> {
  const found = await client.listContainers({ all: true, filters: { label: [`${STACK_LABEL}=${stack}`] } });
  return found.map((c) => {
    let ports: ContainerPorts | undefined;
    try {
      ports = c.Labels[PORTS_LABEL] ? (JSON.parse(c.Labels[PORTS_LABEL]) as ContainerPorts) : undefined;
    } catch {
      ports = undefined;
    }
    return { id: c.Id, component: c.Labels[COMPONENT_LABEL] ?? '', state: c.State, image: c.Image, ports };
  });
}

/** The running stack's context (its ports from the containers' label), or undefined when it has no containers. */
export async function loadContainerStack(
  stack = containerStackName(),
  client: Docker = docker(),
): Promise<{ stack: string; ports: ContainerPorts; ctx: StackContext } | undefined> {
  const ports = (await findStack(stack, client)).find((c) => c.ports)?.ports;
  return ports ? { stack, ports, ctx: containerContext(ports) } : undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (t0: number) => ((Date.now() - t0) / 1000).toFixed(1);

class StartFailure extends Error {
  constructor(
    readonly component: string,
    message: string,
  ) {
    super(message);
  }
}

/** Waits until the probe answers, failing at once when the container exits. */
async function waitHealthy(spec: ComponentSpec, name: string, ctx: StackContext, client: Docker): Promise<void> {
  const probe = healthProbe(spec.component);
  const deadline = Date.now() + spec.readyTimeoutMs;
  while (Date.now() < deadline) {
    const state = (await client.getContainer(name).inspect()).State;
    if (!state.Running) throw new StartFailure(spec.component, `exited during start-up (exit code ${state.ExitCode})`);
    if (await probe(ctx)) return;
    await sleep(500);
  }
  throw new StartFailure(spec.component, `not healthy after ${spec.readyTimeoutMs / 1000} s`);
}

export interface ContainerStackUp {
  stack: string;
  ports: ContainerPorts;
  ctx: StackContext;
  started: string[];
  alreadyRunning: string[];
}

/**
 * Builds the images that are missing, then starts every component that is not running (a stopped one is started
 * again, a missing one created) and waits until each is healthy. Reuses a stack that is up; refuses other ports
 * for it. On any failure the stack is removed, and the component is named with its log tail.
 */
export async function containerStackUp(
  opts: { log: (m: string) => void; stack?: string; ports?: ContainerPorts; delayMs?: string },
  client: Docker = docker(),
): Promise<ContainerStackUp> {
  const stack = opts.stack ?? containerStackName();
  const ports = opts.ports ?? containerPorts();
  const log = opts.log;
  const version = await requireEngine(client);
  log(`containers: Docker engine ${version}; stack ${stack}`);
  const { tags } = await buildImages({ log }, client);
  const paths = stackPaths();
  const ctx = containerContext(ports, { step: log });
  const specs = stackSpecs(ctx.config, { delayMs: opts.delayMs ?? process.env.CAPACITY_HQ_DELAY_MS ?? '0' });

  let existing = await findStack(stack, client);
  const saved = existing.find((c) => c.ports)?.ports;
  if (saved && JSON.stringify(saved) !== JSON.stringify(ports))
    throw new UserError(
      `containers: stack ${stack} is already up with other ports (${describePorts(saved)}); run \`capacity stack down --containers\` before changing them`,
    );
  const stale = existing.filter((c) => {
    const spec = specs.find((s) => s.component === c.component);
    return !spec || c.image !== tags[spec.image];
  });
  if (stale.length) {
    log(`containers: ${stale.map((c) => c.component).join(', ')} run older images: the stack is started afresh`);
    await removeStack(stack, client);
    existing = [];
  }
  if (existing.length === 0) fs.rmSync(stackDir(stack, paths), { recursive: true, force: true }); // a fresh database: no old blobs
  const have = new Map(existing.map((c) => [c.component, c]));
  for (const s of specs) {
    if (have.has(s.component)) continue;
    for (const p of s.publish) {
      const port = ports[p.port as keyof ContainerPorts] + (p.offset ?? 0);
      if (!(await portIsFree(port))) {
        const who = portHolder(port);
        throw new UserError(
          `containers: port ${port} for ${s.component} is already in use${who ? ` by ${who}` : ''}; move it with the CAPACITY_CONTAINERS_*_PORT variables`,
        );
      }
    }
  }

  fs.mkdirSync(blobDir(stack, paths), { recursive: true });
  fs.writeFileSync(
    nginxConfFile(stack, paths),
    containerNginxConf(specs.filter((s) => /^web-\d+$/.test(s.component)).map((s) => s.component)),
  );
  await ensureNetwork(networkName(stack), stack, client);

  const started: string[] = [];
  const alreadyRunning: string[] = [];
  const t0 = Date.now();
  try {
    for (const phase of [1, 2, 3] as const) {
      const inPhase = specs.filter((s) => s.phase === phase);
      const starting: ComponentSpec[] = [];
      for (const s of inPhase) {
        const name = containerName(stack, s.component);
        const spec = engineSpec(s, { stack, ports, tags, paths });
        let c = have.get(s.component);
        // a container made from an older image or other settings (CAPACITY_HQ_DELAY_MS is in web's command) is made again
        const changed = c ? specChanges(spec, await createdAs(name, client)) : [];
        if (c && changed.length) {
          log(`containers: ${s.component} is made again (${changed.join(', ')} changed)`);
          c = undefined;
        }
        if (c?.state === 'running') {
          alreadyRunning.push(s.component);
          continue;
        }
        try {
          if (c) await restartContainer(name, client);
          else await startContainer(spec, client);
        } catch (err) {
          throw new StartFailure(s.component, (err as Error).message.split('\n')[0]!);
        }
        starting.push(s);
      }
      if (starting.length) log(`containers: starting ${starting.map((s) => s.component).join(', ')}`);
      const results = await Promise.allSettled(
        inPhase.map(async (s) => {
          const t1 = Date.now();
          await waitHealthy(s, containerName(stack, s.component), ctx, client);
          if (starting.includes(s)) log(`containers: ${s.component} healthy (${secs(t1)} s)`);
        }),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      started.push(...starting.map((s) => s.component));
      if (phase === 1) {
        await postgres.afterStart!(ctx); // pg_stat_statements for the collectors
        // HQ's change feed exists before any web worker publishes or pillow reads
        await ensureTopics([kafkaBroker(ctx)], HQ_TOPICS, ctx.config.kafkaPartitions);
      }
      if (phase === 2) await webWorker(0).afterStart!(ctx); // the demo domain's mobile workers and web user
    }
  } catch (err) {
    const component = err instanceof StartFailure ? err.component : undefined;
    const tail = component ? await containerLogTail(containerName(stack, component), 15, client) : '';
    // nothing is left half-running
    await removeStack(stack, client).catch(() => undefined);
    fs.rmSync(stackDir(stack, paths), { recursive: true, force: true });
    if (component)
      throw new UserError(
        `containers: ${component} failed to start: ${(err as Error).message}; stack ${stack} removed\n--- last lines of ${containerName(stack, component)}\n${tail}`,
        1,
      );
    throw err;
  }
  if (started.length) log(`containers: stack ${stack} up in ${secs(t0)} s; nginx on ${nginxUrl(ctx)}`);
  return { stack, ports, ctx, started, alreadyRunning };
}

function describePorts(p: ContainerPorts): string {
  return Object.entries(p)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

/** Removes the stack's containers and network (by label only) and its files. Returns the containers removed. */
export async function containerStackDown(stack = containerStackName(), client: Docker = docker()): Promise<string[]> {
  await requireEngine(client);
  const removed = await removeStack(stack, client);
  fs.rmSync(stackDir(stack), { recursive: true, force: true });
  return removed;
}

/** The last lines of each component's container log (all components, or the one named). */
export async function containerStackLogs(
  opts: { component?: string; lines: number; stack?: string },
  client: Docker = docker(),
): Promise<{ component: string; container: string; text: string }[]> {
  await requireEngine(client);
  const stack = opts.stack ?? containerStackName();
  const names = stackSpecs(containerStackConfig(containerPorts())).map((s) => s.component);
  if (opts.component && !names.includes(opts.component))
    throw new UserError(`unknown component "${opts.component}": one of ${names.join(', ')}`);
  const present = new Set((await findStack(stack, client)).map((c) => c.component));
  return Promise.all(
    (opts.component ? [opts.component] : names).map(async (component) => {
      const container = containerName(stack, component);
      const text = present.has(component) ? await containerLogTail(container, opts.lines, client) : '(no container)';
      return { component, container, text };
    }),
  );
}

export interface ContainerStatus {
  component: string;
  container: string;
  state: 'running' | 'unhealthy' | 'exited' | 'missing';
  image?: string;
  memoryBytes?: number;
  endpoint: string;
}

/** Each component's container: state (probed from the host when running), memory, endpoint. */
export async function containerStackStatus(
  stack = containerStackName(),
  client: Docker = docker(),
): Promise<{ stack: string; ports?: ContainerPorts; rows: ContainerStatus[] }> {
  await requireEngine(client);
  const found = await findStack(stack, client);
  const ports = found.find((c) => c.ports)?.ports;
  if (!ports) return { stack, rows: [] };
  const ctx = containerContext(ports);
  const memory = await stackMemory(stack, client);
  const rows = await Promise.all(
    stackSpecs(ctx.config).map(async (s): Promise<ContainerStatus> => {
      const name = containerName(stack, s.component);
      const c = found.find((f) => f.component === s.component);
      const endpoint = endpointOf(s, ctx);
      if (!c) return { component: s.component, container: name, state: 'missing', endpoint };
      if (c.state !== 'running') return { component: s.component, container: name, state: 'exited', image: c.image, endpoint };
      const ok = await healthProbe(s.component)(ctx);
      return {
        component: s.component,
        container: name,
        state: ok ? 'running' : 'unhealthy',
        image: c.image,
        memoryBytes: memory[name],
        endpoint,
      };
    }),
  );
  return { stack, ports, rows };
}

function endpointOf(s: ComponentSpec, ctx: StackContext): string {
  if (s.component === 'postgres') return maskUrlPasswords(postgresUrl(ctx));
  if (s.component === 'elasticsearch') return elasticsearchUrl(ctx);
  if (s.component === 'kafka') return kafkaBroker(ctx);
  if (s.component === 'nginx') return nginxUrl(ctx);
  const pillowKind = /^pillow-(xform|case|ucr)$/.exec(s.component)?.[1];
  if (pillowKind) return pillow(pillowKind as PillowKind).endpoint(ctx);
  const celery = /^celery-(\d+)$/.exec(s.component)?.[1];
  if (celery) return celeryWorker(Number(celery) - 1).endpoint(ctx);
  const p = s.publish[0]!;
  return `${ctx.config.host}:${ctx.config.ports[p.port] + (p.offset ?? 0)}`;
}

/**
 * What the collectors watch for the containerised stack: every service through its published port, this machine's
 * /proc, and CPU and memory per component from the engine (what the local stack's pid files give).
 */
export function containerCollectorTargets(ctx: StackContext, stack = containerStackName()): CollectorTargets {
  const { processes: _p, localStores: _l, ...rest } = localTargets({ config: ctx.config, paths: ctx.paths });
  const containers = Object.fromEntries(stackSpecs(ctx.config).map((s) => [s.component, containerName(stack, s.component)]));
  return { ...rest, containerProcesses: [{ host: LOCAL_HOST, containers }] };
}
