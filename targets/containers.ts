// The local stack in containers (docker/), started for the run and removed after it.
import { startContainerStack, type ContainerStack } from '../docker/containers.ts';
import type { StackContext } from '../stack/component.ts';
import { elasticsearchUrl } from '../stack/components/elasticsearch.ts';
import { nginxUrl } from '../stack/components/nginx.ts';
import { loadStackContext } from '../stack/stack.ts';
import { provisionOnStack } from './stack-workers.ts';
import type { CorpusWorker, ProvisionedWorkers, Target, TargetOptions } from './target.ts';
import { preflightTarget, type Credential, type ResolvedTarget } from './url-checks.ts';

export class ContainersTarget implements Target {
  readonly kind = 'containers' as const;
  private stack?: ContainerStack;
  private ctx?: StackContext;
  private endpoint?: ResolvedTarget;

  constructor(private readonly opts: TargetOptions) {}

  /** Before any results folder: without a Docker engine this is one clear line. */
  async start(): Promise<void> {
    this.stack ??= await startContainerStack({ log: this.opts.log });
  }

  async prepare(): Promise<{ ctx: StackContext; endpoint: ResolvedTarget }> {
    await this.start();
    this.ctx = { ...loadStackContext({ progress: { step: (m) => this.opts.log(m) } }), config: this.stack!.config };
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
    return this.stack?.collectorTargets;
  }

  async stop(): Promise<void> {
    const stack = this.stack;
    this.stack = undefined;
    await stack?.stop().catch((err: Error) => this.opts.log(`containers: could not stop them: ${err.message}`));
  }
}
