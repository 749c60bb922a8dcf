// Redis from Debian on loopback, no persistence (HQ uses it as a cache and lock store).
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { UserError } from '../../core/errors.ts';
import type { Component, StackContext } from '../component.ts';
import { startDetached } from '../process.ts';

/** One short-lived connection for a health check: false when Redis does not answer or `check` throws. */
export async function probeRedis(ctx: Pick<StackContext, 'config'>, check: (client: Redis) => Promise<boolean>): Promise<boolean> {
  const client = new Redis(redisUrl(ctx), { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await check(client);
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export const redisBinary = '/usr/bin/redis-server';

export function redisUrl(ctx: Pick<StackContext, 'config'>): string {
  return `redis://${ctx.config.host}:${ctx.config.ports.redis}`;
}

export const redis: Component = {
  name: 'redis',
  version: 'debian',
  ports: (ctx) => [ctx.config.ports.redis],
  isInstalled: () => fs.existsSync(redisBinary),
  async install() {
    if (!fs.existsSync(redisBinary)) throw new UserError('redis-server is not installed: apt-get install redis-server');
  },
  async start(ctx) {
    const dir = path.join(ctx.paths.data, 'redis');
    fs.mkdirSync(dir, { recursive: true });
    startDetached({
      name: 'redis',
      command: redisBinary,
      args: [
        '--port',
        String(ctx.config.ports.redis),
        '--bind',
        ctx.config.host,
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        '--maxmemory',
        '256mb',
        '--maxmemory-policy',
        'allkeys-lru',
      ],
      runDir: ctx.paths.run,
      logFile: this.logFile(ctx),
      marker: `${ctx.config.host}:${ctx.config.ports.redis}`,
      cwd: dir,
    });
  },
  healthy: (ctx) => probeRedis(ctx, async (client) => (await client.ping()) === 'PONG'),
  endpoint: (ctx) => redisUrl(ctx),
  logFile: (ctx) => path.join(ctx.paths.logs, 'redis.log'),
};
