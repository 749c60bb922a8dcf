import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { maskUrlPasswords } from './redact.ts';

describe('maskUrlPasswords', () => {
  it('masks the password of every URL in a command line, and nothing else', () => {
    assert.equal(
      maskUrlPasswords('node web.ts --pg-url postgres://capacity:s3cr:et@127.0.0.1:45432/commcarehq --es http://127.0.0.1:9200 --x a:b@c'),
      'node web.ts --pg-url postgres://capacity:***@127.0.0.1:45432/commcarehq --es http://127.0.0.1:9200 --x a:b@c',
    );
    assert.equal(maskUrlPasswords('redis://:pw@h:1 amqp://u:p@h/v'), 'redis://:***@h:1 amqp://u:***@h/v');
  });
});
