import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startExplorer, type Explorer } from '../src/explore/server.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { ServeUi, UI_COOKIE, UI_SESSION_MS } from '../src/server/ui.js';
import { openDatabase } from '../src/store/open.js';
import { grant, http, post, setup } from './fixtures/http.js';
import { tmpDir } from './helpers.js';

const s = suite('serve_ui');

const dir = tmpDir();
const db = join(dir, 'served.db');
const socket = join(dir, 's.sock');
let srv: RunningServer;
let base: string;
let tok: Record<string, string>;


/** A request over TCP that does not follow redirects (fetch keeps no cookies: the tests carry them). */
async function get(path: string, o: { token?: string; cookie?: string; method?: string } = {}): Promise<{ status: number; headers: Headers; text: string; json: any }> {
  const headers: Record<string, string> = {};
  if (o.token !== undefined) headers.Authorization = `Bearer ${o.token}`;
  if (o.cookie !== undefined) headers.Cookie = o.cookie;
  const res = await fetch(base + path, { headers, redirect: 'manual', method: o.method ?? 'GET' });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch { /* HTML */ }
  return { status: res.status, headers: res.headers, text, json };
}

/** Trades a secret for a session: the cookie pair to send back. */
async function login(secret: string): Promise<string> {
  const r = await get(`/ui/?token=${secret}`);
  assert.is(r.status, 303);
  return r.headers.get('set-cookie')!.split(';')[0]!;
}

const idOf = (secret: string) => srv.service.gate.bySecret(secret)!.token;
const revoke = async (secret: string) => assert.is((await http(socket, 'DELETE', `/v1/tokens/${idOf(secret)}`, { token: tok.admin })).status, 200);

s.before(async () => {
  tok = await grant(db, {
    admin: { role: 'admin' }, auditor: { role: 'auditor' }, vmm: { role: 'vmm', vm: 'vm1' },
    doomed: { role: 'auditor' }, browser: { role: 'auditor' }, cookieDoomed: { role: 'auditor' },
  });
  srv = await startServer({ db, socket, listen: '127.0.0.1:0' });
  base = `http://127.0.0.1:${srv.port}`;
  assert.is((await post(socket, tok.admin, setup('vm1', '0x1000', 'c1', 'g1'))).status, 200);
  assert.is((await post(socket, tok.admin, setup('vm2', '0x2000', 'c2', 'g2'))).status, 200);
});

s.after(async () => {
  await srv.stop();
});

s('an auditor or admin bearer token gets the app at /ui/, over TCP and over the Unix socket; /ui redirects there', async () => {
  for (const t of [tok.auditor, tok.admin]) {
    const r = await get('/ui/', { token: t });
    assert.is(r.status, 200);
    assert.match(r.headers.get('content-type')!, /^text\/html/);
    assert.match(r.text, /<script[^>]+src="[^"]*assets\//);
  }
  const overSocket = await http(socket, 'GET', '/ui/', { token: tok.auditor });
  assert.is(overSocket.status, 200);
  assert.match(overSocket.text, /<html/i);
  const bare = await get('/ui');
  assert.is(bare.status, 308);
  assert.is(bare.headers.get('location'), '/ui/');
});

s('the API under /ui/api/ answers as a standalone explorer over the same log', async () => {
  const rdb = openDatabase(db, { readonly: true });
  let x: Explorer | undefined;
  try {
    x = await startExplorer(rdb, { port: 0 });
    await x.api.ready;
    for (const path of ['api/meta', 'api/entries?offset=0&limit=50', 'api/entries?vm=vm2&offset=1&limit=3', 'api/state?seq=9', 'api/explain?seq=6', 'api/diff?from=3&to=12']) {
      const served = await get(`/ui/${path}`, { token: tok.auditor });
      assert.is(served.status, 200, path);
      const alone = (await (await fetch(new URL(path, x.url))).json()) as Record<string, unknown>;
      // Timings differ from one run to the next; everything else is the log's.
      const strip = ({ startup_ms: _s, timing: _t, ...rest }: any) => rest;
      assert.equal(strip(served.json), strip(alone), path);
    }
    const meta = (await get('/ui/api/meta', { token: tok.admin })).json;
    assert.is(meta.head, srv.ledger.head().seq);
    assert.equal(meta.vms, ['vm1', 'vm2']);
  } finally {
    await x?.close();
    rdb.close();
  }
});

s('a vmm token gets 403; no, malformed or unknown tokens get 401; only GET and HEAD', async () => {
  assert.is((await get('/ui/', { token: tok.vmm })).status, 403);
  assert.is((await get('/ui/api/meta', { token: tok.vmm })).status, 403);
  const none = await get('/ui/');
  assert.is(none.status, 401);
  assert.is(none.headers.get('www-authenticate'), 'Bearer');
  assert.is((await get('/ui/api/meta')).status, 401);
  assert.is((await get('/ui/', { token: 'plt_not-a-token' })).status, 401);
  assert.is((await get('/ui/', { token: 'bad token with spaces' })).status, 401);
  assert.is((await http(socket, 'GET', '/ui/api/meta')).status, 401);
  assert.is((await get('/ui/api/meta', { token: tok.auditor, method: 'POST' })).status, 405);
  // The cookie path is not a way into the rest of the API.
  const cookie = await login(tok.auditor);
  assert.is((await get('/v1/state', { cookie })).status, 401);
  assert.is((await get('/metrics', { cookie })).status, 401);
});

s('a revoked auditor token gets 401 from the next request on', async () => {
  assert.is((await get('/ui/api/meta', { token: tok.doomed })).status, 200);
  await revoke(tok.doomed);
  assert.is((await get('/ui/api/meta', { token: tok.doomed })).status, 401);
  assert.is((await get('/ui/', { token: tok.doomed })).status, 401);
  assert.is((await get(`/ui/?token=${tok.doomed}`)).status, 401);
});

s('?token= sets an HttpOnly, SameSite=Strict, Path=/ui/ session cookie (not the secret) and redirects without it; the cookie then works', async () => {
  const r = await get(`/ui/?token=${tok.auditor}&keep=1`);
  assert.is(r.status, 303);
  assert.is(r.headers.get('location'), '/ui/?keep=1');
  assert.is(r.headers.get('cache-control'), 'no-store');
  const set = r.headers.get('set-cookie')!;
  const attrs = set.split(';').map((a) => a.trim());
  assert.match(attrs[0]!, new RegExp(`^${UI_COOKIE}=[A-Za-z0-9_-]{43}$`));
  assert.ok(attrs.includes('HttpOnly') && attrs.includes('SameSite=Strict') && attrs.includes('Path=/ui/'), set);
  assert.ok(attrs.includes('Max-Age=43200'), set);
  assert.not.ok(attrs.includes('Secure'), 'plain HTTP on loopback: a Secure cookie would never come back');
  assert.not.match(set, tok.auditor!);
  const cookie = attrs[0]!;
  const page = await get('/ui/', { cookie });
  assert.is(page.status, 200);
  assert.match(page.text, /<html/i);
  const meta = await get('/ui/api/meta', { cookie: `other=1; ${cookie}` });
  assert.is(meta.status, 200);
  assert.is(meta.json.head, srv.ledger.head().seq);
  // A session id nobody was given, and a forged value, get 401.
  assert.is((await get('/ui/api/meta', { cookie: `${UI_COOKIE}=${'A'.repeat(43)}` })).status, 401);
  assert.is((await get('/ui/api/meta', { cookie: `${UI_COOKIE}=${tok.auditor}` })).status, 401);
  // A vmm or an unknown secret gets no cookie.
  const vmm = await get(`/ui/?token=${tok.vmm}`);
  assert.is(vmm.status, 403);
  assert.is(vmm.headers.get('set-cookie'), null);
  const unknown = await get('/ui/?token=plt_nope');
  assert.is(unknown.status, 401);
  assert.is(unknown.headers.get('set-cookie'), null);
});

s('the cookie stops working once its token is revoked (and its session is dropped)', async () => {
  const cookie = await login(tok.cookieDoomed);
  assert.is((await get('/ui/api/meta', { cookie })).status, 200);
  const before = srv.service.ui.sessionCount;
  await revoke(tok.cookieDoomed);
  assert.is((await get('/ui/api/meta', { cookie })).status, 401);
  assert.is((await get('/ui/', { cookie })).status, 401);
  assert.is(srv.service.ui.sessionCount, before - 1);
});

s('a session ends after UI_SESSION_MS (a clock the test moves), whatever the token', async () => {
  let now = 1_000_000;
  const ui = new ServeUi(srv.ledger, srv.service.gate, () => now);
  const h = createServer((req, res) => ui.handle(req, res, new URL(req.url!, 'http://x'), (status, error) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error }));
  }));
  await new Promise<void>((r) => h.listen(0, '127.0.0.1', r));
  const at = `http://127.0.0.1:${(h.address() as AddressInfo).port}`;
  try {
    const r = await fetch(`${at}/ui/?token=${tok.auditor}`, { redirect: 'manual' });
    assert.is(r.status, 303);
    const cookie = r.headers.get('set-cookie')!.split(';')[0]!;
    now += UI_SESSION_MS - 1;
    assert.is((await fetch(`${at}/ui/api/meta`, { headers: { Cookie: cookie } })).status, 200);
    now += 1;
    assert.is((await fetch(`${at}/ui/api/meta`, { headers: { Cookie: cookie } })).status, 401);
    assert.is(ui.sessionCount, 0);
  } finally {
    ui.close();
    h.closeAllConnections();
    await new Promise((r) => h.close(r));
  }
});

s('the explorer follows the log as the server writes: head, new names, the state at the new head, the charts', async () => {
  const first = (await get('/ui/api/meta', { token: tok.auditor })).json;
  let charts = (await get('/ui/api/charts', { token: tok.auditor })).json;
  for (let i = 0; charts.building && i < 100; i++) {
    await new Promise((r) => setTimeout(r, 20));
    charts = (await get('/ui/api/charts', { token: tok.auditor })).json;
  }
  assert.not.ok(charts.held.some((h: { vm: string }) => h.vm === 'vm3'));
  assert.not.ok(first.vms.includes('vm3'));
  assert.is((await post(socket, tok.admin, setup('vm3', '0x3000', 'c3', 'g3'))).status, 200);
  const head = srv.ledger.head().seq;
  assert.ok(head > first.head);
  const meta = (await get('/ui/api/meta', { token: tok.auditor })).json;
  assert.is(meta.head, head);
  assert.equal(meta.vms, ['vm1', 'vm2', 'vm3']);
  assert.ok(meta.containers.includes('c3'));
  const state = (await get(`/ui/api/state?seq=${head}`, { token: tok.auditor })).json;
  assert.equal(state.view, srv.ledger.view());
  const page = (await get(`/ui/api/entries?offset=${head - 1}&limit=5`, { token: tok.auditor })).json;
  assert.is(page.total, head);
  assert.is(page.rows[0].seq, head);
  // The charts are folded again in the background once the log has grown by a tenth.
  for (let i = 0; charts.total !== head && i < 100; i++) {
    charts = (await get('/ui/api/charts', { token: tok.auditor })).json;
    if (charts.total !== head) await new Promise((r) => setTimeout(r, 20));
  }
  assert.is(charts.total, head);
  const vm3 = charts.held.find((h: { vm: string }) => h.vm === 'vm3');
  assert.is(vm3.points.at(-1).held, 2);
});

s('a browser opens /ui/?token=..., lands on /ui/ without the secret, and shows the timeline', async () => {
  const CHROMIUM = '/usr/bin/chromium';
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  const ctx = await chromium.launchPersistentContext(tmpDir('pasid-ledger-chromium-'), {
    executablePath: CHROMIUM, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await ctx.newPage();
    await page.goto(`${base}/ui/?token=${tok.browser}`);
    assert.is(page.url(), `${base}/ui/`);
    const head = srv.ledger.head().seq;
    await page.locator('header', { hasText: `${head} entries` }).waitFor({ timeout: 10_000 });
    await page.locator(`.row[data-seq="${head}"], .row[data-seq="1"]`).first().waitFor({ timeout: 10_000 });
    const cookies = await ctx.cookies(`${base}/ui/`);
    assert.is(cookies.length, 1);
    assert.is(cookies[0]!.httpOnly, true);
    assert.is(cookies[0]!.sameSite, 'Strict');
    assert.is(cookies[0]!.path, '/ui/');
    // Revoked: the page's next API call is refused.
    await revoke(tok.browser);
    const status = await page.evaluate(async () => (await fetch('api/meta')).status);
    assert.is(status, 401);
  } finally {
    await ctx.close();
  }
});

s.run();
