// The local stack that capacity installs and starts itself: the default target.
import { localTargets } from '../collectors/index.ts';
import type { StackContext } from '../stack/component.ts';
import { elasticsearchUrl } from '../stack/components/elasticsearch.ts';
import { nginxUrl } from '../stack/components/nginx.ts';
import { loadStackContext, stackUp } from '../stack/stack.ts';
import { provisionOnStack } from './stack-workers.ts';
import type { CorpusWorker, ProvisionedWorkers, Target, TargetOptions } from './target.ts';
import { preflightTarget, type Credential, type ResolvedTarget } from './url-checks.ts';

export class LocalTarget implements Target {
  readonly kind = 'local' as const;
  private ctx?: StackContext;
  private endpoint?: ResolvedTarget;

  constructor(private readonly opts: TargetOptions) {}

  async prepare(): Promise<{ ctx: StackContext; endpoint: ResolvedTarget }> {
    this.opts.log('local target: making sure the stack is installed and running');
    const up = await stackUp(loadStackContext({ progress: { step: (m) => this.opts.log(m) }, createUser: true }));
    if (up.started.length) this.opts.log(`started ${up.started.join(', ')}`);
    this.ctx = loadStackContext();
    this.endpoint = { kind: 'local', baseUrl: nginxUrl(this.ctx), domain: this.opts.domain, elasticsearchUrl: elasticsearchUrl(this.ctx) };
    return { ctx: this.ctx, endpoint: this.endpoint };
  }

  provisionWorkers(workers: CorpusWorker[]): Promise<ProvisionedWorkers> {
    return provisionOnStack(this.ctx!, this.opts.domain, workers);
  }

  preflight(first: Credential) {
    return preflightTarget(this.endpoint!, first);
  }

  collectorTargets() {
    return localTargets(this.ctx!);
  }

  async stop(): Promise<void> {
    // the stack keeps running after a run, so the next one starts at once (`capacity stack down` stops it)
  }
}
