// Elasticsearch 8.x from Maven Central's integ-test-zip (no bundled JDK: it runs on the machine's Java 17),
// security off, single node, small heap. It refuses to run as root, so it runs as the service user.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../core/errors.ts';
import type { Component, StackContext } from '../component.ts';
import { versions } from '../config.ts';
import { copyArtifact } from '../maven.ts';
import { run, startDetached } from '../process.ts';
import { asServiceUser, assertUserCanRead, chownTree } from '../service-user.ts';
import { javaMajorVersion } from './kafka.ts';

const coordinates = `org.elasticsearch.distribution.integ-test-zip:elasticsearch:${versions.elasticsearch}:zip`;
const home = (ctx: StackContext) => path.join(ctx.paths.home, `elasticsearch-${versions.elasticsearch}`);
const dataDir = (ctx: StackContext) => path.join(ctx.paths.data, 'elasticsearch');
const workDir = (ctx: StackContext) => path.join(ctx.paths.run, 'elasticsearch');

export function elasticsearchUrl(ctx: Pick<StackContext, 'config'>): string {
  return `http://${ctx.config.host}:${ctx.config.ports.elasticsearch}`;
}

export function javaHome(): string {
  if (process.env.JAVA_HOME) return process.env.JAVA_HOME;
  const res = spawnSync('readlink', ['-f', spawnSync('which', ['java'], { encoding: 'utf8' }).stdout.trim()], {
    encoding: 'utf8',
  });
  return path.resolve(path.dirname(res.stdout.trim()), '..');
}

function configYaml(ctx: StackContext): string {
  const { host, ports } = ctx.config;
  return [
    'cluster.name: capacity-local',
    'node.name: capacity-es',
    `network.host: ${host}`,
    `http.port: ${ports.elasticsearch}`,
    `transport.port: ${ports.elasticsearchTransport}`,
    'discovery.type: single-node',
    'xpack.security.enabled: false',
    `path.data: ${dataDir(ctx)}`,
    `path.logs: ${path.join(workDir(ctx), 'logs')}`,
    // A loaded laptop-size disk must not flip indices to read-only in the middle of a run.
    'cluster.routing.allocation.disk.threshold_enabled: false',
    'action.destructive_requires_name: false',
    '',
  ].join('\n');
}

export const elasticsearch: Component = {
  name: 'elasticsearch',
  version: versions.elasticsearch,
  ports: (ctx) => [ctx.config.ports.elasticsearch, ctx.config.ports.elasticsearchTransport],
  isInstalled: (ctx) => fs.existsSync(path.join(home(ctx), 'bin', 'elasticsearch')),
  async install(ctx) {
    const major = javaMajorVersion();
    if (major === undefined || major < 17) {
      throw new UserError(
        `Elasticsearch ${versions.elasticsearch} needs Java 17 or newer (found ${major ?? 'none'}): apt-get install openjdk-17-jre-headless`,
      );
    }
    if (this.isInstalled(ctx)) return;
    const zip = path.join(ctx.paths.downloads, `elasticsearch-${versions.elasticsearch}.zip`);
    if (!fs.existsSync(zip)) {
      ctx.progress.step(`elasticsearch: fetching ${coordinates} from Maven Central (~95 MB)`);
      await copyArtifact(coordinates, ctx.paths.downloads, ctx.paths.m2);
    }
    ctx.progress.step('elasticsearch: unpacking');
    const tmp = `${home(ctx)}.partial`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    await run('unzip', ['-q', zip, '-d', tmp], { what: 'unzip elasticsearch' });
    const inner = path.join(tmp, `elasticsearch-${versions.elasticsearch}`);
    fs.rmSync(home(ctx), { recursive: true, force: true });
    fs.renameSync(inner, home(ctx));
    fs.rmSync(tmp, { recursive: true, force: true });
    chownTree(home(ctx), ctx.user);
  },
  async start(ctx) {
    for (const d of [dataDir(ctx), workDir(ctx), path.join(workDir(ctx), 'logs'), path.join(workDir(ctx), 'tmp')]) {
      fs.mkdirSync(d, { recursive: true });
      chownTree(d, ctx.user);
    }
    const configFile = path.join(home(ctx), 'config', 'elasticsearch.yml');
    fs.writeFileSync(configFile, configYaml(ctx));
    chownTree(path.join(home(ctx), 'config'), ctx.user);
    assertUserCanRead(path.join(home(ctx), 'bin', 'elasticsearch'), ctx.user);
    const heap = `${ctx.config.esHeapMb}m`;
    startDetached({
      name: 'elasticsearch',
      command: path.join(home(ctx), 'bin', 'elasticsearch'),
      args: ['-p', path.join(workDir(ctx), 'server.pid')],
      cwd: home(ctx),
      env: {
        PATH: process.env.PATH,
        ES_JAVA_HOME: javaHome(),
        ES_TMPDIR: path.join(workDir(ctx), 'tmp'),
        ES_JAVA_OPTS: `-Xms${heap} -Xmx${heap}`,
        HOME: workDir(ctx),
      },
      runDir: ctx.paths.run,
      logFile: this.logFile(ctx),
      marker: home(ctx),
      ...asServiceUser(ctx.user),
    });
  },
  async healthy(ctx) {
    try {
      const res = await fetch(`${elasticsearchUrl(ctx)}/_cluster/health`, { signal: AbortSignal.timeout(2000) });
      if (!res.ok) return false;
      const body = (await res.json()) as { status?: string };
      return body.status === 'green' || body.status === 'yellow';
    } catch {
      return false;
    }
  },
  endpoint: (ctx) => elasticsearchUrl(ctx),
  logFile: (ctx) => path.join(ctx.paths.logs, 'elasticsearch.log'),
};
