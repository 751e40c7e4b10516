// The wasm32-wasi build needs nothing from its host: no imports at all, so
// it instantiates with an empty import object (workerd, browsers, any WASI
// host). Both builds export the same ABI.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { WASI_WASM, EM_WASM, TARGETS, load } from './targets.mjs';

const ABI = fs.readFileSync(new URL('../../wasm/exports.c', import.meta.url), 'utf8')
  .split('\n').map((l) => /^DNI_W_EXPORT\((\w+)\)/.exec(l)).filter(Boolean).map((m) => m[1]);

test('dni.wasm imports nothing', () => {
  const mod = new WebAssembly.Module(fs.readFileSync(WASI_WASM));
  assert.deepEqual(WebAssembly.Module.imports(mod), []);
});

test('dni.wasm instantiates with an empty import object and exports the ABI', () => {
  const mod = new WebAssembly.Module(fs.readFileSync(WASI_WASM));
  const inst = new WebAssembly.Instance(mod, {});
  assert.ok(inst.exports.memory instanceof WebAssembly.Memory);
  for (const name of [...ABI, 'malloc', 'free', '_initialize'])
    assert.equal(typeof inst.exports[name], 'function', name);
  assert.ok(ABI.length >= 10, 'the export list was read from exports.c');
});

test('the Emscripten build exports the same ABI', () => {
  const mod = new WebAssembly.Module(fs.readFileSync(EM_WASM));
  const names = new Set(WebAssembly.Module.exports(mod).map((e) => e.name));
  for (const name of [...ABI, 'malloc', 'free']) assert.ok(names.has(name), name);
});

for (const target of TARGETS) {
  test(`${target}: phone parsing and errors through the binding`, async () => {
    const dni = await load(target);
    assert.equal(dni.phoneParse('800-555-1234'), '+18005551234');
    assert.equal(dni.phoneParse('+1 800 555 1234'), '+18005551234');
    assert.equal(dni.phoneParse('020 7946 0000', 'GB'), '+442079460000');
    assert.equal(dni.phoneParse('hello'), null);
    assert.throws(() => dni.phoneParse('800-555-1234', 'ZZ'),
      (e) => e.code === -5 && e.errName === 'DNI_ECOUNTRY' && e.message === 'unknown country');
    assert.equal(dni.strerror(-3), 'not a phone number');
  });

  test(`${target}: rewriter object life cycle`, async () => {
    const dni = await load(target);
    const rw = dni.rewriter(['800-555-1234=+18885550000']);
    const page = '<p>Call (800) 555-1234 today</p>';
    const out = Buffer.concat([rw.write(page), rw.end()]).toString();
    assert.equal(out, '<p>Call (888) 555-0000 today</p>');
    assert.equal(rw.swaps, 1);
    assert.throws(() => rw.write('more'), (e) => e.errName === 'DNI_EPOISONED');
    rw.reset();
    assert.equal(rw.swaps, 0);
    const again = Buffer.concat([rw.write(new TextEncoder().encode(page)), rw.end()]).toString();
    assert.equal(again, out);
    rw.free();
    assert.throws(() => rw.write('x'));
  });

  test(`${target}: rules as objects, templates and bad rules`, async () => {
    const dni = await load(target);
    const rw = dni.rewriter([{ from: '8005551234', to: '+442079460000', template: '+## ## #### ####' }]);
    const out = Buffer.concat([rw.write('tel 800.555.1234.'), rw.end()]).toString();
    assert.equal(out, 'tel +44 20 7946 0000.');
    rw.free();
    assert.throws(() => dni.rewriter(['800-555-1234']), (e) => e.errName === 'DNI_ESYNTAX');
    assert.throws(() => dni.rewriter([{ from: 'nope', to: '+18885550000' }]),
      (e) => e.errName === 'DNI_ENOTPHONE' && /default number/.test(e.message));
    assert.throws(() => dni.rewriter([{ from: '8005551234', to: '+18885550000', template: '##' }]),
      (e) => e.errName === 'DNI_ETEMPLATE');
  });

  test(`${target}: big writes are fed in slices without growing memory per chunk`, async () => {
    const dni = await load(target);
    const rw = dni.rewriter('800-555-1234=+18885550000', { inputSize: 1024 });
    const page = ('<li>800-555-1234</li>' + 'x'.repeat(977)).repeat(300);
    const out = Buffer.concat([rw.write(page), rw.end()]).toString();
    assert.equal(out, page.replaceAll('800-555-1234', '888-555-0000'));
    assert.equal(rw.swaps, 300);
    rw.free();
  });
}
