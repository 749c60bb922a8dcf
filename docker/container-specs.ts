// Each component of the stack as a container: its image, command, environment, in-container ports, and the health
// probe the host runs against its published ports (the local stack's own probes, given a context whose ports are the
// published ones). Pure but for the probes. Shared by the full stack in containers (container-stack.ts) and whatever
// else starts the same images (a rehearsal's hosts).
import type { StackContext } from '../stack/component.ts';
import type { StackConfig, StackPorts } from '../stack/config.ts';
import { elasticsearch } from '../stack/components/elasticsearch.ts';
import { celeryWorkerKey, SERVICE_NODE_FLAGS } from '../hq/index.ts';
import { kafka } from '../stack/components/kafka.ts';
import { nginx, nginxConfText } from '../stack/components/nginx.ts';
import { postgres } from '../stack/components/postgres.ts';
import { rabbitmq } from '../stack/components/rabbitmq.ts';
import { probeRedis, redis } from '../stack/components/redis.ts';
import { pillow, webWorker } from '../stack/components/hq.ts';
import type { ImageName } from './images.ts';

/** The ports inside the containers (each container has its own network namespace, so the usual ones). */
export const INNER_PORTS = {
  postgres: 5432,
  redis: 6379,
  /** the listener the other containers use (advertised as `kafka:9092`) */
  kafka: 9092,
  /** the listener the host uses through the published port (advertised as 127.0.0.1:<published>) */
  kafkaExternal: 9094,
  elasticsearch: 9200,
  rabbitmq: 5672,
  rabbitmqManagement: 15672,
  nginx: 80,
  web: 8000,
} as const;

/** Object storage inside the service's containers (a bind mount of a folder under .capacity, so the audit reads it). */
export const BLOBS_IN_CONTAINER = '/data/blobs';
/** Where the nginx image reads its configuration (docker/images.ts). */
export const NGINX_CONF_IN_CONTAINER = '/etc/capacity/nginx.conf';

export const PILLOW_KINDS = ['xform', 'case', 'ucr'] as const;
export type PillowKind = (typeof PILLOW_KINDS)[number];

/** A component as a container, before the engine's particulars (name, network, labels, host ports). */
export interface ComponentSpec {
  /** postgres, redis, rabbitmq, kafka, elasticsearch, web-1.., pillow-xform.., celery-1.., nginx */
  component: string;
  image: ImageName;
  cmd?: string[];
  env?: Record<string, string>;
  /** in-container port -> the StackPorts entry whose host port publishes it (web workers: web + index) */
  publish: { inner: number; port: keyof StackPorts; offset?: number }[];
  /** mounts the blob store at BLOBS_IN_CONTAINER */
  blobs?: boolean;
  /** 1: infrastructure; 2: the service, once the infrastructure is healthy; 3: nginx, once its upstreams exist */
  phase: 1 | 2 | 3;
  /** how long it may take to answer its probe */
  readyTimeoutMs: number;
}

/** Where the service's processes reach the infrastructure: names on the stack's network. */
export interface ServiceUrls {
  pg: string;
  kafka: string;
  es: string;
  redis: string;
  amqp: string;
}

export function networkUrls(cfg: Pick<StackConfig, 'postgres'>): ServiceUrls {
  const { user, password, database } = cfg.postgres;
  return {
    pg: `postgres://${user}:${password}@postgres:${INNER_PORTS.postgres}/${database}`,
    kafka: `kafka:${INNER_PORTS.kafka}`,
    es: `http://elasticsearch:${INNER_PORTS.elasticsearch}`,
    redis: `redis://redis:${INNER_PORTS.redis}`,
    amqp: `amqp://guest:guest@rabbitmq:${INNER_PORTS.rabbitmq}`,
  };
}

const node = (entry: string, args: string[]) => ['node', ...SERVICE_NODE_FLAGS, '--import', 'tsx', `hq/${entry}`, ...args];

/** The infrastructure: PostgreSQL, Redis, RabbitMQ, Kafka (KRaft) and Elasticsearch. */
export function infrastructureSpecs(cfg: StackConfig): ComponentSpec[] {
  const { user, password, database } = cfg.postgres;
  return [
    {
      component: 'postgres',
      image: 'postgres',
      env: { POSTGRES_USER: user, POSTGRES_PASSWORD: password, POSTGRES_DB: database },
      publish: [{ inner: INNER_PORTS.postgres, port: 'postgres' }],
      phase: 1,
      readyTimeoutMs: 60_000,
    },
    { component: 'redis', image: 'redis', publish: [{ inner: INNER_PORTS.redis, port: 'redis' }], phase: 1, readyTimeoutMs: 30_000 },
    {
      component: 'rabbitmq',
      image: 'rabbitmq',
      publish: [
        { inner: INNER_PORTS.rabbitmq, port: 'rabbitmq' },
        { inner: INNER_PORTS.rabbitmqManagement, port: 'rabbitmqManagement' },
      ],
      phase: 1,
      readyTimeoutMs: 90_000,
    },
    {
      component: 'kafka',
      image: 'kafka',
      env: {
        KAFKA_INTERNAL: `kafka:${INNER_PORTS.kafka}`,
        // what the host's clients (collectors, audit, topic set-up) are told to connect to
        KAFKA_EXTERNAL: `${cfg.host}:${cfg.ports.kafka}`,
        KAFKA_PARTITIONS: String(cfg.kafkaPartitions),
        KAFKA_HEAP: `-Xms${cfg.kafkaHeapMb}m -Xmx${cfg.kafkaHeapMb}m`,
      },
      publish: [{ inner: INNER_PORTS.kafkaExternal, port: 'kafka' }],
      phase: 1,
      readyTimeoutMs: 90_000,
    },
    {
      component: 'elasticsearch',
      image: 'elasticsearch',
      env: { ES_JAVA_OPTS: `-Xms${cfg.esHeapMb}m -Xmx${cfg.esHeapMb}m` },
      publish: [{ inner: INNER_PORTS.elasticsearch, port: 'elasticsearch' }],
      phase: 1,
      readyTimeoutMs: 180_000,
    },
  ];
}

/** The HQ-compatible service: web workers, the three pillows, the celery-like export workers (as stack/components/hq.ts). */
export function serviceSpecs(cfg: StackConfig, opts: { delayMs?: string } = {}): ComponentSpec[] {
  const u = networkUrls(cfg);
  const common = ['--pg-url', u.pg, '--kafka', u.kafka, '--es', u.es, '--blobs', BLOBS_IN_CONTAINER];
  const web = Array.from({ length: cfg.webWorkers }, (_, i): ComponentSpec => ({
    component: `web-${i + 1}`,
    image: 'hq',
    cmd: node('web.ts', [
      '--host',
      '0.0.0.0',
      '--port',
      String(INNER_PORTS.web),
      ...common,
      '--delay-ms',
      opts.delayMs ?? '0',
      '--redis',
      u.redis,
      '--amqp',
      u.amqp,
    ]),
    publish: [{ inner: INNER_PORTS.web, port: 'web', offset: i }],
    blobs: true,
    phase: 2,
    readyTimeoutMs: 60_000,
  }));
  const pillows = PILLOW_KINDS.map((kind): ComponentSpec => ({
    component: `pillow-${kind}`,
    image: 'hq',
    cmd: node('pillow.ts', ['--pillow', kind, ...common, '--partitions', String(cfg.kafkaPartitions)]),
    publish: [],
    blobs: true,
    phase: 2,
    readyTimeoutMs: 90_000,
  }));
  const celery = Array.from({ length: cfg.celeryWorkers }, (_, i): ComponentSpec => {
    const name = `celery-${i + 1}`;
    return {
      component: name,
      image: 'hq',
      cmd: node('export-worker.ts', [
        '--name',
        name,
        '--concurrency',
        String(cfg.celeryConcurrency),
        '--max-tasks-per-child',
        String(cfg.celeryMaxTasksPerChild),
        '--amqp',
        u.amqp,
        '--redis',
        u.redis,
        '--pg-url',
        u.pg,
        '--blobs',
        BLOBS_IN_CONTAINER,
      ]),
      publish: [],
      blobs: true,
      phase: 2,
      readyTimeoutMs: 60_000,
    };
  });
  return [...web, ...pillows, ...celery];
}

export function nginxSpec(): ComponentSpec {
  return { component: 'nginx', image: 'nginx', publish: [{ inner: INNER_PORTS.nginx, port: 'nginx' }], phase: 3, readyTimeoutMs: 30_000 };
}

/** Every component of the full stack, in start order. */
export function stackSpecs(cfg: StackConfig, opts: { delayMs?: string } = {}): ComponentSpec[] {
  return [...infrastructureSpecs(cfg), ...serviceSpecs(cfg, opts), nginxSpec()];
}

/** nginx's configuration in its container: an upstream of the web workers by name, least_conn, as the local stack's. */
export function containerNginxConf(webWorkers: string[]): string {
  return nginxConfText({
    listen: String(INNER_PORTS.nginx),
    upstreams: webWorkers.map((w) => `${w}:${INNER_PORTS.web}`),
    prefix: '/tmp',
    errorLog: 'stderr',
    // the collectors' requests come through the published port, from the engine's bridge
    statusAllow: ['127.0.0.0/8', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'],
  });
}

/**
 * The host's probe of a component, through its published ports: `ctx.config` holds those ports. The local stack's
 * probes, but for the celery workers (whose local probe matches a pid file): a live heartbeat key in Redis.
 */
export function healthProbe(component: string): (ctx: StackContext) => Promise<boolean> {
  const byName: Record<string, (ctx: StackContext) => Promise<boolean>> = {
    postgres: (c) => postgres.healthy!(c),
    redis: (c) => redis.healthy!(c),
    rabbitmq: (c) => rabbitmq.healthy!(c),
    kafka: (c) => kafka.healthy!(c),
    elasticsearch: (c) => elasticsearch.healthy!(c),
    nginx: (c) => nginx.healthy!(c),
  };
  if (byName[component]) return byName[component];
  const web = /^web-(\d+)$/.exec(component);
  if (web) return (c) => webWorker(Number(web[1]) - 1).healthy!(c);
  const p = /^pillow-(xform|case|ucr)$/.exec(component);
  if (p) return (c) => pillow(p[1] as PillowKind).healthy!(c);
  if (/^celery-\d+$/.test(component))
    return (c) => probeRedis(c, async (client) => (await client.get(celeryWorkerKey(component))) !== null);
  throw new Error(`no probe for ${component}`);
}
