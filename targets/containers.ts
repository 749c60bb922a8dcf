// The same stack in containers on the Docker engine (docker/container-stack.ts): started when it is not up, reused
// when it is, and left running after the run as the local stack is (`capacity stack down --containers` removes it).
import { containerCollectorTargets, containerStackUp, type ContainerStackUp } from '../docker/container-stack.ts';
import type { StackContext } from '../stack/component.ts';
import { StackTarget } from './stack-target.ts';

export class ContainersTarget extends StackTarget {
  readonly kind = 'containers' as const;
  private stack?: ContainerStackUp;

  /** Before any results folder: without a Docker engine this is one line saying how to get one. */
  async start(): Promise<void> {
    this.stack ??= await containerStackUp({ log: this.opts.log });
  }

  protected async startStack(): Promise<StackContext> {
    await this.start();
    return this.stack!.ctx;
  }

  collectorTargets() {
    return this.stack && containerCollectorTargets(this.stack.ctx, this.stack.stack);
  }

  async stop(): Promise<void> {
    // the stack keeps running after a run, so the next one starts at once and the audit can read it
  }
}
