import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configWithPorts } from '../config.ts';
import { stackPaths } from '../../core/paths.ts';
import { currentUser } from '../service-user.ts';
import { nginxConf } from './nginx.ts';

describe('nginx config', () => {
  it('has a least_conn upstream of every web worker, stub_status and a body limit above HQ 10 MB', () => {
    const conf = nginxConf({
      config: configWithPorts({ web: 21000, nginx: 21080 }),
      paths: stackPaths('/tmp/capx'),
      user: currentUser(),
      progress: { step: () => undefined },
    });
    const upstream = /upstream commcarehq \{([^}]*)\}/.exec(conf)?.[1] ?? '';
    assert.match(upstream, /least_conn;/);
    assert.deepEqual(
      [...upstream.matchAll(/server 127\.0\.0\.1:(\d+)/g)].map((m) => m[1]),
      ['21000', '21001', '21002'],
    );
    assert.match(conf, /listen 127\.0\.0\.1:21080;/);
    assert.match(conf, /location = \/nginx_status \{ stub_status;/);
    assert.equal(Number(/client_max_body_size (\d+)m/.exec(conf)?.[1]) > 10, true);
  });
});

describe('nginx workers as root', () => {
  const conf = (switchUser: boolean) =>
    nginxConf({
      config: configWithPorts({}),
      paths: stackPaths('/tmp/capx'),
      user: { name: 'capacity', uid: 999, gid: 999, switchUser },
      progress: { step: () => undefined },
    });
  it('run as the service user (nobody may not reach .capacity), and the directive is left out otherwise', () => {
    assert.match(conf(true), /^user capacity;$/m);
    assert.doesNotMatch(conf(false), /^user /m);
  });
});
