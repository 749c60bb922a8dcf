// Where a run sends its load. Every kind of target (the local stack, the same stack in containers, a URL of a
// real HQ) does the same five steps, so the runner is one pipeline whatever the target.
import type { CollectorTargets } from '../collectors/index.ts';
import type { WorkerIdentity } from '../generators/population.ts';
import type { TargetKind } from '../results-dir/index.ts';
import type { StackContext } from '../stack/component.ts';
import type { Credential, PreflightCheck, ResolvedTarget } from './url-checks.ts';

/** A generated mobile worker of the corpus (users.json). */
export interface CorpusWorker {
  login: string;
  password: string;
  userId: string;
  deviceId: string;
}

export interface ProvisionedWorkers {
  /** the credential preflight tries */
  first: Credential;
  /** a private file of the workers' real logins for k6 (URL targets); removed by stop() */
  usersFile?: string;
}

export interface Target {
  readonly kind: TargetKind;
  /** Installs and starts what the target needs (nothing for a URL), and says where the load goes. */
  prepare(): Promise<{ ctx: StackContext; endpoint: ResolvedTarget }>;
  /**
   * The real workers the corpus must be generated for, worker i as identity i (a URL: learned from one restore per
   * credential); undefined where the target takes the generated workers as they are (a stack of ours).
   */
  identities(): Promise<WorkerIdentity[] | undefined>;
  /** Makes sure the corpus's workers can log in: created on a stack of ours, given their real credentials on a URL. */
  provisionWorkers(workers: CorpusWorker[]): Promise<ProvisionedWorkers>;
  /** Reachable, and the workers' credentials accepted. */
  preflight(first: Credential): Promise<PreflightCheck[]>;
  /** What the collectors watch when no topology names the hosts (undefined: nothing to watch). */
  collectorTargets(): CollectorTargets | undefined;
  /** Releases what prepare and provisionWorkers made for this run; safe to call more than once. */
  stop(): Promise<void>;
}

export interface TargetOptions {
  domain: string;
  /** mobile workers the run sends as */
  users: number;
  log: (msg: string) => void;
}
