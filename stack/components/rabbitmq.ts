// RabbitMQ from Debian (celery's broker in HQ), as a node of its own: its own node name, data, config and log
// under the stack home, AMQP, management and Erlang distribution ports set explicitly (Erlang would otherwise take
// AMQP + 20000), the management plugin on. epmd is the machine's one port mapper, shared with any other node.
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../core/errors.ts';
import type { Component, StackContext } from '../component.ts';
import { versions } from '../config.ts';
import { startDetached } from '../process.ts';

export const rabbitmqServer = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const libDir = '/usr/lib/rabbitmq/lib';

/** The installed broker's release (from its lib folder), or undefined when Debian's package is missing. */
export function rabbitmqInstalledVersion(): string | undefined {
  try {
    const dir = fs.readdirSync(libDir).find((d) => d.startsWith('rabbitmq_server-'));
    return dir?.slice('rabbitmq_server-'.length);
  } catch {
    return undefined;
  }
}

const home = (ctx: Pick<StackContext, 'paths'>) => path.join(ctx.paths.data, 'rabbitmq');

export function rabbitmqNodeName(ctx: Pick<StackContext, 'config'>): string {
  return `capacity-${ctx.config.ports.rabbitmq}@localhost`;
}

/** AMQP URL (guest is allowed from loopback only, which is where the stack is). */
export function rabbitmqUrl(ctx: Pick<StackContext, 'config'>): string {
  return `amqp://guest:guest@${ctx.config.host}:${ctx.config.ports.rabbitmq}`;
}

/** Management API base (for the collector and the health probe). */
export function rabbitmqManagementUrl(ctx: Pick<StackContext, 'config'>): string {
  return `http://guest:guest@${ctx.config.host}:${ctx.config.ports.rabbitmqManagement}/`;
}

export function rabbitmqConfig(ctx: Pick<StackContext, 'config'>): string {
  const { host, ports } = ctx.config;
  return [
    `listeners.tcp.default = ${host}:${ports.rabbitmq}`,
    `management.tcp.ip = ${host}`,
    `management.tcp.port = ${ports.rabbitmqManagement}`,
    // message rates every 2 s rather than 5 s: the collector reads them every second or two
    'collect_statistics_interval = 2000',
    // a small disk must not block publishers in tests; the stack's data lives on the same disk as the rest
    'disk_free_limit.absolute = 200MB',
    'log.console = true',
    'log.console.level = warning',
    'log.file = false',
    '',
  ].join('\n');
}

function check(): void {
  const v = rabbitmqInstalledVersion();
  if (!v || !fs.existsSync(rabbitmqServer)) throw new UserError('rabbitmq-server is not installed: apt-get install rabbitmq-server');
  if (!v.startsWith(`${versions.rabbitmq}.`))
    throw new UserError(`rabbitmq-server ${v} is installed; capacity is pinned to ${versions.rabbitmq}.x (Debian bookworm's)`);
}

export const rabbitmq: Component = {
  name: 'rabbitmq',
  version: rabbitmqInstalledVersion() ?? versions.rabbitmq,
  ports: (ctx) => [ctx.config.ports.rabbitmq, ctx.config.ports.rabbitmqManagement, ctx.config.ports.rabbitmqDist],
  isInstalled: () => {
    try {
      check();
      return true;
    } catch {
      return false;
    }
  },
  async install() {
    check();
  },
  async start(ctx) {
    const dir = home(ctx);
    fs.mkdirSync(path.join(dir, 'mnesia'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'rabbitmq.conf'), rabbitmqConfig(ctx));
    fs.writeFileSync(path.join(dir, 'enabled_plugins'), '[rabbitmq_management].\n');
    fs.writeFileSync(path.join(dir, 'rabbitmq-env.conf'), '# capacity sets everything through the environment\n');
    const dist = String(ctx.config.ports.rabbitmqDist);
    startDetached({
      name: 'rabbitmq',
      command: rabbitmqServer,
      // the distribution port pinned both ways (RABBITMQ_DIST_PORT and the kernel's listen range)
      args: ['-kernel', 'inet_dist_listen_min', dist, '-kernel', 'inet_dist_listen_max', dist],
      runDir: ctx.paths.run,
      logFile: this.logFile(ctx),
      marker: `inet_dist_listen_min ${dist}`,
      cwd: dir,
      env: {
        ...process.env,
        // the Erlang cookie goes in $HOME: the node's own, not root's
        HOME: dir,
        RABBITMQ_NODENAME: rabbitmqNodeName(ctx),
        RABBITMQ_NODE_IP_ADDRESS: ctx.config.host,
        RABBITMQ_NODE_PORT: String(ctx.config.ports.rabbitmq),
        RABBITMQ_DIST_PORT: dist,
        RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
        RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq.conf'),
        RABBITMQ_ADVANCED_CONFIG_FILE: path.join(dir, 'advanced.config'),
        RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
        RABBITMQ_CONF_ENV_FILE: path.join(dir, 'rabbitmq-env.conf'),
        RABBITMQ_PID_FILE: path.join(ctx.paths.run, 'rabbitmq-beam.pid'),
        RABBITMQ_LOG_BASE: path.join(ctx.paths.logs, 'rabbitmq'),
        RABBITMQ_LOGS: '-',
      },
    });
  },
  // Healthy when the management API answers and the node reports no alarm (memory, disk).
  async healthy(ctx) {
    try {
      const base = `http://${ctx.config.host}:${ctx.config.ports.rabbitmqManagement}`;
      const res = await fetch(`${base}/api/health/checks/alarms`, {
        headers: { Authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
        signal: AbortSignal.timeout(2000),
      });
      return res.ok;
    } catch {
      return false;
    }
  },
  endpoint: (ctx) => rabbitmqUrl(ctx),
  logFile: (ctx) => path.join(ctx.paths.logs, 'rabbitmq.log'),
};
