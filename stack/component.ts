// What every part of the local stack provides to the orchestrator (stack/stack.ts).
import type { StackConfig } from './config.ts';
import type { StackPaths } from '../core/paths.ts';
import type { ServiceUser } from './service-user.ts';

export interface Progress {
  step(message: string): void;
}

export interface StackContext {
  config: StackConfig;
  paths: StackPaths;
  user: ServiceUser;
  progress: Progress;
}

export interface Component {
  name: string;
  version: string;
  /** Start order group: 1 (default) is infrastructure; 2 starts once every phase-1 component is healthy. */
  phase?: 1 | 2;
  /** Ports this component listens on while running (checked free before start). */
  ports(ctx: StackContext): number[];
  /** Whether install() has already been done (no download or build needed). */
  isInstalled(ctx: StackContext): boolean;
  /** Downloads/builds/initialises; idempotent and cached in the stack home. */
  install(ctx: StackContext): Promise<void>;
  /** Absent for install-only components such as k6. */
  start?(ctx: StackContext): Promise<void>;
  /** One health probe; true when the component serves requests. */
  healthy?(ctx: StackContext): Promise<boolean>;
  /** Work to do once healthy (create databases, topics...); idempotent. */
  afterStart?(ctx: StackContext): Promise<void>;
  /** The signal for a clean, prompt stop (default SIGTERM). */
  stopSignal?: NodeJS.Signals;
  /** Where a person or a tool reaches it. */
  endpoint(ctx: StackContext): string;
  /** The log file the process writes to. */
  logFile(ctx: StackContext): string;
}
