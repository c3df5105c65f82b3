import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, realLog } from './audit_craft.js';
import { setupVm, tmpDir } from './helpers.js';

/**
 * The html report in a real headless browser (Debian's chromium): it must render offline
 * from the one file, with the chart drawn and the page's script run. Without chromium
 * this FAILS: install it (`apt-get install -y chromium`; .ci/run does).
 */
const s = suite('audit: html report in headless chromium');
const ALL = { min: 1, max: 0xfffff };

function chromium(): string {
  const r = spawnSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' });
  const bin = r.stdout.trim().split('\n')[0];
  if (!bin) assert.unreachable('chromium is not installed: the html report cannot be checked (apt-get install -y chromium)');
  return bin!;
}

/** Runs headless chromium on a local file with a fresh profile, bounded in time, no network. */
function browse(file: string, extra: string[]): { status: number | null; stdout: string; stderr: string } {
  const profile = tmpDir('pasid-ledger-chromium-');
  const r = spawnSync(chromium(), [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', `--user-data-dir=${profile}`, ...extra, `file://${file}`,
  ], { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL', maxBuffer: 32 * 1024 * 1024 });
  if (r.error) assert.unreachable(`chromium failed to run: ${r.error.message}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let html = '';
let page = '';
const dir = tmpDir();

s.before(async () => {
  const path = await realLog({ pasid_quota: 3 }, (l) => {
    setupVm(l, 'vm1', '0x1000', 'c1', 'g1');
    setupVm(l, 'vm2', '0x2000', 'c2', 'g2');
    setupVm(l, 'vm3', '0x3000', 'c3', 'g3');
    for (let i = 0; i < 4; i++) l.request({ op: 'pasid_alloc', container: 'c1', ...ALL });
    for (let i = 0; i < 2; i++) l.request({ op: 'pasid_alloc', container: 'c2', ...ALL });
    l.request({ op: 'set_pasid_quota', value: 5, actor: 'admin' });
    for (let i = 0; i < 3; i++) l.request({ op: 'pasid_alloc', container: 'c1', ...ALL });
    l.request({ op: 'vm_crash', vm: 'vm2' });
    l.request({ op: 'pasid_alloc', container: 'c3', ...ALL });
  });
  page = join(dir, 'report.html');
  const r = cli(['audit', '--db', path, '--format', 'html', '--out', page]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /every invariant holds .* html report written to/);
  html = readFileSync(page, 'utf8');
});

s('one self-contained file: inline style and script, no external URL', () => {
  assert.match(html, /^<!doctype html>/);
  assert.match(html, /<style>[^]*<\/style>/);
  assert.match(html, /<svg id="held-chart"/);
  assert.not.match(html, /https?:\/\//, 'no URL at all');
  assert.not.match(html, /<(script|img|link|iframe)[^>]+(src|href)=/i, 'nothing loaded from elsewhere');
  assert.not.match(html, /@import|url\(/, 'no CSS fetches');
});

s('chromium renders it: the chart is in the DOM and the page script ran', () => {
  const r = browse(page, ['--dump-dom']);
  assert.is(r.status, 0, r.stderr.slice(-2000));
  const dom = r.stdout;
  assert.match(dom, /<body[^>]*data-chart="ready"/, 'the inline script ran and marked the page');
  assert.match(dom, /<body[^>]*data-series="3"/, 'it counted one held line per vm in the live SVG');
  assert.is((dom.match(/<polyline class="held"/g) ?? []).length, 3);
  assert.is((dom.match(/<polyline class="quota"/g) ?? []).length, 3);
  assert.match(dom, /data-vm="vm2"/);
  assert.is((dom.match(/<tr class="holds"/g) ?? []).length, 15, 'all 15 checks hold');
  assert.match(dom, /<section id="quota">[^]*#1[^]*#2[^]*#3/);
  assert.match(dom, /Every invariant holds/);
});

s('chromium draws it: a screenshot of the page is a real picture', () => {
  const png = join(dir, 'report.png');
  const r = browse(page, [`--screenshot=${png}`, '--window-size=1200,900', '--hide-scrollbars']);
  assert.is(r.status, 0, r.stderr.slice(-2000));
  const b = readFileSync(png);
  assert.equal([...b.subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG');
  assert.is(b.readUInt32BE(16), 1200, 'width');
  assert.is(b.readUInt32BE(20), 900, 'height');
  // A blank 1200x900 page compresses to a few KB; text, tables and coloured lines do not.
  assert.ok(b.length > 30_000, `screenshot is only ${b.length} bytes`);
});

s.run();
