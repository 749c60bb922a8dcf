// `capacity generate`: write a corpus of CommCare submissions for k6, or validate submissions.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { AppError } from '../../generators/app.ts';
import { LOCALE_NAMES, isLocaleName } from '../../generators/locales.ts';
import { ConfigError, DEFAULT_POPULATION, resolveConfig, type PopulationOptions } from '../../generators/population.ts';
import { XFormError } from '../../generators/xform.ts';
import { loadApp } from '../../generators/node/apps.ts';
import { CorpusError, writeCorpus, type CorpusProgress } from '../../generators/node/corpus.ts';
import { formatIssue, validatePath } from '../../generators/node/validate.ts';
import { UserError } from '../../core/errors.ts';
import { share, wholeNumber } from '../options.ts';

interface GenerateFlags {
  app: string;
  users?: string;
  count: string;
  seed?: string;
  out?: string;
  locale?: string;
  domain?: string;
  multipart?: boolean;
  attachments: boolean;
  duplicates?: string;
  edits?: string;
  formsPerDay?: string;
  caseLoad?: string;
  formSize?: string;
  startDate?: string;
  mix?: string;
  preload: boolean;
  config?: string;
  caseType?: string;
  force?: boolean;
  validate?: string;
  dumpApp?: boolean;
  quiet?: boolean;
}

const CONFIG_KEYS: Record<string, keyof PopulationOptions> = Object.fromEntries(
  [...Object.keys(DEFAULT_POPULATION), 'maxOpenCases', 'utcOffsetMinutes', 'region', 'appVersion'].flatMap((k) => [
    [k, k as keyof PopulationOptions],
    [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), k as keyof PopulationOptions],
  ]),
);

function readConfig(file: string): PopulationOptions {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UserError(`--config ${file}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new UserError(`--config ${file}: expected a map of population settings`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) {
    const key = CONFIG_KEYS[k];
    if (!key)
      throw new UserError(
        `--config ${file}: unknown setting "${k}" (known: ${Object.keys(DEFAULT_POPULATION).join(', ')}, maxOpenCases, utcOffsetMinutes, region, appVersion)`,
      );
    out[key] = v;
  }
  return out as PopulationOptions;
}

function parseMix(v: string): PopulationOptions['mix'] {
  const mix: Record<string, number> = {};
  for (const part of v.split(',')) {
    const m = /^\s*(register|followup|close)\s*[=:]\s*([\d.]+)\s*$/.exec(part);
    if (!m) throw new UserError(`--mix expects register=N,followup=N,close=N, got "${v}"`);
    mix[m[1]!] = Number(m[2]);
  }
  return mix as PopulationOptions['mix'];
}

function populationFrom(flags: GenerateFlags): PopulationOptions {
  const base = flags.config ? readConfig(flags.config) : {};
  if (flags.locale !== undefined && !isLocaleName(flags.locale))
    throw new UserError(`--locale must be one of ${LOCALE_NAMES.join(', ')}, got "${flags.locale}"`);
  const formSizeKB = flags.formSize === undefined ? undefined : Number(flags.formSize);
  if (formSizeKB !== undefined && !(formSizeKB >= 0 && formSizeKB <= 10_000))
    throw new UserError(`--form-size is in KB (0-10000), got "${flags.formSize}"`);
  const opts: PopulationOptions = {
    ...base,
    ...(flags.users !== undefined && { users: wholeNumber('--users', 1)(flags.users) }),
    ...(flags.seed !== undefined && { seed: /^\d+$/.test(flags.seed) ? Number(flags.seed) : flags.seed }),
    ...(flags.locale !== undefined && { locale: flags.locale as PopulationOptions['locale'] }),
    ...(flags.domain !== undefined && { domain: flags.domain }),
    ...(flags.duplicates !== undefined && { duplicates: share('--duplicates')(flags.duplicates) }),
    ...(flags.edits !== undefined && { edits: share('--edits')(flags.edits) }),
    ...(flags.formsPerDay !== undefined && { formsPerDay: wholeNumber('--forms-per-day', 1)(flags.formsPerDay) }),
    ...(flags.caseLoad !== undefined && { caseLoad: wholeNumber('--case-load', 0)(flags.caseLoad) }),
    ...(formSizeKB !== undefined && { targetFormBytes: Math.round(formSizeKB * 1024) }),
    ...(flags.startDate !== undefined && { startDate: flags.startDate }),
    ...(flags.mix !== undefined && { mix: parseMix(flags.mix) }),
    ...(flags.preload === false && { preload: false }),
  };
  try {
    resolveConfig(opts);
  } catch (err) {
    if (err instanceof ConfigError) throw new UserError(err.message);
    throw err;
  }
  return opts;
}

function progressPrinter(quiet: boolean): (p: CorpusProgress) => void {
  const tty = process.stderr.isTTY;
  let last = 0;
  return (p) => {
    if (quiet) return;
    const now = Date.now();
    const final = p.done >= p.total;
    if (!tty && !final && now - last < 5000) return;
    last = now;
    const rate = p.elapsedMs > 0 ? Math.round((p.done / p.elapsedMs) * 1000) : 0;
    const line = `generate: ${p.done.toLocaleString('en')}/${p.total.toLocaleString('en')} forms (${((100 * p.done) / p.total).toFixed(1)}%), ${(p.bytes / 1048576).toFixed(1)} MiB, ${rate.toLocaleString('en')} forms/s, worker ${p.worker}`;
    process.stderr.write(tty ? `\r${line}\x1b[K${final ? '\n' : ''}` : `${line}\n`);
  };
}

async function runValidate(target: string): Promise<void> {
  const report = await validatePath(target, { maxIssues: 50 });
  for (const i of report.issues) console.log(formatIssue(i));
  const shown = report.issues.length;
  const total = report.errors + report.warnings;
  if (shown < total) console.log(`... ${total - shown} more issues not shown`);
  const summary = `checked ${report.submissions.toLocaleString('en')} submissions in ${report.files} files: ${report.errors} errors, ${report.warnings} warnings`;
  if (report.errors > 0) throw new UserError(`${summary} (${target} is not valid)`, 1);
  console.log(`${summary}: valid`);
}

export async function runGenerate(flags: GenerateFlags): Promise<void> {
  if (flags.validate !== undefined) return runValidate(flags.validate);
  let loaded;
  try {
    loaded = loadApp(flags.app, flags.caseType !== undefined ? { subjectType: flags.caseType } : {});
  } catch (err) {
    if (err instanceof AppError || err instanceof XFormError) throw new UserError(err.message);
    throw err;
  }
  for (const w of loaded.warnings) process.stderr.write(`warning: ${w}\n`);
  if (flags.dumpApp) {
    process.stdout.write(toYaml(loaded.doc));
    return;
  }
  if (!flags.out) throw new UserError('--out DIR is required (or use --validate PATH / --dump-app)');
  const count = wholeNumber('--count', 1)(flags.count);
  const population = populationFrom(flags);
  const t0 = Date.now();
  let manifest;
  try {
    manifest = await writeCorpus({
      app: loaded.app,
      appSource: loaded.source,
      population,
      count,
      out: flags.out,
      multipart: flags.multipart === true,
      attachments: flags.attachments,
      force: flags.force === true,
      onProgress: progressPrinter(flags.quiet === true),
    });
  } catch (err) {
    if (err instanceof CorpusError || err instanceof ConfigError) throw new UserError(err.message);
    throw err;
  }
  const secs = (Date.now() - t0) / 1000;
  const c = manifest.counts;
  console.log(
    `wrote ${count.toLocaleString('en')} submissions (${c.preload} preload, ${c.original} original, ${c.duplicate} duplicates, ${c.edit} edits) ` +
      `for ${manifest.users} workers to ${flags.out} in ${secs.toFixed(1)} s: ${(manifest.bytes.files / 1048576).toFixed(1)} MiB, ` +
      `avg form ${(manifest.bytes.xml / count / 1024).toFixed(1)} KiB`,
  );
}

export function register(program: Command): void {
  program
    .command('generate')
    .description('write a corpus of realistic CommCare submissions for k6 (streaming), or --validate submissions')
    .option(
      '--app <name|file>',
      'built-in app (household, supply), an app YAML/JSON file, an XForm .xml or a folder of XForms',
      'household',
    )
    .option('--users <n>', `mobile workers (default ${DEFAULT_POPULATION.users})`)
    .option('--count <n>', 'total submissions to write', '1000')
    .option('--seed <s>', 'seed: the same seed gives the same bytes (default 1)')
    .option('--out <dir>', 'corpus folder (manifest.json, users.json, forms/wNNNN.ndjson)')
    .option('--locale <locale>', `faker locale for names, places, phones: ${LOCALE_NAMES.join(', ')} (default en)`)
    .option('--domain <domain>', `project space (default ${DEFAULT_POPULATION.domain})`)
    .option('--multipart', 'store multipart bodies (xml_submission_file + attachments) instead of raw XML')
    .option('--no-attachments', 'with --multipart: send only the XML part')
    .option('--duplicates <share>', 'share of identical resubmissions, e.g. 0.02 or 2%')
    .option('--edits <share>', 'share of edits (same instanceID, new content)')
    .option('--forms-per-day <n>', `forms per worker per day (default ${DEFAULT_POPULATION.formsPerDay})`)
    .option('--case-load <n>', `open cases per worker (default ${DEFAULT_POPULATION.caseLoad})`)
    .option('--form-size <KB>', 'pad forms with extra answers to about this size')
    .option('--start-date <date>', `first day of work, YYYY-MM-DD (default ${DEFAULT_POPULATION.startDate})`)
    .option('--mix <weights>', 'registrations/follow-ups/closes, e.g. register=2,followup=7,close=1')
    .option('--no-preload', 'do not start each worker with registrations up to its case load')
    .option('--config <file>', 'population settings (YAML/JSON); flags override it')
    .option('--case-type <type>', 'case type of follow-up XForms (the session case type; default "case")')
    .option('--force', 'replace an existing corpus in --out')
    .option('--validate <path>', 'read a submission file (.xml/.ndjson) or a folder/corpus and report every invalid one')
    .option('--dump-app', 'print the app model as YAML (e.g. to edit an imported XForm) and exit')
    .option('--quiet', 'no progress on stderr')
    .action(async (flags: GenerateFlags) => {
      await runGenerate(flags);
    });
}
