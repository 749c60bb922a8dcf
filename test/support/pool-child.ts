// A child for hq/prefork-pool.test.ts: each task says what to do (succeed, fail, die, or wait first) and, when given a
// file, appends this child's pid to it.
import fs from 'node:fs';
import { serveTasks } from '../../hq/prefork-pool.ts';

interface Order {
  act: 'ok' | 'fail' | 'die';
  ms?: number;
  log?: string;
}

serveTasks(async (payload) => {
  const o = payload as Order;
  if (o.log) fs.appendFileSync(o.log, `${process.pid}\n`);
  if (o.ms) await new Promise((r) => setTimeout(r, o.ms));
  if (o.act === 'fail') throw new Error('the task failed as asked');
  if (o.act === 'die') process.exit(3);
});
