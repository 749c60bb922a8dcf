import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { canConnect, portHolder, portIsFree } from './ports.ts';

describe('ports', () => {
  it('sees a port held by another listener, and who holds it', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    assert.equal(await portIsFree(port), false);
    assert.equal(await canConnect(port), true);
    assert.match(portHolder(port), new RegExp(`pid ${process.pid}`));
    await new Promise((r) => srv.close(r));
    assert.equal(await portIsFree(port), true);
    assert.equal(await canConnect(port), false);
  });
});
