// A small parser for the Prometheus text exposition format (version 0.0.4), as node_exporter serves it.
// The npm parser for this (parse-prometheus-text-format) has had no release since 2018 and ships no types;
// the format is small and stable, so it is parsed here and tested against a recorded node_exporter page.

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseValue(s: string): number {
  switch (s) {
    case 'NaN':
      return NaN;
    case '+Inf':
    case 'Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
    default:
      return Number(s);
  }
}

/**
 * Parses every sample line (`name{a="b",c="d"} value [timestamp]`); `# HELP` / `# TYPE` and comments are
 * skipped. Label values may hold escaped `\\`, `\"` and `\n`, commas, braces and spaces. A malformed line throws
 * with its line number.
 */
export function parsePrometheusText(text: string, keep?: (name: string) => boolean): PromSample[] {
  const out: PromSample[] = [];
  const lines = text.split('\n');
  for (let ln = 0; ln < lines.length; ln++) {
    const line = lines[ln]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    let i = 0;
    while (i < line.length && line[i] !== '{' && line[i] !== ' ' && line[i] !== '\t') i++;
    const name = line.slice(0, i);
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`line ${ln + 1}: bad metric name "${name}"`);
    if (keep && !keep(name)) continue;
    const labels: Record<string, string> = {};
    if (line[i] === '{') {
      i++;
      for (;;) {
        while (line[i] === ' ' || line[i] === ',') i++;
        if (line[i] === '}') {
          i++;
          break;
        }
        const eq = line.indexOf('=', i);
        if (eq < 0) throw new Error(`line ${ln + 1}: label without "="`);
        const key = line.slice(i, eq).trim();
        i = eq + 1;
        if (line[i] !== '"') throw new Error(`line ${ln + 1}: label value of "${key}" is not quoted`);
        i++;
        let v = '';
        for (;;) {
          const ch = line[i];
          if (ch === undefined) throw new Error(`line ${ln + 1}: unterminated label value`);
          if (ch === '\\') {
            const nx = line[i + 1];
            v += nx === 'n' ? '\n' : (nx ?? '');
            i += 2;
            continue;
          }
          if (ch === '"') {
            i++;
            break;
          }
          v += ch;
          i++;
        }
        labels[key] = v;
      }
    }
    const rest = line.slice(i).trim().split(/\s+/);
    if (!rest[0]) throw new Error(`line ${ln + 1}: no value for ${name}`);
    const value = parseValue(rest[0]);
    if (Number.isNaN(value) && rest[0] !== 'NaN') throw new Error(`line ${ln + 1}: bad value "${rest[0]}"`);
    out.push({ name, labels, value });
  }
  return out;
}
