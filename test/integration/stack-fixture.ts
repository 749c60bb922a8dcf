// Integration tests share one real local stack: brought up once (idempotent; a running stack is reused).
import type { StackContext } from '../../stack/component.ts';
import { loadStackContext, stackUp, stderrProgress } from '../../stack/stack.ts';

let ready: Promise<StackContext> | undefined;

export function ensureStackUp(): Promise<StackContext> {
  ready ??= (async () => {
    const ctx = loadStackContext({ progress: stderrProgress, createUser: true });
    await stackUp(ctx);
    return ctx;
  })();
  return ready;
}
