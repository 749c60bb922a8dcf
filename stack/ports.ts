// A port held by something else is a clear error, never a silent clash.
import { spawnSync } from 'node:child_process';
import net from 'node:net';

export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Who holds a TCP port, from `ss` (best effort: empty when unknown). */
export function portHolder(port: number): string {
  const res = spawnSync('ss', ['-Htlnp', `sport = :${port}`], { encoding: 'utf8' });
  if (res.status !== 0) return '';
  const m = /users:\(\("([^"]+)",pid=(\d+)/.exec(res.stdout);
  return m ? `${m[1]} (pid ${m[2]})` : '';
}

export function canConnect(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}
