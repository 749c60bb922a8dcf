import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { UserError } from '../core/errors.ts';
import { HqApiClient, readApiKeyFile, retryAfterMs } from './hq-api.ts';

/** An HTTP server answering from a list of [status, headers] in turn, recording the requests it saw. */
async function scripted(answers: [number, Record<string, string>][]): Promise<{ url: string; seen: string[]; close: () => void }> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.headers.authorization}`);
    const [status, headers] = answers.shift() ?? [200, {}];
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(status === 200 ? '{"ok":true}' : '{"error":"slow down"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => server.close() };
}

describe('HQ API client', () => {
  it('Retry-After in seconds or as a date', () => {
    assert.equal(retryAfterMs('3'), 3000);
    assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 4000), 6000);
    assert.equal(retryAfterMs(null), undefined);
    assert.equal(retryAfterMs('soon'), undefined);
  });

  it('429 then 503: waits as long as Retry-After asks, then succeeds; the key goes as ApiKey', async () => {
    const s = await scripted([
      [429, { 'Retry-After': '2' }],
      [503, { 'Retry-After': '1' }],
      [200, {}],
    ]);
    const waits: number[] = [];
    try {
      const client = new HqApiClient({ baseUrl: s.url, apiKey: 'me@x.org:k3y', sleep: async (ms) => void waits.push(ms) });
      const res = await client.request('GET', '/a/d/api/v0.5/user/');
      assert.deepEqual(res.data, { ok: true });
      assert.deepEqual(waits, [2000, 1000]);
      assert.equal(client.throttled, 1);
      assert.deepEqual(s.seen, Array(3).fill('GET ApiKey me@x.org:k3y'));
    } finally {
      s.close();
    }
  });

  it('gives up after its attempts with one line; a refused key says what it needs', async () => {
    const s = await scripted([
      [429, {}],
      [429, {}],
      [429, {}],
      [401, {}],
    ]);
    try {
      const client = new HqApiClient({ baseUrl: s.url, apiKey: 'a:b', attempts: 3, sleep: async () => undefined });
      await assert.rejects(
        client.request('GET', '/x'),
        (e: unknown) => e instanceof UserError && /still 429 after 3 attempts/.test(e.message),
      );
      await assert.rejects(client.request('GET', '/x'), (e: unknown) => e instanceof UserError && /API key was refused/.test(e.message));
    } finally {
      s.close();
    }
  });

  it('reads the API key file: one line <user>:<key>, else one line saying so', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apikey-'));
    fs.writeFileSync(path.join(dir, 'ok'), '# key\nme@example.org:abc123\n');
    fs.writeFileSync(path.join(dir, 'bad'), 'abc123\n');
    assert.equal(readApiKeyFile(path.join(dir, 'ok')), 'me@example.org:abc123');
    assert.throws(() => readApiKeyFile(path.join(dir, 'bad')), /expected one line <web user>:<API key>/);
    assert.throws(() => readApiKeyFile(path.join(dir, 'none')), /cannot read API key file .*ENOENT/);
    fs.rmSync(dir, { recursive: true });
  });
});
