// k6-operator TestRun manifests: one scenario spread over N runner pods (the operator gives each pod its own
// k6 execution segment, as `capacity run --segment i/N` does by hand). The scenario, its parameters and its
// corpus travel as one `k6 archive` (k6 packs the script, its imports, every file it opens and the
// CAPACITY_RUN environment) in a ConfigMap (binaryData), or on a PersistentVolumeClaim when it is too big
// for a ConfigMap (the API server refuses objects over ~1 MiB).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { UserError } from '../core/errors.ts';
import { credentialsFor, learnIdentities, parseTargetUrl } from '../targets/index.ts';
import type { RunEnv } from '../scenarios/lib/params.ts';
import { planCorpus } from '../runner/corpus-plan.ts';
import { resolveShape, type ScenarioName, type ShapeParams } from '../scenarios/lib/shapes.ts';
import { k6, k6Binary } from '../stack/components/k6.ts';
import { loadStackContext } from '../stack/stack.ts';

/** A ConfigMap holds at most 1 MiB of data; leave room for the rest of the object. */
export const CONFIGMAP_LIMIT_BYTES = 1_000_000;
export const ARCHIVE_FILE = 'archive.tar';

export interface TestRunSpec {
  name: string;
  namespace: string;
  parallelism: number;
  runnerImage: string;
  /** Extra k6 run arguments (one string, as the TestRun takes them). */
  arguments?: string;
  /** The archive in a ConfigMap (default), or a PVC that holds `archive.tar`. */
  archive: { configMap: Buffer } | { volumeClaim: string };
}

const dns1123 = (s: string) => /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s) && s.length <= 63;

/** The YAML: the ConfigMap (when the archive travels in one) then the TestRun. */
export function testRunManifest(spec: TestRunSpec): string {
  if (!dns1123(spec.name)) throw new UserError(`--name ${spec.name}: a Kubernetes name (lower case letters, digits and '-', at most 63)`);
  if (!dns1123(spec.namespace)) throw new UserError(`--namespace ${spec.namespace}: a Kubernetes name`);
  if (!Number.isInteger(spec.parallelism) || spec.parallelism < 1)
    throw new UserError('--parallelism must be a whole number of at least 1');
  const docs: unknown[] = [];
  const configMapName = `${spec.name}-script`;
  if ('configMap' in spec.archive) {
    docs.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: configMapName, namespace: spec.namespace, labels: { 'app.kubernetes.io/managed-by': 'capacity' } },
      binaryData: { [ARCHIVE_FILE]: spec.archive.configMap.toString('base64') },
    });
  }
  docs.push({
    apiVersion: 'k6.io/v1alpha1',
    kind: 'TestRun',
    metadata: { name: spec.name, namespace: spec.namespace, labels: { 'app.kubernetes.io/managed-by': 'capacity' } },
    spec: {
      parallelism: spec.parallelism,
      script:
        'configMap' in spec.archive
          ? { configMap: { name: configMapName, file: ARCHIVE_FILE } }
          : { volumeClaim: { name: spec.archive.volumeClaim, file: ARCHIVE_FILE } },
      arguments: [`--tag testid=${spec.name}`, spec.arguments].filter(Boolean).join(' '),
      separate: false,
      runner: {
        image: spec.runnerImage,
        env: [{ name: 'K6_NO_USAGE_REPORT', value: 'true' }],
      },
    },
  });
  return docs.map((d) => YAML.stringify(d, { lineWidth: 0 })).join('---\n');
}

function runK6Archive(binary: string, script: string, env: string, out: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['archive', '-e', `CAPACITY_RUN=${env}`, '-O', out, script], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, K6_NO_USAGE_REPORT: 'true' },
    });
    let err = '';
    child.stdout.on('data', (d: Buffer) => (err += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new UserError(`k6 archive failed (exit ${code}): ${err.trim().split('\n').slice(-3).join(' ')}`, 1)),
    );
  });
}

export interface K8sManifestOptions {
  scenario: ScenarioName;
  /** Base URL of CommCare HQ as the runner pods reach it. */
  target: string;
  parallelism: number;
  name?: string;
  namespace: string;
  runnerImage: string;
  domain: string;
  app: string;
  users: number;
  seed: number;
  shape: Partial<ShapeParams>;
  credentialsFile?: string;
  volumeClaim?: string;
  /** Where to leave archive.tar when it goes on a volume claim. */
  archiveOut?: string;
  arguments?: string;
  log: (m: string) => void;
}

export interface K8sManifest {
  yaml: string;
  archiveBytes: number;
  archiveFile?: string;
  warnings: string[];
}

/**
 * The web user an archive's exports and data API pages run as: from CAPACITY_WEB_USER with CAPACITY_WEB_PASSWORD
 * (exports) and CAPACITY_API_KEY (API pages). No demo user here: a real HQ has none, so a missing one is refused.
 */
export function webUserFor(
  scenario: string,
  shape: Pick<ShapeParams, 'exportUsers' | 'apiClients' | 'apiRate'>,
  env: Record<string, string | undefined>,
): RunEnv['webUser'] {
  const exports = shape.exportUsers > 0;
  const api = shape.apiClients > 0 && shape.apiRate > 0;
  if (!exports && !api) return undefined;
  const missing = [
    ...(env.CAPACITY_WEB_USER ? [] : ['CAPACITY_WEB_USER']),
    ...(exports && !env.CAPACITY_WEB_PASSWORD ? ['CAPACITY_WEB_PASSWORD'] : []),
    ...(api && !env.CAPACITY_API_KEY ? ['CAPACITY_API_KEY'] : []),
  ];
  if (missing.length)
    throw new UserError(
      `${scenario} requests ${[exports ? 'exports' : '', api ? 'data API pages' : ''].filter(Boolean).join(' and ')} as an HQ web user: ` +
        `set ${missing.join(', ')}, or pass --export-users 0 --api-clients 0`,
    );
  return { username: env.CAPACITY_WEB_USER!, password: env.CAPACITY_WEB_PASSWORD ?? '', apiKey: env.CAPACITY_API_KEY ?? '' };
}

/** Prepares the corpus, archives the scenario with it and writes the ConfigMap and TestRun. */
export async function buildK8sManifest(opts: K8sManifestOptions): Promise<K8sManifest> {
  const url = parseTargetUrl(opts.target, true);
  const shape = resolveShape(opts.scenario, { ...opts.shape, users: opts.users });
  // before any work: a missing web user is refused at once
  const webUser = webUserFor(opts.scenario, shape, process.env);
  // real workers: one per generated worker, and the corpus generated for them (their user ids, from one restore each)
  const creds = opts.credentialsFile ? credentialsFor(opts.credentialsFile, opts.users) : undefined;
  const baseUrl = url.origin + url.pathname.replace(/\/$/, '');
  if (creds) opts.log(`learning ${creds.length} mobile workers' user ids from ${url.origin} (one restore each)`);
  const identities = creds ? await learnIdentities({ kind: 'url', baseUrl, domain: opts.domain }, creds) : undefined;
  const ctx = loadStackContext({ progress: { step: (m) => opts.log(m) } });
  if (!k6.isInstalled(ctx)) await k6.install(ctx);
  // Every pod's VU pool owns mobile workers (scenarios/lib/ownership.ts): all pods run the same archive, so their
  // pools are equal (planPool), and a pod learns its segment only when it runs.
  const { script, ownership, corpus } = await planCorpus({
    binary: k6Binary(ctx),
    scenario: opts.scenario,
    shape,
    baseUrl: url.origin,
    domain: opts.domain,
    app: opts.app,
    users: opts.users,
    seed: opts.seed,
    identities,
    segments: opts.parallelism,
    home: ctx.paths.home,
    log: opts.log,
  });
  const warnings: string[] = [];

  // A staging copy of what k6 opens: the shared corpus is never changed, real logins go only into the archive.
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-k8s-'));
  try {
    const corpusDir = path.join(stage, 'corpus');
    fs.mkdirSync(corpusDir);
    fs.cpSync(path.join(corpus.dir, 'bodies'), path.join(corpusDir, 'bodies'), { recursive: true });
    let users = JSON.parse(fs.readFileSync(path.join(corpus.dir, 'users.json'), 'utf8')) as Record<string, unknown>[];
    if (creds) {
      users = users.map((u, i) => ({ ...u, login: creds[i]!.username, password: creds[i]!.password }));
    } else {
      warnings.push(
        `no --credentials: the archive carries the corpus's generated mobile workers (${opts.domain}); they must exist on ${url.origin}`,
      );
    }
    fs.writeFileSync(path.join(corpusDir, 'users.json'), JSON.stringify(users));
    warnings.push("the archive holds the mobile workers' passwords (users.json): treat the ConfigMap or volume like a Secret");
    if (webUser) warnings.push(`the archive holds the web user's password or API key (${webUser.username}): the same care applies`);
    const env: RunEnv = {
      scenario: opts.scenario,
      baseUrl,
      domain: opts.domain,
      corpusDir,
      shape: { ...shape },
      ownership: { segments: ownership.segments, pool: ownership.pool },
      webUser,
    };
    const archive = path.join(stage, ARCHIVE_FILE);
    opts.log(`k6 archive of ${opts.scenario} with ${corpus.manifest.count} corpus forms`);
    await runK6Archive(k6Binary(ctx), script, JSON.stringify(env), archive);
    const bytes = fs.readFileSync(archive);
    const name = opts.name ?? `capacity-${opts.scenario}`;
    let archiveFile: string | undefined;
    let where: TestRunSpec['archive'];
    if (opts.volumeClaim) {
      archiveFile = opts.archiveOut ?? path.resolve(`${name}-${ARCHIVE_FILE}`);
      fs.copyFileSync(archive, archiveFile);
      where = { volumeClaim: opts.volumeClaim };
    } else {
      if (bytes.length > CONFIGMAP_LIMIT_BYTES) {
        throw new UserError(
          `the k6 archive is ${(bytes.length / 1e6).toFixed(1)} MB, over what a ConfigMap can hold (~1 MB): ` +
            'use --volume-claim <pvc> (the archive is written beside the manifest, to copy onto the volume) or a smaller run (--duration, --rate, --users)',
        );
      }
      where = { configMap: bytes };
    }
    const yaml = testRunManifest({
      name,
      namespace: opts.namespace,
      parallelism: opts.parallelism,
      runnerImage: opts.runnerImage,
      arguments: opts.arguments,
      archive: where,
    });
    return { yaml, archiveBytes: bytes.length, archiveFile, warnings };
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}
