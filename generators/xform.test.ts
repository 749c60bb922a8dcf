import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Population } from './population.ts';
import { readSubmission } from './reader.ts';
import { appFromXForms, XFormError, xformToFormDoc } from './xform.ts';

const td = (f: string) => ({ xml: readFileSync(path.join(import.meta.dirname, 'testdata', f), 'utf8'), source: f });

describe('XForm import', () => {
  it('reads questions, types, groups, repeats and case blocks from a definition', () => {
    const { form, warnings } = xformToFormDoc(td('register_mother.xform.xml').xml);
    assert.equal(form.xmlns, 'http://openrosa.org/formdesigner/3E0F2B1C-9A8D-4C7B-8E6F-5D4C3B2A1F00');
    assert.equal(form.name, 'Register Mother');
    assert.equal(form.category, 'register');
    const qs = form.questions as Record<string, unknown>[];
    const byId = (id: string) => qs.find((q) => q.id === id);
    assert.equal(byId('dob')?.type, 'date');
    assert.equal(byId('age')?.type, 'int');
    assert.equal(byId('age')?.optional, 0.2, 'relevant -> sometimes blank');
    assert.equal(byId('phone')?.type, 'phone');
    assert.equal(byId('photo')?.type, 'image');
    assert.equal(byId('location')?.type, 'geopoint');
    assert.equal(byId('visit_time')?.type, 'datetime');
    assert.equal(byId('barcode_id')?.type, 'barcode');
    assert.deepEqual(byId('full_label'), { id: 'full_label', type: 'hidden', calculate: '{mother_name} ({details/village})' });
    const details = qs.find((q) => q.group === 'details') as { questions: Record<string, unknown>[] };
    assert.deepEqual(
      details.questions.find((q) => q.id === 'risk_factors'),
      { id: 'risk_factors', type: 'select', choices: ['anaemia', 'hypertension', 'diabetes'] },
    );
    assert.equal(details.questions.find((q) => q.id === 'weight')?.type, 'decimal');
    const rep = qs.find((q) => q.repeat === 'children') as { questions: Record<string, unknown>[]; cases: Record<string, unknown>[] };
    assert.deepEqual(rep.questions.find((q) => q.id === 'child_sex')?.choices, ['female', 'male']);
    assert.deepEqual(rep.cases, [
      {
        create: 'child',
        as: 'case0',
        name: 'child_name',
        update: { sex: 'child_sex' },
        parent: 'case1',
        identifier: 'parent',
        wrap: false,
      },
    ]);
    assert.deepEqual(form.cases, [
      {
        create: 'mother',
        as: 'case1',
        name: 'mother_name',
        update: {
          dob: 'dob',
          phone: 'phone',
          village: 'details/village',
          gravida: 'details/gravida',
          risk: 'details/risk_factors',
          registered_by: "'chw'",
        },
        wrap: false,
      },
    ]);
    assert.deepEqual(warnings, []);
  });

  it('imports a follow-up/close form against the session case and warns about calculations it cannot evaluate', () => {
    const { form, warnings } = xformToFormDoc(td('close_mother.xform.xml').xml, { subjectType: 'mother' });
    assert.equal(form.category, 'close');
    assert.equal(form.subject, 'mother');
    assert.deepEqual(form.cases, [{ case: 'subject', update: { close_reason: 'reason' }, close: true, wrap: false }]);
    assert.match(
      warnings.join('\n'),
      /calculate "if\(\/data\/reason = 'other', 'other', \/data\/reason\)" approximated by the value of \/data\/reason/,
    );
  });

  it('generates submissions shaped like the imported forms, which read back with their case blocks', () => {
    const { app } = appFromXForms([td('register_mother.xform.xml'), td('close_mother.xform.xml')], { subjectType: 'mother' });
    assert.equal(app.version, 23);
    const pop = new Population(app, { users: 1, seed: 1, caseLoad: 5 });
    const t = pop.timeline(0);
    const open = new Set<string>();
    let closes = 0,
      children = 0;
    for (let i = 0; i < 200; i++) {
      const sub = t.next();
      const read = readSubmission(sub.xml);
      if (sub.formId === 'register_mother') {
        assert.equal(read.xmlns, 'http://openrosa.org/formdesigner/3E0F2B1C-9A8D-4C7B-8E6F-5D4C3B2A1F00');
        const mother = read.cases.find((c) => c.create?.caseType === 'mother')!;
        assert.ok(mother, 'creates a mother');
        assert.equal(mother.update?.registered_by, 'chw');
        assert.match(sub.xml, /<details><village>[^<]*<\/village><gravida>\d+<\/gravida>/);
        for (const c of read.cases.filter((b) => b.create?.caseType === 'child')) {
          assert.equal(c.index?.parent?.caseId, mother.caseId);
          assert.equal(c.path, '/data/children/case');
          children++;
        }
        assert.match(sub.xml, new RegExp(`<full_label>[^<(]+ \\([^)]*\\)</full_label>`));
        open.add(mother.caseId);
      } else {
        assert.equal(sub.formId, 'close_mother');
        const c = read.cases[0]!;
        assert.ok(open.has(c.caseId), 'closes an open mother');
        assert.equal(c.close, true);
        open.delete(c.caseId);
        closes++;
      }
    }
    assert.ok(closes > 5 && children > 20, `closes ${closes}, children ${children}`);
  });

  it('rejects what is not an XForm definition', () => {
    assert.throws(
      () => xformToFormDoc('<data xmlns="x"/>', {}, 'f.xml'),
      (e: unknown) => e instanceof XFormError && /f.xml: not an XForm definition/.test(e.message),
    );
    assert.throws(
      () =>
        xformToFormDoc(
          '<h:html xmlns:h="http://www.w3.org/1999/xhtml"><h:head><model><instance><data/></instance></model></h:head></h:html>',
          {},
          'g.xml',
        ),
      /g.xml: the instance root <data> has no xmlns/,
    );
  });
});
