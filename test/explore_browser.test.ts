import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startExplorer, type Explorer } from '../src/explore/server.js';
import { openDatabase } from '../src/store/open.js';
import { demoLog, type DemoLog } from './explore_story.js';
import { setupVm, steppingClock, tmpDir } from './helpers.js';
import { openLedger } from '../src/ledger.js';
import type { Request } from '../src/model/types.js';

/** Debian's chromium (installed by .ci/run), driven by playwright-core: no browser download. */
const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

const s = suite('explore_browser');

let demo: DemoLog;
let x: Explorer;
let db: ReturnType<typeof openDatabase>;
let ctx: BrowserContext;
const outside: string[] = [];

s.before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  demo = await demoLog();
  db = openDatabase(demo.path, { readonly: true });
  x = await startExplorer(db, { port: 0 });
  ctx = await chromium.launchPersistentContext(tmpDir('pasid-ledger-chromium-'), {
    executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1400, height: 1000 },
  });
  ctx.on('request', (r) => {
    if (!/^http:\/\/127\.0\.0\.1:\d+\//.test(r.url()) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) outside.push(r.url());
  });
});

s.after(async () => {
  await ctx?.close();
  await x?.close();
  db?.close();
});

const stateAt = (page: Page, seq: number) => page.locator(`section.state[data-seq="${seq}"]`).waitFor();

async function scrubTo(page: Page, seq: number): Promise<void> {
  await page.locator('#seq-input').fill(String(seq));
  await page.locator('#seq-input').press('Tab');
  await stateAt(page, seq);
}

let shared = '';

s('filter to vm2\'s refused ALLOC, open it and read "quota" in its explanation', async () => {
  const page = await ctx.newPage();
  await page.goto(x.url);
  await page.locator('header', { hasText: `${demo.head} entries` }).waitFor();
  await page.locator('select[name=vm]').selectOption('vm2');
  await page.locator('select[name=outcome]').selectOption('refused');
  await page.locator('.timeline-head span', { hasText: /^1 entries$/ }).waitFor();
  const row = page.locator(`.row.refused[data-seq="${demo.denied}"]`);
  await row.waitFor();
  assert.match(await row.innerText(), /quota_exhausted/);
  await row.click();
  const panel = page.locator(`section.explain[data-seq="${demo.denied}"]`);
  await panel.waitFor();
  assert.match(await panel.locator('.why').innerText(), /quota/);
  assert.is(await panel.locator('.reason').innerText(), 'quota_exhausted');
  assert.match(await panel.innerText(), /none: a refused request changes nothing/);
});

s('scrub before and after vm2\'s crash: its PASIDs appear, then vanish', async () => {
  const page = ctx.pages().at(-1)!;
  await scrubTo(page, demo.crash - 1);
  const mm2 = page.locator('[data-testid="pasids-0x2000"]');
  await mm2.waitFor();
  assert.match(await mm2.innerText(), /PASIDs 6, 7, 8, 9, 10, 11, 12, 13, 14/);
  await scrubTo(page, demo.crashEnd);
  assert.is(await mm2.count(), 0, 'vm2\'s vfio_mm is released with its PASIDs');
  assert.match(await page.locator('section.state tr[data-vm="vm2"]').innerText(), /crashed/);
  // The slider moves by keyboard too: one entry back is before the last free of the cascade.
  await page.locator('#scrub').focus();
  await page.keyboard.press('ArrowLeft');
  await stateAt(page, demo.crashEnd - 1);
  await scrubTo(page, demo.crash - 1);
  shared = page.url();
  assert.match(shared, new RegExp(`#seq=${demo.crash - 1}&vm=vm2&outcome=refused&sel=${demo.denied}$`));
  // Kept after the run (not in tmpDir, which is removed at exit): look at it.
  const shot = join(mkdtempSync(join(tmpdir(), 'pasid-ledger-explorer-shot-')), 'explorer.png');
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok(readFileSync(shot).length > 10_000);
  console.log(`  explorer screenshot: ${shot}`);
});

s('the URL, opened in a new page, lands on the same view', async () => {
  const page = await ctx.newPage();
  await page.goto(shared);
  await stateAt(page, demo.crash - 1);
  await page.locator(`section.explain[data-seq="${demo.denied}"]`).waitFor();
  assert.is(await page.locator('select[name=vm]').inputValue(), 'vm2');
  assert.is(await page.locator('select[name=outcome]').inputValue(), 'refused');
  await page.locator(`.row.selected[data-seq="${demo.denied}"]`).waitFor();
  await page.locator('[data-testid="pasids-0x2000"]').waitFor();
  await page.close();
});

s('keyboard through the timeline: arrows, End, Enter opens the entry', async () => {
  const page = await ctx.newPage();
  await page.goto(`${x.url}#seq=${demo.head}`);
  await page.locator('.row[data-seq="1"]').waitFor();
  const list = page.locator('.timeline-list');
  await list.focus();
  for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowDown');
  assert.is(await list.getAttribute('aria-activedescendant'), 'tl-row-3');
  await page.keyboard.press('Enter');
  await page.locator('section.explain[data-seq="4"]').waitFor();
  await page.keyboard.press('End');
  await page.locator(`.row.active[data-seq="${demo.head}"]`).waitFor();
  await page.keyboard.press('Enter');
  await page.locator(`section.explain[data-seq="${demo.head}"]`).waitFor();
  await page.keyboard.press('Home');
  await page.locator('.row.active[data-seq="1"]').waitFor();
  await page.close();
});

s('marking two moments shows their diff; download evidence says there is no checkpoint yet', async () => {
  const page = await ctx.newPage();
  await page.goto(`${x.url}#seq=${demo.crash - 1}&a=${demo.crash - 1}&b=${demo.head}`);
  const d = page.locator('section.diff', { hasText: `seq ${demo.crash - 1} → ${demo.head}` });
  await d.waitFor();
  assert.match(await d.innerText(), /vm2 crashed/);
  await page.getByRole('button', { name: 'download evidence' }).click();
  await page.locator('.note', { hasText: 'no checkpoint' }).waitFor();
  await page.close();
});

s('axe-core finds no serious or critical violation', async () => {
  const page = await ctx.newPage();
  await page.goto(`${x.url}#seq=${demo.crash - 1}&vm=vm2&sel=${demo.denied}&a=2&b=${demo.head}`);
  await page.locator(`section.explain[data-seq="${demo.denied}"]`).waitFor();
  await page.locator('figure.plot canvas').first().waitFor();
  const axe = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  // Evaluated over the debugger protocol: the page's CSP (no inline script) stays on.
  await page.evaluate(axe);
  const violations = await page.evaluate(async () => {
    const r = await (window as unknown as { axe: { run(c: unknown, o: unknown): Promise<{ violations: Array<{ id: string; impact: string; help: string; nodes: Array<{ target: string[] }> }> }> } })
      .axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.equal(bad, [], JSON.stringify(bad, null, 1));
  await page.close();
});

s('a long log is windowed: only the rows in view are in the DOM, End reaches the last entry', async () => {
  const path = join(tmpDir(), 'long.db');
  const l = await openLedger(path, { clock: steppingClock() });
  setupVm(l);
  for (let b = 0; b < 4; b++) {
    const reqs: Request[] = [];
    for (let i = 0; i < 1000; i++) reqs.push({ op: 'pasid_alloc', container: 'c1', min: 1, max: 100 }, { op: 'pasid_free', container: 'c1', pasid: 1 });
    l.batch(reqs);
  }
  l.close();
  const ldb = openDatabase(path, { readonly: true });
  // close() may append a snapshot entry after a long run: the head is read after it.
  const head = (ldb.prepare('SELECT max(seq) AS s FROM entries').get() as { s: number }).s;
  const y = await startExplorer(ldb, { port: 0 });
  const page = await ctx.newPage();
  try {
    await page.goto(y.url);
    await page.locator('.row[data-seq="1"]').waitFor();
    const rows = await page.locator('.timeline-list [role=option]').count();
    assert.ok(head > 10_000 && rows < 80, `${rows} rows in the DOM for ${head} entries`);
    await page.locator('.timeline-list').focus();
    await page.keyboard.press('End');
    await page.locator(`.row.active[data-seq="${head}"]`).waitFor();
    assert.ok(await page.locator('.timeline-list [role=option]').count() < 80);
    await page.keyboard.press('PageUp');
    assert.ok(Number(await page.locator('.row.active').getAttribute('data-seq')) < head - 10);
  } finally {
    await page.close();
    await y.close();
    ldb.close();
  }
});

s('nothing was fetched from outside the explorer (no CDN, no fonts)', () => {
  assert.equal(outside, []);
});

s.run();
