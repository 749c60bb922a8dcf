/**
 * Seeded pseudo-random numbers: sfc32 (small fast counter, 128-bit state) seeded through cyrb128.
 * Platform neutral (runs in Node and in k6's JS runtime): only 32-bit integer arithmetic, no crypto.
 * Same seed -> same sequence, on every platform.
 */

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** cyrb128: hashes a string into four 32-bit words (used to seed sfc32 and to derive sub-seeds). */
export function hash128(str: string): [number, number, number, number] {
  let h1 = 1779033703,
    h2 = 3144134277,
    h3 = 1013904242,
    h4 = 2773480762;
  for (let i = 0; i < str.length; i++) {
    const k = str.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/** A 32-bit seed derived from a root seed and a path of labels, e.g. seedFor(42, 'worker', 7). */
export function seedFor(root: string | number, ...path: (string | number)[]): number {
  return hash128([String(root), ...path.map(String)].join('\u0000'))[0];
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: string | number, ...path: (string | number)[]) {
    const [a, b, c, d] = hash128([String(seed), ...path.map(String)].join('\u0000'));
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Next unsigned 32-bit integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [min, max] (inclusive). */
  int(min: number, max: number): number {
    if (max <= min) return min;
    return min + Math.floor(this.float() * (max - min + 1));
  }

  /** Uniform float in [min, max). */
  range(min: number, max: number): number {
    return min + this.float() * (max - min);
  }

  chance(p: number): boolean {
    return p > 0 && this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Rng.pick: empty list');
    return items[Math.floor(this.float() * items.length)] as T;
  }

  /** Index chosen with probability proportional to weights[i] (weights >= 0, at least one > 0). */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let r = this.float() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i] as number;
      if (r < 0) return i;
    }
    return weights.length - 1;
  }

  /** RFC 4122 version 4 UUID (lower case) from this generator. */
  uuid(): string {
    const a = this.u32(),
      b = this.u32(),
      c = this.u32(),
      d = this.u32();
    const b2 = ((b >>> 16) & 0x0fff) | 0x4000; // version 4
    const c1 = ((c >>> 16) & 0x3fff) | 0x8000; // variant 10xx
    return (
      HEX[a >>> 24]! +
      HEX[(a >>> 16) & 255]! +
      HEX[(a >>> 8) & 255]! +
      HEX[a & 255]! +
      '-' +
      HEX[(b >>> 8) & 255]! +
      HEX[b & 255]! +
      '-' +
      HEX[b2 >>> 8]! +
      HEX[b2 & 255]! +
      '-' +
      HEX[c1 >>> 8]! +
      HEX[c1 & 255]! +
      '-' +
      HEX[(c >>> 8) & 255]! +
      HEX[c & 255]! +
      HEX[d >>> 24]! +
      HEX[(d >>> 16) & 255]! +
      HEX[(d >>> 8) & 255]! +
      HEX[d & 255]!
    );
  }

  /** `bytes` random bytes as lower-case hex (CouchDB-style ids are 16 bytes = 32 hex chars). */
  hex(bytes: number): string {
    let s = '';
    for (let i = 0; i < bytes; i += 4) {
      const v = this.u32();
      s += HEX[v >>> 24]! + HEX[(v >>> 16) & 255]! + HEX[(v >>> 8) & 255]! + HEX[v & 255]!;
    }
    return s.slice(0, bytes * 2);
  }

  /** A string of `n` characters drawn from `alphabet`. */
  chars(n: number, alphabet: string): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(this.float() * alphabet.length)];
    return s;
  }

  /** Fill a byte array with random bytes. */
  fill(bytes: Uint8Array, from = 0, to = bytes.length): void {
    let i = from;
    for (; i + 4 <= to; i += 4) {
      const v = this.u32();
      bytes[i] = v & 255;
      bytes[i + 1] = (v >>> 8) & 255;
      bytes[i + 2] = (v >>> 16) & 255;
      bytes[i + 3] = v >>> 24;
    }
    for (; i < to; i++) bytes[i] = this.u32() & 255;
  }
}

export function isUuid(s: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
}
