// Restarts only the HQ service's own processes (web workers, pillows and/or celery workers) after their code
// changed, leaving PostgreSQL, Kafka, Elasticsearch, RabbitMQ and nginx running for whoever else uses the stack:
//   node --import tsx bench/hq-restart.ts [web|pillows|celery|all]
import { components, loadStackContext, stackUp, stderrProgress, stopComponent } from '../stack/stack.ts';

const which = process.argv[2] ?? 'all';
const names = [
  ...(which === 'web' || which === 'all' ? ['web-1', 'web-2', 'web-3'] : []),
  ...(which === 'pillows' || which === 'all' ? ['pillow-xform', 'pillow-case', 'pillow-ucr'] : []),
  ...(which === 'celery' || which === 'all'
    ? components()
        .map((c) => c.name)
        .filter((n) => n.startsWith('celery-'))
    : []),
];
const ctx = loadStackContext({ progress: stderrProgress });
for (const n of names) {
  // one at a time, so nginx always has a worker to send requests to
  await stopComponent(ctx, n);
  await stackUp(ctx);
}
