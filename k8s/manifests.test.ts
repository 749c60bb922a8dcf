import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { UserError } from '../core/errors.ts';
import { ARCHIVE_FILE, testRunManifest, webUserFor } from './manifests.ts';

describe('k6-operator TestRun manifest', () => {
  it('a ConfigMap with the archive, then a TestRun with what the operator expects', () => {
    const archive = Buffer.from('not really a tar \u0000\u0001\u00ff');
    const text = testRunManifest({
      name: 'capacity-steady',
      namespace: 'load',
      parallelism: 4,
      runnerImage: 'grafana/k6:1.8.1',
      archive: { configMap: archive },
    });
    const docs = YAML.parseAllDocuments(text).map((d) => {
      assert.deepEqual(d.errors, []);
      return d.toJS() as Record<string, any>;
    });
    assert.equal(docs.length, 2);
    const [cm, tr] = docs as [Record<string, any>, Record<string, any>];
    assert.equal(cm.apiVersion, 'v1');
    assert.equal(cm.kind, 'ConfigMap');
    assert.equal(tr.apiVersion, 'k6.io/v1alpha1');
    assert.equal(tr.kind, 'TestRun');
    assert.equal(tr.metadata.name, 'capacity-steady');
    assert.equal(tr.metadata.namespace, 'load');
    assert.equal(cm.metadata.namespace, 'load');
    assert.equal(tr.spec.parallelism, 4);
    assert.deepEqual(tr.spec.script.configMap, { name: cm.metadata.name, file: ARCHIVE_FILE });
    assert.deepEqual(Buffer.from(cm.binaryData[ARCHIVE_FILE], 'base64'), archive, 'binaryData holds the archive byte for byte');
    assert.equal(typeof tr.spec.arguments, 'string', 'the CRD takes arguments as one string');
    assert.match(tr.spec.arguments, /--tag testid=capacity-steady/);
    assert.equal(tr.spec.runner.image, 'grafana/k6:1.8.1');
  });

  it('a volume claim instead of a ConfigMap for big archives; bad names refused', () => {
    const text = testRunManifest({
      name: 'big',
      namespace: 'default',
      parallelism: 2,
      runnerImage: 'k6',
      archive: { volumeClaim: 'corpus' },
      arguments: '--out json=/tmp/x.json',
    });
    const docs = YAML.parseAllDocuments(text).map((d) => d.toJS() as Record<string, any>);
    assert.equal(docs.length, 1);
    assert.deepEqual(docs[0]!.spec.script, { volumeClaim: { name: 'corpus', file: ARCHIVE_FILE } });
    assert.equal(docs[0]!.spec.arguments, '--tag testid=big --out json=/tmp/x.json');
    assert.throws(
      () => testRunManifest({ name: 'Bad_Name', namespace: 'default', parallelism: 1, runnerImage: 'k6', archive: { volumeClaim: 'x' } }),
      /Kubernetes name/,
    );
    assert.throws(
      () => testRunManifest({ name: 'ok', namespace: 'default', parallelism: 0, runnerImage: 'k6', archive: { volumeClaim: 'x' } }),
      /parallelism/,
    );
  });

  it('the web user of exports and API pages: from the environment, or refused naming what to set', () => {
    const storm = { exportUsers: 10, apiClients: 4, apiRate: 2 };
    assert.equal(webUserFor('submit-burst', { exportUsers: 0, apiClients: 0, apiRate: 0 }, {}), undefined);
    assert.equal(webUserFor('export-storm', { exportUsers: 0, apiClients: 0, apiRate: 2 }, {}), undefined);
    assert.throws(
      () => webUserFor('export-storm', storm, {}),
      (e: Error) =>
        e instanceof UserError &&
        e.message ===
          'export-storm requests exports and data API pages as an HQ web user: set CAPACITY_WEB_USER, CAPACITY_WEB_PASSWORD, CAPACITY_API_KEY, or pass --export-users 0 --api-clients 0',
    );
    // only what the load needs is asked for, and the secrets never show in the message
    assert.throws(
      () =>
        webUserFor('soak', { exportUsers: 1, apiClients: 0, apiRate: 0 }, { CAPACITY_WEB_USER: 'w@x.org', CAPACITY_API_KEY: 'k-secret' }),
      (e: Error) => /set CAPACITY_WEB_PASSWORD, or pass/.test(e.message) && !/k-secret/.test(e.message),
    );
    assert.deepEqual(webUserFor('mixed-day', storm, { CAPACITY_WEB_USER: 'w@x.org', CAPACITY_WEB_PASSWORD: 'p', CAPACITY_API_KEY: 'k' }), {
      username: 'w@x.org',
      password: 'p',
      apiKey: 'k',
    });
  });
});
