// `capacity run <scenario>`: one pipeline whatever the target: prepare the target, plan the corpus, provision the
// workers, preflight, then k6 with collectors and liveness around it, and the results directory (results/) with a
// short summary.
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../core/paths.ts';
import { startCollectors, targetsFromTopology, type RunningCollectors } from '../collectors/index.ts';
import { DEMO_WEB_USER } from '../hq/index.ts';
import { RESULTS_FORMAT, RESULT_FILES, ResultsDir, timeseriesCsv, type RunManifest, type RunSummary } from '../results-dir/index.ts';
import type { RunEnv } from '../scenarios/lib/params.ts';
import { plannedSeconds, plannedSubmissions, type ScenarioName, type ShapeParams } from '../scenarios/lib/shapes.ts';
import type { StackContext } from '../stack/component.ts';
import { k6, k6Binary, k6Build, NATIVE_MODULE } from '../stack/components/k6.ts';
import { versions } from '../stack/config.ts';
import {
  failedPreflight,
  openTarget,
  type CorpusWorker,
  type PreflightCheck,
  type ProvisionedWorkers,
  type ResolvedTarget,
  type Target,
} from '../targets/index.ts';
import { loadTopology } from '../topology/load.ts';
import type { Topology } from '../topology/model.ts';
import { bodyBytes, k6MemoryEstimate, memAvailable } from './corpus.ts';
import { planCorpus, type CorpusPlan } from './corpus-plan.ts';
import { planRun } from './run-plan.ts';
import { runK6, type K6RunResult } from './k6.ts';
import { K6Progress, freePort } from './k6progress.ts';
import { LivenessFollower } from './liveness.ts';
import { runOutcome } from './outcome.ts';
import { k6SegmentArgs, segmentInfo, segmentLabel, type Segment } from './segments.ts';
import { formatSummary } from './summary.ts';
import { aggregateRequestLog } from './timeseries.ts';

export interface RunOptions {
  scenario: ScenarioName;
  /** 'local' (the stack this tool starts), 'containers' (the same stack in containers, docker/) or a base URL. */
  target: string;
  allowRemote?: boolean;
  topologyFile?: string;
  domain: string;
  app: string;
  users: number;
  seed?: number;
  shape: Partial<ShapeParams>;
  /** For URL targets: a file of username,password (or JSON); also CAPACITY_CREDENTIALS. */
  credentialsFile?: string;
  elasticsearchUrl?: string;
  resultsRoot: string;
  collectIntervalMs: number;
  noCollect?: boolean;
  /** Follow one acknowledged form in N for data liveness. */
  livenessEvery: number;
  /** Run only this k6 execution segment (i of N load generators sharing the scenario); needs a fixed seed. */
  segment?: Segment;
  log: (msg: string) => void;
  /** Where k6's progress goes (default: stderr). */
  echo?: (chunk: string) => void;
}

export interface RunOutcome {
  dir: string;
  summary: RunSummary;
  exitCode: number;
}

function readPackageVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function newManifest(opts: RunOptions, target: Target, shape: ShapeParams, seed: number, topology: Topology | undefined): RunManifest {
  return {
    format: RESULTS_FORMAT,
    tool: { name: 'capacity', version: readPackageVersion(), node: process.version },
    scenario: opts.scenario,
    status: 'running',
    startedAt: new Date().toISOString(),
    parameters: {
      shape,
      users: opts.users,
      app: opts.app,
      seed,
      domain: opts.domain,
      plannedSeconds: plannedSeconds(opts.scenario, shape),
      plannedSubmissions: plannedSubmissions(opts.scenario, shape),
      livenessEvery: opts.livenessEvery,
      collectIntervalMs: opts.noCollect ? null : opts.collectIntervalMs,
    },
    target: { kind: target.kind, baseUrl: opts.target, domain: opts.domain },
    segment: opts.segment ? segmentInfo(opts.segment) : undefined,
    versions: { stack: versions },
    topology: topology && opts.topologyFile ? { file: path.resolve(opts.topologyFile), rows: topology.rows } : undefined,
    files: RESULT_FILES,
  };
}

/** capacity's k6 build for the stack context, built when missing; its release and JavaScript extensions. */
async function k6For(ctx: StackContext): Promise<{ binary: string; version?: string; jsExtensions: string[] }> {
  if (!k6.isInstalled(ctx)) await k6.install(ctx);
  const binary = k6Binary(ctx);
  return { binary, ...k6Build(binary) };
}

function warnAboutMemory(plan: CorpusPlan, log: (m: string) => void): void {
  const needed = k6MemoryEstimate(bodyBytes(plan.corpus.dir));
  const available = memAvailable();
  if (available !== undefined && needed > available) {
    log(
      `warning: k6 will need about ${(needed / 2 ** 30).toFixed(1)} GiB for this corpus and ${(available / 2 ** 30).toFixed(1)} GiB is available: ` +
        'split the run over machines (--segment i/N) or make it shorter (--duration, --rate, --max-rate)',
    );
  }
}

async function preflight(
  target: Target,
  workers: ProvisionedWorkers,
  k6info: { binary: string; version?: string; jsExtensions: string[] },
  topology: Topology | undefined,
  log: (m: string) => void,
): Promise<void> {
  const checks: PreflightCheck[] = await target.preflight(workers.first);
  const ext = k6info.jsExtensions.length ? ` with ${k6info.jsExtensions.join(', ')}` : '';
  checks.push({
    name: 'k6 present',
    ok: !!k6info.version,
    detail: k6info.version ? `${k6info.binary} ${k6info.version}${ext}` : `${k6info.binary} does not run`,
  });
  if (topology)
    checks.push({ name: 'topology valid', ok: true, detail: `${topology.rows.length} VM rows, ${topology.hosts.length} hosts` });
  for (const c of checks) log(`preflight ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
  if (checks.some((c) => !c.ok)) throw failedPreflight(checks);
}

interface LoadStep {
  opts: RunOptions;
  results: ResultsDir;
  manifest: RunManifest;
  endpoint: ResolvedTarget;
  plan: CorpusPlan;
  binary: string;
  usersFile?: string;
  shape: ShapeParams;
}

/** The web user exports and the data API run as: CAPACITY_WEB_USER / _PASSWORD / CAPACITY_API_KEY, else the stack's demo one. */
function webUser(): NonNullable<RunEnv['webUser']> {
  const env = process.env;
  return {
    username: env.CAPACITY_WEB_USER ?? DEMO_WEB_USER.username,
    password: env.CAPACITY_WEB_PASSWORD ?? DEMO_WEB_USER.password,
    apiKey: env.CAPACITY_API_KEY ?? DEMO_WEB_USER.apiKey,
  };
}

/** k6 with the liveness follower and k6's progress around it; the request log aggregated afterwards. */
async function sendLoad(s: LoadStep): Promise<{ k6: K6RunResult; summary: RunSummary }> {
  const { opts, results, manifest, endpoint, plan, shape } = s;
  const liveness = new LivenessFollower({
    consoleLog: results.path('requestLog'),
    acksFile: results.path('acks'),
    livenessFile: results.path('liveness'),
    elasticsearchUrl: endpoint.elasticsearchUrl,
  });
  for (const f of ['acks', 'liveness', 'k6Progress'] as const) results.writeText(f, '');
  liveness.start();
  const apiPort = await freePort();
  const progress = new K6Progress(`http://127.0.0.1:${apiPort}`, results.path('k6Progress'));
  progress.start();

  const runEnv: RunEnv = {
    scenario: opts.scenario,
    baseUrl: endpoint.baseUrl,
    domain: opts.domain,
    corpusDir: plan.corpus.dir,
    usersFile: s.usersFile,
    shape: { ...shape },
    followEvery: opts.livenessEvery,
    ownership: { segments: plan.ownership.segments, pool: plan.ownership.pool, segment: opts.segment ? opts.segment.index - 1 : undefined },
    webUser: webUser(),
  };
  if (opts.segment)
    opts.log(
      `k6 execution segment ${manifest.segment!.executionSegment} of ${manifest.segment!.executionSegmentSequence} (segment ${opts.segment.index}/${opts.segment.count})`,
    );
  opts.log(
    `k6: ${opts.scenario} for about ${manifest.parameters.plannedSeconds} s (${shape.rate}/s base rate, ${opts.users} workers, ${shape.vus} VUs)`,
  );
  const k6res = await runK6({
    binary: s.binary,
    script: plan.script,
    // no k6 output: the request log (k6's console, in a file of its own) is the raw record; k6's own log goes to
    // k6.log; k6's REST API on a port of its own
    args: [
      '--summary-export',
      results.path('k6Summary'),
      '--console-output',
      results.path('requestLog'),
      '--log-format',
      'raw',
      '--address',
      `127.0.0.1:${apiPort}`,
      ...(opts.segment ? k6SegmentArgs(opts.segment) : []),
    ],
    env: { CAPACITY_RUN: JSON.stringify(runEnv) },
    logFile: results.path('k6Log'),
    echo: opts.echo ?? ((c) => process.stderr.write(c)),
  });
  opts.log(
    `k6 exited ${k6res.exitCode}${k6res.interrupted ? ' (interrupted)' : ''}; waiting briefly for followed forms to become searchable`,
  );
  const points = await progress.stop();
  await liveness.stop(k6res.interrupted ? 2000 : 30_000);

  const { rows, durations, requests: logged, submissions } = await aggregateRequestLog(results.path('requestLog'), points);
  results.writeText('timeseries', timeseriesCsv(rows));
  const summary = runOutcome({
    results,
    scenario: opts.scenario,
    target:
      manifest.target.kind === 'containers'
        ? `the stack in containers (${endpoint.baseUrl})`
        : endpoint.kind === 'local'
          ? `the local stack (${endpoint.baseUrl})`
          : endpoint.baseUrl,
    startedAt: manifest.startedAt,
    shape,
    rows,
    durations,
    logged,
    submissions,
    lagsMs: liveness.stats.lagsMs,
    k6: k6res,
  });
  return { k6: k6res, summary };
}

export async function runScenario(opts: RunOptions): Promise<RunOutcome> {
  // what a run would refuse anyway, refused before anything starts (the same checks as --dry-run)
  const { shape } = planRun(opts);
  const seed = opts.seed ?? randomInt(1, 2 ** 31 - 1);
  const topology = opts.topologyFile ? loadTopology(opts.topologyFile) : undefined;
  // A bad URL, unreadable credentials or no container engine: one line, before any results folder.
  const target = await openTarget(opts.target, {
    domain: opts.domain,
    users: opts.users,
    log: opts.log,
    allowRemote: opts.allowRemote ?? false,
    credentialsFile: opts.credentialsFile,
    elasticsearchUrl: opts.elasticsearchUrl,
  });

  const results = ResultsDir.create(opts.resultsRoot, opts.segment ? `${opts.scenario}-${segmentLabel(opts.segment)}` : opts.scenario);
  const manifest = newManifest(opts, target, shape, seed, topology);
  results.writeJson('manifest', manifest);
  opts.log(`results: ${results.dir}`);

  let collectors: RunningCollectors | undefined;
  try {
    const { ctx, endpoint } = await target.prepare();
    const k6info = await k6For(ctx);
    manifest.versions.k6 = k6info.version;
    manifest.versions.k6Extensions = k6info.jsExtensions;

    // a real HQ's workers: the corpus is generated for them, so each owns the cases its forms create
    const identities = await target.identities();
    const plan = await planCorpus({
      binary: k6info.binary,
      scenario: opts.scenario,
      shape,
      baseUrl: endpoint.baseUrl,
      domain: opts.domain,
      app: opts.app,
      users: opts.users,
      seed,
      identities,
      segments: opts.segment?.count ?? 1,
      native: k6info.jsExtensions.includes(NATIVE_MODULE),
      home: ctx.paths.home,
      log: opts.log,
    });
    manifest.script = path.relative(repoRoot, plan.script);
    manifest.vuPool = plan.ownership.pool;
    if (plan.corpus.reused)
      opts.log(`reusing corpus ${plan.corpus.key} (same app, users, count, seed, domain${identities ? ' and workers' : ''})`);
    manifest.corpus = { key: plan.corpus.key, dir: plan.corpus.dir, forms: plan.corpus.manifest.count, reused: plan.corpus.reused };
    warnAboutMemory(plan, opts.log);

    const corpusWorkers = JSON.parse(fs.readFileSync(path.join(plan.corpus.dir, 'users.json'), 'utf8')) as CorpusWorker[];
    const workers = await target.provisionWorkers(corpusWorkers);
    await preflight(target, workers, k6info, topology, opts.log);
    results.writeJson('manifest', manifest);

    if (!opts.noCollect) {
      const watched = topology ? targetsFromTopology(topology) : target.collectorTargets();
      if (watched) collectors = startCollectors(watched, { intervalMs: opts.collectIntervalMs, outFile: results.path('samples') });
    }
    const { summary } = await sendLoad({
      opts,
      results,
      manifest,
      endpoint,
      plan,
      binary: k6info.binary,
      usersFile: workers.usersFile,
      shape,
    });
    await collectors?.stop();
    collectors = undefined;

    results.writeJson('summary', summary);
    results.writeText('summaryText', `${formatSummary(summary)}\n`);
    manifest.status = 'finished';
    manifest.endedAt = summary.endedAt;
    results.writeJson('manifest', manifest);
    const exitCode = summary.outcome === 'passed' ? 0 : summary.outcome === 'interrupted' ? 130 : 1;
    return { dir: results.dir, summary, exitCode };
  } catch (err) {
    await collectors?.stop().catch(() => undefined);
    manifest.status = 'failed';
    manifest.endedAt = new Date().toISOString();
    manifest.error = (err as Error).message;
    results.writeJson('manifest', manifest);
    throw err;
  } finally {
    await target.stop();
  }
}
