import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../core/errors.ts';
import { configWithPorts, defaultPorts, parsePortOverrides, webWorkerPorts } from './config.ts';

describe('port overrides', () => {
  it('parses name=port lists', () => {
    assert.deepEqual(parsePortOverrides('postgres=25432, nginx=28080'), { postgres: 25432, nginx: 28080 });
    assert.deepEqual(parsePortOverrides(undefined), {});
  });
  it('rejects unknown names, bad syntax and out-of-range ports with one-line errors', () => {
    assert.throws(
      () => parsePortOverrides('mysql=3306'),
      (e: unknown) => e instanceof UserError && /unknown port name "mysql"/.test(e.message),
    );
    assert.throws(() => parsePortOverrides('postgres:5432'), /expected name=port/);
    assert.throws(() => parsePortOverrides('nginx=80'), /out of range/);
  });
  it('rejects two components on one port, including web worker ranges', () => {
    assert.throws(() => configWithPorts({ redis: defaultPorts.postgres }), /both 15432/);
    assert.throws(() => configWithPorts({ redis: defaultPorts.web + 1 }), /web worker port 18002 clashes with redis/);
  });
  it('gives consecutive web worker ports', () => {
    assert.deepEqual(webWorkerPorts(configWithPorts({ web: 20000 })), [20000, 20001, 20002]);
  });
});
