// A prefork pool, as celery's: a parent keeps `size` child processes, each running one task at a time, and replaces a
// child after it has run `maxTasksPerChild` tasks (celery's --max-tasks-per-child; HQ's deploys set it per queue).
// A child gives all of its memory back when it exits: a Node process keeps a large task's young generation and malloc
// arenas long after the task, so a worker recycled this way stays at its resting size between tasks.
import { fork, type ChildProcess } from 'node:child_process';

export interface PoolOptions {
  /** the child's entry (it calls serveTasks) and its arguments */
  entry: string;
  args: string[];
  size: number;
  /** 0: never replaced for age */
  maxTasksPerChild: number;
  log: (m: string) => void;
}

interface Job {
  id: number;
  payload: unknown;
  resolve: () => void;
  reject: (err: Error) => void;
}

interface Slot {
  child: ChildProcess;
  ready: boolean;
  done: number;
  job?: Job;
}

type FromChild = { kind: 'ready' } | { kind: 'done'; id: number; error?: string };
type ToChild = { kind: 'task'; id: number; payload: unknown };

/** A child that died within 5 s of its start is replaced after this wait, so a child that cannot start is no fork loop. */
const RESPAWN_DELAY_MS = 1000;

export class PreforkPool {
  private slots = new Set<Slot>();
  private waiting: Job[] = [];
  private nextId = 1;
  private stopping = false;
  private readyWaiters: (() => void)[] = [];

  constructor(private opts: PoolOptions) {
    if (!(opts.size >= 1)) throw new Error(`a pool needs at least one child (got ${opts.size})`);
  }

  /** Forks the children; resolves once every one is ready for tasks. */
  async start(): Promise<void> {
    for (let i = 0; i < this.opts.size; i++) this.spawn();
    await new Promise<void>((resolve) => {
      const check = () => ([...this.slots].filter((s) => s.ready).length >= this.opts.size ? resolve() : this.readyWaiters.push(check));
      check();
    });
  }

  /** The pids of the children now, for logs and tests. */
  get pids(): number[] {
    return [...this.slots].map((s) => s.child.pid!).filter(Boolean);
  }

  /** Runs a task on a free child; rejects with the child's error, or when the child dies during it. */
  run(payload: unknown): Promise<void> {
    if (this.stopping) return Promise.reject(new Error('the pool is stopping'));
    return new Promise((resolve, reject) => {
      this.waiting.push({ id: this.nextId++, payload, resolve, reject });
      this.dispatch();
    });
  }

  private spawn(): void {
    // execArgv is the parent's (the TypeScript loader, V8's flags), so a child runs as its parent does
    const child = fork(this.opts.entry, this.opts.args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const slot: Slot = { child, ready: false, done: 0 };
    const startedAt = Date.now();
    this.slots.add(slot);
    child.on('message', (m: FromChild) => {
      if (m.kind === 'ready') {
        slot.ready = true;
        for (const w of this.readyWaiters.splice(0)) w();
        this.dispatch();
      } else if (m.kind === 'done' && slot.job?.id === m.id) {
        const job = slot.job;
        slot.job = undefined;
        slot.done++;
        if (m.error === undefined) job.resolve();
        else job.reject(new Error(m.error));
        if (this.stopping) child.disconnect();
        else if (this.opts.maxTasksPerChild > 0 && slot.done >= this.opts.maxTasksPerChild) {
          // retired: out of the pool, so it takes no more tasks; a new child takes its place now, as celery's pool does
          child.disconnect();
          this.slots.delete(slot);
          this.spawn();
        } else this.dispatch();
      }
    });
    child.on('exit', (code, signal) => {
      const was = this.slots.delete(slot);
      const how = `child ${child.pid} exited (${signal ?? `code ${code}`})`;
      if (slot.job) {
        slot.job.reject(new Error(`${how} during the task`));
        slot.job = undefined;
      }
      if (!was || this.stopping) return;
      this.opts.log(`${how}; forking another`);
      const soon = Date.now() - startedAt < 5000;
      setTimeout(() => !this.stopping && this.spawn(), soon ? RESPAWN_DELAY_MS : 0);
    });
    child.on('error', (err) => this.opts.log(`child ${child.pid}: ${err.message}`));
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (!this.waiting.length) return;
      if (!slot.ready || slot.job || !slot.child.connected) continue;
      const job = this.waiting.shift()!;
      slot.job = job;
      slot.child.send({ kind: 'task', id: job.id, payload: job.payload } satisfies ToChild);
    }
  }

  /** Lets running tasks finish for up to graceMs, then ends every child. Tasks not started are rejected. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    for (const job of this.waiting.splice(0)) job.reject(new Error('the pool is stopping'));
    const children = [...this.slots].map((s) => s.child);
    const exited = children.map((c) =>
      c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', r)),
    );
    for (const s of this.slots) if (!s.job && s.child.connected) s.child.disconnect();
    const timer = setTimeout(() => children.forEach((c) => c.kill('SIGKILL')), graceMs);
    await Promise.all(exited);
    clearTimeout(timer);
  }
}

/**
 * The child's side: runs each task it is sent with `handle`, one at a time, and exits when its parent lets it go or
 * goes away (disconnect), so no child outlives its worker.
 */
export function serveTasks(handle: (payload: unknown) => Promise<void>, onExit: () => Promise<void> = async () => {}): void {
  if (!process.send) throw new Error('serveTasks: this process was not forked by a pool');
  // a parent that has let this child go, or died, hears nothing more: no error for it
  const tell = (m: FromChild) => process.connected && process.send!(m, undefined, undefined, () => undefined);
  let busy = false;
  process.on('message', (m: ToChild) => {
    if (m.kind !== 'task') return;
    busy = true;
    void handle(m.payload).then(
      () => {
        busy = false;
        tell({ kind: 'done', id: m.id });
      },
      (err: unknown) => {
        busy = false;
        tell({ kind: 'done', id: m.id, error: (err as Error).message ?? String(err) });
      },
    );
  });
  // The parent lets only an idle child go; a disconnect during a task means the parent died, and the broker gives
  // the task to another worker: this copy stops at once, as a celery child whose parent is gone.
  process.on('disconnect', () => {
    if (busy) process.exit(1);
    void onExit()
      .catch(() => undefined)
      .finally(() => process.exit(0));
  });
  // a signal to the process group (the stack stopping) is for the parent to act on: it disconnects its children
  process.on('SIGTERM', () => undefined);
  process.on('SIGINT', () => undefined);
  tell({ kind: 'ready' });
}
