// The local stack in containers (docker/), started for the run and removed after it.
import { startContainerStack, type ContainerStack } from '../docker/containers.ts';
import type { StackContext } from '../stack/component.ts';
import { loadStackContext } from '../stack/stack.ts';
import { StackTarget } from './stack-target.ts';

export class ContainersTarget extends StackTarget {
  readonly kind = 'containers' as const;
  private stack?: ContainerStack;

  /** Before any results folder: without a Docker engine this is one clear line. */
  async start(): Promise<void> {
    this.stack ??= await startContainerStack({ log: this.opts.log });
  }

  protected async startStack(): Promise<StackContext> {
    await this.start();
    return { ...loadStackContext({ progress: { step: (m) => this.opts.log(m) } }), config: this.stack!.config };
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
