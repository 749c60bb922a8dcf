import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseKeyspaceValue, parseRedisInfo } from './redis.ts';

describe('parseRedisInfo', () => {
  it('groups INFO by section', () => {
    const info = parseRedisInfo(
      '# Server\r\nredis_version:7.0.15\r\n\r\n# Memory\r\nused_memory:1000\r\nused_memory_human:1000B\r\n# Keyspace\r\ndb0:keys=12,expires=1,avg_ttl=0\r\n',
    );
    assert.equal(info.server?.redis_version, '7.0.15');
    assert.equal(info.memory?.used_memory, '1000');
    assert.deepEqual(parseKeyspaceValue(info.keyspace!.db0!), { keys: 12, expires: 1, avg_ttl: 0 });
  });
});
