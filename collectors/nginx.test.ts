import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseStubStatus } from './nginx.ts';

describe('parseStubStatus', () => {
  it('reads the stub_status page', () => {
    const page =
      'Active connections: 291 \nserver accepts handled requests\n 16630948 16630946 31070465 \nReading: 6 Writing: 179 Waiting: 106 \n';
    assert.deepEqual(parseStubStatus(page), {
      active: 291,
      accepts: 16630948,
      handled: 16630946,
      requests: 31070465,
      reading: 6,
      writing: 179,
      waiting: 106,
    });
  });
  it('refuses a page that is not stub_status', () => {
    assert.throws(() => parseStubStatus('<html>404 Not Found</html>'), /not an nginx stub_status page/);
  });
});
