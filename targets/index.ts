// The targets' one public face: `--target local | containers | <url>` to a Target.
import { ContainersTarget } from './containers.ts';
import { LocalTarget } from './local.ts';
import type { Target, TargetOptions } from './target.ts';
import { credentialsFor, privateDir, readCredentials, UrlTarget, type UrlTargetOptions } from './url.ts';

export type { CorpusWorker, ProvisionedWorkers, Target, TargetOptions } from './target.ts';
export { ContainersTarget, credentialsFor, LocalTarget, privateDir, readCredentials, UrlTarget };
export * from './url-checks.ts';
export { learnIdentities } from './identities.ts';

/**
 * The target a run names. A URL is checked and its credentials read here, and the containers' engine is started,
 * before anything is written: bad input or no engine is one line and no results folder.
 */
export async function openTarget(spec: string, opts: TargetOptions & Omit<UrlTargetOptions, 'url' | keyof TargetOptions>): Promise<Target> {
  if (spec === 'local') return new LocalTarget(opts);
  if (spec === 'containers') {
    const t = new ContainersTarget(opts);
    await t.start();
    return t;
  }
  return new UrlTarget({ ...opts, url: spec });
}
