import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../core/paths.ts';
import { pillows } from '../hq/index.ts';
import { containerStackConfig, DEFAULT_CONTAINER_PORTS } from './container-ports.ts';
import { containerNginxConf, healthProbe, INNER_PORTS, stackSpecs } from './container-specs.ts';
import { IMAGE_NAMES } from './images.ts';

const cfg = containerStackConfig(DEFAULT_CONTAINER_PORTS);
const specs = stackSpecs(cfg);
const byName = Object.fromEntries(specs.map((s) => [s.component, s]));

test('the full stack: infrastructure, 3 web workers, 3 pillows, 2 export workers, nginx last; each with a probe', () => {
  assert.deepEqual(
    specs.map((s) => s.component),
    [
      'postgres',
      'redis',
      'rabbitmq',
      'kafka',
      'elasticsearch',
      'web-1',
      'web-2',
      'web-3',
      'pillow-xform',
      'pillow-case',
      'pillow-ucr',
      'celery-1',
      'celery-2',
      'nginx',
    ],
  );
  for (const s of specs) {
    assert.ok((IMAGE_NAMES as readonly string[]).includes(s.image), `${s.component}: an image images.ts builds`);
    assert.equal(typeof healthProbe(s.component), 'function');
  }
  assert.deepEqual(
    specs.map((s) => s.phase),
    [1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3],
  );
});

test("the service's containers run its entry points, reaching the infrastructure by name on the network", () => {
  for (const s of specs.filter((x) => x.image === 'hq')) {
    const cmd = s.cmd!;
    const script = cmd.find((c) => c.endsWith('.ts'))!;
    assert.ok(fs.existsSync(path.join(repoRoot, script)), `${s.component}: runs ${script}, which exists`);
    assert.ok(s.blobs, `${s.component}: mounts the blob store`);
    const line = cmd.join(' ');
    assert.match(line, /postgres:\/\/capacity:capacity@postgres:5432\/commcarehq/);
    if (!s.component.startsWith('celery')) assert.match(line, /--kafka kafka:9092 --es http:\/\/elasticsearch:9200/);
    if (s.component.startsWith('pillow-')) assert.ok(cmd[cmd.indexOf('--pillow') + 1]! in pillows);
  }
  assert.deepEqual(byName['web-2']!.publish, [{ inner: INNER_PORTS.web, port: 'web', offset: 1 }]);
  assert.ok(byName['web-1']!.cmd!.join(' ').includes('--host 0.0.0.0'), 'listens beyond its own loopback');
  assert.ok(byName['celery-2']!.cmd!.join(' ').includes('--name celery-2'));
});

test("Kafka tells the other containers its name and the host the published port; Elasticsearch's heap is the config's", () => {
  assert.equal(byName.kafka!.env!.KAFKA_INTERNAL, 'kafka:9092');
  assert.equal(byName.kafka!.env!.KAFKA_EXTERNAL, `127.0.0.1:${DEFAULT_CONTAINER_PORTS.kafka}`);
  assert.deepEqual(byName.kafka!.publish, [{ inner: INNER_PORTS.kafkaExternal, port: 'kafka' }]);
  assert.equal(byName.elasticsearch!.env!.ES_JAVA_OPTS, `-Xms${cfg.esHeapMb}m -Xmx${cfg.esHeapMb}m`);
});

test("nginx's upstream is the web workers by name, least_conn, with stub_status open to the engine's bridge", () => {
  const conf = containerNginxConf(['web-1', 'web-2', 'web-3']);
  const upstream = /upstream commcarehq \{([^}]*)\}/.exec(conf)?.[1] ?? '';
  assert.match(upstream, /least_conn;/);
  assert.deepEqual(
    [...upstream.matchAll(/server ([\w-]+):(\d+)/g)].map((m) => `${m[1]}:${m[2]}`),
    ['web-1:8000', 'web-2:8000', 'web-3:8000'],
  );
  assert.match(conf, /listen 80;/);
  assert.match(conf, /stub_status; allow 127\.0\.0\.0\/8; allow 10\.0\.0\.0\/8; allow 172\.16\.0\.0\/12;/);
  assert.doesNotMatch(conf, /^user /m);
});
