// `capacity run <scenario>`: preflight, corpus, collectors, k6 with live progress, then a results directory
// (manifest, k6 summary, per-second time series, acks, liveness, samples) and a short summary.
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../core/errors.ts';
import { startContainerStack, type ContainerStack } from '../docker/containers.ts';
import { localTargets, startCollectors, targetsFromTopology, type CollectorTargets, type RunningCollectors } from '../collectors/index.ts';
import { corpusForms, ownershipProblem } from '../scenarios/lib/ownership.ts';
import { planOwnership } from './pool.ts';
import { breakSteps, plannedSeconds, plannedSubmissions, resolveShape, type ScenarioName, type ShapeParams } from '../scenarios/lib/shapes.ts';
import type { RunEnv } from '../scenarios/lib/params.ts';
import type { StackContext } from '../stack/component.ts';
import { elasticsearchUrl } from '../stack/components/elasticsearch.ts';
import { k6, k6Binary, k6Build, NATIVE_MODULE } from '../stack/components/k6.ts';
import { nginxUrl } from '../stack/components/nginx.ts';
import { postgresUrl } from '../stack/components/postgres.ts';
import { versions } from '../stack/config.ts';
import { createPool } from '../hq/db.ts';
import { ensureMobileWorkers } from '../hq/users.ts';
import { repoRoot } from '../core/paths.ts';
import { loadStackContext, stackUp, type UpResult } from '../stack/stack.ts';
import { loadTopology } from '../topology/load.ts';
import type { Topology } from '../topology/model.ts';
import { bodyBytes, k6MemoryEstimate, memAvailable, prepareCorpus } from './corpus.ts';
import { K6_EXIT, runK6 } from './k6.ts';
import { LivenessFollower } from './liveness.ts';
import { k6SegmentArgs, segmentInfo, segmentLabel, type Segment, type SegmentInfo } from './segments.ts';
import { createResultsDir, RESULT_FILES, writeJson, readJson } from './results.ts';
import { endpointStats, formatSummary, livenessStats, runThresholds, type K6SummaryExport, type RunSummary } from './summary.ts';
import { parseCredentials, parseTargetUrl, preflightTarget, type Credential, type ResolvedTarget } from './target.ts';
import { K6Progress, freePort } from './k6progress.ts';
import { aggregateRequestLog, rampToBreakSummary, timeseriesCsv, type SecondRow } from './timeseries.ts';

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

interface Manifest {
  tool: { name: string; version: string; node: string };
  scenario: ScenarioName;
  status: 'running' | 'finished' | 'failed';
  startedAt: string;
  endedAt?: string;
  parameters: { shape: ShapeParams; users: number; app: string; seed: number; domain: string; plannedSeconds: number; plannedSubmissions: number;
    livenessEvery: number; collectIntervalMs: number | null };
  target: { kind: ResolvedTarget['kind'] | 'containers'; baseUrl: string; domain: string };
  segment?: SegmentInfo;
  /** VUs of this load generator, each owning mobile workers (derived, not a parameter: a segment has its share). */
  vuPool?: number;
  /** k6's release; k6Extensions: the JavaScript modules its build adds (k6/x/capacity: the native submission path) */
  versions: { k6?: string; k6Extensions?: string[]; stack?: typeof versions };
  /** the script k6 ran: the scenario file, or scenarios/native-run.ts on capacity's k6 build */
  script?: string;
  corpus?: { key: string; dir: string; forms: number; reused: boolean };
  topology?: { file: string; rows: Topology['rows'] };
  files: typeof RESULT_FILES;
  error?: string;
}

function readPackageVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function credentialsFor(opts: RunOptions): Credential[] | undefined {
  const file = opts.credentialsFile ?? process.env.CAPACITY_CREDENTIALS;
  if (!file) return undefined;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read credentials file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseCredentials(text, file);
}

/** A target stopping mid-run: the second from which (nearly) every request failed until the end. */
export function failingSince(rows: SecondRow[]): number | undefined {
  const perSecond = new Map<number, { req: number; failed: number }>();
  for (const r of rows) {
    const s = perSecond.get(r.second) ?? { req: 0, failed: 0 };
    s.req += r.requests;
    s.failed += r.failed;
    perSecond.set(r.second, s);
  }
  const seconds = [...perSecond.keys()].sort((a, b) => a - b);
  let since: number | undefined;
  for (const s of seconds) {
    const v = perSecond.get(s)!;
    if (v.req === 0) continue;
    if (v.failed / v.req >= 0.9) since ??= s;
    else since = undefined;
  }
  return since;
}

export async function runScenario(opts: RunOptions): Promise<RunOutcome> {
  const shape = resolveShape(opts.scenario, { ...opts.shape, users: opts.users });
  const seed = opts.seed ?? randomInt(1, 2 ** 31 - 1);
  const topology = opts.topologyFile ? loadTopology(opts.topologyFile) : undefined;
  const credentials = credentialsFor(opts);
  const isContainers = opts.target === 'containers';
  const isLocal = opts.target === 'local' || isContainers;
  const url = isLocal ? undefined : parseTargetUrl(opts.target, opts.allowRemote ?? false);
  if (!isLocal && !credentials) {
    throw new UserError('a URL target needs mobile worker credentials: --credentials <file> (username,password per line) or CAPACITY_CREDENTIALS');
  }
  if (opts.segment && opts.seed === undefined) {
    throw new UserError('--segment needs --seed: every segment must send from the same corpus (same --seed, --app, --users and --domain)');
  }
  // Every VU owns mobile workers: too few workers for the VUs is a clear error before anything starts (the exact
  // pool comes from k6 below; this is the same figure unless k6 rounds a segment's share).
  const earlyProblem = ownershipProblem({ users: opts.users, segments: opts.segment?.count ?? 1, pool: Math.ceil(shape.vus / (opts.segment?.count ?? 1)) });
  if (earlyProblem) throw new UserError(earlyProblem);
  // Before any results folder: without a Docker engine this is one clear line and a non-zero exit.
  const containers: ContainerStack | undefined = isContainers ? await startContainerStack({ log: opts.log }) : undefined;

  const dir = createResultsDir(opts.resultsRoot, opts.segment ? `${opts.scenario}-${segmentLabel(opts.segment)}` : opts.scenario);
  const files = Object.fromEntries(Object.entries(RESULT_FILES).map(([k, v]) => [k, path.join(dir, v)])) as Record<keyof typeof RESULT_FILES, string>;
  const manifest: Manifest = {
    tool: { name: 'capacity', version: readPackageVersion(), node: process.version },
    scenario: opts.scenario,
    status: 'running',
    startedAt: new Date().toISOString(),
    parameters: { shape, users: opts.users, app: opts.app, seed, domain: opts.domain, plannedSeconds: plannedSeconds(opts.scenario, shape),
      plannedSubmissions: plannedSubmissions(opts.scenario, shape), livenessEvery: opts.livenessEvery,
      collectIntervalMs: opts.noCollect ? null : opts.collectIntervalMs },
    target: { kind: isContainers ? 'containers' : isLocal ? 'local' : 'url', baseUrl: url?.origin ?? opts.target, domain: opts.domain },
    segment: opts.segment ? segmentInfo(opts.segment) : undefined,
    versions: { stack: versions },
    topology: topology && opts.topologyFile ? { file: path.resolve(opts.topologyFile), rows: topology.rows } : undefined,
    files: RESULT_FILES,
  };
  writeJson(dir, RESULT_FILES.manifest, manifest);
  opts.log(`results: ${dir}`);

  let collectors: RunningCollectors | undefined;
  // real workers' credentials for k6, in a private file removed however the run ends (preflight may refuse it)
  let usersFile: string | undefined;
  try {
    // Target and k6
    let ctx: StackContext = loadStackContext({ progress: { step: (m) => opts.log(m) }, createUser: isLocal });
    let target: ResolvedTarget;
    if (containers) {
      ctx = { ...ctx, config: containers.config };
      if (!k6.isInstalled(ctx)) await k6.install(ctx);
      target = { kind: 'local', baseUrl: nginxUrl(ctx), domain: opts.domain, elasticsearchUrl: elasticsearchUrl(ctx) };
    } else if (isLocal) {
      opts.log('local target: making sure the stack is installed and running');
      const up: UpResult = await stackUp(ctx);
      if (up.started.length) opts.log(`started ${up.started.join(', ')}`);
      ctx = loadStackContext();
      target = { kind: 'local', baseUrl: nginxUrl(ctx), domain: opts.domain, elasticsearchUrl: elasticsearchUrl(ctx) };
    } else {
      if (!k6.isInstalled(ctx)) await k6.install(ctx);
      target = { kind: 'url', baseUrl: url!.origin + url!.pathname.replace(/\/$/, ''), domain: opts.domain, elasticsearchUrl: opts.elasticsearchUrl };
    }
    const binary = k6Binary(ctx);
    const build = k6Build(binary);
    manifest.versions.k6 = build.version;
    manifest.versions.k6Extensions = build.jsExtensions;

    // The VU pool as k6 plans it, then the corpus: every worker holds what its VU can ask of it
    const { script, ownership } = await planOwnership(binary, opts.scenario, { baseUrl: target.baseUrl, domain: opts.domain, shape: { ...shape } },
      opts.users, opts.segment?.count ?? 1, { native: manifest.versions.k6Extensions.includes(NATIVE_MODULE) });
    manifest.script = path.relative(repoRoot, script);
    manifest.vuPool = ownership.pool;
    const count = corpusForms(ownership, manifest.parameters.plannedSubmissions);
    const corpus = await prepareCorpus(ctx.paths.home, { app: opts.app, users: opts.users, count, seed, domain: opts.domain }, opts.log);
    if (corpus.reused) opts.log(`reusing corpus ${corpus.key} (same app, users, count, seed and domain)`);
    manifest.corpus = { key: corpus.key, dir: corpus.dir, forms: corpus.manifest.count, reused: corpus.reused };
    const needed = k6MemoryEstimate(bodyBytes(corpus.dir));
    const available = memAvailable();
    if (available !== undefined && needed > available) {
      opts.log(`warning: k6 will need about ${(needed / 2 ** 30).toFixed(1)} GiB for this corpus and ${(available / 2 ** 30).toFixed(1)} GiB is available: ` +
        'split the run over machines (--segment i/N) or make it shorter (--duration, --rate, --max-rate)');
    }

    // Mobile workers: provisioned on the local stack; on a real target they must exist (credentials file).
    let first: Credential;
    const corpusUsers = JSON.parse(fs.readFileSync(path.join(corpus.dir, 'users.json'), 'utf8')) as
      { login: string; password: string; userId: string; deviceId: string }[];
    if (isLocal) {
      const pool = createPool(postgresUrl(ctx), 2);
      try {
        await ensureMobileWorkers(pool, opts.domain, corpusUsers.map((u) => ({ username: u.login, password: u.password, userId: u.userId, deviceId: u.deviceId })));
      } finally {
        await pool.end();
      }
      first = { username: corpusUsers[0]!.login, password: corpusUsers[0]!.password };
    } else {
      // Real workers' logins replace the generated ones for authentication, worker i -> credential i mod n.
      // They go to a private file for this run only (never into the shared corpus or the results).
      const creds = credentials!;
      const mapped = corpusUsers.map((u, i) => ({ ...u, login: creds[i % creds.length]!.username, password: creds[i % creds.length]!.password }));
      usersFile = path.join(ctx.paths.run, `credentials-${process.pid}.json`);
      fs.mkdirSync(ctx.paths.run, { recursive: true });
      fs.writeFileSync(usersFile, JSON.stringify(mapped), { mode: 0o600 });
      first = creds[0]!;
    }

    // Preflight
    const checks = await preflightTarget(target, first);
    checks.push({ name: 'k6 present', ok: !!manifest.versions.k6, detail: manifest.versions.k6 ? `${binary} ${manifest.versions.k6}${manifest.versions.k6Extensions?.length ? ` with ${manifest.versions.k6Extensions.join(', ')}` : ''}` : `${binary} does not run` });
    if (topology) checks.push({ name: 'topology valid', ok: true, detail: `${topology.rows.length} VM rows, ${topology.hosts.length} hosts` });
    for (const c of checks) opts.log(`preflight ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
    const failed = checks.filter((c) => !c.ok);
    if (failed.length) throw new UserError(`preflight failed: ${failed.map((c) => `${c.name} (${c.detail})`).join('; ')}`);
    writeJson(dir, RESULT_FILES.manifest, manifest);

    // Collectors and liveness, around k6
    if (!opts.noCollect) {
      const targets: CollectorTargets | undefined = topology ? targetsFromTopology(topology) : containers ? containers.collectorTargets : isLocal ? localTargets(ctx) : undefined;
      if (targets) collectors = startCollectors(targets, { intervalMs: opts.collectIntervalMs, outFile: files.samples });
    }
    const liveness = new LivenessFollower({ consoleLog: files.requestLog, acksFile: files.acks, livenessFile: files.liveness,
      elasticsearchUrl: target.elasticsearchUrl });
    fs.writeFileSync(files.acks, '');
    fs.writeFileSync(files.liveness, '');
    fs.writeFileSync(files.k6Progress, '');
    liveness.start();
    const apiPort = await freePort();
    const progress = new K6Progress(`http://127.0.0.1:${apiPort}`, files.k6Progress);
    progress.start();

    const runEnv: RunEnv = { scenario: opts.scenario, baseUrl: target.baseUrl, domain: opts.domain, corpusDir: corpus.dir, usersFile,
      shape: { ...shape }, followEvery: opts.livenessEvery, ownership: { segments: ownership.segments, pool: ownership.pool, segment: opts.segment ? opts.segment.index - 1 : undefined } };
    if (opts.segment) opts.log(`k6 execution segment ${manifest.segment!.executionSegment} of ${manifest.segment!.executionSegmentSequence} (segment ${opts.segment.index}/${opts.segment.count})`);
    opts.log(`k6: ${opts.scenario} for about ${manifest.parameters.plannedSeconds} s (${shape.rate}/s base rate, ${opts.users} workers, ${shape.vus} VUs)`);
    const k6res = await runK6({
      binary,
      script,
      // no k6 output: the request log (k6's console, in a file of its own) is the raw record; k6's own log goes to
      // k6.log; k6's REST API on a port of its own
      args: ['--summary-export', files.k6Summary, '--console-output', files.requestLog, '--log-format', 'raw', '--address', `127.0.0.1:${apiPort}`,
        ...(opts.segment ? k6SegmentArgs(opts.segment) : [])],
      env: { CAPACITY_RUN: JSON.stringify(runEnv) },
      logFile: files.k6Log,
      echo: opts.echo ?? ((c) => process.stderr.write(c)),
    }).finally(() => {
      if (usersFile) fs.rmSync(usersFile, { force: true });
      usersFile = undefined;
    });
    opts.log(`k6 exited ${k6res.exitCode}${k6res.interrupted ? ' (interrupted)' : ''}; waiting briefly for followed forms to become searchable`);
    const points = await progress.stop();
    await liveness.stop(k6res.interrupted ? 2000 : 30_000);
    await collectors?.stop();
    collectors = undefined;

    // Results
    const { rows, durations, requests: logged, submissions } = await aggregateRequestLog(files.requestLog, points);
    fs.writeFileSync(files.timeseries, timeseriesCsv(rows));
    const k6sum = readJson<K6SummaryExport>(dir, RESULT_FILES.k6Summary);
    const endpoints = endpointStats(rows, durations);
    const requests = Object.values(endpoints).reduce((s, e) => s + e.count, 0);
    const failedRequests = Object.values(endpoints).reduce((s, e) => s + e.failed, 0);
    const thresholds = runThresholds(k6sum, submissions, shape);
    const firstSecond = rows.length ? rows[0]!.second : 0;
    const lastSecond = rows.length ? rows[rows.length - 1]!.second : 0;
    const durationS = rows.length ? lastSecond - firstSecond + 1 : 0;
    const acknowledged = submissions.accepted;
    // k6 stopped early (Ctrl-C, a threshold's abort) before some VUs wrote their last batch of the request log
    const notLogged = Math.max(0, Number(k6sum?.metrics.http_reqs?.count ?? 0) - logged);
    const neverSearchable = fs.readFileSync(files.liveness, 'utf8').split('\n').filter((l) => l && !l.includes('searchableAt')).length;
    const summary: RunSummary = {
      scenario: opts.scenario,
      target: target.kind === 'local' ? `the local stack (${target.baseUrl})` : target.baseUrl,
      startedAt: manifest.startedAt,
      endedAt: new Date().toISOString(),
      durationS,
      requests,
      failedRequests,
      failedRate: requests ? failedRequests / requests : 0,
      acknowledged,
      acknowledgedPerSec: durationS ? acknowledged / durationS : 0,
      ...(notLogged ? { requestsNotLogged: notLogged } : {}),
      droppedIterations: Number(k6sum?.metrics.dropped_iterations?.count ?? 0),
      corpusExhausted: Number(k6sum?.metrics.corpus_exhausted?.count ?? 0),
      endpoints,
      thresholds,
      thresholdsPassed: thresholds.every((t) => t.ok),
      liveness: livenessStats(liveness.stats.lagsMs, neverSearchable),
      k6ExitCode: k6res.exitCode,
      interrupted: k6res.interrupted,
      outcome: 'passed',
      message: '',
    };
    if (opts.scenario === 'ramp-to-break' && rows.length) {
      summary.rampToBreak = rampToBreakSummary(rows, firstSecond, breakSteps(shape), shape.stepS, { p95Ms: shape.writeP95Ms, failedRate: shape.failedRate });
    }
    const dead = failingSince(rows);
    if (k6res.interrupted) {
      summary.outcome = 'interrupted';
      summary.message = 'stopped by the user; partial results kept';
    } else if (requests === 0) {
      summary.outcome = 'failed';
      summary.message = `k6 sent no request (exit ${k6res.exitCode}); see ${files.k6Log}`;
    } else if (dead !== undefined) {
      summary.outcome = 'failed';
      summary.message = `the target stopped answering ${dead - firstSecond} s into the run (nearly every request failed from then on); partial results kept`;
    } else if (opts.scenario === 'ramp-to-break') {
      summary.outcome = summary.rampToBreak?.highestSustainedRate ? 'passed' : 'thresholds-failed';
      summary.message = `highest rate sustained: ${summary.rampToBreak?.highestSustainedRate ?? 'none'}/s`;
    } else if (!summary.thresholdsPassed || k6res.exitCode === K6_EXIT.thresholdsFailed) {
      summary.outcome = 'thresholds-failed';
      summary.message = `${thresholds.filter((t) => !t.ok).length} threshold(s) failed`;
    } else if (k6res.exitCode !== 0) {
      summary.outcome = 'failed';
      summary.message = `k6 exited ${k6res.exitCode}; see ${files.k6Log}`;
    } else {
      summary.message = 'all thresholds held';
    }
    writeJson(dir, RESULT_FILES.summary, summary);
    const text = formatSummary(summary);
    fs.writeFileSync(files.summaryText, `${text}\n`);
    manifest.status = 'finished';
    manifest.endedAt = summary.endedAt;
    writeJson(dir, RESULT_FILES.manifest, manifest);
    const exitCode = summary.outcome === 'passed' ? 0 : summary.outcome === 'interrupted' ? 130 : 1;
    return { dir, summary, exitCode };
  } catch (err) {
    await collectors?.stop().catch(() => undefined);
    manifest.status = 'failed';
    manifest.endedAt = new Date().toISOString();
    manifest.error = (err as Error).message;
    writeJson(dir, RESULT_FILES.manifest, manifest);
    throw err;
  } finally {
    if (usersFile) fs.rmSync(usersFile, { force: true });
    await containers?.stop().catch((err) => opts.log(`containers: could not stop them: ${(err as Error).message}`));
  }
}
