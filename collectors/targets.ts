// Where the collectors look: CollectorTargets, built for the local stack (from the running stack's ports) or
// from a topology (hosts, services, endpoints), and turned into collectors.
import fs from 'node:fs';
import path from 'node:path';
import type { StackContext } from '../stack/component.ts';
import { stackPaths } from '../core/paths.ts';
import { elasticsearchUrl } from '../stack/components/elasticsearch.ts';
import { kafkaBroker } from '../stack/components/kafka.ts';
import { nginxUrl } from '../stack/components/nginx.ts';
import { postgresUrl } from '../stack/components/postgres.ts';
import { rabbitmqManagementUrl } from '../stack/components/rabbitmq.ts';
import { redisUrl } from '../stack/components/redis.ts';
import type { Endpoint, Host, ServiceInstance, Topology } from '../topology/model.ts';
import { containerProcessCollector, type ContainerProcessTarget } from './container-processes.ts';
import { dockerStatsCollector } from './docker-stats.ts';
import { elasticsearchCollector, type ElasticsearchOptions, type ElasticsearchTarget } from './elasticsearch.ts';
import { hostCollector, type HostTarget } from './host.ts';
import { joinUrl } from './http.ts';
import { localStoreCollector, processCollector, type LocalStoreTarget, type ProcessTarget } from './local-stack.ts';
import { kafkaCollector, sharedKafkaHandle, type KafkaAdminHandle, type KafkaTarget } from './kafka.ts';
import { nginxCollector, type NginxTarget } from './nginx.ts';
import { pillowCollector, type PillowTarget } from './pillows.ts';
import { postgresCollector, type PostgresOptions, type PostgresTarget } from './postgres.ts';
import { rabbitmqCollector, type RabbitTarget } from './rabbitmq.ts';
import { redisCollector, type RedisTarget } from './redis.ts';
import type { Collector } from './types.ts';

export type {
  ContainerProcessTarget,
  ElasticsearchTarget,
  HostTarget,
  KafkaTarget,
  LocalStoreTarget,
  NginxTarget,
  PillowTarget,
  PostgresTarget,
  ProcessTarget,
  RabbitTarget,
  RedisTarget,
};

/** Every source to watch. Each list may be empty; `host` in each entry is the topology host the figures are about. */
export interface CollectorTargets {
  postgres?: PostgresTarget[];
  pillows?: PillowTarget[];
  kafka?: KafkaTarget[];
  elasticsearch?: ElasticsearchTarget[];
  rabbitmq?: RabbitTarget[];
  redis?: RedisTarget[];
  nginx?: NginxTarget[];
  /** node_exporter per VM, or (no URL) this machine's /proc. */
  hosts?: HostTarget[];
  /** Local stack only: CPU and memory per component process tree (pid files), for calibration. */
  processes?: ProcessTarget[];
  /** Local stack only: Kafka log bytes per topic, restores and cases from the sync log. */
  localStores?: LocalStoreTarget[];
  /** The stack in containers: CPU and memory per component's container, as `processes` gives them locally. */
  containerProcesses?: ContainerProcessTarget[];
}

export interface BuildOptions {
  /** Per source request timeout. Default 5 s. */
  timeoutMs?: number;
  postgres?: Omit<PostgresOptions, 'timeoutMs'>;
  elasticsearch?: Omit<ElasticsearchOptions, 'timeoutMs'>;
}

export const LOCAL_HOST = 'localhost';

/** The local stack (`capacity stack up`): every source on loopback, host figures from /proc. */
export function localTargets(ctx: Pick<StackContext, 'config'> & Partial<Pick<StackContext, 'paths'>>): CollectorTargets {
  const host = LOCAL_HOST;
  const paths = ctx.paths ?? stackPaths();
  return {
    postgres: [{ url: postgresUrl(ctx), host }],
    pillows: [{ postgresUrl: postgresUrl(ctx), kafkaBrokers: [kafkaBroker(ctx)], host }],
    kafka: [{ brokers: [kafkaBroker(ctx)], host, groups: 'all' }],
    elasticsearch: [{ url: elasticsearchUrl(ctx), host }],
    redis: [{ url: redisUrl(ctx), host }],
    rabbitmq: [{ url: rabbitmqManagementUrl(ctx), host }],
    nginx: [{ statusUrl: joinUrl(nginxUrl(ctx), 'nginx_status'), host }],
    hosts: [{ host }],
    processes: [{ runDir: paths.run, host }],
    localStores: [{ host, kafkaLogDir: path.join(paths.data, 'kafka'), postgresUrl: postgresUrl(ctx), redisUrl: redisUrl(ctx) }],
  };
}

export interface TopologyCredentials {
  /** For PostgreSQL endpoints whose URL has none. Default: PGUSER / PGPASSWORD / PGDATABASE, database commcarehq. */
  postgres?: { user?: string; password?: string; database?: string };
  /** RabbitMQ management API. Default: CAPACITY_RABBITMQ_USER / CAPACITY_RABBITMQ_PASSWORD, else guest/guest, port 15672. */
  rabbitmq?: { user?: string; password?: string; port?: number };
  /** Path of nginx's stub_status page. Default /nginx_status. */
  nginxStatusPath?: string;
  /** The local stack's home (default .capacity): a loopback host also gets per-process CPU when its pid files are there. */
  localStack?: { run: string; data: string };
}

const isLoopback = (a: string) => a === 'localhost' || a === '::1' || /^127\./.test(a);

function withPgCredentials(url: string, cred: TopologyCredentials['postgres'] = {}): string {
  const u = new URL(url.replace(/^postgresql:/, 'postgres:'));
  const env = process.env;
  if (!u.username) {
    const user = cred.user ?? env.PGUSER;
    if (user) u.username = encodeURIComponent(user);
    const password = cred.password ?? env.PGPASSWORD;
    if (user && password) u.password = encodeURIComponent(password);
  }
  if (u.pathname === '' || u.pathname === '/') u.pathname = `/${cred.database ?? env.PGDATABASE ?? 'commcarehq'}`;
  return u.toString();
}

function services(t: Topology, kind: ServiceInstance['kind']): Array<{ host: Host; service: ServiceInstance; endpoint: Endpoint }> {
  return t.hosts.flatMap((host) =>
    host.services.filter((s) => s.kind === kind).flatMap((service) => service.endpoints.map((endpoint) => ({ host, service, endpoint }))),
  );
}

/**
 * Targets for the hosts and services a topology names. PostgreSQL through pgbouncer is skipped (the servers
 * behind it are watched directly); pillow checkpoints are read from the first PostgreSQL that is not a standby;
 * Elasticsearch node stats come from the first endpoint (one answers for the whole cluster). Hosts with a
 * node_exporter are read through it; a loopback host without one is read from this machine's /proc.
 */
export function targetsFromTopology(t: Topology, cred: TopologyCredentials = {}): CollectorTargets {
  const out: CollectorTargets = { postgres: [], pillows: [], kafka: [], elasticsearch: [], rabbitmq: [], redis: [], nginx: [], hosts: [] };
  const addressToName: Record<string, string> = {};
  for (const h of t.hosts) {
    addressToName[h.address] = h.name;
    addressToName[h.name] = h.name;
  }
  const pgs = services(t, 'postgresql').filter(({ service, endpoint }) => !/pgbouncer/i.test(service.name) && endpoint.port !== 6432);
  for (const { host, endpoint } of pgs) {
    const url = endpoint.url ?? `postgres://${endpoint.host}:${endpoint.port}`;
    out.postgres!.push({ url: withPgCredentials(url, cred.postgres), host: host.name });
  }
  const kafkas = services(t, 'kafka');
  const brokers = kafkas.map(({ endpoint }) => `${endpoint.host}:${endpoint.port}`);
  if (kafkas.length) out.kafka!.push({ brokers, host: kafkas[0]!.host.name, groups: 'all' });
  const primary = pgs.find(({ service }) => !/standby|replica/i.test(service.name));
  if (primary && brokers.length) {
    out.pillows!.push({ postgresUrl: out.postgres![pgs.indexOf(primary)]!.url, kafkaBrokers: brokers, host: primary.host.name });
  }
  const es = services(t, 'elasticsearch')[0];
  if (es)
    out.elasticsearch!.push({
      url: es.endpoint.url ?? `http://${es.endpoint.host}:${es.endpoint.port}/`,
      host: es.host.name,
      hostNames: addressToName,
    });
  const rmqUser = cred.rabbitmq?.user ?? process.env.CAPACITY_RABBITMQ_USER ?? 'guest';
  const rmqPass = cred.rabbitmq?.password ?? process.env.CAPACITY_RABBITMQ_PASSWORD ?? 'guest';
  const seenRabbit = new Set<string>();
  for (const { host, endpoint } of services(t, 'rabbitmq')) {
    if (seenRabbit.has(host.name)) continue;
    seenRabbit.add(host.name);
    let url: string;
    if (endpoint.protocol === 'http' || endpoint.protocol === 'https')
      url = endpoint.url ?? `${endpoint.protocol}://${endpoint.host}:${endpoint.port}/`;
    else url = `http://${endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host}:${cred.rabbitmq?.port ?? 15672}/`;
    const u = new URL(url);
    if (!u.username) {
      u.username = encodeURIComponent(rmqUser);
      u.password = encodeURIComponent(rmqPass);
    }
    out.rabbitmq!.push({ url: u.toString(), host: host.name });
  }
  for (const { host, endpoint } of services(t, 'redis')) {
    out.redis!.push({ url: endpoint.url ?? `redis://${endpoint.host}:${endpoint.port}`, host: host.name });
  }
  for (const { host, endpoint } of services(t, 'nginx')) {
    const base = endpoint.url ?? `http://${endpoint.host}:${endpoint.port}/`;
    out.nginx!.push({ statusUrl: joinUrl(base, cred.nginxStatusPath ?? 'nginx_status'), host: host.name });
  }
  let procTaken = false;
  for (const h of t.hosts) {
    if (h.container) {
      out.hosts!.push({ host: h.name, container: h.container });
    } else if (h.nodeExporter) {
      let url = h.nodeExporter.url ?? `http://${h.nodeExporter.host}:${h.nodeExporter.port}/metrics`;
      const u = new URL(url);
      if (u.pathname === '/' || u.pathname === '') {
        u.pathname = '/metrics';
        url = u.toString();
      }
      out.hosts!.push({ host: h.name, nodeExporterUrl: url });
    } else if (isLoopback(h.address) && !procTaken) {
      procTaken = true;
      out.hosts!.push({ host: h.name });
      // the local stack described by a topology file: its processes and Kafka log dir, for calibration
      const local = cred.localStack ?? stackPaths();
      const hasPids = (() => {
        try {
          return fs.readdirSync(local.run).some((f) => f.endsWith('.pid.json'));
        } catch {
          return false;
        }
      })();
      if (hasPids) {
        out.processes = [{ runDir: local.run, host: h.name }];
        const kafkaLogDir = path.join(local.data, 'kafka');
        if (fs.existsSync(kafkaLogDir)) out.localStores = [{ host: h.name, kafkaLogDir }];
      }
    }
  }
  return out;
}

/** One collector per target. */
export function buildCollectors(targets: CollectorTargets, opts: BuildOptions = {}): Collector[] {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const kafkaHandles = new Map<string, KafkaAdminHandle>();
  return [
    ...(targets.hosts ?? []).map((t) =>
      t.container ? dockerStatsCollector({ host: t.host, container: t.container }, { timeoutMs }) : hostCollector(t, { timeoutMs }),
    ),
    ...(targets.postgres ?? []).map((t) => postgresCollector(t, { timeoutMs, ...opts.postgres })),
    ...(targets.pillows ?? []).map((t) =>
      pillowCollector(t, { timeoutMs, handle: sharedKafkaHandle(kafkaHandles, t.kafkaBrokers, timeoutMs) }),
    ),
    ...(targets.kafka ?? []).map((t) => kafkaCollector(t, { timeoutMs, handle: sharedKafkaHandle(kafkaHandles, t.brokers, timeoutMs) })),
    ...(targets.elasticsearch ?? []).map((t) => elasticsearchCollector(t, { timeoutMs, ...opts.elasticsearch })),
    ...(targets.rabbitmq ?? []).map((t) => rabbitmqCollector(t, { timeoutMs })),
    ...(targets.redis ?? []).map((t) => redisCollector(t, { timeoutMs })),
    ...(targets.nginx ?? []).map((t) => nginxCollector(t, { timeoutMs })),
    ...(targets.processes ?? []).map((t) => processCollector(t)),
    ...(targets.localStores ?? []).map((t) => localStoreCollector(t, { timeoutMs })),
    ...(targets.containerProcesses ?? []).map((t) => containerProcessCollector(t, { timeoutMs })),
  ];
}

/** A one-line summary of the targets, for messages. */
export function describeTargets(targets: CollectorTargets): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(targets) as Array<[string, unknown[] | undefined]>) {
    if (v?.length) parts.push(`${k} ${v.length}`);
  }
  return parts.join(', ') || 'nothing';
}
