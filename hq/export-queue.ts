// The export tasks' queue on RabbitMQ, as celery uses it: a durable queue, persistent messages published with
// confirms (a task the web worker was told about survives a broker restart), consumed with acks late and a prefetch
// equal to the worker's concurrency (a task whose worker dies goes back to the queue and to another worker).
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';

export const EXPORT_QUEUE = 'export_download_queue';

export interface ExportTask {
  downloadId: string;
  domain: string;
  kind: 'case' | 'form';
  caseType?: string;
  xmlns?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function declare(ch: Channel): Promise<void> {
  await ch.assertQueue(EXPORT_QUEUE, { durable: true });
}

/** Publishes tasks on one confirm channel, connecting on first use and again after the broker went away. */
export class TaskPublisher {
  private conn?: Promise<{ model: ChannelModel; ch: ConfirmChannel }>;
  constructor(private url: string) {}

  private channel(): Promise<{ model: ChannelModel; ch: ConfirmChannel }> {
    this.conn ??= (async () => {
      const model = await amqp.connect(this.url, { timeout: 5000 });
      const reset = () => {
        this.conn = undefined;
      };
      model.on('error', reset);
      model.on('close', reset);
      const ch = await model.createConfirmChannel();
      ch.on('error', reset);
      ch.on('close', reset);
      await declare(ch);
      return { model, ch };
    })();
    this.conn.catch(() => {
      this.conn = undefined;
    });
    return this.conn;
  }

  /** Resolves once the broker has the task (confirmed); rejects when it cannot be had within timeoutMs. */
  async publish(task: ExportTask, timeoutMs = 10_000): Promise<void> {
    const { ch } = await this.channel();
    const body = Buffer.from(JSON.stringify(task));
    await Promise.race([
      new Promise<void>((resolve, reject) => {
        ch.sendToQueue(EXPORT_QUEUE, body, { persistent: true, contentType: 'application/json', messageId: task.downloadId }, (err) =>
          err ? reject(err) : resolve(),
        );
      }),
      sleep(timeoutMs).then(() => {
        throw new Error(`RabbitMQ did not confirm the task within ${timeoutMs} ms`);
      }),
    ]);
  }

  async close(): Promise<void> {
    const c = await this.conn?.catch(() => undefined);
    this.conn = undefined;
    await c?.model.close().catch(() => undefined);
  }
}

export interface Delivery {
  task: ExportTask;
  redelivered: boolean;
}

/**
 * Consumes tasks, at most `concurrency` at once, and keeps doing so across broker restarts (reconnecting every
 * second). A task is acked after its handler returns (acks late); one whose channel died meanwhile cannot be acked
 * and is redelivered by the broker, which a handler must tolerate (it sees `redelivered`).
 */
export class TaskConsumer {
  private stopping = false;
  private model?: ChannelModel;
  private inFlight = 0;
  constructor(
    private url: string,
    private concurrency: number,
    private handle: (d: Delivery) => Promise<void>,
    private log: (m: string) => void,
  ) {}

  /** Resolves once consuming for the first time. */
  async start(): Promise<void> {
    await this.connectOnce();
  }

  get busy(): number {
    return this.inFlight;
  }

  private async connectOnce(): Promise<void> {
    const model = await amqp.connect(this.url, { timeout: 5000 });
    this.model = model;
    const ch = await model.createChannel();
    await declare(ch);
    await ch.prefetch(this.concurrency);
    let lost = false;
    const onLost = (why: string) => {
      if (lost) return;
      lost = true;
      if (!this.stopping) {
        this.log(`lost RabbitMQ (${why}); reconnecting`);
        void this.reconnect();
      }
    };
    model.on('close', () => onLost('connection closed'));
    model.on('error', (e: Error) => onLost(e.message));
    ch.on('error', (e: Error) => onLost(e.message));
    await ch.consume(
      EXPORT_QUEUE,
      (msg) => {
        if (msg) void this.run(ch, msg);
      },
      { noAck: false },
    );
  }

  private async reconnect(): Promise<void> {
    while (!this.stopping) {
      await sleep(1000);
      try {
        await this.connectOnce();
        this.log('consuming again');
        return;
      } catch (err) {
        this.log(`RabbitMQ not back yet: ${(err as Error).message}`);
      }
    }
  }

  private async run(ch: Channel, msg: ConsumeMessage): Promise<void> {
    this.inFlight++;
    try {
      let task: ExportTask;
      try {
        task = JSON.parse(msg.content.toString('utf8')) as ExportTask;
      } catch {
        this.log('dropping a task that is not JSON');
        ch.ack(msg);
        return;
      }
      try {
        await this.handle({ task, redelivered: msg.fields.redelivered });
      } catch (err) {
        // The handler failed (database down...): back to the queue, for this or another worker.
        this.log(`${task.downloadId}: failed, requeued: ${(err as Error).message}`);
        ch.nack(msg, false, true);
        return;
      }
      ch.ack(msg);
    } catch (err) {
      // The channel is gone (broker restarted): the broker requeues what was not acked, and the copy it redelivers
      // finds the status done.
      this.log(`could not ack or nack (${(err as Error).message}); the broker will redeliver the task`);
    } finally {
      this.inFlight--;
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.model?.close().catch(() => undefined);
  }
}
