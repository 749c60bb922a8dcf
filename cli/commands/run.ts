import { Option, type Command } from 'commander';
import { defaultResultsRoot } from '../../results-dir/index.ts';
import { runScenario } from '../../runner/run.ts';
import { parseSegment } from '../../runner/segments.ts';
import { formatSummary } from '../../runner/summary.ts';
import { confirmationLine, formatPlan, planRun } from '../../runner/run-plan.ts';
import { confirm } from '../confirm.ts';
import { isScenarioName, SCENARIO_DESCRIPTIONS, SCENARIO_NAMES, type ShapeParams } from '../../scenarios/lib/shapes.ts';
import { positive, seconds, share, wholeNumber } from '../options.ts';
import { UserError } from '../../core/errors.ts';
import { loadTopology } from '../../topology/load.ts';

interface RunFlags {
  target: string;
  allowRemote?: boolean;
  topology?: string;
  domain: string;
  app: string;
  users: number;
  seed?: number;
  credentials?: string;
  esUrl?: string;
  results?: string;
  interval: number;
  collect: boolean;
  livenessEvery: number;
  rate?: number;
  duration?: number;
  vus?: number;
  baseline?: number;
  burst?: number;
  recovery?: number;
  burstFactor?: number;
  prefill?: number;
  window?: number;
  restoreRatio?: number;
  searchRatio?: number;
  stepRate?: number;
  step?: number;
  maxRate?: number;
  p95Write?: number;
  p95Read?: number;
  maxFailed?: number;
  segment?: string;
  exportUsers?: number;
  exportInterval?: number;
  exportPoll?: number;
  apiClients?: number;
  apiRate?: number;
  apiLimit?: number;
  p95Export?: number;
  p95Api?: number;
  abortFailed?: number;
  dryRun?: boolean;
  yes?: boolean;
}

export function register(program: Command): void {
  program
    .command('run')
    .description('run a load scenario through nginx with k6 and keep the results (local stack by default)')
    .argument('<scenario>', SCENARIO_NAMES.join(' | '))
    .addHelpText(
      'after',
      `\nScenarios:\n${SCENARIO_NAMES.map((n) => `  ${n.padEnd(14)} ${SCENARIO_DESCRIPTIONS[n]}`).join('\n')}\n\nExit code: 0 when the thresholds hold, 1 when one fails or the target fails, 2 for bad input, 130 when interrupted.`,
    )
    .option(
      '--target <local|containers|url>',
      'the local stack this tool starts, the same stack in containers (docker/, needs a Docker engine), or a base URL of a CommCare HQ',
      'local',
    )
    .option('--allow-remote', 'allow a target that is not on this machine')
    .option('--topology <file>', 'VM topology (seed table, YAML or commcare-cloud inventory): recorded, and used by the collectors')
    .option('--domain <name>', "project space to load (default: the --topology file's target domain, else capacity-load)", 'capacity-load')
    .option('--app <name|file>', 'app whose forms are sent (household, supply, or a YAML/JSON/XForm file)', 'household')
    .option('--users <n>', 'mobile workers', positive('--users', true), 100)
    .option('--seed <n>', 'seed for the generated traffic (default: a new one, recorded in the manifest)', positive('--seed', true))
    .option('--rate <n>', 'base submissions per second', positive('--rate'))
    .option('--duration <d>', 'length of the main phase (steady, mixed-day, soak), e.g. 2m', seconds('--duration', { above0: true }))
    .option(
      '--vus <n>',
      'VUs, the concurrency of the open model: each owns mobile workers and sends their forms one at a time (default --users, at most 100; never more than --users)',
      positive('--vus', true),
    )
    .addOption(new Option('--baseline <d>', 'submit-burst: quiet baseline').argParser(seconds('--baseline')))
    .addOption(new Option('--burst <d>', 'submit-burst: length of the burst').argParser(seconds('--burst', { above0: true })))
    .addOption(new Option('--recovery <d>', 'submit-burst: recovery after the burst').argParser(seconds('--recovery')))
    .addOption(
      new Option('--burst-factor <x>', 'submit-burst: burst rate as a multiple of the base rate').argParser(positive('--burst-factor')),
    )
    .addOption(new Option('--prefill <d>', 'restore-storm: submissions before the storm').argParser(seconds('--prefill')))
    .addOption(
      new Option('--window <d>', 'restore-storm: every worker syncs inside this window').argParser(seconds('--window', { above0: true })),
    )
    .addOption(new Option('--restore-ratio <x>', 'mixed-day and soak: restores per submission').argParser(share('--restore-ratio')))
    .addOption(new Option('--search-ratio <x>', 'mixed-day and soak: case searches per submission').argParser(share('--search-ratio')))
    .addOption(new Option('--step-rate <n>', 'ramp-to-break: rate added at each step').argParser(positive('--step-rate')))
    .addOption(new Option('--step <d>', 'ramp-to-break: how long each step holds').argParser(seconds('--step', { above0: true })))
    .option(
      '--max-rate <n>',
      'ceiling: the most requests per second any phase may ask for; a shape above it is refused, ramp-to-break climbs to it (default 300)',
      positive('--max-rate'),
    )
    .addOption(
      new Option('--export-users <n>', 'export-storm, mixed-day, soak: web users asking for exports (0: none)').argParser(
        wholeNumber('--export-users', 0),
      ),
    )
    .addOption(
      new Option('--export-interval <d>', 'exports: each web user asks for an export this often').argParser(
        seconds('--export-interval', { above0: true }),
      ),
    )
    .addOption(
      new Option('--export-poll <d>', 'exports: how often the export page polls (HQ: 2 s)').argParser(
        seconds('--export-poll', { above0: true }),
      ),
    )
    .addOption(
      new Option('--api-clients <n>', 'export-storm, mixed-day, soak: data API clients paging the form and case lists (0: none)').argParser(
        wholeNumber('--api-clients', 0),
      ),
    )
    .addOption(new Option('--api-rate <n>', 'data API: pages per second, all clients together').argParser(positive('--api-rate')))
    .addOption(new Option('--api-limit <n>', 'data API: objects a page (HQ allows up to 1000)').argParser(positive('--api-limit', true)))
    .option(
      '--p95-export <ms>',
      'threshold: p95 of an export from request to downloaded file in ms (default 60000)',
      positive('--p95-export'),
    )
    .option('--p95-api <ms>', 'threshold: p95 of a data API page in ms (default 3000)', positive('--p95-api'))
    .option('--p95-write <ms>', 'threshold: p95 of submissions in ms (default 900)', positive('--p95-write'))
    .option('--p95-read <ms>', 'threshold: p95 of restores and searches in ms (default 450)', positive('--p95-read'))
    .option('--max-failed <rate>', 'threshold: share of failed requests (default 0.001)', share('--max-failed'))
    .option(
      '--abort-failed <rate>',
      'stop the run early (after 10 s) once this share of requests has failed (default 0.2)',
      share('--abort-failed', { above0: true }),
    )
    .option('--dry-run', 'print the plan (target, rates, totals, duration, workers and forms) and send nothing')
    .option('--yes', 'do not ask before loading a target that is not on this machine')
    .option('--credentials <file>', 'URL targets: mobile workers as username,password lines or JSON (also CAPACITY_CREDENTIALS)')
    .option('--es-url <url>', 'URL targets: Elasticsearch to follow data liveness in')
    .option('--results <dir>', 'where results directories go (default ./results)')
    .option('--interval <d>', 'collector sampling interval', seconds('--interval', { above0: true }), 5)
    .option('--no-collect', 'do not run the collectors')
    .option(
      '--segment <i/N>',
      'run only segment i of N (k6 execution segments: N load generators share the scenario; every one needs the same --seed); `capacity merge` joins the results',
    )
    .option('--liveness-every <n>', 'follow one acknowledged form in N of each VU until searchable', positive('--liveness-every', true), 10)
    .action(async (scenario: string, f: RunFlags, cmd: Command) => {
      if (!isScenarioName(scenario)) throw new UserError(`unknown scenario "${scenario}": one of ${SCENARIO_NAMES.join(', ')}`);
      // a topology names the project space its target was set up with (a rehearsal's does): used unless --domain is given
      const domain =
        cmd.getOptionValueSource('domain') === 'default' && f.topology ? (loadTopology(f.topology).target?.domain ?? f.domain) : f.domain;
      const shape: Partial<ShapeParams> = {
        rate: f.rate,
        durationS: f.duration,
        vus: f.vus,
        baselineS: f.baseline,
        burstS: f.burst,
        recoveryS: f.recovery,
        burstFactor: f.burstFactor,
        prefillS: f.prefill,
        windowS: f.window,
        restoreRatio: f.restoreRatio,
        searchRatio: f.searchRatio,
        stepRate: f.stepRate,
        stepS: f.step,
        maxRate: f.maxRate,
        writeP95Ms: f.p95Write,
        readP95Ms: f.p95Read,
        failedRate: f.maxFailed,
        exportUsers: f.exportUsers,
        exportIntervalS: f.exportInterval,
        exportPollS: f.exportPoll,
        apiClients: f.apiClients,
        apiRate: f.apiRate,
        apiLimit: f.apiLimit,
        exportP95Ms: f.p95Export,
        apiP95Ms: f.p95Api,
        abortFailedRate: f.abortFailed,
      };
      if ((f.apiLimit ?? 0) > 1000) throw new UserError("--api-limit is at most 1000 (HQ's maximum page)");
      const segment = f.segment ? parseSegment(f.segment) : undefined;
      const plan = planRun({
        scenario,
        target: f.target,
        allowRemote: f.allowRemote,
        domain,
        app: f.app,
        users: f.users,
        shape,
        credentialsFile: f.credentials,
        segment,
        seed: f.seed,
      });
      if (f.dryRun) {
        console.log(formatPlan(plan));
        return;
      }
      if (plan.remote) await confirm(confirmationLine(plan), f.yes ?? false);
      const out = await runScenario({
        scenario,
        target: f.target,
        allowRemote: f.allowRemote,
        topologyFile: f.topology,
        domain,
        app: f.app,
        users: f.users,
        seed: f.seed,
        shape,
        credentialsFile: f.credentials,
        elasticsearchUrl: f.esUrl,
        resultsRoot: f.results ?? defaultResultsRoot(),
        collectIntervalMs: f.interval * 1000,
        noCollect: !f.collect,
        livenessEvery: f.livenessEvery,
        segment,
        log: (m) => process.stderr.write(`[run] ${m}\n`),
      });
      console.log(formatSummary(out.summary));
      console.log(`results: ${out.dir}`);
      process.exitCode = out.exitCode;
    });
}
