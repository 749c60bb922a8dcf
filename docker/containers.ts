// The local stack in containers (docker/local-stack.compose.yml), started through testcontainers'
// DockerComposeEnvironment when a Docker engine is present. Without one it fails at once with one clear line,
// never a fake success. testcontainers is loaded only when containers are asked for (it is heavy).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../core/errors.ts';
import { localTargets, type CollectorTargets } from '../collectors/targets.ts';
import { defaultConfig, type StackConfig, type StackPorts } from '../stack/config.ts';

export const dockerDir = path.dirname(fileURLToPath(import.meta.url));
export const LOCAL_STACK_COMPOSE = 'local-stack.compose.yml';
export const COMMCARE_HQ_COMPOSE = 'commcare-hq.compose.yml';

/** Host ports the compose file publishes (loopback), and the variables that move them. */
export const CONTAINER_PORT_VARS = {
  postgres: 'CAPACITY_CONTAINERS_POSTGRES_PORT',
  redis: 'CAPACITY_CONTAINERS_REDIS_PORT',
  kafka: 'CAPACITY_CONTAINERS_KAFKA_PORT',
  elasticsearch: 'CAPACITY_CONTAINERS_ELASTICSEARCH_PORT',
  nginx: 'CAPACITY_CONTAINERS_NGINX_PORT',
  rabbitmqManagement: 'CAPACITY_CONTAINERS_RABBITMQ_MANAGEMENT_PORT',
} as const;

export const DEFAULT_CONTAINER_PORTS = {
  postgres: 35432,
  redis: 36379,
  kafka: 39092,
  elasticsearch: 39200,
  nginx: 38080,
  rabbitmqManagement: 35673,
} as const;

export type ContainerPorts = Record<keyof typeof CONTAINER_PORT_VARS, number>;

export function containerPorts(env: NodeJS.ProcessEnv = process.env): ContainerPorts {
  const out = { ...DEFAULT_CONTAINER_PORTS } as ContainerPorts;
  for (const [name, variable] of Object.entries(CONTAINER_PORT_VARS) as [keyof ContainerPorts, string][]) {
    const v = env[variable];
    if (v === undefined || v === '') continue;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1024 || n > 65535) throw new UserError(`${variable}=${v}: a port between 1024 and 65535`);
    out[name] = n;
  }
  return out;
}

/** A StackConfig whose ports are the containers' published ones: the local stack's URL helpers then reach them. */
export function containerStackConfig(ports: ContainerPorts): StackConfig {
  const cfg = defaultConfig();
  const p: StackPorts = {
    ...cfg.ports,
    postgres: ports.postgres,
    redis: ports.redis,
    kafka: ports.kafka,
    elasticsearch: ports.elasticsearch,
    nginx: ports.nginx,
    rabbitmqManagement: ports.rabbitmqManagement,
  };
  return { ...cfg, ports: p };
}

/** The collectors for the containers: every service source; no local process or data-folder figures. */
export function containerCollectorTargets(config: StackConfig): CollectorTargets {
  const {
    processes: _p,
    localStores: _l,
    ...rest
  } = localTargets({ config, paths: { run: '/nonexistent', data: '/nonexistent' } as never });
  return rest;
}

export const NO_ENGINE_MESSAGE =
  'no container engine found: testcontainers could not reach a Docker engine (Could not find a working container runtime strategy). ' +
  'Start Docker (or point DOCKER_HOST at one) to use --target containers, or use --target local (the stack this tool runs as processes)';

/** Turns testcontainers' runtime-strategy failure into one clear line. */
export function describeContainerError(err: unknown): UserError {
  const msg = err instanceof Error ? err.message : String(err);
  if (/container runtime strategy|ENOENT.*docker\.sock|connect ECONNREFUSED.*docker|Cannot connect to the Docker daemon/i.test(msg)) {
    return new UserError(NO_ENGINE_MESSAGE, 1);
  }
  return new UserError(`containers failed to start: ${msg.split('\n')[0]}`, 1);
}

/** Fails with NO_ENGINE_MESSAGE (exit 1) unless a Docker engine answers. */
export async function requireContainerRuntime(): Promise<{ host: string; serverVersion?: string }> {
  let tc: typeof import('testcontainers');
  try {
    tc = await import('testcontainers');
  } catch (err) {
    throw new UserError(`testcontainers is not installed (${(err as Error).message}); run npm ci`, 1);
  }
  try {
    const client = await tc.getContainerRuntimeClient();
    return { host: client.info.containerRuntime.host, serverVersion: String(client.info.containerRuntime.serverVersion) };
  } catch (err) {
    throw describeContainerError(err);
  }
}

export interface ContainerStack {
  config: StackConfig;
  collectorTargets: CollectorTargets;
  composeFile: string;
  stop(): Promise<void>;
}

/**
 * Builds the HQ-compatible image and starts the compose file, waiting for every health check. The containers
 * are removed by stop() (and by testcontainers' reaper if this process dies).
 */
export async function startContainerStack(opts: { log: (m: string) => void; startupTimeoutMs?: number }): Promise<ContainerStack> {
  const runtime = await requireContainerRuntime();
  opts.log(
    `containers: Docker engine at ${runtime.host}${runtime.serverVersion ? ` (${runtime.serverVersion})` : ''}; starting ${LOCAL_STACK_COMPOSE}`,
  );
  const ports = containerPorts();
  const tc = await import('testcontainers');
  const environment: Record<string, string> = { CAPACITY_HQ_DELAY_MS: process.env.CAPACITY_HQ_DELAY_MS ?? '0' };
  for (const [name, variable] of Object.entries(CONTAINER_PORT_VARS) as [keyof ContainerPorts, string][])
    environment[variable] = String(ports[name]);
  let started: Awaited<ReturnType<InstanceType<typeof tc.DockerComposeEnvironment>['up']>>;
  try {
    started = await new tc.DockerComposeEnvironment(dockerDir, LOCAL_STACK_COMPOSE)
      .withBuild()
      .withEnvironment(environment)
      .withDefaultWaitStrategy(tc.Wait.forHealthCheck())
      // pillows have no health check: running is enough (they join the feed within seconds)
      .withWaitStrategy('pillow-xform-1', tc.Wait.forLogMessage(/./))
      .withWaitStrategy('pillow-case-1', tc.Wait.forLogMessage(/./))
      .withWaitStrategy('pillow-ucr-1', tc.Wait.forLogMessage(/./))
      .withStartupTimeout(opts.startupTimeoutMs ?? 600_000)
      .up();
  } catch (err) {
    throw describeContainerError(err);
  }
  const config = containerStackConfig(ports);
  opts.log(`containers: healthy; nginx on http://${config.host}:${ports.nginx}`);
  return {
    config,
    collectorTargets: containerCollectorTargets(config),
    composeFile: path.join(dockerDir, LOCAL_STACK_COMPOSE),
    async stop() {
      await started.down({ removeVolumes: true });
    },
  };
}
