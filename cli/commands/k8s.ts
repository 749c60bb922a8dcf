import fs from 'node:fs';
import { Option, type Command } from 'commander';
import { buildK8sManifest } from '../../k8s/manifests.ts';
import { isScenarioName, SCENARIO_NAMES, type ShapeParams } from '../../scenarios/lib/shapes.ts';
import { UserError } from '../../core/errors.ts';
import { positive, seconds, wholeNumber } from '../options.ts';

interface ManifestFlags {
  target: string;
  parallelism: number;
  name?: string;
  namespace: string;
  image: string;
  domain: string;
  app: string;
  users: number;
  seed: number;
  rate?: number;
  duration?: number;
  vus?: number;
  exportUsers?: number;
  apiClients?: number;
  credentials?: string;
  volumeClaim?: string;
  archiveOut?: string;
  arguments?: string;
  out?: string;
}

export function register(program: Command): void {
  const k8s = program.command('k8s').description('Kubernetes: load from many pods with the k6-operator');
  k8s
    .command('manifest')
    .description('write a k6-operator TestRun (and the ConfigMap with the scenario, its corpus and parameters as a k6 archive)')
    .argument('<scenario>', SCENARIO_NAMES.join(' | '))
    .requiredOption('--parallelism <n>', 'runner pods; the operator gives each its k6 execution segment', positive('--parallelism', true))
    .requiredOption('--target <url>', 'CommCare HQ as the runner pods reach it, e.g. http://nginx.commcare.svc')
    .option('--name <name>', 'TestRun name (default capacity-<scenario>)')
    .option('--namespace <ns>', 'namespace', 'default')
    .option('--image <image>', 'runner image (k6 >= 0.57 runs the TypeScript scenarios)', 'grafana/k6:1.8.1')
    .option('--domain <name>', 'project space to load', 'capacity-load')
    .option('--app <name|file>', 'app whose forms are sent', 'household')
    .option('--users <n>', 'mobile workers', positive('--users', true), 100)
    .option('--seed <n>', 'seed of the corpus', positive('--seed', true), 1)
    .option('--rate <n>', 'base submissions per second (all pods together)', positive('--rate'))
    .option('--duration <d>', 'length of the main phase, e.g. 10m', seconds('--duration', { above0: true }))
    .option('--vus <n>', 'VUs of all pods together, a multiple of --parallelism (default --users, at most 100)', positive('--vus', true))
    .option(
      '--credentials <file>',
      'real mobile workers (username,password lines or JSON), one per --users: the corpus is generated for them (one restore each learns their user ids)',
    )
    .option(
      '--export-users <n>',
      "web users requesting exports (default: the scenario's; over 0 needs CAPACITY_WEB_USER and CAPACITY_WEB_PASSWORD)",
      wholeNumber('--export-users', 0),
    )
    .option(
      '--api-clients <n>',
      "data API clients (default: the scenario's; over 0 needs CAPACITY_WEB_USER and CAPACITY_API_KEY)",
      wholeNumber('--api-clients', 0),
    )
    .option('--volume-claim <pvc>', 'read the archive from this PersistentVolumeClaim instead of a ConfigMap (for archives over ~1 MB)')
    .option('--archive-out <file>', 'with --volume-claim: where to write archive.tar (default ./<name>-archive.tar)')
    .addOption(new Option('--arguments <args>', 'extra k6 run arguments for every pod, e.g. "--out experimental-prometheus-rw"'))
    .option('--out <file>', 'write the YAML here (default: print it)')
    .addHelpText(
      'after',
      `
Apply with: kubectl apply -f <file>. Every pod runs its slice of the scenario; iterationInTest stays unique
across pods, so no two pods send the same form. Results stay in the pods (k6 outputs, pod logs): give an
output with --arguments to collect them; \`capacity merge\` joins results directories made by
\`capacity run --segment\` on machines you run yourself.`,
    )
    .action(async (scenario: string, f: ManifestFlags) => {
      if (!isScenarioName(scenario)) throw new UserError(`unknown scenario "${scenario}": one of ${SCENARIO_NAMES.join(', ')}`);
      const shape: Partial<ShapeParams> = { rate: f.rate, durationS: f.duration, vus: f.vus };
      if (f.exportUsers !== undefined) shape.exportUsers = f.exportUsers;
      if (f.apiClients !== undefined) shape.apiClients = f.apiClients;
      const out = await buildK8sManifest({
        scenario,
        target: f.target,
        parallelism: f.parallelism,
        name: f.name,
        namespace: f.namespace,
        runnerImage: f.image,
        domain: f.domain,
        app: f.app,
        users: f.users,
        seed: f.seed,
        shape,
        credentialsFile: f.credentials,
        volumeClaim: f.volumeClaim,
        archiveOut: f.archiveOut,
        arguments: f.arguments,
        log: (m) => process.stderr.write(`[k8s] ${m}\n`),
      });
      for (const w of out.warnings) process.stderr.write(`[k8s] note: ${w}\n`);
      if (out.archiveFile)
        process.stderr.write(
          `[k8s] archive (${(out.archiveBytes / 1e6).toFixed(1)} MB): ${out.archiveFile}; copy it to ${f.volumeClaim} as archive.tar\n`,
        );
      if (f.out) {
        fs.writeFileSync(f.out, out.yaml);
        process.stderr.write(`[k8s] TestRun: ${f.out} (archive ${(out.archiveBytes / 1e6).toFixed(2)} MB, ${f.parallelism} runners)\n`);
      } else {
        process.stdout.write(out.yaml);
      }
    });
}
