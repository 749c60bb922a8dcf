// The compose file of a real CommCare HQ parses and reference only what exists: services, ports, variables, files, images.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import YAML from 'yaml';

const dockerDir = path.dirname(fileURLToPath(import.meta.url));
const COMMCARE_HQ_COMPOSE = 'commcare-hq.compose.yml';

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
