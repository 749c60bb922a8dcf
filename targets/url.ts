// A real CommCare HQ (or anything that speaks its APIs) at a URL: nothing is installed or started; the mobile
// workers must exist (`capacity workers create` makes them), and their logins come from a credentials file. The
// corpus is generated for those workers (their user ids, learned at preflight), one generated worker per real one.
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../core/errors.ts';
import type { StackContext } from '../stack/component.ts';
import { toolContext } from '../stack/stack.ts';
import type { WorkerIdentity } from '../generators/population.ts';
import { learnIdentities } from './identities.ts';
import type { CorpusWorker, ProvisionedWorkers, Target, TargetOptions } from './target.ts';
import { failedPreflight, parseCredentials, parseTargetUrl, preflightTarget, type Credential, type ResolvedTarget } from './url-checks.ts';

export interface UrlTargetOptions extends TargetOptions {
  url: string;
  allowRemote: boolean;
  /** username,password per line (or JSON); also CAPACITY_CREDENTIALS */
  credentialsFile?: string;
  elasticsearchUrl?: string;
}

/** The credentials file's logins; one line when the file is missing or unreadable. */
export function readCredentials(file: string | undefined): Credential[] {
  if (!file)
    throw new UserError(
      'a URL target needs mobile worker credentials: --credentials <file> (username,password per line) or CAPACITY_CREDENTIALS',
    );
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read credentials file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseCredentials(text, file);
}

/** The first `users` credentials: one real worker per generated one; fewer is refused in one line that says what to do. */
export function credentialsFor(file: string | undefined, users: number): Credential[] {
  const all = readCredentials(file);
  if (all.length < users) {
    throw new UserError(
      `--users ${users} needs ${users} mobile workers and ${file} has ${all.length}: pass --users ${all.length}, ` +
        `or create more with capacity workers create --count ${users}`,
    );
  }
  return all.slice(0, users);
}

/** Where a run keeps the workers' logins for k6 while it runs (mode 700; never the stack's folders). */
export function privateDir(ctx: StackContext): string {
  return path.join(ctx.paths.home, 'private');
}

export class UrlTarget implements Target {
  readonly kind = 'url' as const;
  private readonly url: URL;
  private readonly credentials: Credential[];
  private ctx?: StackContext;
  private endpoint?: ResolvedTarget;
  private usersFile?: string;

  /** Checks the URL and reads the credentials at once, before anything is written: one real worker per generated one. */
  constructor(private readonly opts: UrlTargetOptions) {
    this.url = parseTargetUrl(opts.url, opts.allowRemote);
    this.credentials = credentialsFor(opts.credentialsFile ?? process.env.CAPACITY_CREDENTIALS, opts.users);
  }

  async prepare(): Promise<{ ctx: StackContext; endpoint: ResolvedTarget }> {
    // the tool's own folders only: a run against a deployment reads nothing of a local stack (its state, /proc)
    this.ctx = toolContext({ progress: { step: (m) => this.opts.log(m) } });
    const endpoint: ResolvedTarget = {
      kind: 'url',
      baseUrl: this.url.origin + this.url.pathname.replace(/\/$/, ''),
      domain: this.opts.domain,
      elasticsearchUrl: this.opts.elasticsearchUrl,
    };
    this.endpoint = endpoint;
    return { ctx: this.ctx, endpoint };
  }

  /** Reachable and the first login accepted, then each credential's worker from its own restore. */
  async identities(): Promise<WorkerIdentity[]> {
    const checks = await preflightTarget(this.endpoint!, this.credentials[0]!);
    if (checks.some((c) => !c.ok)) throw failedPreflight(checks);
    this.opts.log(`preflight: learning ${this.credentials.length} mobile workers' user ids (one restore each)`);
    return learnIdentities(this.endpoint!, this.credentials);
  }

  /**
   * Generated worker i was generated for credential i's worker (identities): it logs in as that worker. The logins
   * go to a private file for this run only (never into the shared corpus or the results).
   */
  async provisionWorkers(workers: CorpusWorker[]): Promise<ProvisionedWorkers> {
    const creds = this.credentials;
    if (workers.length !== creds.length) throw new Error(`${workers.length} corpus workers for ${creds.length} credentials`);
    const mapped = workers.map((u, i) => ({ ...u, login: creds[i]!.username, password: creds[i]!.password }));
    const dir = privateDir(this.ctx!);
    this.usersFile = path.join(dir, `credentials-${process.pid}.json`);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(this.usersFile, JSON.stringify(mapped), { mode: 0o600 });
    return { first: creds[0]!, usersFile: this.usersFile };
  }

  preflight(first: Credential) {
    return preflightTarget(this.endpoint!, first);
  }

  collectorTargets() {
    return undefined;
  }

  /** Removes the private credentials file, however the run ended. */
  async stop(): Promise<void> {
    if (this.usersFile) fs.rmSync(this.usersFile, { force: true });
    this.usersFile = undefined;
  }
}
