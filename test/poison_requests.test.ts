import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openLedger, type Ledger } from '../src/ledger.js';
import { parseRequest, RequestError } from '../src/model/request.js';
import { canonicalEntry } from '../src/store/canonical.js';
import { verifyFailure } from './fixtures/ledger_checks.js';
import { CLI, setupVm, steppingClock, tmpDb } from './helpers.js';

/*
 * A request built by any code must either be refused with a RequestError, writing
 * nothing, or be logged as exactly what was checked; the log must always reopen and
 * verify. Before the fix, an inherited name (`constructor`) passed the `in` check and
 * `"constructor":undefined` was hashed into the log: every later open threw.
 */

const T = suite('poison_requests');

function verifyCli(db: string): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, 'verify', '--db', db], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** One log per test: every attempt runs on it, and the CLI verifies it at the end. */
class Log {
  private constructor(readonly path: string, readonly l: Ledger) {}
  static async open(): Promise<Log> {
    const path = tmpDb();
    const l = await openLedger(path, { clock: steppingClock() });
    setupVm(l);
    return new Log(path, l);
  }

  /** Runs `build()`'s request, expects a RequestError and nothing written; then the log reopens, verifies and still works. */
  async refused(label: string, build: () => unknown, message?: RegExp): Promise<void> {
    const head = this.l.head();
    let thrown: unknown;
    try {
      this.l.requestUntrusted(build());
    } catch (e) {
      thrown = e;
    }
    assert.ok(thrown instanceof RequestError, `${label}: a RequestError, not ${String(thrown)}`);
    if (message) assert.match((thrown as Error).message, message, label);
    assert.equal(this.l.head(), head, `${label}: nothing was written`);
    const again = await openLedger(this.path);
    assert.equal(again.head(), head, `${label}: the log reopens`);
    assert.is(verifyFailure(again.db), null, `${label}: the log verifies`);
    // The ledger still works after the refusal.
    assert.is(again.request({ op: 'vm_start', vm: `after-${label}`, mm: '0x2' }).ret, 0, label);
    again.close();
  }

  /** Closes the ledger and runs `pasid-ledger verify --db` on the file. */
  verified(): void {
    this.l.close();
    const v = verifyCli(this.path);
    assert.is(v.code, 0, `verify passes: ${v.err}`);
    assert.match(v.out, /^ok: /);
  }
}

const base = (): Record<string, unknown> => ({ op: 'vm_start', vm: 'f', mm: '1' });

T('inherited names are unknown fields, via an object literal and via JSON.parse', async () => {
  const log = await Log.open();
  await log.refused('constructor fn', () => ({ ...base(), constructor: () => 1 }), /unknown field "constructor"/);
  for (const k of ['constructor', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf']) {
    await log.refused(`${k} literal`, () => ({ ...base(), [k]: 1 }), new RegExp(`unknown field "${k}"`));
    await log.refused(`${k} JSON`, () => JSON.parse(`{"op":"vm_start","vm":"f","mm":"1","${k}":"x"}`), new RegExp(`unknown field "${k}"`));
  }
  // An unknown field carrying an inherited name never makes a required field look present either.
  await log.refused('required via prototype name', () => JSON.parse('{"op":"vm_start","vm":"f","toString":"1"}'), /missing "mm"/);
  log.verified();
});

T('__proto__: an own key from JSON.parse, a prototype from a literal', async () => {
  const log = await Log.open();
  await log.refused('__proto__ JSON', () => JSON.parse('{"op":"vm_start","vm":"f","mm":"1","__proto__":{"id":"x"}}'), /__proto__/);
  await log.refused('__proto__ literal', () => ({ op: 'vm_start', vm: 'f', mm: '1', __proto__: { id: 'x' } }), /not a plain object/);
  // The required fields on the prototype only: a literal whose own part lacks "mm".
  await log.refused('required on the prototype', () => ({ op: 'vm_start', vm: 'f', __proto__: { mm: '1' } }), /not a plain object/);
  log.verified();
});

T('a getter is refused: the value checked would not be the value stored', async () => {
  const log = await Log.open();
  const flip = () => {
    let n = 0;
    return { op: 'vm_start', vm: 'f', get mm() { return n++ === 0 ? '1' : (undefined as unknown as string); } };
  };
  await log.refused('getter', flip, /"mm" is a getter/);
  await log.refused('nested getter', () => ({
    op: 'device_add', group: 'g1', bdf: '0000:3b:00.0',
    pasid_cap: { exec: true, priv: false, get width() { return 20; } },
  }), /"pasid_cap.width" is a getter/);
  await log.refused('setter only', () => Object.defineProperty(base(), 'id', { set() {}, enumerable: true }), /"id" is a getter or setter/);
  await log.refused('hidden field', () => Object.defineProperty(base(), 'id', { value: 'x', enumerable: false }), /not enumerable/);
  log.verified();
});

T('Object.create(proto), class instances, Proxies, symbol keys', async () => {
  const log = await Log.open();
  await log.refused('Object.create', () => Object.assign(Object.create({ id: 'r1' }), base()), /not a plain object/);
  class Req { op = 'vm_start'; vm = 'f'; mm = '1'; }
  await log.refused('class instance', () => new Req(), /not a plain object/);
  await log.refused('Proxy', () => new Proxy(base(), {}), /Proxy/);
  await log.refused('lying Proxy', () => new Proxy(base(), { get: (t, k) => (k === 'mm' ? () => 1 : Reflect.get(t, k)) }), /Proxy/);
  await log.refused('revoked Proxy', () => { const p = Proxy.revocable(base(), {}); p.revoke(); return p.proxy; });
  await log.refused('nested Proxy', () => ({ op: 'device_add', group: 'g1', bdf: '0000:3b:00.0', pasid_cap: new Proxy({ exec: true, priv: false, width: 20 }, {}) }), /Proxy/);
  await log.refused('symbol key', () => ({ ...base(), [Symbol('s')]: 1 }), /symbol key/);
  await log.refused('Date field', () => ({ ...base(), id: new Date(0) }), /not a plain object/);
  await log.refused('array with extra key', () => ({
    op: 'device_add', group: 'g1', bdf: '0000:3b:00.0', pasid_cap: { exec: true, priv: false, width: 20, offset: 0x104 },
    ecaps_before: Object.assign([{ id: 1, offset: 0x100 }], { extra: 1 }),
  }), /not a plain array/);
  // eslint-disable-next-line no-sparse-arrays
  await log.refused('sparse array', () => ({ op: 'device_add', group: 'g1', bdf: '0000:3b:00.0', ecaps_before: [, { id: 1, offset: 0x100 }] }), /not a plain array/);
  log.verified();
});

T('strings and numbers JSON cannot carry', async () => {
  const log = await Log.open();
  await log.refused('lone surrogate in a name', () => ({ op: 'vm_start', vm: '\ud800', mm: '1' }), /"vm" holds a lone UTF-16 surrogate/);
  await log.refused('lone low surrogate in an id', () => ({ ...base(), id: 'a\udc00' }), /"id" holds a lone/);
  await log.refused('lone surrogate in a key', () => ({ ...base(), ['\ud800']: 1 }));
  await log.refused('NaN', () => ({ op: 'set_pasid_quota', value: NaN }), /must be a number/);
  await log.refused('Infinity', () => ({ op: 'vm_start', vm: 'f', mm: '1', vccap: Infinity }), /u32/);
  await log.refused('bigint', () => ({ op: 'set_pasid_quota', value: 5n }), /must be a number/);
  await log.refused('function value', () => ({ ...base(), id: () => 'x' }), /must be a string/);
  await log.refused('undefined value', () => ({ ...base(), id: undefined }), /must be a string/);
  await log.refused('long type name', () => ({ op: 'set_iommu', container: 'c1', type: 'T'.repeat(100_000) }), /longer than 256/);
  log.verified();
});

T('a deeply nested spec field is refused before anything walks it', async () => {
  const log = await Log.open();
  let deep: unknown = 20;
  for (let i = 0; i < 100_000; i++) deep = { width: deep };
  await log.refused('deep pasid_cap', () => ({ op: 'device_add', group: 'g1', bdf: '0000:3b:00.0', pasid_cap: deep }), /nested deeper/);
  let arr: unknown = [];
  for (let i = 0; i < 100_000; i++) arr = [arr];
  await log.refused('deep ecaps', () => ({ op: 'device_add', group: 'g1', bdf: '0000:3b:00.0', ecaps_before: arr }), /nested deeper/);
  await log.refused('deep op', () => ({ op: arr }), /nested deeper/);
  const cyclic: Record<string, unknown> = { exec: true, priv: false, width: 20 };
  cyclic.offset = cyclic;
  await log.refused('cycle', () => ({ op: 'device_add', group: 'g1', bdf: '0000:3b:00.0', pasid_cap: cyclic }), /nested deeper/);
  log.verified();
});

T('a 10 MB value or field name is quoted to 80 characters in the message', async () => {
  const big = 'x'.repeat(10_000_000);
  for (const [label, req] of [
    ['field name', { ...base(), [big]: 1 }],
    ['op', { op: big }],
    ['type', { op: 'set_iommu', container: 'c1', type: big }],
    ['id', { ...base(), id: big }],
    ['pasid_cap key', { op: 'device_add', group: 'g1', bdf: '0000:3b:00.0', pasid_cap: { exec: true, priv: false, width: 20, [big]: 1 } }],
  ] as const) {
    let message = '';
    try {
      parseRequest(req);
    } catch (e) {
      assert.ok(e instanceof RequestError, label);
      message = (e as Error).message;
    }
    assert.ok(message.length > 0 && message.length < 400, `${label}: ${message.length} characters`);
    if (label !== 'type' && label !== 'id') assert.match(message, /x{20}…/, `${label}: cut with an ellipsis`);
  }
});

T('what is accepted is a fresh plain copy: -0 as 0, null prototypes, nested objects copied', async () => {
  const path = tmpDb();
  const l = await openLedger(path, { clock: steppingClock() });
  const req: Record<string, unknown> = Object.assign(Object.create(null) as object, { op: 'vm_start', vm: 'n', mm: '1', vccap: -0 });
  const parsed = parseRequest(req) as unknown as Record<string, unknown>;
  assert.is.not(parsed, req, 'a copy');
  assert.is(Object.getPrototypeOf(parsed), Object.prototype, 'a plain object');
  assert.ok(Object.is(parsed.vccap, 0), '-0 is stored as 0');
  assert.is(l.requestUntrusted(req).ret, 0);
  const spec = { op: 'device_add', group: 'g1', bdf: '0000:3b:00.0', pasid_cap: { exec: true, priv: false, width: 20 } };
  const copy = parseRequest(spec) as unknown as { pasid_cap: unknown };
  assert.is.not(copy.pasid_cap, spec.pasid_cap, 'nested objects are copied too');
  assert.is(l.requestUntrusted(spec).ret, 0);
  l.close();
  const again = await openLedger(path);
  const rows = [...again.log.after(0)].map((r) => r.entry);
  assert.ok(rows.some((t) => t.includes('"req":{"mm":"1","op":"vm_start","vccap":0,"vm":"n"}')), 'the copy was logged');
  again.close();
  assert.is(verifyCli(path).code, 0);
});

T('the store proves each entry reads back before it is stored', async () => {
  const l = await openLedger(tmpDb(), { clock: steppingClock() });
  const head = l.head();
  const bad: Record<string, unknown>[] = [
    { seq: head.seq + 1, at: 'x', type: 'request', f: () => 1 },
    { seq: head.seq + 1, at: 'x', type: 'request', s: '\ud800' },
    { seq: head.seq + 1, at: 'x', type: 'request', n: NaN },
    { seq: head.seq + 1, at: 'x', type: 'request', d: { toJSON: () => undefined } },
  ];
  for (const e of bad) {
    assert.throws(() => l.log.immediate(() => l.log.append([e])), (x: unknown) => x instanceof TypeError, JSON.stringify(Object.keys(e)));
    assert.equal(l.log.head(), head, 'nothing written');
  }
  assert.is(canonicalEntry({ seq: 1, b: 'é', a: [1, -0, 'x\u0000'] }), '{"a":[1,0,"x\\u0000"],"b":"é","seq":1}');
  l.close();
});

/** Arbitrary JS values, made hostile: prototypes, getters, Proxies, symbols, mixed into otherwise good requests. */
const hostile = fc.oneof(
  fc.anything({ withNullPrototype: true, withObjectString: true, withBoxedValues: true, withMap: true, withSet: true, withDate: true, withTypedArray: true, withSparseArray: true, withBigInt: true, withUnicodeString: true }),
  fc.constantFrom(() => 1, Symbol('s'), undefined, NaN, -0, '\ud800', '\u0000', new Proxy({}, {})),
);
const goodReq = fc.constantFrom<Record<string, unknown>>(
  { op: 'vm_start', vm: 'vm9', mm: '0x9' },
  { op: 'pasid_alloc', container: 'c1', min: 1, max: 100 },
  { op: 'pasid_free', container: 'c1', pasid: 1 },
  { op: 'device_add', group: 'g1', bdf: '0000:3b:00.0', pasid_cap: { exec: true, priv: false, width: 20 } },
  { op: 'set_pasid_quota', value: 10, actor: 'admin' },
);
const KEYS = ['constructor', 'toString', 'valueOf', '__proto__', 'hasOwnProperty', 'id', 'vm', 'mm', 'min', 'max', 'pasid', 'value', 'pasid_cap', 'op', 'x'];
const poisoned = fc.tuple(goodReq, fc.constantFrom(...KEYS), hostile, fc.integer({ min: 0, max: 5 })).map(([req, key, v, how]) => {
  const r: Record<string, unknown> = { ...req };
  switch (how) {
    case 0: Object.defineProperty(r, key, { value: v, enumerable: true, configurable: true, writable: true }); return r;
    case 1: { let n = 0; Object.defineProperty(r, key, { get: () => (n++ ? v : req[key]), enumerable: true }); return r; }
    case 2: return Object.assign(Object.create({ [key]: v }) as object, r);
    case 3: return new Proxy(r, { get: (t, k) => (k === key ? v : Reflect.get(t, k)) });
    case 4: return { ...r, [Symbol(key)]: v };
    default: return v;
  }
});

T('property: any value, however built, is an outcome or a RequestError, and the log always reopens and verifies', async () => {
  const path = tmpDb();
  const l: Ledger = await openLedger(path, { clock: steppingClock(), synchronous: 'OFF' });
  setupVm(l);
  let outcomes = 0;
  let refusals = 0;
  fc.assert(fc.property(fc.oneof(poisoned, hostile), (v) => {
    const before = l.head();
    try {
      const out = l.requestUntrusted(v);
      assert.type(out.ret, 'number');
      outcomes++;
    } catch (e) {
      if (!(e instanceof RequestError)) throw e;
      assert.equal(l.head(), before, 'a refusal writes nothing');
      refusals++;
    }
  }), { numRuns: 400, seed: 0x8a11 });
  l.close();
  assert.ok(outcomes > 0 && refusals > 0, `both kinds occurred (${outcomes} outcomes, ${refusals} refusals)`);
  const again = await openLedger(path);
  assert.ok(again.head().seq >= 5);
  again.close();
  const v = verifyCli(path);
  assert.is(v.code, 0, v.err);
});

T.run();
