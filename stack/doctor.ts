// `capacity doctor`: every prerequisite and component with its version, its state and what to do about it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { BENCH_INSTALL, benchTools } from './bench-tools.ts';
import type { StackContext } from './component.ts';
import { versions } from './config.ts';
import { k6Binary, k6Version } from './components/k6.ts';
import { javaMajorVersion } from './components/kafka.ts';
import { nginxBinary } from './components/nginx.ts';
import { pgBinDir } from './components/postgres.ts';
import { rabbitmqInstalledVersion } from './components/rabbitmq.ts';
import { redisBinary } from './components/redis.ts';
import { stackStatus } from './stack.ts';

export interface Check {
  name: string;
  version: string;
  ok: boolean;
  state: string;
  fix?: string;
}

function versionOf(cmd: string, args: string[], pattern: RegExp): string | undefined {
  const res = spawnSync(cmd, args, { encoding: 'utf8' });
  if (res.status !== 0 && !res.stdout && !res.stderr) return undefined;
  return pattern.exec(`${res.stdout ?? ''}${res.stderr ?? ''}`)?.[1];
}

function dpkgInstalled(pkg: string): boolean {
  const res = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return res.status === 0 && res.stdout.includes('install ok installed');
}

export function prerequisiteChecks(): Check[] {
  const checks: Check[] = [];
  const node = process.versions.node;
  checks.push({ name: 'node', version: node, ok: Number(node.split('.')[0]) >= 20, state: 'found', fix: 'install Node.js 20' });
  const npm = versionOf('npm', ['--version'], /(\d+\.\d+\.\d+)/);
  checks.push({ name: 'npm', version: npm ?? '-', ok: !!npm, state: npm ? 'found' : 'missing', fix: 'install npm' });
  const go = versionOf('go', ['version'], /go(\d+\.\d+(?:\.\d+)?)/);
  checks.push({
    name: 'go',
    version: go ?? '-',
    ok: !!go,
    state: go ? 'found' : 'missing',
    fix: 'install Go >= 1.25 (k6 is built from k6x/ with go build)',
  });
  const java = javaMajorVersion();
  checks.push({
    name: 'java',
    version: java ? String(java) : '-',
    ok: (java ?? 0) >= 17,
    state: java ? 'found' : 'missing',
    fix: 'apt-get install openjdk-17-jre-headless (Kafka and Elasticsearch need Java 17+)',
  });
  const mvn = versionOf('mvn', ['-v'], /Apache Maven (\d+\.\d+\.\d+)/);
  checks.push({ name: 'maven', version: mvn ?? '-', ok: !!mvn, state: mvn ? 'found' : 'missing', fix: 'apt-get install maven' });
  const pg = fs.existsSync(`${pgBinDir}/postgres`) ? versionOf(`${pgBinDir}/postgres`, ['--version'], /(\d+\.\d+)/) : undefined;
  checks.push({
    name: `postgresql-${versions.postgres}`,
    version: pg ?? '-',
    ok: !!pg,
    state: pg ? 'found' : 'missing',
    fix: 'apt-get install postgresql-15 postgresql-contrib',
  });
  const ngx = fs.existsSync(nginxBinary) ? versionOf(nginxBinary, ['-v'], /nginx\/(\S+)/) : undefined;
  checks.push({ name: 'nginx', version: ngx ?? '-', ok: !!ngx, state: ngx ? 'found' : 'missing', fix: 'apt-get install nginx-light' });
  const rds = fs.existsSync(redisBinary) ? versionOf(redisBinary, ['--version'], /v=(\S+)/) : undefined;
  checks.push({
    name: 'redis-server',
    version: rds ?? '-',
    ok: !!rds,
    state: rds ? 'found' : 'missing',
    fix: 'apt-get install redis-server',
  });
  const rmq = rabbitmqInstalledVersion();
  const rmqOk = !!rmq && rmq.startsWith(`${versions.rabbitmq}.`);
  checks.push({
    name: 'rabbitmq-server',
    version: rmq ?? '-',
    ok: rmqOk,
    state: rmq ? (rmqOk ? 'found' : `not ${versions.rabbitmq}.x`) : 'missing',
    fix: `apt-get install rabbitmq-server (Debian bookworm's ${versions.rabbitmq})`,
  });
  const unzip = versionOf('unzip', ['-v'], /UnZip (\S+)/);
  checks.push({ name: 'unzip', version: unzip ?? '-', ok: !!unzip, state: unzip ? 'found' : 'missing', fix: 'apt-get install unzip' });
  const cairo = dpkgInstalled('libcairo2-dev') && dpkgInstalled('libpango1.0-dev');
  checks.push({
    name: 'canvas build libs',
    version: '-',
    ok: cairo,
    state: cairo ? 'found' : 'missing',
    fix: 'apt-get install libcairo2-dev libpango1.0-dev libjpeg-dev libgif-dev librsvg2-dev pkg-config (charts in reports)',
  });
  return checks;
}

/** The benchmarks' prerequisites: optional (the CLI and the tests run without them), installed by one command. */
export function benchChecks(home?: string): Check[] {
  return benchTools(home).map((t) => ({
    name: t.name,
    version: t.version
      ? t.wanted && t.version !== t.wanted
        ? `${t.version} (pinned ${t.wanted})`
        : t.version
      : t.wanted
        ? `- (pinned ${t.wanted})`
        : '-',
    ok: t.ok,
    state: t.state,
    fix: `run ${BENCH_INSTALL}`,
  }));
}

export async function componentChecks(ctx: StackContext): Promise<Check[]> {
  const rows = await stackStatus(ctx);
  return rows.map((r) => {
    let version = r.version;
    if (r.name === 'k6' && r.installed) version = k6Version(k6Binary(ctx)) ?? r.version;
    const ok = r.state === 'running' || r.state === 'installed' || r.state === 'stopped';
    const fix =
      r.state === 'missing'
        ? 'run `capacity stack up` (installs it)'
        : r.state === 'stopped'
          ? 'run `capacity stack up`'
          : r.state === 'unhealthy'
            ? `see \`capacity stack logs ${r.name}\``
            : undefined;
    return { name: r.name, version, ok, state: r.state, fix };
  });
}
