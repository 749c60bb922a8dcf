import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { containerName, createOptions, demux, specChanges, STACK_LABEL } from './engine.ts';

test('a spec publishes its ports on loopback only and carries the stack label', () => {
  const o = createOptions({
    image: 'i',
    name: containerName('s1', 'postgres'),
    stack: 's1',
    component: 'postgres',
    ports: { 5432: 35432 },
    network: 'n',
    cpus: 0.5,
    memoryBytes: 1 << 20,
  });
  assert.equal(o.name, 's1-postgres');
  assert.deepEqual(o.HostConfig?.PortBindings, { '5432/tcp': [{ HostIp: '127.0.0.1', HostPort: '35432' }] });
  assert.equal(o.Labels?.[STACK_LABEL], 's1');
  assert.equal(o.HostConfig?.NanoCpus, 5e8);
  assert.deepEqual(o.NetworkingConfig?.EndpointsConfig?.n?.Aliases, ['postgres']);
});

test('a spec refuses a host address off loopback', () => {
  assert.throws(
    () => createOptions({ image: 'i', name: 'x', stack: 's', component: 'c', ports: { 80: 8080 }, hostIp: '0.0.0.0' }),
    /loopback only/,
  );
});

test('the engine log stream is demultiplexed', () => {
  const frame = (kind: number, text: string) => {
    const body = Buffer.from(text);
    const head = Buffer.alloc(8);
    head[0] = kind;
    head.writeUInt32BE(body.length, 4);
    return Buffer.concat([head, body]);
  };
  assert.equal(demux(Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n')])), 'out\nerr\n');
  assert.equal(demux(Buffer.from('plain')), 'plain');
});

describe('a container kept or made again', () => {
  const spec = {
    image: 'capacity/hq:aaa',
    name: 's-web-1',
    stack: 's',
    component: 'web-1',
    env: { CAPACITY_HQ_DELAY_MS: '0', ROLE: 'web' },
  };
  it('is kept when its image and every variable of the spec are as created (the image may add its own)', () => {
    assert.deepEqual(specChanges(spec, { image: 'capacity/hq:aaa', env: ['PATH=/usr/bin', 'ROLE=web', 'CAPACITY_HQ_DELAY_MS=0'] }), []);
  });
  it('names a command that changed (a web worker given another --delay-ms)', () => {
    const withCmd = { ...spec, cmd: ['node', 'web.ts', '--delay-ms', '0'] };
    const env = ['ROLE=web', 'CAPACITY_HQ_DELAY_MS=0'];
    assert.deepEqual(specChanges(withCmd, { image: 'capacity/hq:aaa', cmd: ['node', 'web.ts', '--delay-ms', '0'], env }), []);
    assert.deepEqual(specChanges(withCmd, { image: 'capacity/hq:aaa', cmd: ['node', 'web.ts', '--delay-ms', '50'], env }), ['command']);
  });
  it('names what changed: the image, a variable with another value, a variable missing', () => {
    assert.deepEqual(specChanges(spec, { image: 'capacity/hq:old', env: ['ROLE=web', 'CAPACITY_HQ_DELAY_MS=0'] }), ['image']);
    assert.deepEqual(specChanges(spec, { image: 'capacity/hq:aaa', env: ['ROLE=web', 'CAPACITY_HQ_DELAY_MS=50'] }), [
      'CAPACITY_HQ_DELAY_MS',
    ]);
    assert.deepEqual(specChanges(spec, { image: 'capacity/hq:aaa', env: ['CAPACITY_HQ_DELAY_MS=0'] }), ['ROLE']);
  });
});
