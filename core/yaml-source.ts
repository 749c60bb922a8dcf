// Small helpers to read YAML with line numbers for error messages. Shared by the topology reader and the
// sizing-config reader.
import { LineCounter, parseDocument, isMap, isScalar, isSeq, visit, type Document } from 'yaml';
import { UserError } from './errors.ts';

export type YamlPath = Array<string | number>;

export interface YamlSourceOptions {
  /** 'error' (default) refuses a mapping that repeats a key; 'last' keeps the last value, as PyYAML does, and warns. */
  duplicateKeys?: 'error' | 'last';
}

export class YamlSource {
  readonly file: string;
  readonly doc: Document;
  readonly data: unknown;
  /** "file:line: ..." notes for what was read but not taken (duplicate keys dropped). */
  readonly warnings: string[] = [];
  private readonly lines: LineCounter;

  constructor(text: string, file: string, options: YamlSourceOptions = {}) {
    this.file = file;
    this.lines = new LineCounter();
    const last = options.duplicateKeys === 'last';
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: true, uniqueKeys: !last });
    const err = this.doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0];
      const msg = (err.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
      throw new UserError(`${file}${pos ? `:${pos.line}` : ''}: not valid YAML: ${msg}`);
    }
    if (last) this.dropEarlierDuplicates();
    try {
      this.data = this.doc.toJS({ maxAliasCount: 1000 });
    } catch (err) {
      // an alias bomb ("billion laughs" in YAML): yaml refuses it with a message that names no file
      throw new UserError(`${file}: not usable YAML: ${(err as Error).message.split('\n')[0]}`);
    }
  }

  /** Removes every pair whose key a later pair of the same mapping repeats, so lookups and toJS see the last. */
  private dropEarlierDuplicates(): void {
    const lineAt = (node: unknown) => {
      const range = (node as { range?: [number, number, number] } | null)?.range;
      return range ? this.lines.linePos(range[0]).line : undefined;
    };
    visit(this.doc, {
      Map: (_, map) => {
        const lastIndex = new Map<unknown, number>();
        map.items.forEach((pair, i) => lastIndex.set(isScalar(pair.key) ? pair.key.value : pair.key, i));
        const kept = map.items.filter((pair, i) => {
          const k = isScalar(pair.key) ? pair.key.value : pair.key;
          const winner = lastIndex.get(k)!;
          if (winner === i) return true;
          this.warnings.push(
            `${this.file}:${lineAt(pair.key) ?? '?'}: duplicate key "${String(k)}": this value is ignored, the one at line ${lineAt(map.items[winner]!.key) ?? '?'} is used (as PyYAML does)`,
          );
          return false;
        });
        if (kept.length !== map.items.length) map.items = kept;
      },
    });
  }

  /** The 1-based line of the node at `path`, or of its nearest existing parent. */
  lineOf(path: YamlPath): number | undefined {
    for (let n = path.length; n >= 0; n--) {
      const node = this.doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node && typeof node === 'object' && node.range) return this.lines.linePos(node.range[0]).line;
    }
    return undefined;
  }

  /** A UserError "file:line: where: message". */
  error(path: YamlPath, message: string): UserError {
    const line = this.lineOf(path);
    return new UserError(`${this.file}${line ? `:${line}` : ''}: ${pathText(path)}${path.length ? ': ' : ''}${message}`);
  }

  isMapAt(path: YamlPath): boolean {
    return isMap(this.doc.getIn(path, true));
  }

  isSeqAt(path: YamlPath): boolean {
    return isSeq(this.doc.getIn(path, true));
  }
}

export function pathText(path: YamlPath): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${p}` : p;
  return s;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Typed field access that throws located UserErrors. */
export class Fields {
  constructor(
    readonly src: YamlSource,
    readonly path: YamlPath,
    readonly obj: Record<string, unknown>,
  ) {}

  static at(src: YamlSource, path: YamlPath, value: unknown, what = 'a mapping'): Fields {
    if (!isRecord(value)) throw src.error(path, `expected ${what}, found ${describe(value)}`);
    return new Fields(src, path, value);
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  err(key: string | undefined, message: string): UserError {
    return this.src.error(key === undefined ? this.path : [...this.path, key], message);
  }

  /** Rejects keys not in `allowed` (catches typos such as "ram_gbs"). */
  only(allowed: readonly string[]): void {
    for (const k of Object.keys(this.obj)) {
      if (!allowed.includes(k)) throw this.err(k, `unknown field "${k}" (allowed: ${allowed.join(', ')})`);
    }
  }

  unknown(allowed: readonly string[]): string[] {
    return Object.keys(this.obj).filter((k) => !allowed.includes(k));
  }

  string(key: string): string;
  string(key: string, optional: true): string | undefined;
  string(key: string, optional = false): string | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) {
      if (optional) return undefined;
      throw this.err(undefined, `missing "${key}"`);
    }
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
    if (typeof v === 'number') return String(v);
    throw this.err(key, `"${key}" must be a non-empty string, found ${describe(v)}`);
  }

  number(key: string, opts?: { min?: number; integer?: boolean }): number;
  number(key: string, opts: { min?: number; integer?: boolean; optional: true }): number | undefined;
  number(key: string, opts: { min?: number; integer?: boolean; optional?: boolean } = {}): number | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) {
      if (opts.optional) return undefined;
      throw this.err(undefined, `missing "${key}"`);
    }
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (!Number.isFinite(n)) throw this.err(key, `"${key}" must be a number, found ${describe(v)}`);
    if (opts.integer && !Number.isInteger(n)) throw this.err(key, `"${key}" must be a whole number, found ${n}`);
    if (opts.min !== undefined && n < opts.min) throw this.err(key, `"${key}" must be at least ${opts.min}, found ${n}`);
    return n;
  }

  boolean(key: string, fallback: boolean): boolean {
    const v = this.obj[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v === 'boolean') return v;
    if (typeof v === 'string' && /^(true|false|yes|no)$/i.test(v)) return /^(true|yes)$/i.test(v);
    throw this.err(key, `"${key}" must be true or false, found ${describe(v)}`);
  }

  list(key: string, optional = true): unknown[] {
    const v = this.obj[key];
    if (v === undefined || v === null) {
      if (optional) return [];
      throw this.err(undefined, `missing "${key}"`);
    }
    if (!Array.isArray(v)) throw this.err(key, `"${key}" must be a list, found ${describe(v)}`);
    return v;
  }

  child(key: string, optional: true): Fields | undefined;
  child(key: string): Fields;
  child(key: string, optional = false): Fields | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) {
      if (optional) return undefined;
      throw this.err(undefined, `missing "${key}"`);
    }
    return Fields.at(this.src, [...this.path, key], v);
  }
}

export function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v);
  return `${typeof v} ${String(v)}`;
}
