// Images for every component of the stack, on a Debian bookworm base. The base is pulled where a registry answers;
// where none does (these machines), capacity makes it with debootstrap and `docker import`, and caches the rootfs
// tarball. Every image is tagged by a hash of its inputs (Dockerfile, files, artifacts, base), so a second build
// with the same inputs builds nothing.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { UserError } from '../core/errors.ts';
import { repoRoot, stackPaths } from '../core/paths.ts';
import type { StackContext } from '../stack/component.ts';
import { versions } from '../stack/config.ts';
import { elasticsearch } from '../stack/components/elasticsearch.ts';
import { kafka } from '../stack/components/kafka.ts';
import { toolContext } from '../stack/stack.ts';
import { docker } from './engine.ts';

export const BASE_IMAGE = 'capacity/base:bookworm';
export const IMAGE_NAMES = ['postgres', 'redis', 'nginx', 'rabbitmq', 'kafka', 'elasticsearch', 'hq'] as const;
export type ImageName = (typeof IMAGE_NAMES)[number];

export const debianMirror = (env: NodeJS.ProcessEnv = process.env) => env.CAPACITY_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
export const imagesCache = (home = stackPaths()) => path.join(home.home, 'cache', 'images');

/** A build context: generated files, plus trees copied in from elsewhere (dir -> name in the context). */
export interface ImageDef {
  name: ImageName;
  files: Record<string, string>;
  /** [source directory, entries of it] added to the context as they are */
  trees: [string, string[]][];
  /** what stands for the trees in the hash (their content would be slow to read: node_modules) */
  treeKey: string;
}

const apt = (pkgs: string[]) =>
  `RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${pkgs.join(' ')} && rm -rf /var/lib/apt/lists/*`;

const postgresStart = `#!/bin/sh
set -e
D=/var/lib/postgresql/data
BIN=/usr/lib/postgresql/15/bin
if [ ! -s "$D/PG_VERSION" ]; then
  printf '%s\\n' "$POSTGRES_PASSWORD" > /tmp/pw
  $BIN/initdb -D "$D" -U "$POSTGRES_USER" --pwfile=/tmp/pw -A scram-sha-256 >/dev/null
  rm /tmp/pw
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$D/pg_hba.conf"
  echo "CREATE DATABASE \\"$POSTGRES_DB\\";" | $BIN/postgres --single -D "$D" postgres >/dev/null
fi
exec $BIN/postgres -D "$D" -c listen_addresses='*' -c unix_socket_directories=/tmp -c shared_preload_libraries=pg_stat_statements -c max_connections=200
`;

const kafkaStart = `#!/bin/sh
set -e
P=/tmp/server.properties
cat > $P <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@localhost:9093
listeners=INTERNAL://0.0.0.0:9092,CONTROLLER://localhost:9093,EXTERNAL://0.0.0.0:9094
advertised.listeners=INTERNAL://\${KAFKA_INTERNAL:-kafka:9092},EXTERNAL://\${KAFKA_EXTERNAL:-127.0.0.1:9094}
controller.listener.names=CONTROLLER
inter.broker.listener.name=INTERNAL
listener.security.protocol.map=CONTROLLER:PLAINTEXT,INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT
log.dirs=/var/lib/kafka
num.partitions=\${KAFKA_PARTITIONS:-1}
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.hours=24
EOF
CP='/opt/kafka/libs/*'
if [ ! -f /var/lib/kafka/meta.properties ]; then
  java -cp "$CP" kafka.tools.StorageTool format -t "$(java -cp "$CP" kafka.tools.StorageTool random-uuid)" -c $P
fi
exec java \${KAFKA_HEAP:--Xmx512m} -Djava.awt.headless=true -Dlog4j.configuration=file:/opt/kafka/log4j.properties -cp "$CP" kafka.Kafka $P
`;

const kafkaLog4j = `log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.request.logger=WARN
`;

const esConfig = `cluster.name: capacity-containers
node.name: capacity-es
network.host: 0.0.0.0
discovery.type: single-node
xpack.security.enabled: false
cluster.routing.allocation.disk.threshold_enabled: false
action.destructive_requires_name: false
`;

/** The images' definitions (pure but for the artifact locations: unit-tested). */
export function imageDefs(ctx: Pick<StackContext, 'paths'>): ImageDef[] {
  const from = `FROM ${BASE_IMAGE}\n`;
  const kafkaHome = `kafka-${versions.kafka}`;
  const esHome = `elasticsearch-${versions.elasticsearch}`;
  const jre = apt(['openjdk-17-jre-headless']);
  const hqTrees = ['package.json', 'tsconfig.json', 'core', 'generators', 'scenarios', 'topology', 'results-dir', 'hq', 'node_modules'];
  return [
    {
      name: 'postgres',
      files: {
        Dockerfile:
          from +
          // Debian's package would make a cluster of its own at install: the container makes its own at first start
          'RUN mkdir -p /etc/postgresql-common && echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf\n' +
          apt(['postgresql-15']) +
          '\nCOPY start.sh /start.sh\nRUN mkdir -p /var/lib/postgresql/data && chown postgres /var/lib/postgresql/data\n' +
          'USER postgres\nENV POSTGRES_USER=capacity POSTGRES_PASSWORD=capacity POSTGRES_DB=capacity\nEXPOSE 5432\nCMD ["/bin/sh", "/start.sh"]\n',
        'start.sh': postgresStart,
      },
      trees: [],
      treeKey: '',
    },
    {
      name: 'redis',
      files: {
        Dockerfile:
          from +
          apt(['redis-server']) +
          '\nUSER redis\nEXPOSE 6379\nCMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--dir", "/tmp"]\n',
      },
      trees: [],
      treeKey: '',
    },
    {
      name: 'nginx',
      files: {
        // the configuration (upstream of the web containers) is mounted by the stack at /etc/capacity/nginx.conf
        Dockerfile: from + apt(['nginx-light']) + '\nEXPOSE 80\nCMD ["nginx", "-c", "/etc/capacity/nginx.conf", "-g", "daemon off;"]\n',
      },
      trees: [],
      treeKey: '',
    },
    {
      name: 'rabbitmq',
      files: {
        Dockerfile:
          from +
          apt(['rabbitmq-server']) +
          '\nRUN rabbitmq-plugins enable --offline rabbitmq_management && printf "loopback_users = none\\n" > /etc/rabbitmq/rabbitmq.conf\n' +
          'USER rabbitmq\nENV HOME=/var/lib/rabbitmq RABBITMQ_NODENAME=rabbit@localhost\nEXPOSE 5672 15672\nCMD ["/usr/lib/rabbitmq/bin/rabbitmq-server"]\n',
      },
      trees: [],
      treeKey: '',
    },
    {
      name: 'kafka',
      files: {
        Dockerfile:
          from +
          jre +
          `\nCOPY ${kafkaHome}/libs /opt/kafka/libs\nCOPY log4j.properties /opt/kafka/log4j.properties\nCOPY start.sh /start.sh\n` +
          'RUN mkdir -p /var/lib/kafka\nEXPOSE 9092 9094\nCMD ["/bin/sh", "/start.sh"]\n',
        'start.sh': kafkaStart,
        'log4j.properties': kafkaLog4j,
      },
      trees: [[ctx.paths.home, [`${kafkaHome}/libs`]]],
      treeKey: `kafka ${versions.kafka} (stack/java/kafka/pom.xml)`,
    },
    {
      name: 'elasticsearch',
      files: {
        Dockerfile:
          from +
          jre +
          `\nCOPY ${esHome} /opt/elasticsearch\nCOPY elasticsearch.yml /opt/elasticsearch/config/elasticsearch.yml\n` +
          'RUN useradd -r -d /opt/elasticsearch elasticsearch && chown -R elasticsearch /opt/elasticsearch\n' +
          'USER elasticsearch\nENV ES_JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64 ES_JAVA_OPTS="-Xms512m -Xmx512m"\n' +
          'EXPOSE 9200\nCMD ["/opt/elasticsearch/bin/elasticsearch"]\n',
        'elasticsearch.yml': esConfig,
      },
      trees: [[ctx.paths.home, [esHome]]],
      treeKey: `elasticsearch ${versions.elasticsearch} integ-test-zip`,
    },
    {
      name: 'hq',
      files: {
        // Debian bookworm's nodejs is 18: the host's Node 20 binary is copied in (it needs libstdc++ only)
        Dockerfile:
          from +
          apt(['libstdc++6', 'ca-certificates']) +
          `\nCOPY node /usr/local/bin/node\n${hqTrees.map((t) => `COPY ${t} /app/${t}`).join('\n')}\n` +
          'WORKDIR /app\nENV NODE_ENV=production\nCMD ["node", "--version"]\n',
        node: '', // replaced by the binary at build time (see contextFiles)
      },
      trees: [[repoRoot, hqTrees.filter((t) => t !== 'node_modules' && t !== 'package.json' && t !== 'tsconfig.json')]],
      treeKey:
        `node ${process.version}; ` +
        hashFiles([path.join(repoRoot, 'package-lock.json'), path.join(repoRoot, 'package.json'), path.join(repoRoot, 'tsconfig.json')]),
    },
  ];
}

function hashFiles(files: string[]): string {
  const h = crypto.createHash('sha256');
  for (const f of files) h.update(f).update(fs.existsSync(f) ? fs.readFileSync(f) : '');
  return h.digest('hex');
}

/** What a run writes into the source trees (k6's bundle): not an input of the service, so never a reason to rebuild. */
const GENERATED = [path.join('scenarios', 'lib', 'generated')];

/** Every file under the given entries, sorted, with its content hashed (sources are small; node_modules is not hashed). */
function hashTree(root: string, entries: string[], h: crypto.Hash): void {
  const walk = (rel: string): void => {
    if (GENERATED.includes(rel)) return;
    const abs = path.join(root, rel);
    const st = fs.lstatSync(abs);
    if (st.isDirectory()) {
      for (const e of fs.readdirSync(abs).sort()) walk(path.join(rel, e));
    } else if (st.isFile()) {
      h.update(rel).update(fs.readFileSync(abs));
    }
  };
  for (const e of entries) if (fs.existsSync(path.join(root, e))) walk(e);
}

/** The tag of an image: a hash of its generated files, its trees and the base image's id. */
export function imageTag(def: ImageDef, baseId: string, hashTrees = true): string {
  const h = crypto.createHash('sha256').update(baseId).update(def.treeKey);
  for (const [name, text] of Object.entries(def.files).sort(([a], [b]) => a.localeCompare(b))) h.update(name).update(text);
  if (hashTrees) for (const [root, entries] of def.trees) hashTree(root, entries, h);
  return `capacity/${def.name}:${h.digest('hex').slice(0, 16)}`;
}

async function imageId(client: Docker, tag: string): Promise<string | undefined> {
  try {
    return (await client.getImage(tag).inspect()).Id;
  } catch {
    return undefined;
  }
}

function follow(client: Docker, stream: NodeJS.ReadableStream, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    client.modem.followProgress(
      stream,
      (err: Error | null, out: { error?: string; stream?: string }[]) => {
        const failed = err?.message ?? out.find((o) => o.error)?.error;
        if (failed) reject(new UserError(`${what} failed: ${failed}\n${lines.slice(-15).join('')}`, 1));
        else resolve();
      },
      (o: { stream?: string }) => {
        if (o.stream) lines.push(o.stream);
      },
    );
  });
}

/** The base image: present, else pulled, else made here with debootstrap (rootfs tarball cached). */
export async function ensureBase(log: (m: string) => void, client: Docker = docker()): Promise<string> {
  const have = await imageId(client, BASE_IMAGE);
  if (have) return have;
  const t0 = Date.now();
  try {
    await follow(client, await client.pull('debian:bookworm'), 'docker pull debian:bookworm');
    await client.getImage('debian:bookworm').tag({ repo: 'capacity/base', tag: 'bookworm' });
    log(`image base: pulled debian:bookworm (${secs(t0)} s)`);
    return (await imageId(client, BASE_IMAGE))!;
  } catch {
    // no registry: made locally below
  }
  const cache = imagesCache();
  fs.mkdirSync(cache, { recursive: true });
  const tarball = path.join(cache, 'bookworm-minbase.tar');
  if (!fs.existsSync(tarball)) {
    if (spawnSync('debootstrap', ['--version']).status !== 0) {
      throw new UserError('no registry answers for debian:bookworm and debootstrap is missing: apt-get install debootstrap');
    }
    log(`image base: no registry answers, so capacity makes debian bookworm itself (debootstrap from ${debianMirror()}, about a minute)`);
    const dir = fs.mkdtempSync(path.join(cache, 'rootfs-'));
    try {
      const res = spawnSync('debootstrap', ['--variant=minbase', 'bookworm', dir, debianMirror()], { encoding: 'utf8' });
      if (res.status !== 0)
        throw new UserError(`debootstrap failed: ${(res.stdout + res.stderr).trim().split('\n').slice(-5).join('\n')}`, 1);
      const tmp = `${tarball}.tmp`;
      const tar = spawnSync('tar', ['-C', dir, '-cf', tmp, '.']);
      if (tar.status !== 0) throw new UserError(`tar of the rootfs failed: ${tar.stderr.toString().trim()}`, 1);
      fs.renameSync(tmp, tarball); // whole or absent
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  await follow(client, await client.importImage(tarball, { repo: 'capacity/base', tag: 'bookworm' }), 'docker import');
  log(`image base: ${BASE_IMAGE} made locally with debootstrap (${secs(t0)} s)`);
  return (await imageId(client, BASE_IMAGE))!;
}

const secs = (t0: number) => ((Date.now() - t0) / 1000).toFixed(1);

/** Installs Kafka's jars and Elasticsearch's zip as the local stack does (cached in .capacity), for the contexts. */
async function ensureArtifacts(ctx: StackContext, names: ImageName[]): Promise<void> {
  if (names.includes('kafka') && !kafka.isInstalled(ctx)) await kafka.install(ctx);
  if (names.includes('elasticsearch') && !elasticsearch.isInstalled(ctx)) await elasticsearch.install(ctx);
}

/** Streams a build context as tar: the generated files from a folder, the trees from where they are. */
function contextTar(dir: string, def: ImageDef): NodeJS.ReadableStream {
  const args = ['-c', '-C', dir, '.'];
  for (const [root, entries] of def.trees) args.push('-C', root, ...entries);
  if (def.name === 'hq') args.push('-C', repoRoot, 'package.json', 'tsconfig.json', 'node_modules');
  const child = spawn('tar', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return child.stdout;
}

export interface BuiltImages {
  tags: Record<ImageName, string>;
  built: ImageName[];
}

/**
 * Builds one image under `tag`. `noCache` builds every step again (the engine's layer cache unused): how long a
 * machine that never built it takes (bench/image-builds.ts), without touching the tags in use.
 */
export async function buildOne(
  def: ImageDef,
  tag: string,
  opts: { ctx: StackContext; noCache?: boolean },
  client: Docker = docker(),
): Promise<void> {
  // the cache folder is made with the base image's rootfs; an engine that already has the base never made it
  fs.mkdirSync(imagesCache(opts.ctx.paths), { recursive: true });
  const dir = fs.mkdtempSync(path.join(imagesCache(opts.ctx.paths), `ctx-${def.name}-`));
  try {
    for (const [name, text] of Object.entries(def.files)) fs.writeFileSync(path.join(dir, name), text);
    if (def.name === 'hq') fs.copyFileSync(process.execPath, path.join(dir, 'node'));
    await follow(
      client,
      await client.buildImage(contextTar(dir, def), {
        t: tag,
        labels: { 'capacity.image': def.name },
        rm: true,
        nocache: opts.noCache ?? false,
      }),
      `image ${def.name}`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Removes the tags of `name`'s earlier builds (capacity's label, another tag than `keep`): each input change leaves
 * one behind, half a gigabyte for hq. An image a container still uses (a stack that is up) is kept: the engine
 * refuses to remove it without force, which is never asked. Returns the tags removed.
 */
export async function pruneOlder(client: Docker, name: ImageName, keep: string): Promise<string[]> {
  const images = await client.listImages({ filters: { label: [`capacity.image=${name}`] } });
  const removed: string[] = [];
  for (const tag of images.flatMap((i) => i.RepoTags ?? [])) {
    if (tag === keep || !tag.startsWith(`capacity/${name}:`)) continue;
    try {
      await client.getImage(tag).remove();
      removed.push(tag);
    } catch {
      // in use by a container (409), or removed meanwhile: kept
    }
  }
  return removed;
}

/** Builds what is missing (a progress line per image with its seconds); returns every image's tag. */
export async function buildImages(
  opts: { log: (m: string) => void; only?: ImageName[]; ctx?: StackContext },
  client: Docker = docker(),
): Promise<BuiltImages> {
  const ctx = opts.ctx ?? toolContext({ progress: { step: opts.log } });
  const names = opts.only ?? [...IMAGE_NAMES];
  const baseId = await ensureBase(opts.log, client);
  await ensureArtifacts(ctx, names);
  const tags = {} as Record<ImageName, string>;
  const built: ImageName[] = [];
  for (const def of imageDefs(ctx).filter((d) => names.includes(d.name))) {
    const tag = imageTag(def, baseId);
    tags[def.name] = tag;
    if (await imageId(client, tag)) continue;
    const t0 = Date.now();
    opts.log(`image ${def.name}: building ${tag}`);
    await buildOne(def, tag, { ctx }, client);
    built.push(def.name);
    opts.log(`image ${def.name}: built (${secs(t0)} s)`);
    const pruned = await pruneOlder(client, def.name, tag);
    if (pruned.length) opts.log(`image ${def.name}: removed ${pruned.length} older build${pruned.length > 1 ? 's' : ''} no container uses`);
  }
  return { tags, built };
}
