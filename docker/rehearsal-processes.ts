// The HQ-compatible service's processes in a rehearsal, per container: web workers on the django hosts, the three
// pillows on the pillowtop host, the export workers on the celery host, each reaching the others by container name
// on the rehearsal's network (as VMs reach each other by name), and the proxy's upstream of the web hosts.
// Paths are the service image's (docker/hq.Dockerfile: /app, blobs on a volume shared as object storage).
import type { StackPorts } from '../stack/config.ts';
import { IMAGE_PORTS, type ContainerPlan, type RehearsalPlan, type StandInKind } from './rehearsal-plan.ts';

export const BLOBS_IN_CONTAINER = '/data/blobs';
export const PILLOWS = ['xform', 'case', 'ucr'] as const;
export const KAFKA_PARTITIONS = 4;

export interface ServiceProcess {
  /** e.g. web, pillow-xform, celery-1 */
  name: string;
  argv: string[];
}

function hostOf(plan: RehearsalPlan, kind: StandInKind): ContainerPlan {
  const c = plan.containers.find((x) => x.services.includes(kind));
  if (!c) throw new Error(`the plan has no ${kind} host`);
  return c;
}

/**
 * Where the service's processes find PostgreSQL, Kafka, Elasticsearch, Redis and RabbitMQ: by container name on
 * the rehearsal's network, at the images' own ports (the published ones are for the harness on the host).
 */
export function serviceUrls(plan: RehearsalPlan, pg: { user: string; password: string; database: string }) {
  const name = (k: StandInKind) => hostOf(plan, k).container;
  const has = (k: StandInKind) => plan.containers.some((c) => c.services.includes(k));
  return {
    pg: `postgres://${pg.user}:${pg.password}@${name('postgresql')}:${IMAGE_PORTS.postgresql}/${pg.database}`,
    kafka: `${name('kafka')}:${IMAGE_PORTS.kafkaInternal}`,
    es: `http://${name('elasticsearch')}:${IMAGE_PORTS.elasticsearch}`,
    redis: has('redis') ? `redis://${name('redis')}:${IMAGE_PORTS.redis}` : undefined,
    amqp: has('rabbitmq') ? `amqp://guest:guest@${name('rabbitmq')}:${IMAGE_PORTS.rabbitmq}` : undefined,
  };
}

const node = (entry: string, args: string[]) => ['node', '--import', 'tsx', `hq/${entry}`, ...args];

/** The service's processes one container runs (none for a host with only infrastructure). */
export function serviceProcesses(
  c: ContainerPlan,
  plan: RehearsalPlan,
  ports: StackPorts,
  pg: { user: string; password: string; database: string },
  opts: { celeryWorkers?: number; celeryConcurrency?: number } = {},
): ServiceProcess[] {
  const u = serviceUrls(plan, pg);
  const common = ['--pg-url', u.pg, '--kafka', u.kafka, '--es', u.es, '--blobs', BLOBS_IN_CONTAINER];
  const out: ServiceProcess[] = [];
  if (c.services.includes('django')) {
    const args = ['--host', '0.0.0.0', '--port', String(ports.web), ...common];
    if (u.redis) args.push('--redis', u.redis);
    if (u.amqp) args.push('--amqp', u.amqp);
    out.push({ name: 'web', argv: node('web.ts', args) });
  }
  if (c.services.includes('pillowtop'))
    for (const p of PILLOWS)
      out.push({ name: `pillow-${p}`, argv: node('pillow.ts', ['--pillow', p, ...common, '--partitions', String(KAFKA_PARTITIONS)]) });
  if (c.services.includes('celery') && u.redis && u.amqp)
    for (let i = 1; i <= (opts.celeryWorkers ?? 2); i++)
      out.push({
        name: `celery-${i}`,
        argv: node('export-worker.ts', [
          '--name',
          `celery-${i}`,
          '--concurrency',
          String(opts.celeryConcurrency ?? 2),
          '--amqp',
          u.amqp,
          '--redis',
          u.redis,
          '--pg-url',
          u.pg,
          '--blobs',
          BLOBS_IN_CONTAINER,
        ]),
      });
  return out;
}

/** The proxy's upstream: every django host by container name, least_conn as the seed guide's. */
export function proxyUpstream(plan: RehearsalPlan, ports: StackPorts): string[] {
  return plan.containers.filter((c) => c.services.includes('django')).map((c) => `${c.container}:${ports.web}`);
}

const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;

/**
 * The command of a container of the service: its processes started side by side by a shell that stops the
 * container as soon as one of them exits (so a crash shows as a stopped container, named with its log).
 */
export function supervisorCommand(processes: readonly ServiceProcess[]): string[] {
  const lines = ['pids=""'];
  for (const p of processes) lines.push(`${p.argv.map(quote).join(' ')} & pids="$pids $!"`, `echo "started ${p.name} (pid $!)" >&2`);
  lines.push(
    "trap 'kill $pids 2>/dev/null; exit 0' TERM INT",
    'while :; do for p in $pids; do kill -0 $p 2>/dev/null || { echo "a process (pid $p) exited: stopping the container" >&2; kill $pids 2>/dev/null; exit 1; }; done; sleep 1; done',
  );
  return ['/bin/sh', '-c', lines.join('\n')];
}

/** nginx's configuration on the proxy host: HQ's upstream of the web hosts, stub_status, /healthz (docker/images.ts mounts it). */
export function proxyConf(plan: RehearsalPlan, ports: StackPorts): string {
  const servers = proxyUpstream(plan, ports)
    .map((s) => `    server ${s} max_fails=0;`)
    .join('\n');
  // stub_status is open: the port is published on a loopback address only, and the harness reaches it through
  // the engine's proxy (from the network's gateway, not 127.0.0.1)
  return `# Written by capacity stack up --containers --topology
worker_processes 1;
pid /tmp/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path /tmp/client_body;
  proxy_temp_path /tmp/proxy;
  client_max_body_size 32m;
  keepalive_timeout 65;
  upstream commcarehq {
    least_conn;
${servers}
    keepalive 64;
  }
  server {
    listen ${IMAGE_PORTS.nginx};
    location = /healthz { default_type text/plain; return 200 "ok\\n"; }
    location = /nginx_status { stub_status; }
    location / {
      proxy_pass http://commcarehq;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_read_timeout 120s;
    }
  }
}
`;
}
