import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { UserError } from '../../core/errors.ts';
import { computeVmSummary, formatPlan, formatSetsComparison, readSizingConfig, type SizingOverride } from '../../reports/sizing/index.ts';
import type { PrintStyle } from '../../topology/vm-table.ts';
import { calibrationOverrides, defaultTarget } from '../../reports/project.ts';
import { positive } from '../options.ts';
import { profileCalibration, readProfile } from '../../reports/profile.ts';

const STYLES: PrintStyle[] = ['seed', 'grid', 'markdown', 'csv'];

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Overrides from a YAML/JSON file: a map path -> value, or a list of {path, value, source}. */
function readOverridesFile(file: string): SizingOverride[] {
  let data: unknown;
  try {
    data = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`${file}: no such file`);
    throw new UserError(`${file}: not readable as YAML/JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  if (Array.isArray(data)) {
    return data.map((o, i) => {
      if (!o || typeof o !== 'object' || typeof (o as SizingOverride).path !== 'string' || (o as SizingOverride).value === undefined) {
        throw new UserError(`${file}: entry ${i + 1} needs "path" and "value"`);
      }
      return o as SizingOverride;
    });
  }
  if (data && typeof data === 'object') {
    return Object.entries(data as Record<string, unknown>).map(([path, value]) => {
      if (typeof value !== 'number' && typeof value !== 'string') throw new UserError(`${file}: ${path}: value must be a number or size`);
      return { path, value, source: file };
    });
  }
  throw new UserError(`${file}: expected a map of override paths to values, or a list of {path, value}`);
}

export function register(program: Command): void {
  program
    .command('plan')
    .description('size an installation from a commcare_resource_model config: the VM summary for each summary date')
    .argument('<config>', 'commcare_resource_model YAML config (usage + services)')
    .option('--json', 'print the full result as JSON')
    .option('--date <YYYY-MM>', 'summarise at this month instead of the summary_dates (repeatable)', collect)
    .option('--format <style>', `table style: ${STYLES.join(', ')}`, 'seed')
    .option(
      '--set <path=value>',
      'override a figure, e.g. services.pg_main.storage.data_models.forms_total.unit_size=1100 (repeatable)',
      collect,
    )
    .option('--overrides <file>', 'YAML/JSON overrides (path: value), e.g. per-unit costs from a calibration run')
    .option(
      '--calibration <profile.json>',
      'per-unit costs from a calibration profile (capacity calibrate): unit sizes and users per web VM',
    )
    .option(
      '--web-users <n>',
      'with --calibration: HQ web users who request exports (default 1 per 20 mobile workers)',
      positive('--web-users', true),
    )
    .option(
      '--exports-per-web-user <n>',
      'with --calibration: exports per web user per day (default 2)',
      positive('--exports-per-web-user'),
    )
    .option(
      '--rows-per-export <n>',
      'with --calibration: rows in an export (default users x case load / web users)',
      positive('--rows-per-export', true),
    )
    .option(
      '--vars <name>',
      'which combination of the config\'s "sets" to use, by its name ("7lakh-2000fpu") or one entry\'s (default: every combination)',
    )
    .action(
      (
        file: string,
        opts: {
          json?: boolean;
          date?: string[];
          format: string;
          set?: string[];
          overrides?: string;
          calibration?: string;
          vars?: string;
          webUsers?: number;
          exportsPerWebUser?: number;
          rowsPerExport?: number;
        },
      ) => {
        if (!STYLES.includes(opts.format as PrintStyle))
          throw new UserError(`--format must be one of ${STYLES.join(', ')}, not "${opts.format}"`);
        for (const d of opts.date ?? []) if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(d)) throw new UserError(`--date must be YYYY-MM, not "${d}"`);
        const profile = opts.calibration ? readProfile(opts.calibration) : undefined;
        const overrides: SizingOverride[] = opts.overrides ? readOverridesFile(opts.overrides) : [];
        for (const s of opts.set ?? []) {
          const m = /^([^=\s]+)\s*=\s*(.+)$/.exec(s);
          if (!m) throw new UserError(`--set expects path=value, not "${s}"`);
          overrides.push({ path: m[1]!, value: m[2]!.trim(), source: '--set' });
        }
        const config = readSizingConfig(file, { set: opts.vars });
        for (const w of config.warnings) process.stderr.write(`warning: ${w}\n`);
        // Like run_model.py, every combination of the sets unless --vars picks one.
        const configs =
          opts.vars || config.set_names.length <= 1 ? [config] : config.set_names.map((name) => readSizingConfig(file, { set: name }));
        const results = configs.map((c) => {
          if (!profile) return computeVmSummary(c, overrides, { dates: opts.date });
          // The profile's costs first, so --overrides and --set still have the last word.
          const cal = profileCalibration(profile, opts.calibration!);
          const measured = calibrationOverrides(
            c,
            cal,
            defaultTarget(c, cal, {
              ...(opts.webUsers !== undefined && { webUsers: opts.webUsers }),
              ...(opts.exportsPerWebUser !== undefined && { exportsPerWebUserPerDay: opts.exportsPerWebUser }),
              ...(opts.rowsPerExport !== undefined && { rowsPerExport: opts.rowsPerExport }),
            }).target,
          );
          if (c === configs[0]) for (const w of measured.skipped) process.stderr.write(`note: ${w}\n`);
          return computeVmSummary(c, [...measured.overrides, ...overrides], { dates: opts.date });
        });
        if (opts.json) {
          process.stdout.write(JSON.stringify(results.length === 1 ? results[0] : results, null, 2) + '\n');
          return;
        }
        for (const r of results) {
          if (results.length > 1) process.stdout.write(`=== set ${r.set}\n\n`);
          process.stdout.write(formatPlan(r, opts.format as PrintStyle));
        }
        if (results.length > 1 && config.sets_summary_date && !opts.date)
          process.stdout.write(formatSetsComparison(results, config.sets_summary_date));
      },
    );
}
