// What the local stack and the same stack in containers share: the stack's nginx and Elasticsearch as the
// endpoint, and mobile workers (and the demo web user) created straight in its PostgreSQL.
import { createPool, DEMO_WEB_USER, ensureMobileWorkers, ensureWebUser } from '../hq/index.ts';
import type { StackContext } from '../stack/component.ts';
import { elasticsearchUrl } from '../stack/components/elasticsearch.ts';
import { nginxUrl } from '../stack/components/nginx.ts';
import { postgresUrl } from '../stack/components/postgres.ts';
import type { CollectorTargets } from '../collectors/index.ts';
import type { TargetKind } from '../results-dir/index.ts';
import type { CorpusWorker, ProvisionedWorkers, Target, TargetOptions } from './target.ts';
import { preflightTarget, type Credential, type PreflightCheck, type ResolvedTarget } from './url-checks.ts';

export abstract class StackTarget implements Target {
  abstract readonly kind: TargetKind;
  protected ctx?: StackContext;
  private endpoint?: ResolvedTarget;

  constructor(protected readonly opts: TargetOptions) {}

  /** Starts the stack and returns its context (ports, paths). */
  protected abstract startStack(): Promise<StackContext>;
  abstract collectorTargets(): CollectorTargets | undefined;
  abstract stop(): Promise<void>;

  async prepare(): Promise<{ ctx: StackContext; endpoint: ResolvedTarget }> {
    this.ctx = await this.startStack();
    this.endpoint = { kind: 'local', baseUrl: nginxUrl(this.ctx), domain: this.opts.domain, elasticsearchUrl: elasticsearchUrl(this.ctx) };
    return { ctx: this.ctx, endpoint: this.endpoint };
  }

  /** The generated workers are created as they are (provisionWorkers). */
  async identities(): Promise<undefined> {
    return undefined;
  }

  async provisionWorkers(workers: CorpusWorker[]): Promise<ProvisionedWorkers> {
    const pool = createPool(postgresUrl(this.ctx!), 2);
    try {
      await ensureMobileWorkers(
        pool,
        this.opts.domain,
        workers.map((u) => ({ username: u.login, password: u.password, userId: u.userId, deviceId: u.deviceId })),
      );
      // the web user that asks for exports and calls the data API, in the run's domain
      await ensureWebUser(pool, this.opts.domain, DEMO_WEB_USER);
    } finally {
      await pool.end();
    }
    return { first: { username: workers[0]!.login, password: workers[0]!.password } };
  }

  preflight(first: Credential): Promise<PreflightCheck[]> {
    return preflightTarget(this.endpoint!, first);
  }
}
