import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAppText } from './app.ts';
import { xmlFromMultipart, submissionMultipart, parseMultipart } from './multipart.ts';
import { Population, type GeneratedSubmission } from './population.ts';
import { readSubmission, type Submission } from './reader.ts';
import { isUuid } from './rng.ts';
import { builtin, fnv1a } from './testing.ts';

const household = builtin('household');
const supply = builtin('supply');

function take(pop: Population, worker: number, n: number): GeneratedSubmission[] {
  const t = pop.timeline(worker);
  return Array.from({ length: n }, () => t.next());
}

/** The reader's view must equal what the generator says it put in the form. */
function assertReadsBack(sub: GeneratedSubmission, read: Submission): void {
  const where = `worker ${sub.worker} seq ${sub.seq} (${sub.formId})`;
  assert.equal(read.xmlns, sub.xmlns, where);
  assert.equal(read.meta?.instanceID, sub.instanceID, where);
  assert.equal(read.meta?.username, sub.username, where);
  assert.equal(read.meta?.timeEnd, sub.timeEnd, where);
  assert.equal(read.meta?.timeStart, sub.timeStart, where);
  assert.match(read.meta?.appVersion ?? '', /^CommCare Android, version/, where);
  assert.deepEqual(read.warnings, [], where);
  assert.equal(read.cases.length, sub.cases.length, `${where}: number of case blocks`);
  sub.cases.forEach((exp, i) => {
    const got = read.cases[i]!;
    const w = `${where} case block ${i}`;
    assert.equal(got.caseId, exp.caseId, w);
    assert.equal(got.userId, read.meta?.userID, w);
    assert.equal(got.dateModified, sub.timeEnd, w);
    assert.equal(!!got.create, exp.create, w);
    if (exp.create) assert.deepEqual(got.create, { caseType: exp.caseType, caseName: exp.caseName, ownerId: exp.ownerId }, w);
    assert.deepEqual(got.update ?? {}, exp.update, w);
    if (exp.index)
      assert.deepEqual(
        got.index,
        { [exp.index.identifier]: { caseType: exp.index.caseType, caseId: exp.index.caseId, relationship: exp.index.relationship } },
        w,
      );
    else assert.equal(got.index, undefined, w);
    assert.equal(got.close, exp.close, w);
  });
  assert.equal(read.ledgers.length, sub.ledgers.length, `${where}: ledgers`);
  sub.ledgers.forEach((exp, i) => {
    const got = read.ledgers[i]!;
    assert.equal(got.kind, exp.kind, where);
    assert.equal(got.sectionId, exp.sectionId, where);
    assert.equal(got.entityId, exp.entityId, where);
    assert.equal(got.src, exp.src, where);
    assert.equal(got.dest, exp.dest, where);
    assert.deepEqual(
      got.entries.map((e) => ({ id: e.productId, quantity: e.quantity })),
      exp.entries,
      where,
    );
  });
}

/** Independent lifecycle tracker over what the reader sees (as HQ would apply the forms). */
class Lifecycle {
  readonly created = new Set<string>();
  readonly closed = new Set<string>();
  readonly seen = new Map<string, string>();
  apply(sub: GeneratedSubmission, read: Submission): void {
    const where = `worker ${sub.worker} seq ${sub.seq} (${sub.formId}, ${sub.kind})`;
    if (sub.kind === 'duplicate') {
      assert.equal(
        this.seen.get(sub.instanceID),
        sub.xml,
        `${where}: a duplicate is byte-identical to the latest content of its instanceID`,
      );
      return;
    }
    if (sub.kind === 'edit') {
      assert.ok(this.seen.has(sub.instanceID), `${where}: edit of a known form`);
      assert.notEqual(this.seen.get(sub.instanceID), sub.xml, `${where}: an edit changes the content`);
      for (const c of read.cases) assert.ok(this.created.has(c.caseId), `${where}: edit touches an existing case`);
      this.seen.set(sub.instanceID, sub.xml);
      return;
    }
    assert.ok(!this.seen.has(sub.instanceID), `${where}: new instanceID`);
    this.seen.set(sub.instanceID, sub.xml);
    const createdHere = new Set(read.cases.filter((c) => c.create).map((c) => c.caseId));
    for (const id of createdHere) assert.ok(!this.created.has(id), `${where}: case ${id} created twice`);
    for (const c of read.cases) {
      assert.ok(this.created.has(c.caseId) || createdHere.has(c.caseId), `${where}: case ${c.caseId} updated before it was created`);
      assert.ok(!this.closed.has(c.caseId), `${where}: case ${c.caseId} touched after it was closed`);
      for (const ref of Object.values(c.index ?? {})) {
        assert.ok(this.created.has(ref.caseId) || createdHere.has(ref.caseId), `${where}: index to unknown case ${ref.caseId}`);
        assert.ok(!this.closed.has(ref.caseId), `${where}: new index to a closed case ${ref.caseId}`);
      }
    }
    for (const l of read.ledgers) {
      for (const e of [l.entityId, l.src, l.dest]) {
        if (e !== undefined)
          assert.ok(
            (this.created.has(e) || createdHere.has(e)) && !this.closed.has(e),
            `${where}: ledger for a case that is not open: ${e}`,
          );
      }
    }
    for (const id of createdHere) this.created.add(id);
    for (const c of read.cases) if (c.close) this.closed.add(c.caseId);
  }
}

describe('generated submissions', () => {
  for (const [name, app] of [
    ['household', household],
    ['supply', supply],
  ] as const) {
    it(`${name}: every form reads back to the case actions and ledgers that produced it, in lifecycle order`, () => {
      const pop = new Population(app, { users: 4, seed: 11, caseLoad: 12, duplicates: 0.05, edits: 0.05 });
      const kinds = { original: 0, duplicate: 0, edit: 0 };
      const forms = new Set<string>();
      let creates = 0,
        closes = 0,
        indexes = 0,
        ledgers = 0;
      for (let w = 0; w < pop.size; w++) {
        const life = new Lifecycle();
        let working = false;
        for (const sub of take(pop, w, 600)) {
          if (sub.phase === 'work') working = true;
          else assert.ok(!working && sub.kind === 'original', 'preload only at the start, and only new forms');
          const read = readSubmission(sub.xml);
          assertReadsBack(sub, read);
          life.apply(sub, read);
          kinds[sub.kind]++;
          forms.add(sub.formId);
          creates += read.cases.filter((c) => c.create).length;
          closes += read.cases.filter((c) => c.close).length;
          indexes += read.cases.filter((c) => c.index).length;
          ledgers += read.ledgers.length;
        }
      }
      assert.deepEqual([...forms].sort(), app.forms.map((f) => f.id).sort(), 'every form of the app is used');
      assert.ok(kinds.duplicate > 40 && kinds.duplicate < 200, `duplicates ~5%: ${kinds.duplicate}`);
      assert.ok(kinds.edit > 40 && kinds.edit < 200, `edits ~5%: ${kinds.edit}`);
      assert.ok(creates > 100 && closes > 20, `creates ${creates}, closes ${closes}`);
      if (name === 'household') assert.ok(indexes > 100, `child cases indexed to parents: ${indexes}`);
      if (name === 'supply') assert.ok(ledgers > 500, `ledger blocks: ${ledgers}`);
    });
  }

  it('meta is complete: UUID instanceIDs, worker identity, timeStart <= timeEnd, appVersion with the cc prefix', () => {
    const pop = new Population(household, { users: 2, seed: 5 });
    const user = pop.user(1);
    let last = '';
    for (const sub of take(pop, 1, 200)) {
      assert.ok(isUuid(sub.instanceID));
      assert.match(sub.instanceID, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const read = readSubmission(sub.xml);
      assert.equal(read.meta?.namespace, 'http://openrosa.org/jr/xforms');
      assert.equal(read.meta?.deviceID, user.deviceId);
      assert.equal(read.meta?.userID, user.userId);
      assert.match(user.userId, /^[0-9a-f]{32}$/);
      assert.ok(read.meta!.timeStart! <= read.meta!.timeEnd!, 'timeStart <= timeEnd');
      assert.ok(sub.timeEnd > last, 'the timeline moves forward');
      last = sub.timeEnd;
      assert.match(sub.xml, /<cc:appVersion>CommCare Android[^<]*<\/cc:appVersion>/);
      assert.match(sub.xml, /^<\?xml version='1.0' \?><data [^>]*xmlns:cc="http:\/\/commcarehq.org\/xforms"/);
    }
  });

  it("real identities: every form carries the real worker's user_id and username, case owners included", () => {
    const identities = [
      { userId: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', username: 'field-7@demo.commcarehq.org' },
      { userId: 'real-2', username: 'nurse2' },
    ];
    const pop = new Population(household, { users: 2, seed: 5, domain: 'demo', identities });
    const generated = new Population(household, { users: 2, seed: 5, domain: 'demo' });
    assert.deepEqual(
      { ...pop.user(0), userId: '', username: '', login: '' },
      { ...generated.user(0), userId: '', username: '', login: '' },
      'other draws unchanged',
    );
    assert.equal(pop.user(0).login, 'field-7@demo.commcarehq.org');
    assert.equal(pop.user(1).login, 'nurse2@demo.commcarehq.org');
    identities.forEach((id, w) => {
      for (const sub of take(pop, w, 80)) {
        const read = readSubmission(sub.xml);
        assert.equal(read.meta?.userID, id.userId);
        assert.equal(read.meta?.username, id.username.split('@')[0]);
        for (const c of read.cases) {
          assert.equal(c.userId, id.userId);
          if (c.create) assert.equal(c.create.ownerId, id.userId);
        }
      }
    });
    assert.throws(() => new Population(household, { users: 3, identities }), /3 workers need 3 identities, got 2/);
    assert.throws(() => new Population(household, { users: 2, identities: [identities[0]!, identities[0]!] }), /appears twice/);
  });

  it('the same seed gives the same bytes; another seed does not; workers do not depend on the population size', () => {
    const a = new Population(household, { users: 3, seed: 99, duplicates: 0.1, edits: 0.1 });
    const b = new Population(household, { users: 3, seed: 99, duplicates: 0.1, edits: 0.1 });
    const c = new Population(household, { users: 3, seed: 100, duplicates: 0.1, edits: 0.1 });
    const big = new Population(household, { users: 50, seed: 99, duplicates: 0.1, edits: 0.1 });
    const fp = (p: Population, w: number) => fnv1a(take(p, w, 300).map((s) => s.xml));
    assert.equal(fp(a, 2), fp(b, 2));
    assert.notEqual(fp(a, 2), fp(c, 2));
    assert.equal(fp(a, 2), fp(big, 2), 'worker 2 is the same with 3 or 50 workers');
    assert.notEqual(fp(a, 1), fp(a, 2));
    assert.deepEqual(a.user(1), b.user(1));
    assert.equal(a.user(1).username, 'mw0001');
    assert.equal(a.user(1).login, 'mw0001@capacity-test.commcarehq.org');
  });

  it('starts with a preload of registrations up to the case load, and keeps open cases bounded', () => {
    const pop = new Population(household, { users: 1, seed: 3, caseLoad: 20, mix: { register: 5, followup: 1, close: 0 } });
    const t = pop.timeline(0);
    const first: GeneratedSubmission[] = [];
    while (first.length < 30) first.push(t.next());
    const preload = first.filter((s) => s.phase === 'preload');
    assert.ok(preload.length > 0, 'some preload');
    assert.ok(
      preload.every((s, i) => s.seq === i),
      'preload comes first',
    );
    assert.ok(preload.every((s) => household.forms.find((f) => f.id === s.formId)!.category === 'register'));
    // Registrations stop at maxOpenCases (one form may still open a few cases: household + members).
    const steady = new Population(household, { users: 1, seed: 3, caseLoad: 20 }).timeline(0);
    let peak = 0;
    for (let i = 0; i < 5000; i++) {
      steady.next();
      if (i > 500) peak = Math.max(peak, steady.cases.size);
    }
    assert.ok(peak <= 40 + 8, `open cases stay bounded: peak ${peak}`);
    assert.ok(steady.cases.size >= 10, `registrations keep a case load: ${steady.cases.size}`);
  });

  it('follow-ups respect subject filters (deliveries only for pregnant members)', () => {
    const pop = new Population(household, { users: 1, seed: 8 });
    const t = pop.timeline(0);
    const pregnant = new Map<string, string>();
    for (let i = 0; i < 3000; i++) {
      const sub = t.next();
      if (sub.kind !== 'original') continue;
      if (sub.formId === 'delivery') {
        assert.equal(pregnant.get(sub.cases.find((c) => c.caseType === 'member' && !c.create)!.caseId), 'yes');
      }
      for (const c of sub.cases) if (c.update.pregnant !== undefined) pregnant.set(c.caseId, c.update.pregnant);
    }
  });

  it('pads forms to a target size (~3 KB) and uses the chosen locale', () => {
    const pop = new Population(household, { users: 1, seed: 2, targetFormBytes: 3072, locale: 'fr_SN' });
    const sizes = take(pop, 0, 300).map((s) => s.xml.length);
    const small = sizes.filter((n) => n < 3072 - 80);
    assert.deepEqual(small, [], 'no form much below the target');
    const avg = sizes.reduce((x, y) => x + y, 0) / sizes.length;
    assert.ok(avg > 3000 && avg < 4000, `average ${avg}`);
    const en = take(new Population(household, { users: 1, seed: 2 }), 0, 5).map((s) => readSubmission(s.xml));
    const fr = take(pop, 0, 5);
    assert.match(fr[0]!.xml, /<cc:appVersion>/);
    assert.notEqual(en[0]!.cases[0]!.create?.caseName, readSubmission(fr[0]!.xml).cases.find((c) => c.create)?.create?.caseName);
    // Senegal: UTC, GPS near Dakar
    assert.match(fr[0]!.timeEnd, /Z$/);
    const gps = /<gps>(-?[\d.]+) (-?[\d.]+)/.exec(fr.find((s) => s.formId === 'register_household')!.xml);
    assert.ok(gps && Math.abs(Number(gps[1]) - 14.7) < 1.5 && Math.abs(Number(gps[2]) + 17.4) < 1.5, `gps ${gps?.[0]}`);
  });

  it('multipart bodies carry xml_submission_file and the attachments the answers name', () => {
    const pop = new Population(household, { users: 1, seed: 4 });
    const withPhoto = take(pop, 0, 400).find((s) => s.attachments.length > 0);
    assert.ok(withPhoto, 'some form has an image');
    const mp = submissionMultipart(withPhoto);
    assert.match(mp.contentType, /^multipart\/form-data; boundary=----capacity[0-9a-f]{24}$/);
    const { xml, parts } = xmlFromMultipart(mp.body, mp.contentType);
    assert.equal(xml, withPhoto.xml);
    assert.equal(parts[0]!.name, 'xml_submission_file');
    assert.equal(parts[0]!.filename, `${withPhoto.instanceID}.xml`);
    assert.equal(parts.length, 1 + withPhoto.attachments.length);
    const a = withPhoto.attachments[0]!;
    const part = parts.find((p) => p.name === a.name)!;
    assert.ok(withPhoto.xml.includes(`>${a.name}<`), 'the answer names the attachment');
    assert.equal(part.contentType, 'image/jpeg');
    assert.equal(part.data.length, a.size);
    assert.deepEqual([...part.data.subarray(0, 3)], [0xff, 0xd8, 0xff], 'JPEG header');
    assert.deepEqual(submissionMultipart(withPhoto).body, mp.body, 'deterministic');
    const xmlOnly = submissionMultipart(withPhoto, { attachments: false });
    assert.equal(parseMultipart(xmlOnly.body, xmlOnly.contentType).length, 1);
  });

  it('rejects bad population settings and apps that cannot run', () => {
    assert.throws(() => new Population(household, { users: 0 }), /users must be an integer >= 1/);
    assert.throws(() => new Population(household, { duplicates: 1.5 }), /duplicates must be a share/);
    assert.throws(() => new Population(household, { locale: 'xx' as never }), /unknown locale "xx"/);
    assert.throws(() => new Population(household, { startDate: '2024-02-30' }), /not a real date/);
    const badFaker = parseAppText(
      'name: x\nforms:\n  - id: f\n    questions: [{ id: q, type: text, faker: person.nope }]\n    cases: [{ create: t, name: q }]\n',
    );
    assert.throws(() => new Population(badFaker), /form f, question q: unknown faker method "person.nope"/);
    const onlyFollowup = parseAppText(
      'name: x\nforms:\n  - id: f\n    subject: t\n    cases: [{ case: subject, update: { a: "\'1\'" } }]\n',
    );
    assert.throws(() => new Population(onlyFollowup, { users: 1 }).timeline(0).next(), /no form can run/);
  });
});
