import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Checkpointer } from '../src/server/checkpointer.js';
import { checkpointText } from '../src/replay/proofs.js';
import { MerkleStore } from '../src/store/tree.js';
import { generateSigner, ALG_ED25519 } from '../src/tlog/keys.js';
import { freshLedger, setupVm } from './helpers.js';

/**
 * The server's checkpoint signer over a real log: when it signs (`every`, the interval),
 * what it publishes (one at a time, the newest waiting), and that failures are reported,
 * never thrown.
 */
const s = suite('checkpointer');

const signer = generateSigner('example.com/cp-test', ALG_ED25519);
const turn = () => new Promise((r) => setImmediate(r));
const alloc = { op: 'pasid_alloc', container: 'c1', min: 1, max: 100 } as const;

s('signs at start, then only once `every` entries were added, in a later turn; the note is checkpointText\'s for that size', async () => {
  const l = await freshLedger();
  const tree = new MerkleStore(l.db);
  const published: number[] = [];
  const cp = new Checkpointer(tree, { signer, every: 10, publish: (_n, size) => { published.push(size); } });
  await cp.start();
  assert.is(cp.latest!.size, 1);
  setupVm(l);
  while (l.head().seq - 1 < 10) {
    cp.onCommit();
    await turn();
    assert.is(cp.latest!.size, 1, `${l.head().seq - 1} new entries: not yet`);
    l.request(alloc);
  }
  cp.onCommit();
  assert.is(cp.latest!.size, 1, 'signed in a later turn, not inside the commit callback');
  await turn();
  assert.is(cp.latest!.size, l.head().seq);
  assert.is(cp.latest!.note, checkpointText(tree, signer, { size: l.head().seq }));
  assert.equal(published, [1, l.head().seq]);
  await cp.close();
  l.close();
});

s('one publication at a time: checkpoints signed meanwhile are not queued, the newest is published next', async () => {
  const l = await freshLedger();
  setupVm(l);
  const tree = new MerkleStore(l.db);
  const published: number[] = [];
  let release: () => void = () => {};
  const cp = new Checkpointer(tree, {
    signer, every: 1,
    publish: (_n, size) => {
      published.push(size);
      return new Promise<void>((r) => { release = r; });
    },
  });
  const first = l.head().seq;
  const started = cp.start();
  for (let i = 0; i < 3; i++) {
    l.request(alloc);
    cp.onCommit();
    await turn();
  }
  assert.ok(l.head().seq > first + 2);
  assert.is(cp.latest!.size, l.head().seq, 'served at once');
  assert.equal(published, [first], 'the first is still being published');
  release();
  for (let i = 0; i < 5; i++) await turn();
  assert.equal(published, [first, l.head().seq], 'then only the newest');
  const closing = cp.close();
  release();
  await closing;
  await started;
  l.request(alloc);
  cp.onCommit();
  await turn();
  assert.is(published.length, 2, 'nothing after close');
  l.close();
});

s('a failing publication and a failing signature are reported, never thrown; a failed size is tried again only after the log grew', async () => {
  const l = await freshLedger();
  const tree = new MerkleStore(l.db);
  const errors: string[] = [];
  const cp = new Checkpointer(tree, { signer, every: 1, publish: () => { throw new Error('disk full'); }, onError: (e) => errors.push(e.message) });
  await cp.start();
  assert.equal(errors, ['disk full']);
  assert.is(cp.latest!.size, 1, 'served even when publishing failed');
  // A signature that cannot be made: the log's connection is gone.
  const other = await freshLedger();
  const broken = new Checkpointer(new MerkleStore(other.db), { signer, every: 1, onError: (e) => errors.push(`broken: ${e.message}`) });
  other.close();
  await broken.start();
  broken.onCommit();
  await turn();
  assert.ok(errors.length >= 2 && errors.slice(1).every((e) => e.startsWith('broken: ')), errors.join('\n'));
  assert.is(broken.latest, null);
  await broken.close();
  await cp.close();
  l.close();
});

s('the interval signs a log that grew by fewer than `every` entries, and nothing when it did not grow', async () => {
  const l = await freshLedger();
  const tree = new MerkleStore(l.db);
  const published: number[] = [];
  const cp = new Checkpointer(tree, { signer, every: 1000, intervalSeconds: 0.05, publish: (_n, size) => { published.push(size); } });
  await cp.start();
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(published, [1]);
  l.request({ op: 'vm_start', vm: 'vm1', mm: '0x1000' });
  for (let i = 0; i < 40 && published.length < 2; i++) await new Promise((r) => setTimeout(r, 25));
  assert.equal(published, [1, l.head().seq]);
  await cp.close();
  l.close();
});

s.run();
