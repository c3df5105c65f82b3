import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openLedger } from '../src/ledger.js';
import { csvCell } from '../src/audit/format_csv.js';
import { escapeControls, jsonText, showName } from '../src/text/escape.js';
import { CLI, parseCsv, steppingClock, tmpDir } from './helpers.js';
import { tamperedCopy } from './tamper.js';
import { generateCheckpointKeys } from '../src/replay/checkpoint.js';
import { checkpointText } from '../src/replay/proofs.js';
import { ALG_ED25519, formatVerifierKey, generateSigner } from '../src/tlog/keys.js';

/**
 * Output that cannot lie: names holding an OSC title sequence, BEL, CR, a newline that
 * starts a forged line, a bidi override and NUL are valid request values (opaque caller
 * strings); every human-readable output must show them escaped.
 */
const s = suite('output: hostile names are escaped in every printed output');

const FORGED = '2026-01-01 forged line';
const H = `\x1b]0;pwned\x07\r\n${FORGED}\u202e\0`;
/** The same without NUL, for names that go on command lines and into file names (neither can hold one); container, group, actor and request ids keep it. */
const HA = H.replace('\0', '');
const VM = `vm${HA}`;
const MM = `0x1000${HA}`;
const C = `c${H}`;
const G = `g${H}`;
const ACTOR = `admin${H}`;
const FORMULA = "=cmd|' /C calc'!A0";
const TAG = '<img src=x onerror=alert(1)>';

/** Any character that must never reach a terminal raw; the tool's own newlines are allowed. */
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function cli(args: string[], cwd?: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** stdout and stderr hold no raw control or bidi character, and no line starts with the forged text. */
function clean(what: string, text: string): void {
  const m = RAW.exec(text);
  assert.ok(m === null, `${what}: raw U+${m ? m[0].charCodeAt(0).toString(16).padStart(4, '0') : ''} at ${m?.index}: ${JSON.stringify(text.slice(Math.max(0, (m?.index ?? 0) - 40), (m?.index ?? 0) + 40))}`);
  for (const line of text.split('\n')) assert.not.ok(line.trimStart().startsWith(FORGED), `${what}: a forged line: ${JSON.stringify(line)}`);
}

let dir = '';
let db = '';
let head = 0;
/** Entries worth explaining: the hostile vm_start and its transition, a denied ALLOC, the quota change, the crash and its first and last transitions. */
let explained: number[] = [];
/** The seq of the quota change (whose actor is hostile). */
let quotaSeq = 0;

s.before(async () => {
  dir = tmpDir();
  db = join(dir, 'host.db');
  const l = await openLedger(db, { pasid_quota: 2, clock: steppingClock() });
  l.request({ op: 'vm_start', vm: VM, mm: MM });
  l.request({ op: 'container_open', vm: VM, container: C });
  l.request({ op: 'group_attach', container: C, group: G });
  l.request({ op: 'set_iommu', container: C, type: 'VFIO_TYPE1_NESTING_IOMMU' });
  let denied = 0;
  for (let i = 0; i < 3; i++) denied = l.request({ op: 'pasid_alloc', container: C, min: 1, max: 0xfffff, id: `req${H}${i}` }).seq;
  l.request({ op: 'vm_start', vm: FORMULA, mm: FORMULA });
  l.request({ op: 'container_open', vm: FORMULA, container: 'c2' });
  l.request({ op: 'group_attach', container: 'c2', group: 'g2' });
  l.request({ op: 'set_iommu', container: 'c2', type: 'VFIO_TYPE1_NESTING_IOMMU' });
  l.request({ op: 'pasid_alloc', container: 'c2', min: 1, max: 0xfffff });
  l.request({ op: 'vm_start', vm: TAG, mm: TAG });
  l.request({ op: 'device_add', group: G, bdf: '0000:3b:00.0', pasid_cap: { exec: true, priv: false, width: 20 } });
  const quota = l.request({ op: 'set_pasid_quota', value: 3, actor: ACTOR }).seq;
  l.request({ op: 'pasid_alloc', container: C, min: 1, max: 0xfffff });
  l.request({ op: 'pasid_free', container: C, pasid: 1 });
  const crash = l.request({ op: 'vm_crash', vm: VM }).seq;
  head = l.head().seq;
  explained = [2, 3, denied, quota, crash, crash + 1, head];
  quotaSeq = quota;
  l.close();
});

s('the escaping functions: visible escapes, quoting visible, ordinary text unchanged', () => {
  assert.is(escapeControls('vm1 0x1000 c-1_a.b'), 'vm1 0x1000 c-1_a.b');
  assert.is(escapeControls(H), `\\e]0;pwned\\a\\r\\n${FORGED}\\u202e\\x00`);
  assert.is(escapeControls('a\\nb'), 'a\\nb', 'a backslash is left as it is by the line net');
  assert.is(showName('vm1'), 'vm1');
  assert.is(showName('a\nb'), '"a\\nb"');
  assert.is(showName('"a\\nb"'), '"\\"a\\\\nb\\""', 'a name that looks escaped is quoted itself');
  assert.is(showName('a\\b'), 'a\\b', 'an ordinary backslash is kept');
  assert.equal(JSON.parse(jsonText({ vm: VM })), { vm: VM }, 'jsonText round-trips');
  assert.not.ok(RAW.test(jsonText({ vm: VM, x: '\u0085\u2028' })));
  assert.is(csvCell(-14), '-14');
  assert.is(csvCell(FORMULA), `"'${FORMULA}"`);
  assert.is(csvCell('-'), '-');
  assert.is(csvCell('+1'), `"'+1"`);
  assert.is(csvCell('@x'), `"'@x"`);
  assert.is(csvCell('\tx'), `"'\\tx"`);
  assert.is(csvCell('a,b'), '"a,b"');
  assert.is(csvCell('a\nb'), 'a\\nb');
});

/** Every printing command, in its human form; data-driven: one row a command line. */
function commands(): Array<[string, string[]]> {
  return [
    ['state', ['state', '--db', db]],
    ['state --vm', ['state', '--db', db, '--vm', VM]],
    ['log', ['log', '--db', db]],
    ['log --vm', ['log', '--db', db, '--vm', VM]],
    ['diff', ['diff', '--db', db, '--from', '1', '--to', String(head)]],
    ...explained.map((seq): [string, string[]] => [`explain --seq ${seq}`, ['explain', '--db', db, '--seq', String(seq)]]),
    ['timeline --vm', ['timeline', '--db', db, '--vm', VM]],
    ['timeline --mm', ['timeline', '--db', db, '--mm', MM]],
    ['timeline --pasid', ['timeline', '--db', db, '--pasid', '1']],
    ['timeline --bdf', ['timeline', '--db', db, '--bdf', '0000:3b:00.0']],
    ['replay --at', ['replay', '--db', db, '--at', String(quotaSeq)]],
    ['replay --verify', ['replay', '--db', db, '--verify']],
    ['audit', ['audit', '--db', db]],
    ['audit csv', ['audit', '--db', db, '--format', 'csv']],
    ['audit html', ['audit', '--db', db, '--format', 'html']],
    ['verify', ['verify', '--db', db]],
  ];
}

s('state, log, diff, explain, timeline, replay, audit and verify print no raw control byte and no forged line', () => {
  for (const [what, args] of commands()) {
    const r = cli(args);
    assert.is(r.code, 0, `${what}: ${r.err}`);
    clean(what, r.out);
    clean(`${what} (stderr)`, r.err);
  }
});

s('names are shown, escaped and quoted: state, log, diff', () => {
  const shown = showName(VM);
  assert.ok(shown.startsWith('"vm\\e]0;pwned\\a\\r\\n2026'), shown);
  const state = cli(['replay', '--db', db, '--at', String(quotaSeq)]).out;
  assert.ok(state.includes(`  ${shown}  mm ${showName(MM)}  running  containers ${showName(C)}`), state);
  assert.ok(cli(['log', '--db', db]).out.includes(`request vm_start by ${shown}  mm=${showName(MM)} vm=${shown}  → ret 0`));
  assert.ok(cli(['diff', '--db', db, '--from', '1', '--to', String(head)]).out.includes(`${showName(ACTOR)} set pasid_quota`));
  const why = cli(['explain', '--db', db, '--seq', '2']).out;
  assert.ok(why.includes(`seq 2: vm_start by ${shown} (mm=${showName(MM)} vm=${shown})`), why);
  assert.ok(cli(['explain', '--db', db, '--seq', String(quotaSeq)]).out.includes(`actor ${showName(ACTOR)}`));
});

s('run prints outcomes of hostile requests cleanly; --json outputs are JSON that round-trips the names', () => {
  const file = join(dir, 'req.jsonl');
  writeFileSync(file, [{ op: 'vm_start', vm: VM, mm: MM }, { op: 'vm_start', vm: 'vm1', mm: MM }, { op: 'vm_exit', vm: VM, id: `id${H}` }].map((x) => JSON.stringify(x)).join('\n'));
  const run = cli(['run', file, '--db', join(dir, 'run.db')]);
  assert.is(run.code, 0, run.err);
  clean('run', run.out);
  for (const args of [['state', '--json'], ['log', '--json'], ['timeline', '--vm', 'vm1', '--json'], ['audit', '--format', 'json']]) {
    const r = cli([args[0]!, '--db', join(dir, 'run.db'), ...args.slice(1)]);
    clean(args.join(' '), r.out);
    const text = r.out.trim();
    const values = args[0] === 'log' ? text.split('\n').map((l) => JSON.parse(l)) : [JSON.parse(text)];
    assert.ok(JSON.stringify(values).includes(JSON.stringify(args[0] === 'timeline' ? MM : VM).slice(1, -1)), `${args.join(' ')}: the name round-trips`);
  }
});

s('audit csv neutralises a formula cell and keeps each row on one line', () => {
  const r = cli(['audit', '--db', db, '--format', 'csv']);
  assert.ok(r.out.includes(`"'${FORMULA}"`), r.out);
  const rows = parseCsv(r.out);
  const vm = rows.find((row) => row[0] === 'vm' && row[1] === `'${FORMULA}`);
  assert.ok(vm, 'the vm row names the neutralised formula');
  for (const row of rows) for (const c of row) assert.not.ok(/^[=+@\t\r]/.test(c), `cell ${JSON.stringify(c)}`);
  assert.ok(rows.some((row) => row[0] === 'vm' && row[1] === escapeControls(VM)), 'the hostile vm is one row, escaped');
});

s('audit html: a CSP that allows only the page\'s own script, and every name HTML-escaped', () => {
  const out = join(dir, 'audit.html');
  const r = cli(['audit', '--db', db, '--format', 'html', '--out', out]);
  clean('audit --out', r.out);
  const html = readFileSync(out, 'utf8');
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html);
  assert.ok(csp, 'a CSP meta tag');
  assert.ok(html.indexOf(csp![0]) < html.indexOf('<style>'), 'before any style or script');
  assert.ok(csp![1]!.startsWith("default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-"), csp![1]);
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
  assert.is(scripts.length, 1);
  const hash = createHash('sha256').update(scripts[0]!).digest('base64');
  assert.ok(csp![1]!.includes(`'sha256-${hash}'`), 'the hash names the page\'s script');
  assert.not.ok(html.includes(TAG), 'a name never lands as markup');
  assert.ok(html.includes('&#60;img src=x onerror=alert(1)&#62;'));
  clean('html file', html);
});

s('demo with a hostile --db path, keygen and checkpoint with hostile file names print cleanly', () => {
  const path = join(dir, `demo${HA}.db`);
  const d = cli(['demo', '--db', path]);
  assert.is(d.code, 0, d.err);
  clean('demo', d.out);
  const k = cli(['keygen', '--out', join(dir, `key${HA}`)]);
  assert.is(k.code, 0, k.err);
  clean('keygen', k.out);
  const cpFile = join(dir, `cp${HA}`);
  const c = cli(['checkpoint', '--db', db, '--key', join(dir, `key${HA}.key`), '--out', cpFile]);
  assert.is(c.code, 0, c.err);
  clean('checkpoint', c.out);
  const v = cli(['verify', '--db', db, '--checkpoint', cpFile, '--pub', join(dir, `key${HA}.pub`)]);
  assert.is(v.code, 0, v.err);
  clean('verify --checkpoint', v.out);
  const bad = cli(['state', '--db', join(dir, `missing${HA}.db`)]);
  assert.is(bad.code, 2);
  clean('an error message', bad.err);
  assert.is(bad.err.trim().split('\n').length, 1, 'one line on stderr');
});

s('verify and replay --check-chain name a tampered row whose text holds hostile bytes, escaped', () => {
  const bad = tamperedCopy(db, (x) => {
    const row = x.prepare('SELECT entry FROM entries WHERE seq = 2').get() as { entry: string };
    x.prepare('UPDATE entries SET entry = ?, vm = ? WHERE seq = 2').run(row.entry.replace('"vm":"', `"vm":"${JSON.stringify(H).slice(1, -1)}`), `x${H}`);
  });
  const key = join(dir, 'signer.key');
  writeFileSync(key, generateCheckpointKeys().privatePem);
  for (const args of [['verify', '--db', bad], ['replay', '--db', bad, '--at', '3', '--check-chain'], ['checkpoint', '--db', bad, '--key', key, '--out', join(dir, 'x.cp')]]) {
    const r = cli(args);
    assert.is(r.code, 1, `${args[0]} finds the tampered row: ${r.out}${r.err}`);
    assert.ok(r.out.includes('seq 2'), r.out);
    clean(args.join(' '), r.out);
    clean(`${args.join(' ')} (stderr)`, r.err);
  }
});

s('commander\'s own usage errors quote the bad argument escaped', () => {
  const r = cli(['state', '--db', db, `--bogus${HA}`]);
  assert.is(r.code, 2);
  clean('unknown option', r.err);
  assert.ok(r.err.includes('--bogus\\e]0;pwned'), r.err);
});

s('verify --checkpoint of a C2SP note: a hostile origin, signer name and file name are printed escaped; verdict and exit status unchanged', () => {
  const signer = generateSigner('example.com/log', ALG_ED25519);
  const vkey = join(dir, 'note.vkey');
  writeFileSync(vkey, formatVerifierKey(signer) + '\n');
  const at = (name: string, text: string): string => {
    const f = join(dir, `${name}${HA}`);
    writeFileSync(f, text);
    return f;
  };
  const run = (file: string, ...more: string[]) => cli(['verify', '--db', db, '--checkpoint', file, '--vkey', vkey, ...more]);
  const sign = (o: { origin?: string } = {}): string => {
    const h = new Database(db, { readonly: true });
    try {
      return checkpointText(h, signer, o);
    } finally {
      h.close();
    }
  };
  // An origin with what a signed note may hold (C1 CSI, a bidi override, U+2028), signed over the log's real root: good (exit 0).
  const origin = 'example.com/\u009b2J\u202eevil\u2028origin';
  const good = at('good', sign({ origin }));
  const ok = run(good);
  assert.is(ok.code, 0, ok.out + ok.err);
  clean('verify --checkpoint, a hostile origin', ok.out);
  clean('verify --checkpoint, a hostile origin (stderr)', ok.err);
  assert.ok(ok.out.includes(`checkpoint ${showName(good)}: ${showName(origin)} size ${head} signed by example.com/log; the log still has those entries with that root`), ok.out);
  const j = run(good, '--json');
  assert.is(j.code, 0);
  assert.is(JSON.parse(j.out).checkpoint.origin, origin, '--json round-trips the origin');
  // The same with ESC and CR in the origin: a note text may not hold them (signature: exit 1).
  const body = sign().split('\n');
  const esc = at('esc', [`example.com/\x1b[2J\revil`, ...body.slice(1)].join('\n'));
  const e = run(esc);
  assert.is(e.code, 1, e.out + e.err);
  assert.match(e.out, /: signature: the note text has control characters\n$/);
  clean('verify --checkpoint, ESC and CR in the origin', e.out);
  // A signature line whose signer name holds ESC [2J and C1 CSI: the note is bad (exit 1), the name shown escaped.
  const name = 'example.com/\x1b[2J\u009bevil';
  const sig = at('sig', `${body.slice(0, 3).join('\n')}\n\n\u2014 ${name} AAAA\n`);
  const b = run(sig);
  assert.is(b.code, 1, b.out + b.err);
  clean('verify --checkpoint, a hostile signer name', b.out);
  clean('verify --checkpoint, a hostile signer name (stderr)', b.err);
  assert.ok(b.out.includes(`: signature: the signature of ${escapeControls(name)} is too short`), b.out);
});

s.run();
