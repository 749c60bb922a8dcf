import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { base64Decode, base64Encode, utf8Decode, utf8Encode, utf8Length } from './encoding.ts';
import { Rng, isUuid } from './rng.ts';
import { civilFromDays, daysFromCivil, formatDateTime, parseDay } from './time.ts';

describe('Rng', () => {
  it('is deterministic per seed and path', () => {
    const a = new Rng(42, 'x');
    const b = new Rng(42, 'x');
    const c = new Rng(42, 'y');
    const sa = Array.from({ length: 50 }, () => a.u32());
    assert.deepEqual(
      sa,
      Array.from({ length: 50 }, () => b.u32()),
    );
    assert.notDeepEqual(
      sa,
      Array.from({ length: 50 }, () => c.u32()),
    );
  });

  it('makes RFC 4122 v4 UUIDs, all distinct', () => {
    const r = new Rng('uuid');
    const seen = new Set<string>();
    for (let i = 0; i < 20000; i++) {
      const u = r.uuid();
      assert.match(u, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      seen.add(u);
    }
    assert.equal(seen.size, 20000);
    assert.ok(isUuid('D656627C-D098-4E86-AE6B-093D0BAED9A9'));
  });

  it('int() covers [min, max] inclusive and nothing else; weighted() follows weights', () => {
    const r = new Rng(7);
    const counts = new Map<number, number>();
    for (let i = 0; i < 20000; i++) {
      const v = r.int(3, 6);
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    assert.deepEqual([...counts.keys()].sort(), [3, 4, 5, 6]);
    for (const n of counts.values()) assert.ok(n > 4500 && n < 5500, `uniform: ${n}`);
    const w = [0, 0, 0];
    for (let i = 0; i < 10000; i++) w[r.weighted([1, 0, 3])]!++;
    assert.equal(w[1], 0);
    assert.ok(w[2]! > 2.5 * w[0]! && w[2]! < 3.5 * w[0]!, `weights: ${w}`);
    assert.equal(r.hex(16).length, 32);
  });
});

describe('encoding (no Buffer in k6)', () => {
  it('UTF-8 and base64 match Node', () => {
    for (const s of ['', 'a', 'Konté Diène', 'नमस्ते दुनिया', '😀 emoji', 'x'.repeat(70000)]) {
      assert.deepEqual(Buffer.from(utf8Encode(s)), Buffer.from(s, 'utf8'));
      assert.equal(utf8Length(s), Buffer.byteLength(s));
      assert.equal(utf8Decode(utf8Encode(s)), s);
      assert.equal(base64Encode(utf8Encode(s)), Buffer.from(s, 'utf8').toString('base64'));
    }
    const bytes = new Uint8Array(1001).map((_, i) => (i * 37) & 255);
    assert.equal(base64Encode(bytes), Buffer.from(bytes).toString('base64'));
    assert.deepEqual(base64Decode(Buffer.from(bytes).toString('base64')), bytes);
    assert.throws(() => base64Decode('ab$d'), /invalid base64 character/);
  });
});

describe('time', () => {
  it('converts civil dates both ways and formats local times with offsets', () => {
    for (const d of [-1, 0, 59, 10957, 19786, 20000, 2932896]) assert.equal(daysFromCivil(...civilFromDays(d)), d);
    assert.equal(parseDay('2024-02-29'), 19782);
    assert.throws(() => parseDay('2023-02-29'), /not a real date/);
    const ms = Date.UTC(2024, 2, 4, 6, 5, 4, 3);
    assert.equal(formatDateTime(ms, 330), '2024-03-04T11:35:04.003+05:30');
    assert.equal(formatDateTime(ms, -300), '2024-03-04T01:05:04.003-05:00');
    assert.equal(formatDateTime(ms, 0), new Date(ms).toISOString());
  });
});
