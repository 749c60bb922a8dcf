/**
 * Realistic answer values. faker (seeded, in the chosen locale) fills pools of values once per population;
 * forms then draw from the pools with the worker's fast PRNG. Drawing from pools keeps generation fast
 * (tens of thousands of forms per second) and the output identical for the same seed, whatever order pools
 * are first used in (each pool has its own seed).
 */
import type { Faker } from '@faker-js/faker';
import { newFaker } from './locales.ts';
import { Rng, seedFor } from './rng.ts';

export const POOL_SIZE = 1024;

export class ValuePools {
  private faker: Faker | undefined;
  private readonly pools = new Map<string, string[]>();

  constructor(
    readonly locale: string,
    readonly seed: string | number,
  ) {}

  private getFaker(): Faker {
    if (!this.faker) this.faker = newFaker(this.locale);
    return this.faker;
  }

  /** Throws if `path` (e.g. `person.firstName`) is not a faker method. */
  check(path: string): void {
    this.method(path);
  }

  private method(path: string): () => unknown {
    const faker = this.getFaker() as unknown as Record<string, Record<string, unknown>>;
    const [mod, fn] = path.split('.');
    const m = mod !== undefined ? faker[mod] : undefined;
    const f = m && fn !== undefined ? m[fn] : undefined;
    if (typeof f !== 'function') throw new Error(`unknown faker method "${path}"`);
    return () => (f as (this: unknown) => unknown).call(m);
  }

  /** The pool of values for a faker method path. */
  pool(path: string): string[] {
    let pool = this.pools.get(path);
    if (pool) return pool;
    const call = this.method(path);
    this.getFaker().seed(seedFor(this.seed, 'pool', this.locale, path));
    pool = new Array<string>(POOL_SIZE);
    for (let i = 0; i < POOL_SIZE; i++) {
      const v = call();
      pool[i] = (typeof v === 'string' ? v : v instanceof Date ? v.toISOString() : String(v)).replace(/\s+/g, ' ').trim();
    }
    this.pools.set(path, pool);
    return pool;
  }

  draw(path: string, rng: Rng): string {
    return rng.pick(this.pool(path));
  }

  /** `n` lorem words. */
  words(n: number, rng: Rng): string {
    const pool = this.pool('lorem.word');
    let s = rng.pick(pool);
    for (let i = 1; i < n; i++) s += ' ' + rng.pick(pool);
    return s;
  }

  /** A phone number in the locale's style, digits only with an optional leading +. */
  phone(rng: Rng): string {
    let pool = this.pools.get('#phone');
    if (!pool) {
      pool = this.pool('phone.number').map((p) => {
        const digits = p.replace(/x.*$/i, '').replace(/[^\d+]/g, '');
        return digits.startsWith('+') ? '+' + digits.slice(1).replace(/\+/g, '') : digits.replace(/\+/g, '');
      });
      this.pools.set('#phone', pool);
    }
    return rng.pick(pool);
  }
}
