// The local stack's settings: pinned versions, loopback ports and sizes. Ports can be overridden with
// `--ports name=N,...` or CAPACITY_PORTS; the ports actually used are saved in the runtime state so
// every later command talks to the stack that is running.
import { UserError } from '../core/errors.ts';

export const versions = {
  postgres: '15',
  kafka: '3.9.1',
  elasticsearch: '8.19.4',
  // go.k6.io/k6/v2 is not served by the Go module proxy this machine reaches; v1.8.1 runs .ts scripts natively.
  // The build is k6x/ (k6 with capacity's extension): its go.mod requires this same release.
  k6: 'v1.8.1',
  // Debian bookworm's rabbitmq-server (the component refuses any other minor release).
  rabbitmq: '3.10',
} as const;

export interface StackPorts {
  postgres: number;
  redis: number;
  kafka: number;
  kafkaController: number;
  elasticsearch: number;
  elasticsearchTransport: number;
  nginx: number;
  rabbitmq: number;
  rabbitmqManagement: number;
  /** RabbitMQ's Erlang distribution port (Erlang's default would be AMQP + 20000). */
  rabbitmqDist: number;
  /** First web worker port; worker i listens on web + i. */
  web: number;
}

export const defaultPorts: StackPorts = {
  postgres: 15432,
  redis: 16379,
  kafka: 19092,
  kafkaController: 19093,
  elasticsearch: 19200,
  elasticsearchTransport: 19300,
  nginx: 18080,
  rabbitmq: 16672,
  rabbitmqManagement: 16673,
  rabbitmqDist: 16674,
  web: 18001,
};

export interface StackConfig {
  ports: StackPorts;
  /** Loopback: 127.0.0.1 for the stack; a rehearsal's probes give each host's own 127.0.1.N (docker/rehearsal.ts). */
  host: string;
  webWorkers: number;
  esHeapMb: number;
  kafkaHeapMb: number;
  kafkaPartitions: number;
  /** Celery-like export worker processes, and the tasks each runs at once (celery's --concurrency). */
  celeryWorkers: number;
  celeryConcurrency: number;
  /**
   * Tasks a celery worker's child runs before it is replaced (celery's --max-tasks-per-child; 0: never). HQ's deploys
   * set it per queue: 5 for export_download_queue, 1 for saved_exports_queue. The stand-in uses 1: a Node child keeps
   * an export's heap and malloc arenas long after it, and one that exits gives them back.
   */
  celeryMaxTasksPerChild: number;
  postgres: { user: string; password: string; database: string };
}

function positiveEnv(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > 64) throw new UserError(`${name}=${raw}: expected a whole number from ${min} to 64`);
  return n;
}

export function defaultConfig(): StackConfig {
  return {
    ports: { ...defaultPorts },
    host: '127.0.0.1',
    webWorkers: 3,
    esHeapMb: 512,
    kafkaHeapMb: 512,
    kafkaPartitions: 4,
    celeryWorkers: positiveEnv('CAPACITY_CELERY_WORKERS', 2),
    celeryConcurrency: positiveEnv('CAPACITY_CELERY_CONCURRENCY', 2),
    celeryMaxTasksPerChild: positiveEnv('CAPACITY_CELERY_MAX_TASKS_PER_CHILD', 1, 0),
    postgres: { user: 'capacity', password: 'capacity', database: 'commcarehq' },
  };
}

/** Parses `postgres=25432,nginx=28080` into port overrides; rejects unknown names and bad numbers. */
export function parsePortOverrides(spec: string | undefined): Partial<StackPorts> {
  if (!spec) return {};
  const out: Partial<StackPorts> = {};
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([A-Za-z]+)=(\d+)$/.exec(part);
    if (!m) throw new UserError(`bad port override "${part}": expected name=port, e.g. postgres=25432`);
    const name = m[1] as keyof StackPorts;
    if (!(name in defaultPorts)) {
      throw new UserError(`unknown port name "${m[1]}": use one of ${Object.keys(defaultPorts).join(', ')}`);
    }
    const port = Number(m[2]);
    if (port < 1024 || port > 65535) throw new UserError(`port ${port} for ${name} is out of range 1024-65535`);
    out[name] = port;
  }
  return out;
}

export function configWithPorts(overrides: Partial<StackPorts>): StackConfig {
  const cfg = defaultConfig();
  cfg.ports = { ...cfg.ports, ...overrides };
  const seen = new Map<number, string>();
  for (const [name, port] of Object.entries(cfg.ports)) {
    const other = seen.get(port);
    if (other) throw new UserError(`ports for ${other} and ${name} are both ${port}`);
    seen.set(port, name);
  }
  for (let i = 1; i < cfg.webWorkers; i++) {
    const other = seen.get(cfg.ports.web + i);
    if (other) throw new UserError(`web worker port ${cfg.ports.web + i} clashes with ${other}`);
  }
  return cfg;
}

export function webWorkerPorts(cfg: StackConfig): number[] {
  return Array.from({ length: cfg.webWorkers }, (_, i) => cfg.ports.web + i);
}
