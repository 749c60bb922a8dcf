// Apache Kafka 3.9.x, single-node KRaft (broker + controller in one JVM), from Maven Central jars run
// with the machine's java. The classpath comes from stack/java/kafka/pom.xml.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { Component, StackContext } from '../component.ts';
import { versions } from '../config.ts';
import { copyDependencies } from '../maven.ts';
import { run, startDetached } from '../process.ts';
import { repoRoot } from '../../core/paths.ts';

const home = (ctx: StackContext) => path.join(ctx.paths.home, `kafka-${versions.kafka}`);
const libs = (ctx: StackContext) => path.join(home(ctx), 'libs');
const dataDir = (ctx: StackContext) => path.join(ctx.paths.data, 'kafka');
const pom = path.join(repoRoot, 'stack', 'java', 'kafka', 'pom.xml');

export function kafkaBroker(ctx: Pick<StackContext, 'config'>): string {
  return `${ctx.config.host}:${ctx.config.ports.kafka}`;
}

function serverProperties(ctx: StackContext): string {
  const { host, ports } = ctx.config;
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${host}:${ports.kafkaController}`,
    `listeners=PLAINTEXT://${host}:${ports.kafka},CONTROLLER://${host}:${ports.kafkaController}`,
    `advertised.listeners=PLAINTEXT://${host}:${ports.kafka}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${dataDir(ctx)}`,
    `num.partitions=${ctx.config.kafkaPartitions}`,
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=true',
    // HQ keeps changes about two months; locally a day is plenty and keeps the disk small.
    'log.retention.hours=24',
    '',
  ].join('\n');
}

function log4jProperties(ctx: StackContext): string {
  return (
    [
      'log4j.rootLogger=INFO, stdout',
      'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
      'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
      'log4j.logger.kafka=INFO',
      'log4j.logger.org.apache.kafka=INFO',
      'log4j.logger.state.change.logger=WARN',
      'log4j.logger.kafka.request.logger=WARN',
      '',
    ].join('\n') + `# generated for ${ctx.paths.home}\n`
  );
}

function writeConfig(ctx: StackContext): { props: string; log4j: string } {
  const dir = path.join(ctx.paths.conf, 'kafka');
  fs.mkdirSync(dir, { recursive: true });
  const props = path.join(dir, 'server.properties');
  const log4j = path.join(dir, 'log4j.properties');
  fs.writeFileSync(props, serverProperties(ctx));
  fs.writeFileSync(log4j, log4jProperties(ctx));
  return { props, log4j };
}

function java(): string {
  return process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

export function javaMajorVersion(): number | undefined {
  const res = spawnSync(java(), ['-version'], { encoding: 'utf8' });
  const m = /version "(\d+)(?:\.(\d+))?/.exec(res.stderr ?? '');
  if (!m) return undefined;
  return m[1] === '1' ? Number(m[2]) : Number(m[1]);
}

export const kafka: Component = {
  name: 'kafka',
  version: versions.kafka,
  ports: (ctx) => [ctx.config.ports.kafka, ctx.config.ports.kafkaController],
  isInstalled: (ctx) =>
    fs.existsSync(path.join(libs(ctx), `kafka_2.13-${versions.kafka}.jar`)) && fs.existsSync(path.join(dataDir(ctx), 'meta.properties')),
  async install(ctx) {
    const jar = path.join(libs(ctx), `kafka_2.13-${versions.kafka}.jar`);
    if (!fs.existsSync(jar)) {
      ctx.progress.step(`kafka: fetching kafka_2.13:${versions.kafka} and its runtime jars from Maven Central`);
      const tmp = `${libs(ctx)}.partial`;
      fs.rmSync(tmp, { recursive: true, force: true });
      await copyDependencies(pom, tmp, ctx.paths.m2);
      fs.rmSync(libs(ctx), { recursive: true, force: true });
      fs.mkdirSync(home(ctx), { recursive: true });
      fs.renameSync(tmp, libs(ctx)); // only a complete classpath ever lands in libs/
    }
    if (!fs.existsSync(path.join(dataDir(ctx), 'meta.properties'))) {
      ctx.progress.step('kafka: formatting KRaft storage');
      const { props } = writeConfig(ctx);
      const cp = `${libs(ctx)}/*`;
      const clusterId = (await run(java(), ['-cp', cp, 'kafka.tools.StorageTool', 'random-uuid'], { what: 'kafka random-uuid' }))
        .trim()
        .split('\n')
        .pop()!
        .trim();
      fs.rmSync(dataDir(ctx), { recursive: true, force: true });
      await run(java(), ['-cp', cp, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props], {
        what: 'kafka storage format',
      });
    }
  },
  async start(ctx) {
    const { props, log4j } = writeConfig(ctx);
    const heap = `${ctx.config.kafkaHeapMb}m`;
    startDetached({
      name: 'kafka',
      command: java(),
      args: [
        `-Xms${heap}`,
        `-Xmx${heap}`,
        '-XX:+UseG1GC',
        '-XX:MaxGCPauseMillis=20',
        '-Djava.awt.headless=true',
        `-Dlog4j.configuration=file:${log4j}`,
        `-Dkafka.logs.dir=${ctx.paths.logs}`,
        '-cp',
        `${libs(ctx)}/*`,
        'kafka.Kafka',
        props,
      ],
      runDir: ctx.paths.run,
      logFile: this.logFile(ctx),
      marker: props,
    });
  },
  async healthy(ctx) {
    const client = new Kafka({
      clientId: 'capacity-health',
      brokers: [kafkaBroker(ctx)],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1000,
      retry: { retries: 0 },
    });
    const admin = client.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      return cluster.brokers.length > 0;
    } catch {
      return false;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  },
  endpoint: (ctx) => `kafka://${kafkaBroker(ctx)}`,
  logFile: (ctx) => path.join(ctx.paths.logs, 'kafka.log'),
};
