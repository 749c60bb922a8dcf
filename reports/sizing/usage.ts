// Usage: one value per month for every usage field, from the config's usage models.
import { UserError } from '../../core/errors.ts';
import { configError, usageDependencies, type SizingConfig, type UsageDef } from './config.ts';

export interface UsageFrame {
  /** Months modelled, "YYYY-MM", in order: every month named by a date_range_value field. */
  months: string[];
  /** Field name -> one value per month. */
  fields: Map<string, number[]>;
}

function monthsBetween(start: string, end: string): string[] {
  const out: string[] = [];
  let [y, m] = start.split('-').map(Number) as [number, number];
  for (;;) {
    const s = `${y}-${String(m).padStart(2, '0')}`;
    if (s > end) break;
    out.push(s);
    m++;
    if (m > 12) {
      m = 1;
      y++;
    }
  }
  return out;
}

/**
 * Running total with `startWith` added to the first month, skipping missing months as pandas' cumsum does (a
 * missing month stays missing; the total carries on past it).
 */
function cumulative(values: number[], startWith: number): number[] {
  let total = 0;
  return values.map((v, i) => {
    const x = i === 0 ? v + startWith : v;
    if (Number.isNaN(x)) return NaN;
    return (total += x);
  });
}

/**
 * Computes every usage field month by month, as generate_usage_data (core/generate.py) and the models in
 * core/models.py do. Models run once the fields they depend on exist, in any order of the file; a field that can
 * never run (a cycle) is an error.
 *
 * A month that a date_range_value field does not name, while another field does, is missing (NaN), and missing
 * values travel as in pandas: factors and sums keep them missing, a product skips them (Series.product), a
 * running total skips them, and storage sums treat them as 0 (DataFrame.sum).
 *
 * - date_range_value: the value for each month of each range (a later range wins where two overlap).
 * - derived_factor: field x factor; invert_derived_factor: field / factor; derived_sum / product: of fields.
 *   `start_with` is added to the first month.
 * - cumulative: running total of the field, `start_with` added to the first month.
 * - cumulative_limited_lifespan: the running total over the last `lifespan` months only (whole numbers,
 *   truncated), i.e. items that expire after `lifespan` months.
 * - baseline_with_growth: field x baseline + running total of (field x monthly_growth), plus `start_with`;
 *   also gives {name}_baseline and {name}_monthly.
 */
export function computeUsage(config: SizingConfig): UsageFrame {
  const monthSet = new Set<string>();
  for (const u of config.usage) {
    if (u.model !== 'date_range_value') continue;
    for (const r of u.ranges) for (const m of monthsBetween(r.start, r.end)) monthSet.add(m);
  }
  const months = [...monthSet].sort();
  const index = new Map(months.map((m, i) => [m, i]));
  const fields = new Map<string, number[]>();
  const get = (name: string) => fields.get(name)!;

  const run = (u: UsageDef): void => {
    switch (u.model) {
      case 'date_range_value': {
        const values = months.map(() => NaN);
        for (const r of u.ranges) for (const m of monthsBetween(r.start, r.end)) values[index.get(m)!] = r.value;
        fields.set(u.name, values);
        return;
      }
      case 'derived_factor':
      case 'invert_derived_factor': {
        const values = get(u.dependant_field).map((v) => (u.model === 'derived_factor' ? v * u.factor : v / u.factor));
        if (u.start_with && values.length) values[0]! += u.start_with;
        fields.set(u.name, values);
        return;
      }
      case 'derived_sum':
      case 'product': {
        const inputs = u.dependant_fields.map(get);
        // DerivedSum applies Python's sum (a missing value makes the sum missing); DerivedProduct Series.product,
        // which skips missing values (1 when all are missing).
        const values = months.map((_, i) =>
          u.model === 'derived_sum'
            ? inputs.reduce((acc, f) => acc + f[i]!, 0)
            : inputs.reduce((acc, f) => (Number.isNaN(f[i]!) ? acc : acc * f[i]!), 1),
        );
        if (u.start_with && values.length) values[0]! += u.start_with;
        fields.set(u.name, values);
        return;
      }
      case 'cumulative':
        fields.set(u.name, cumulative(get(u.dependant_field), u.start_with));
        return;
      case 'cumulative_limited_lifespan': {
        const cum = cumulative(get(u.dependant_field), u.start_with);
        fields.set(
          u.name,
          cum.map((c, i) => Math.trunc(i >= u.lifespan ? c - cum[i - u.lifespan]! : c)),
        );
        return;
      }
      case 'baseline_with_growth': {
        const dep = get(u.dependant_field);
        const baseline = dep.map((v) => v * u.baseline);
        const monthly = dep.map((v) => v * u.monthly_growth);
        const grown = cumulative(monthly, u.start_with);
        fields.set(`${u.name}_baseline`, baseline);
        fields.set(`${u.name}_monthly`, monthly);
        fields.set(
          u.name,
          baseline.map((b, i) => b + grown[i]!),
        );
        return;
      }
    }
  };

  let pending = [...config.usage];
  while (pending.length) {
    const ready = pending.filter((u) => usageDependencies(u).every((d) => fields.has(d)));
    if (ready.length === 0) {
      const names = pending.map((u) => u.name);
      throw configError(config, `usage.${names[0]}`, `cannot be computed: its fields depend on each other (${names.join(', ')})`);
    }
    for (const u of ready) run(u);
    pending = pending.filter((u) => !ready.includes(u));
  }
  if (months.length === 0) throw new UserError(`${config.file}: usage names no months`);
  return { months, fields };
}
