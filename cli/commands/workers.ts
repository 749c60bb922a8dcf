import type { Command } from 'commander';
import { readApiKeyFile } from '../../targets/hq-api.ts';
import { isLoopbackHost, parseTargetUrl } from '../../targets/url-checks.ts';
import { createWorkers, deleteWorkers } from '../../targets/workers.ts';
import { confirm } from '../confirm.ts';
import { positive } from '../options.ts';

interface Common {
  target: string;
  domain: string;
  prefix: string;
  apiKeyFile?: string;
  allowRemote?: boolean;
  yes?: boolean;
}

const log = (m: string) => process.stderr.write(`[workers] ${m}\n`);
const base = (u: URL) => u.origin + u.pathname.replace(/\/$/, '');

export function register(program: Command): void {
  const workers = program
    .command('workers')
    .description('test mobile workers on an HQ, through its mobile worker API (v0.5 user resource, API key)');
  const common = (c: Command) =>
    c
      .requiredOption('--target <url>', 'base URL of the HQ')
      .requiredOption('--prefix <p>', 'names are <prefix>0001, <prefix>0002, ...')
      .requiredOption('--api-key-file <file>', 'one line <web user>:<API key> (a key with Edit Mobile Workers and API access)')
      .option('--domain <name>', 'project space', 'capacity-load')
      .option('--allow-remote', 'allow a target that is not on this machine')
      .option('--yes', 'do not ask before changing a target that is not on this machine');
  common(
    workers
      .command('create')
      .description('create (or reuse) N mobile workers and write their credentials file (mode 600) for `capacity run --credentials`'),
  )
    .requiredOption('--count <n>', 'how many workers', positive('--count', true))
    .option('--credentials <file>', 'where the username,password lines go (default credentials-<prefix>.csv)')
    .action(async (f: Common & { count: number; credentials?: string }) => {
      const url = parseTargetUrl(f.target, f.allowRemote ?? false);
      const apiKey = readApiKeyFile(f.apiKeyFile);
      const file = f.credentials ?? `credentials-${f.prefix}.csv`;
      if (!isLoopbackHost(url.hostname))
        await confirm(`create up to ${f.count} mobile workers ${f.prefix}* on ${url.origin}, domain ${f.domain}.`, f.yes ?? false);
      const r = await createWorkers({
        baseUrl: base(url),
        domain: f.domain,
        apiKey,
        prefix: f.prefix,
        count: f.count,
        credentialsFile: file,
        log,
      });
      console.log(
        `${r.created} created, ${r.reused} reused${r.passwordsReset ? ` (${r.passwordsReset} given a new password)` : ''}` +
          `${r.throttled ? `, ${r.throttled} requests throttled (429) and retried` : ''}; credentials: ${file} (mode 600)`,
      );
    });
  common(workers.command('delete').description('delete the mobile workers named <prefix><digits>')).action(async (f: Common) => {
    const url = parseTargetUrl(f.target, f.allowRemote ?? false);
    const apiKey = readApiKeyFile(f.apiKeyFile);
    if (!isLoopbackHost(url.hostname))
      await confirm(`delete every mobile worker named ${f.prefix}<digits> on ${url.origin}, domain ${f.domain}.`, f.yes ?? false);
    const r = await deleteWorkers({ baseUrl: base(url), domain: f.domain, apiKey, prefix: f.prefix, log });
    console.log(`${r.deleted} deleted${r.throttled ? `, ${r.throttled} requests throttled (429) and retried` : ''}`);
  });
}
