import type { Command } from 'commander';
import { UserError } from '../../core/errors.ts';
import { buildReport, FORMATS, type Format } from '../../reports/report.ts';
import type { Target } from '../../reports/project.ts';
import { positive, share } from '../options.ts';
import { sideBySide, verdictWord } from '../../reports/render.ts';

function month(v: string): string {
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(v)) throw new UserError(`--start must be YYYY-MM, not "${v}"`);
  return v;
}

interface Opts {
  topology?: string;
  sizing?: string;
  targetUsers?: number;
  webUsers?: number;
  exportsPerWebUser?: number;
  rowsPerExport?: number;
  formsPerUser?: number;
  caseLoad?: number;
  restoresPerUser?: number;
  months?: number;
  peakShare?: number;
  cpuTarget?: number;
  start?: string;
  calibration?: string;
  out?: string;
  formats: string;
}

export function register(program: Command): void {
  program
    .command('report')
    .description(
      'calibrate per-unit costs from a run, project them to a target population, judge every VM summary row; HTML, Markdown, JSON and PDF',
    )
    .argument('<results-dir>', 'the results directory of a run (capacity run)')
    .option('--topology <file>', 'VM summary / YAML topology / inventory to judge (default: the one the run was given, if any)')
    .option('--sizing <config>', 'commcare_resource_model config to project with (default reports/sizing/examples/seed-multi-vm.yml)')
    .option('--target-users <n>', "mobile workers to size for (default: the sizing config's users)", positive('--target-users', true))
    .option('--forms-per-user <n>', "forms per user per month (default: the sizing config's)", positive('--forms-per-user'))
    .option(
      '--case-load <n>',
      'open cases per user, what a full restore carries (default: measured cases per restore, else 100)',
      positive('--case-load'),
    )
    .option('--restores-per-user <n>', 'restores per user per day (default 1)', positive('--restores-per-user'))
    .option('--months <n>', "months of growth (default: the sizing config's range)", positive('--months', true))
    .option('--peak-share <x>', "share of a day's forms in the peak 15 minutes (default 0.035)", share('--peak-share', { above0: true }))
    .option('--cpu-target <x>', 'CPU utilisation a VM may reach at peak (default 0.7)', share('--cpu-target', { above0: true }))
    .option('--web-users <n>', 'HQ web users who request exports (default: 1 per 20 mobile workers)', positive('--web-users', true))
    .option('--exports-per-web-user <n>', 'exports per web user per day (default 2)', positive('--exports-per-web-user'))
    .option(
      '--rows-per-export <n>',
      'rows in an export (default: target users x case load / web users)',
      positive('--rows-per-export', true),
    )
    .option('--start <YYYY-MM>', "first month of the projection (default: the run's month)", month)
    .option('--calibration <profile.json>', "per-unit costs from a calibration profile (capacity calibrate) instead of this run's")
    .option('--out <dir>', 'where to write the report (default <results-dir>/report)')
    .option('--formats <list>', `comma-separated: ${FORMATS.join(',')}`, FORMATS.join(','))
    .action(async (dir: string, opts: Opts) => {
      const formats = opts.formats
        .split(',')
        .map((f) => f.trim())
        .filter(Boolean);
      for (const f of formats)
        if (!(FORMATS as readonly string[]).includes(f))
          throw new UserError(`--formats: unknown format "${f}" (one of ${FORMATS.join(', ')})`);
      if (!formats.length) throw new UserError('--formats: give at least one format');
      const target: Partial<Target> = {};
      if (opts.targetUsers !== undefined) target.users = opts.targetUsers;
      if (opts.formsPerUser !== undefined) target.formsPerUserPerMonth = opts.formsPerUser;
      if (opts.caseLoad !== undefined) target.caseLoad = opts.caseLoad;
      if (opts.restoresPerUser !== undefined) target.restoresPerUserPerDay = opts.restoresPerUser;
      if (opts.months !== undefined) target.months = opts.months;
      if (opts.peakShare !== undefined) target.peakShare = opts.peakShare;
      if (opts.cpuTarget !== undefined) target.cpuTarget = opts.cpuTarget;
      if (opts.start !== undefined) target.start = opts.start;
      if (opts.webUsers !== undefined) target.webUsers = opts.webUsers;
      if (opts.exportsPerWebUser !== undefined) target.exportsPerWebUserPerDay = opts.exportsPerWebUser;
      if (opts.rowsPerExport !== undefined) target.rowsPerExport = opts.rowsPerExport;
      const result = await buildReport({
        resultsDir: dir,
        topologyFile: opts.topology,
        sizingConfig: opts.sizing,
        target,
        calibrationFile: opts.calibration,
        outDir: opts.out,
        formats: formats as Format[],
      });
      const m = result.model;
      const lines: string[] = [];
      for (const v of m.verdicts) {
        const head = `  ${v.row.name.padEnd(14)} ${v.label.padEnd(12)} ${verdictWord(v)}`;
        const rest =
          v.headroom === undefined
            ? ''
            : `  headroom ${Math.round(v.headroom * 100)} %${v.firstToRunOut ? `, first to run out: ${v.firstToRunOut}` : ''}`;
        const both = v.disagreement ? `  [${sideBySide(v)}]` : '';
        lines.push(`${head}${rest}${both}${v.signals.length ? `; signals: ${v.signals.map((s) => s.name).join(', ')}` : ''}`);
      }
      if (!m.verdicts.length) lines.push('  no topology: no verdicts per VM row (give --topology)');
      if (m.rehearsal) {
        lines.push(`  rehearsal: ${m.rehearsal.summary}`);
        for (const r of m.rehearsal.rows) {
          const cpu = r.cpuPctMean === undefined ? '' : `  CPU ${Math.round(r.cpuPctMean)} / ${Math.round(r.cpuPctMax ?? 0)} % of limit`;
          const mem = r.memPctMax === undefined ? '' : `, memory max ${Math.round(r.memPctMax)} %`;
          lines.push(`    ${r.row.padEnd(14)} ${r.state.padEnd(15)}${cpu}${mem}`);
        }
      }
      const p = m.projection;
      process.stdout.write(
        `${m.title}: ${p ? `${p.target.users} users, ${p.target.formsPerUserPerMonth} forms/user/month, ${p.target.months} months (${p.start} to ${p.horizon})` : ''}\n${lines.join('\n')}\n` +
          Object.entries(result.files)
            .map(([f, file]) => `  ${f.padEnd(4)} ${file}`)
            .join('\n') +
          '\n',
      );
    });
}
