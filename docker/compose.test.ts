// The compose files parse and reference only what exists: services, ports, variables, files, images.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { versions } from '../stack/config.ts';
import { repoRoot } from '../core/paths.ts';
import { pillows } from '../hq/index.ts';
import {
  COMMCARE_HQ_COMPOSE,
  CONTAINER_PORT_VARS,
  containerPorts,
  DEFAULT_CONTAINER_PORTS,
  dockerDir,
  LOCAL_STACK_COMPOSE,
} from './containers.ts';

interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[] | string;
  depends_on?: Record<string, unknown> | string[];
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string | number | boolean>;
  healthcheck?: unknown;
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

function load(file: string): { doc: Compose; text: string } {
  const text = fs.readFileSync(path.join(dockerDir, file), 'utf8');
  const parsed = YAML.parseDocument(text, { merge: true });
  assert.deepEqual(parsed.errors, [], `${file} parses`);
  return { doc: parsed.toJS({ maxAliasCount: 100 }) as Compose, text };
}

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*)|(:?\?)([^}]*))?\}/g;

/** Compose interpolation with defaults only (what the file gives when no variable is set). */
function interpolate(s: string): string {
  return s.replace(VAR, (_m, _name, dash, def, q) => (dash ? def : q ? '<required>' : ''));
}

function hostPort(spec: string): number {
  // "127.0.0.1:35432:5432", "35432:5432", "39092:39092"
  const parts = interpolate(spec).split(':');
  return Number(parts.length === 3 ? parts[1] : parts[0]);
}

function checkCommon(file: string, doc: Compose, text: string): void {
  const names = new Set(Object.keys(doc.services));
  // every variable has a default or says what to set: nothing silently empty
  for (const m of text.matchAll(VAR)) assert.ok(m[2] || m[4], `${file}: \${${m[1]}} has neither a default nor a required message`);
  const seen = new Map<number, string>();
  for (const [name, svc] of Object.entries(doc.services)) {
    assert.ok(svc.image || svc.build, `${file}: ${name} has an image or a build`);
    const deps = Array.isArray(svc.depends_on) ? svc.depends_on : Object.keys(svc.depends_on ?? {});
    for (const d of deps) assert.ok(names.has(d), `${file}: ${name} depends on ${d}, which is not a service`);
    for (const p of svc.ports ?? []) {
      const port = hostPort(p);
      assert.ok(Number.isInteger(port) && port >= 1024 && port <= 65535, `${file}: ${name} publishes ${p}`);
      assert.ok(!seen.has(port), `${file}: host port ${port} published by ${seen.get(port)} and ${name}`);
      seen.set(port, name);
      assert.match(p, /^127\.0\.0\.1:/, `${file}: ${name} publishes on loopback only`);
    }
    for (const v of svc.volumes ?? []) {
      const src = v.split(':')[0]!;
      if (src.startsWith('./')) assert.ok(fs.existsSync(path.join(dockerDir, src)), `${file}: ${name} mounts ${src}, which exists`);
      else if (!src.startsWith('$') && !src.startsWith('/'))
        assert.ok(doc.volumes && src in doc.volumes, `${file}: named volume ${src} is declared`);
    }
  }
}

describe('docker/local-stack.compose.yml', () => {
  const { doc, text } = load(LOCAL_STACK_COMPOSE);

  it("has every component of the local stack, at the local stack's versions", () => {
    assert.deepEqual(Object.keys(doc.services).sort(), [
      'celery-1',
      'celery-2',
      'elasticsearch',
      'kafka',
      'nginx',
      'pillow-case',
      'pillow-ucr',
      'pillow-xform',
      'postgres',
      'rabbitmq',
      'redis',
      'web-1',
      'web-2',
      'web-3',
    ]);
    assert.match(
      String(doc.services.rabbitmq!.image),
      new RegExp(`^rabbitmq:${versions.rabbitmq.replace('.', '\\.')}-management$`),
      "Debian's RabbitMQ line, management on",
    );
    assert.equal(doc.services.postgres!.image, `postgres:${versions.postgres}`);
    assert.equal(doc.services.kafka!.image, `apache/kafka:${versions.kafka}`);
    assert.equal(doc.services.elasticsearch!.image, `docker.elastic.co/elasticsearch/elasticsearch:${versions.elasticsearch}`);
    assert.equal(doc.services.elasticsearch!.environment!['xpack.security.enabled'], 'false');
    assert.equal(doc.services.elasticsearch!.environment!['discovery.type'], 'single-node');
    assert.match(String(doc.services.kafka!.environment!.KAFKA_PROCESS_ROLES), /broker,controller/, 'KRaft, no ZooKeeper');
  });

  it('references only services, ports, variables and files that exist', () => {
    checkCommon(LOCAL_STACK_COMPOSE, doc, text);
    // every published port is one the harness knows how to reach
    const published = Object.entries(doc.services).flatMap(([n, s]) => (s.ports ?? []).map((p) => [n, hostPort(p)] as const));
    assert.deepEqual(Object.fromEntries(published), {
      postgres: DEFAULT_CONTAINER_PORTS.postgres,
      redis: DEFAULT_CONTAINER_PORTS.redis,
      kafka: DEFAULT_CONTAINER_PORTS.kafka,
      elasticsearch: DEFAULT_CONTAINER_PORTS.elasticsearch,
      nginx: DEFAULT_CONTAINER_PORTS.nginx,
      rabbitmq: DEFAULT_CONTAINER_PORTS.rabbitmqManagement,
    });
    for (const v of Object.values(CONTAINER_PORT_VARS)) assert.ok(text.includes(`\${${v}:-`), `${v} is used with a default`);
    assert.deepEqual(containerPorts({ CAPACITY_CONTAINERS_NGINX_PORT: '40080' }).nginx, 40080);
    assert.throws(() => containerPorts({ CAPACITY_CONTAINERS_NGINX_PORT: '80' }), /between 1024/);
  });

  it('builds the HQ-compatible service from this repository: Dockerfile, its COPY sources and the scripts it runs exist', () => {
    const hq = Object.entries(doc.services).filter(([, s]) => s.build);
    assert.deepEqual(hq.map(([n]) => n).sort(), [
      'celery-1',
      'celery-2',
      'pillow-case',
      'pillow-ucr',
      'pillow-xform',
      'web-1',
      'web-2',
      'web-3',
    ]);
    for (const [name, s] of hq) {
      const context = path.resolve(dockerDir, s.build!.context);
      assert.equal(context, repoRoot, `${name}: context is the repository`);
      const dockerfile = path.join(context, s.build!.dockerfile!);
      assert.ok(fs.existsSync(dockerfile), `${name}: ${dockerfile} exists`);
      const cmd = (s.command as string[]).map(interpolate);
      const script = cmd.find((c) => c.endsWith('.ts'))!;
      assert.ok(fs.existsSync(path.join(repoRoot, script)), `${name}: runs ${script}, which exists`);
      if (name.startsWith('pillow-')) assert.ok(cmd[cmd.indexOf('--pillow') + 1]! in pillows, `${name}: a pillow the service has`);
      else if (name.startsWith('web-'))
        assert.deepEqual(cmd.slice(cmd.indexOf('--host'), cmd.indexOf('--host') + 2), ['--host', '0.0.0.0']);
      else assert.deepEqual(cmd.slice(cmd.indexOf('--name'), cmd.indexOf('--name') + 2), ['--name', name], `${name}: its own worker name`);
      const reaches = name.startsWith('celery-') ? ['postgres', 'rabbitmq', 'redis'] : ['postgres', 'kafka', 'elasticsearch'];
      if (name.startsWith('web-')) reaches.push('rabbitmq', 'redis');
      for (const host of reaches) assert.ok(cmd.join(' ').includes(host), `${name} reaches ${host} by service name`);
    }
    const dockerfile = fs.readFileSync(path.join(dockerDir, 'hq.Dockerfile'), 'utf8');
    const ignore = fs.readFileSync(path.join(dockerDir, 'hq.Dockerfile.dockerignore'), 'utf8');
    for (const m of dockerfile.matchAll(/^COPY\s+(.+)\s+\S+$/gm)) {
      for (const src of m[1]!.split(/\s+/)) {
        assert.ok(fs.existsSync(path.join(repoRoot, src)), `hq.Dockerfile copies ${src}, which exists`);
        assert.ok(ignore.includes(`!${src}`), `${src} is let through hq.Dockerfile.dockerignore`);
      }
    }
    assert.match(ignore, /^\*$/m, 'everything else (.capacity, node_modules, results) stays out of the build context');
  });

  it('nginx sends to the web workers the file defines', () => {
    const conf = fs.readFileSync(path.join(dockerDir, 'nginx', 'nginx.conf'), 'utf8');
    const upstreams = [...conf.matchAll(/server\s+([\w-]+):(\d+)/g)].map((m) => m[1]);
    assert.deepEqual(upstreams, ['web-1', 'web-2', 'web-3']);
    for (const u of upstreams) assert.ok(u! in doc.services);
    assert.match(conf, /least_conn/);
    assert.match(conf, /stub_status/);
  });
});

describe('docker/commcare-hq.compose.yml', () => {
  const { doc, text } = load(COMMCARE_HQ_COMPOSE);

  it('references only services, ports, variables and files that exist', () => {
    checkCommon(COMMCARE_HQ_COMPOSE, doc, text);
    const conf = fs.readFileSync(path.join(dockerDir, 'nginx', 'commcare-hq.conf'), 'utf8');
    for (const m of conf.matchAll(/server\s+([\w-]+):(\d+)/g)) assert.ok(m[1]! in doc.services, `nginx upstream ${m[1]} is a service`);
    for (const [name, s] of Object.entries(doc.services)) {
      if (!s.build || s.build.context.startsWith('$')) continue;
      assert.ok(fs.existsSync(path.join(dockerDir, s.build.context, s.build.dockerfile ?? 'Dockerfile')), `${name}: Dockerfile exists`);
    }
  });

  it("uses Dimagi's published images where they exist and says which parts have none", () => {
    assert.equal(doc.services.formplayer!.image, 'docker.io/dimagi/formplayer');
    assert.match(doc.services.postgres!.image!, /^docker\.io\/dimagi\/docker-postgresql:/);
    // HQ itself: built from a checkout on top of dimagi/commcarehq_base (no published application image)
    for (const n of ['web', 'pillows', 'celery']) assert.match(doc.services[n]!.build!.context, /^\$\{COMMCARE_HQ_SRC:\?/);
    assert.match(text, /NO published application image/);
    assert.match(text, /dimagi\/commcarehq_base/);
    assert.match(text, /Elasticsearch: NO Dimagi image/);
    assert.match(text, /CouchDB:\s+NO current Dimagi image/);
  });
});
