// Where the local stack lives on disk. Everything is under one git-ignored folder (default <repo>/.capacity)
// so that installs are cached per checkout and `rm -rf .capacity` is a full reset.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface StackPaths {
  home: string;
  /** Maven's local repository: cached jars for Kafka and the Elasticsearch zip. */
  m2: string;
  downloads: string;
  /** Pid files and the runtime state of the stack. */
  run: string;
  logs: string;
  data: string;
  bin: string;
  conf: string;
}

export function stackPaths(home = process.env.CAPACITY_HOME ?? path.join(repoRoot, '.capacity')): StackPaths {
  const abs = path.resolve(home);
  return {
    home: abs,
    m2: path.join(abs, 'cache', 'm2'),
    downloads: path.join(abs, 'cache', 'downloads'),
    run: path.join(abs, 'run'),
    logs: path.join(abs, 'logs'),
    data: path.join(abs, 'data'),
    bin: path.join(abs, 'bin'),
    conf: path.join(abs, 'conf'),
  };
}
