// What a run will send, worked out before anything is sent: for --dry-run, and for the one confirmation line a
// target off this machine gets. The checks a run would refuse anyway (ownership, the rate ceiling, too few
// credentials) are made here, so a dry run refuses what the run would.
import { UserError } from '../core/errors.ts';
import { loadApp } from '../generators/node/apps.ts';
import { ownershipProblem } from '../scenarios/lib/ownership.ts';
import {
  peakRate,
  plannedSeconds,
  plannedSubmissions,
  rateCeilingProblem,
  resolveShape,
  type ScenarioName,
  type ShapeParams,
} from '../scenarios/lib/shapes.ts';
import { credentialsFor, isLoopbackHost, parseTargetUrl } from '../targets/index.ts';
import type { Segment } from './segments.ts';

export interface PlanInput {
  scenario: ScenarioName;
  target: string;
  allowRemote?: boolean;
  domain: string;
  app: string;
  users: number;
  shape: Partial<ShapeParams>;
  credentialsFile?: string;
  segment?: Segment;
  seed?: number;
}

export interface RunPlan {
  scenario: ScenarioName;
  target: string;
  /** a target that is not on this machine */
  remote: boolean;
  domain: string;
  shape: ShapeParams;
  durationS: number;
  peakRate: number;
  /** at most this many submissions (the corpus holds them) */
  submissions: number;
  restores: number;
  searches: number;
  /** exports asked for by web users, and data API pages (mixed-day, soak, export-storm) */
  exports: number;
  apiPages: number;
  /** who sends: the generated workers, or the logins of the credentials file (never their passwords) */
  workers: { count: number; logins?: string[] };
  forms: { app: string; names: string[] };
}

const round = (n: number) => Math.round(n);

export function planRun(i: PlanInput): RunPlan {
  const shape = resolveShape(i.scenario, { ...i.shape, users: i.users });
  if (i.segment && i.seed === undefined) {
    throw new UserError('--segment needs --seed: every segment must send from the same corpus (same --seed, --app, --users and --domain)');
  }
  // Every VU owns mobile workers: too few workers for the VUs is refused before anything starts (the exact pool comes
  // from k6 later; this is the same figure unless k6 rounds a segment's share).
  const segments = i.segment?.count ?? 1;
  const problem = ownershipProblem({ users: i.users, segments, pool: Math.ceil(shape.vus / segments) });
  if (problem) throw new UserError(problem);
  const ceiling = rateCeilingProblem(i.scenario, shape);
  if (ceiling) throw new UserError(ceiling);
  let remote = false;
  let logins: string[] | undefined;
  if (i.target !== 'local' && i.target !== 'containers') {
    remote = !isLoopbackHost(parseTargetUrl(i.target, i.allowRemote ?? false).hostname);
    logins = credentialsFor(i.credentialsFile ?? process.env.CAPACITY_CREDENTIALS, i.users).map((c) => c.username);
  }
  const durationS = plannedSeconds(i.scenario, shape);
  const submissions = plannedSubmissions(i.scenario, shape);
  const mixed = i.scenario === 'mixed-day' || i.scenario === 'soak';
  const restores = i.scenario === 'restore-storm' ? 2 * i.users : mixed ? round(shape.rate * shape.restoreRatio * durationS) : 0;
  const searches = mixed ? round(shape.rate * shape.searchRatio * durationS) : 0;
  const webLoad = mixed || i.scenario === 'export-storm';
  const exports = webLoad && shape.exportUsers > 0 ? round((shape.exportUsers / shape.exportIntervalS) * durationS) : 0;
  const apiPages = webLoad && shape.apiClients > 0 ? round(shape.apiRate * durationS) : 0;
  return {
    scenario: i.scenario,
    target: i.target,
    remote,
    domain: i.domain,
    shape,
    durationS,
    peakRate: peakRate(i.scenario, shape),
    submissions,
    restores,
    searches,
    exports,
    apiPages,
    workers: { count: i.users, logins },
    forms: { app: i.app, names: loadApp(i.app).app.forms.map((f) => `${f.id} (${f.category})`) },
  };
}

/** What is sent, counted: forms, then whatever else the scenario sends. */
const counts = (p: RunPlan) =>
  [
    `up to ${p.submissions} forms`,
    p.restores ? `${p.restores} restores` : '',
    p.searches ? `${p.searches} case searches` : '',
    p.exports ? `${p.exports} exports` : '',
    p.apiPages ? `${p.apiPages} data API pages` : '',
  ]
    .filter(Boolean)
    .join(', ');

const totals = (p: RunPlan) =>
  `${counts(p)} over ${p.durationS} s ` +
  `(base ${p.shape.rate}/s, peak ${+p.peakRate.toFixed(2)}/s, ceiling --max-rate ${p.shape.maxRate}/s) as ${p.workers.count} mobile workers`;

/** The one line asked before load goes to a deployment off this machine. */
export function confirmationLine(p: RunPlan): string {
  return `${p.scenario} will send ${totals(p)} to ${p.target}, domain ${p.domain}.`;
}

/** --dry-run's plan: everything that would be sent, and to where. */
export function formatPlan(p: RunPlan): string {
  const target =
    p.target === 'local' || p.target === 'containers' ? `${p.target} stack` : `${p.target}${p.remote ? ' (not on this machine)' : ''}`;
  const logins = p.workers.logins;
  const lines = [
    `dry run: nothing is sent`,
    `scenario:    ${p.scenario}`,
    `target:      ${target}, domain ${p.domain}`,
    `duration:    ${p.durationS} s`,
    `rates:       base ${p.shape.rate} forms/s, peak ${+p.peakRate.toFixed(2)} requests/s, ceiling ${p.shape.maxRate}/s (--max-rate)`,
    `totals:      ${counts(p)}`,
    `workers:     ${p.workers.count}${logins ? ` real, from the credentials: ${logins.slice(0, 5).join(', ')}${logins.length > 5 ? `, ... ${logins[logins.length - 1]}` : ''}` : ' generated (created on the stack)'}` +
      `, ${p.shape.vus} VUs; about ${Math.ceil(p.submissions / p.workers.count)} forms each`,
    `forms:       app ${p.forms.app}: ${p.forms.names.join(', ')}`,
    `thresholds:  p95 writes < ${p.shape.writeP95Ms} ms, p95 reads < ${p.shape.readP95Ms} ms, failed < ${p.shape.failedRate * 100} %; ` +
      `stops early once ${p.shape.abortFailedRate * 100} % have failed (--abort-failed)`,
  ];
  return lines.join('\n');
}
