import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  containerPorts,
  containerStackConfig,
  containerStackName,
  DEFAULT_CONTAINER_PORTS,
  hostPorts,
  portVariable,
} from './container-ports.ts';

// the ports another helper's local stack uses on these machines: the defaults keep clear of them
const TAKEN = [35432, 36379, 39092, 39093, 39200, 39300, 38180, 36672, 36673, 36674, 38101];

test('the defaults are 3xxxx, distinct, clear of the local stack and of the ports already taken here', () => {
  const all = hostPorts(containerPorts({})).map((p) => p.port);
  assert.equal(new Set(all).size, all.length);
  for (const p of all) {
    assert.ok(p >= 30000 && p < 40000, `${p} is 3xxxx`);
    assert.ok(!TAKEN.includes(p), `${p} is not taken`);
  }
  assert.deepEqual(
    hostPorts(DEFAULT_CONTAINER_PORTS)
      .filter((p) => p.what.startsWith('web-'))
      .map((p) => p.port),
    [33001, 33002, 33003],
  );
});

test('each port moves with its variable; bad values and clashes are one clear line', () => {
  assert.equal(portVariable('rabbitmqManagement'), 'CAPACITY_CONTAINERS_RABBITMQ_MANAGEMENT_PORT');
  const p = containerPorts({ CAPACITY_CONTAINERS_NGINX_PORT: '40080', CAPACITY_CONTAINERS_WEB_PORT: '40001' });
  assert.equal(p.nginx, 40080);
  assert.equal(p.web, 40001);
  assert.equal(p.postgres, DEFAULT_CONTAINER_PORTS.postgres);
  assert.throws(() => containerPorts({ CAPACITY_CONTAINERS_NGINX_PORT: '80' }), /CAPACITY_CONTAINERS_NGINX_PORT=80: a port between 1024/);
  // web-2 would land on nginx's port
  assert.throws(() => containerPorts({ CAPACITY_CONTAINERS_WEB_PORT: '33079' }), /nginx and web-2 would both publish port 33080/);
});

test("the stack's name defaults to capacity and must be usable in container names", () => {
  assert.equal(containerStackName({}), 'capacity');
  assert.equal(containerStackName({ CAPACITY_CONTAINERS_STACK: 'it-1' }), 'it-1');
  assert.throws(() => containerStackName({ CAPACITY_CONTAINERS_STACK: 'Bad Name' }), /CAPACITY_CONTAINERS_STACK/);
});

test("the stack config carries the published ports, so the local stack's URL helpers reach the containers", () => {
  const cfg = containerStackConfig(DEFAULT_CONTAINER_PORTS);
  assert.equal(cfg.ports.postgres, 33432);
  assert.equal(cfg.ports.web, 33001);
  assert.equal(cfg.host, '127.0.0.1');
});
