import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../core/errors.ts';
import { isLoopbackHost, parseCredentials, parseTargetUrl } from './url-checks.ts';

describe('targets', () => {
  it('knows loopback addresses', () => {
    for (const h of ['localhost', '127.0.0.1', '127.3.4.5', '[::1]', 'hq.localhost']) assert.equal(isLoopbackHost(h), true, h);
    for (const h of ['10.0.0.1', '192.168.1.1', 'hq.example.org', '::2', '128.0.0.1']) assert.equal(isLoopbackHost(h), false, h);
  });
  it('refuses a remote target without --allow-remote, and URLs carrying credentials', () => {
    assert.throws(
      () => parseTargetUrl('https://hq.example.org', false),
      (e: unknown) => e instanceof UserError && /--allow-remote/.test(e.message),
    );
    assert.equal(parseTargetUrl('https://hq.example.org', true).origin, 'https://hq.example.org');
    assert.equal(parseTargetUrl('http://127.0.0.1:18080', false).port, '18080');
    assert.throws(() => parseTargetUrl('http://u:p@127.0.0.1', false), /must not carry credentials/);
    assert.throws(() => parseTargetUrl('not a url', false), /must be "local" or a URL/);
    assert.throws(() => parseTargetUrl('ftp://127.0.0.1', false), /only http and https/);
  });
  it('reads credentials as CSV or JSON, with line numbers in errors', () => {
    assert.deepEqual(parseCredentials('# workers\nmw1@d.commcarehq.org,pa,ss\nmw2,x\n', 'c.csv'), [
      { username: 'mw1@d.commcarehq.org', password: 'pa,ss' },
      { username: 'mw2', password: 'x' },
    ]);
    assert.deepEqual(parseCredentials('[{"username":"a","password":"b"}]', 'c.json'), [{ username: 'a', password: 'b' }]);
    assert.throws(() => parseCredentials('a\n', 'c.csv'), /c.csv:1: expected username,password/);
    assert.throws(() => parseCredentials('[{"username":"a"}]', 'c.json'), /entry 1 needs username and password/);
  });
});
