import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stackPaths } from '../core/paths.ts';
import { containerStackConfig, DEFAULT_CONTAINER_PORTS } from './container-ports.ts';
import { stackSpecs } from './container-specs.ts';
import { engineSpec, PORTS_LABEL } from './container-stack.ts';
import { createOptions, type ContainerSpec } from './engine.ts';
import { IMAGE_NAMES, type ImageName } from './images.ts';

const tags = Object.fromEntries(IMAGE_NAMES.map((n) => [n, `capacity/${n}:t`])) as Record<ImageName, string>;
const paths = stackPaths('/tmp/capx');
const specs = stackSpecs(containerStackConfig(DEFAULT_CONTAINER_PORTS));
const engine = (component: string): ContainerSpec =>
  engineSpec(
    specs.find((s) => s.component === component)!,
    { stack: 'it', ports: DEFAULT_CONTAINER_PORTS, tags, paths },
  );

test('every container publishes on 127.0.0.1 only, on the port plan, and carries the plan and the stack label', () => {
  const published: number[] = [];
  for (const s of specs) {
    const o = createOptions(engine(s.component));
    for (const b of Object.values(o.HostConfig!.PortBindings as Record<string, { HostIp: string; HostPort: string }[]>)) {
      assert.equal(b[0]!.HostIp, '127.0.0.1');
      published.push(Number(b[0]!.HostPort));
    }
    assert.equal(o.Labels!['capacity.stack'], 'it');
    assert.deepEqual(JSON.parse(o.Labels![PORTS_LABEL]!), DEFAULT_CONTAINER_PORTS);
    assert.equal(o.name, `it-${s.component}`);
    assert.deepEqual(o.NetworkingConfig!.EndpointsConfig!['it-net']!.Aliases, [s.component]);
  }
  assert.deepEqual(
    published.sort((a, b) => a - b),
    [33001, 33002, 33003, 33080, 33092, 33200, 33379, 33432, 33672, 33673],
  );
  assert.deepEqual(engine('web-3').ports, { 8000: 33003 });
  assert.equal(engine('kafka').image, 'capacity/kafka:t');
});

test('the blob store and nginx config are bind mounts from the stack folder under .capacity', () => {
  assert.deepEqual(engine('pillow-xform').binds, { '/tmp/capx/containers/it/blobs': '/data/blobs' });
  assert.deepEqual(engine('nginx').binds, { '/tmp/capx/containers/it/nginx.conf': '/etc/capacity/nginx.conf:ro' });
  assert.deepEqual(engine('postgres').binds, {});
});

test("the service's containers run as the user running capacity (the blob store's files are theirs); the rest as their images say", () => {
  assert.equal(engine('web-1').user, `${process.getuid!()}:${process.getgid!()}`);
  assert.equal(engine('postgres').user, undefined);
});
