// The Docker engine, through dockerode: preflight, the stack's network, containers started from a spec, and
// removal strictly by the stack's label (never every capacity container: other stacks may share the engine).
import Docker from 'dockerode';
import { UserError } from '../core/errors.ts';

export const STACK_LABEL = 'capacity.stack';
export const COMPONENT_LABEL = 'capacity.component';
export const DEFAULT_STACK = 'capacity';

export interface ContainerSpec {
  image: string;
  /** `<stack>-<component>` by convention (containerName) */
  name: string;
  stack: string;
  component: string;
  labels?: Record<string, string>;
  env?: Record<string, string>;
  cmd?: string[];
  /** container port (e.g. 5432) -> host port, published on 127.0.0.1 only (or on `hostIp`, a loopback address) */
  ports?: Record<number, number>;
  hostIp?: string;
  network?: string;
  /** DNS name on the network (default: the component) */
  alias?: string;
  cpus?: number;
  memoryBytes?: number;
  /** host path -> container path */
  binds?: Record<string, string>;
  user?: string;
  workingDir?: string;
}

export interface ContainerInfo {
  id: string;
  name: string;
  component: string;
  state: string;
  image: string;
}

export function containerName(stack: string, component: string): string {
  return `${stack}-${component}`;
}

/** The engine to talk to: DOCKER_HOST when set, else the default socket. */
export function docker(): Docker {
  return new Docker();
}

const NO_ENGINE =
  'no Docker engine answers (DOCKER_HOST or /var/run/docker.sock): install it with `apt-get install docker.io` and start it with `dockerd &` as root (`scripts/bootstrap.sh --engine` does both), or set DOCKER_HOST';

/** Preflight: the engine answers, else one line saying how to get one. Returns its version. */
export async function requireEngine(client: Docker = docker()): Promise<string> {
  try {
    const v = await client.version();
    return v.Version;
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new UserError(`${NO_ENGINE} (${reason})`, 1); // a missing prerequisite, not bad input
  }
}

/** True when an engine answers (tests skip on false). */
export async function engineAvailable(client: Docker = docker()): Promise<boolean> {
  try {
    await client.ping();
    return true;
  } catch {
    return false;
  }
}

export async function ensureNetwork(name: string, stack: string, client: Docker = docker()): Promise<void> {
  const existing = await client.listNetworks({ filters: { name: [name] } });
  if (existing.some((n) => n.Name === name)) return;
  await client.createNetwork({ Name: name, Driver: 'bridge', Labels: { [STACK_LABEL]: stack } });
}

/** The engine's create options for a spec (pure: unit-tested). Ports are bound to loopback only. */
export function createOptions(spec: ContainerSpec): Docker.ContainerCreateOptions {
  const hostIp = spec.hostIp ?? '127.0.0.1';
  if (!hostIp.startsWith('127.')) throw new UserError(`${spec.name}: ports are published on loopback only, not ${hostIp}`);
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const [inner, outer] of Object.entries(spec.ports ?? {})) {
    exposed[`${inner}/tcp`] = {};
    bindings[`${inner}/tcp`] = [{ HostIp: hostIp, HostPort: String(outer) }];
  }
  return {
    name: spec.name,
    Image: spec.image,
    Cmd: spec.cmd,
    Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
    Labels: { ...spec.labels, [STACK_LABEL]: spec.stack, [COMPONENT_LABEL]: spec.component },
    ExposedPorts: exposed,
    User: spec.user,
    WorkingDir: spec.workingDir,
    HostConfig: {
      PortBindings: bindings,
      NetworkMode: spec.network,
      Binds: Object.entries(spec.binds ?? {}).map(([h, c]) => `${h}:${c}`),
      NanoCpus: spec.cpus !== undefined ? Math.round(spec.cpus * 1e9) : undefined,
      Memory: spec.memoryBytes,
      // restarted by a fault test through restartContainer, never by the engine on its own
      RestartPolicy: { Name: 'no' },
    },
    NetworkingConfig: spec.network ? { EndpointsConfig: { [spec.network]: { Aliases: [spec.alias ?? spec.component] } } } : undefined,
  };
}

/**
 * What differs between a container as it was created and the spec it should have now (its image, its command, or a
 * variable of the spec's missing or with another value), as names; empty when it can be kept (pure: unit-tested).
 */
export function specChanges(spec: ContainerSpec, created: { image: string; cmd?: string[]; env: string[] }): string[] {
  const changes = created.image === spec.image ? [] : ['image'];
  if (spec.cmd && JSON.stringify(spec.cmd) !== JSON.stringify(created.cmd ?? [])) changes.push('command');
  const have = new Set(created.env);
  for (const [k, v] of Object.entries(spec.env ?? {})) if (!have.has(`${k}=${v}`)) changes.push(k);
  return changes;
}

/** How a container was created: its image reference, command and environment. */
export async function createdAs(name: string, client: Docker = docker()): Promise<{ image: string; cmd?: string[]; env: string[] }> {
  const info = await client.getContainer(name).inspect();
  const cmd = info.Config.Cmd as string[] | string | null | undefined;
  return { image: info.Config.Image, cmd: typeof cmd === 'string' ? [cmd] : (cmd ?? undefined), env: info.Config.Env ?? [] };
}

/** Creates and starts a container (one of the same name left by this stack is removed first). */
export async function startContainer(spec: ContainerSpec, client: Docker = docker()): Promise<Docker.Container> {
  await removeNamed(spec.name, spec.stack, client);
  const container = await client.createContainer(createOptions(spec));
  await container.start();
  return container;
}

async function removeNamed(name: string, stack: string, client: Docker): Promise<void> {
  const found = await client.listContainers({ all: true, filters: { name: [`^/${name}$`] } });
  for (const c of found) {
    if (c.Labels[STACK_LABEL] !== stack)
      throw new UserError(`a container named ${name} exists and is not stack ${stack}'s: remove or rename it`);
    await client.getContainer(c.Id).remove({ force: true });
  }
}

/** This stack's containers, found by label. */
export async function listStack(stack: string, client: Docker = docker()): Promise<ContainerInfo[]> {
  const found = await client.listContainers({ all: true, filters: { label: [`${STACK_LABEL}=${stack}`] } });
  return found.map((c) => ({
    id: c.Id,
    name: (c.Names[0] ?? '').replace(/^\//, ''),
    component: c.Labels[COMPONENT_LABEL] ?? '',
    state: c.State,
    image: c.Image,
  }));
}

/** SIGKILL, as a crash would. */
export async function killContainer(name: string, client: Docker = docker()): Promise<void> {
  await client.getContainer(name).kill({ signal: 'SIGKILL' });
}

export async function restartContainer(name: string, client: Docker = docker()): Promise<void> {
  await client.getContainer(name).start();
}

/** The last lines of a container's output (stdout and stderr). */
export async function containerLogTail(name: string, lines = 20, client: Docker = docker()): Promise<string> {
  try {
    const buf = (await client.getContainer(name).logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown as Buffer;
    return demux(buf).trim();
  } catch (err) {
    return `(no log: ${err instanceof Error ? err.message : String(err)})`;
  }
}

/** The engine's multiplexed log stream (8-byte frame headers) as text. */
export function demux(buf: Buffer): string {
  const parts: string[] = [];
  let i = 0;
  while (i + 8 <= buf.length && (buf[i] === 1 || buf[i] === 2) && buf[i + 1] === 0) {
    const size = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + size).toString('utf8'));
    i += 8 + size;
  }
  return i === 0 ? buf.toString('utf8') : parts.join('');
}

/** Removes this stack's containers and networks, by label only. Returns the names removed. */
export async function removeStack(stack: string, client: Docker = docker()): Promise<string[]> {
  const mine = await listStack(stack, client);
  await Promise.all(mine.map((c) => client.getContainer(c.id).remove({ force: true, v: true })));
  const nets = await client.listNetworks({ filters: { label: [`${STACK_LABEL}=${stack}`] } });
  for (const n of nets) await client.getNetwork(n.Id).remove();
  return mine.map((c) => c.name);
}

/** Memory in use per container of the stack (bytes), from the engine's stats API (every container at once). */
export async function stackMemory(stack: string, client: Docker = docker()): Promise<Record<string, number>> {
  const running = (await listStack(stack, client)).filter((c) => c.state === 'running');
  const figures = await Promise.all(
    running.map(async (c) => {
      // one-shot: one sample at once, rather than the two a second apart that a CPU figure needs
      const s = (await client.getContainer(c.id).stats({ stream: false, 'one-shot': true } as { stream: false })) as unknown as {
        memory_stats?: { usage?: number; stats?: { cache?: number } };
      };
      return [c.name, (s.memory_stats?.usage ?? 0) - (s.memory_stats?.stats?.cache ?? 0)] as const;
    }),
  );
  return Object.fromEntries(figures);
}
