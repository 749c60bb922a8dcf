// The local stack that capacity installs and starts itself: the default target.
import { localTargets } from '../collectors/index.ts';
import type { StackContext } from '../stack/component.ts';
import { loadStackContext, stackUp } from '../stack/stack.ts';
import { StackTarget } from './stack-target.ts';

export class LocalTarget extends StackTarget {
  readonly kind = 'local' as const;

  protected async startStack(): Promise<StackContext> {
    this.opts.log('local target: making sure the stack is installed and running');
    const up = await stackUp(loadStackContext({ progress: { step: (m) => this.opts.log(m) }, createUser: true }));
    if (up.started.length) this.opts.log(`started ${up.started.join(', ')}`);
    return loadStackContext();
  }

  collectorTargets() {
    return localTargets(this.ctx!);
  }

  async stop(): Promise<void> {
    // the stack keeps running after a run, so the next one starts at once (`capacity stack down` stops it)
  }
}
