import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { EMPTY_ROOT, Frontier, hashLeaf, rootAt, type NodeReader } from '../src/tlog/merkle.js';
import { consistencyPath, inclusionPath, verifyConsistency, verifyInclusion } from '../src/tlog/proof.js';

const test = suite('tlog_proof');
const VECTORS = fileURLToPath(new URL('../../test/fixtures/rfc6962', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.json') ? [p] : [];
  });
}
const b64 = (s: string | null | undefined): Buffer => Buffer.from(s ?? '', 'base64');

/** A reader over an in-memory list of leaf hashes: the reference the store must agree with. */
function memoryReader(leaves: Buffer[]): NodeReader {
  const memo = new Map<string, Buffer>();
  const node: NodeReader = (level, index) => {
    if (level === 0) {
      const l = leaves[index];
      if (!l) throw new Error(`no leaf ${index}`);
      return l;
    }
    const k = `${level}/${index}`;
    let h = memo.get(k);
    if (!h) {
      const f = new Frontier();
      for (let i = index * 2 ** level; i < (index + 1) * 2 ** level; i++) f.push(node(0, i));
      h = f.root();
      memo.set(k, h);
    }
    return h;
  };
  return node;
}

test('every transparency-dev inclusion vector: happy paths accepted, every wantErr case refused', () => {
  const all = files(join(VECTORS, 'inclusion'));
  assert.ok(all.length > 50, `found ${all.length} inclusion vectors`);
  let bad = 0;
  for (const f of all) {
    const v = JSON.parse(readFileSync(f, 'utf8')) as { leafIdx: number; treeSize: number; root: string; leafHash: string; proof: string[] | null; wantErr: boolean };
    const problem = verifyInclusion(v.leafIdx, v.treeSize, b64(v.leafHash), (v.proof ?? []).map(b64), b64(v.root));
    assert.is(problem !== null, v.wantErr, `${f}: ${problem ?? 'accepted'}`);
    if (v.wantErr) bad++;
  }
  assert.ok(bad > 40);
});

test('every transparency-dev consistency vector: happy paths accepted, every wantErr case refused', () => {
  const all = files(join(VECTORS, 'consistency'));
  assert.ok(all.length > 50, `found ${all.length} consistency vectors`);
  for (const f of all) {
    const v = JSON.parse(readFileSync(f, 'utf8')) as { size1: number; size2: number; root1: string; root2: string; proof: string[] | null; wantErr: boolean };
    const problem = verifyConsistency(v.size1, v.size2, (v.proof ?? []).map(b64), b64(v.root1), b64(v.root2));
    assert.is(problem !== null, v.wantErr, `${f}: ${problem ?? 'accepted'}`);
  }
});

test('the proofs we generate over the vectors\' 8 leaves are the vectors\' happy-path proofs', () => {
  const data = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
  const leaves = data.map((h) => hashLeaf(Buffer.from(h, 'hex')));
  const node = memoryReader(leaves);
  let seen = 0;
  for (const f of files(join(VECTORS, 'inclusion')).filter((p) => /\/[0-4]\/happy-path\.json$/.test(p))) {
    const v = JSON.parse(readFileSync(f, 'utf8')) as { leafIdx: number; treeSize: number; root: string; leafHash: string; proof: string[] | null };
    assert.equal(inclusionPath(v.leafIdx, v.treeSize, node).map((h) => h.toString('base64')), v.proof ?? []);
    assert.is(rootAt(v.treeSize, node).toString('base64'), v.root);
    seen++;
  }
  for (const f of files(join(VECTORS, 'consistency')).filter((p) => /\/[0-4]\/happy-path\.json$/.test(p))) {
    const v = JSON.parse(readFileSync(f, 'utf8')) as { size1: number; size2: number; root1: string; root2: string; proof: string[] | null };
    assert.equal(consistencyPath(v.size1, v.size2, node).map((h) => h.toString('base64')), v.proof ?? []);
    seen++;
  }
  assert.ok(seen >= 8, `compared ${seen} happy paths`);
});

test('all inclusion and consistency proofs between sizes 1..64 verify; a flipped bit fails', () => {
  const leaves = Array.from({ length: 64 }, (_, i) => hashLeaf(`entry ${i}`));
  const node = memoryReader(leaves);
  const roots = [EMPTY_ROOT];
  const f = new Frontier();
  for (const l of leaves) {
    f.push(l);
    roots.push(f.root());
  }
  for (let n = 1; n <= 64; n++) {
    assert.ok(rootAt(n, node).equals(roots[n]!));
    for (let i = 0; i < n; i++) assert.is(verifyInclusion(i, n, leaves[i]!, inclusionPath(i, n, node), roots[n]!), null);
    for (let m = 1; m <= n; m++) {
      const p = consistencyPath(m, n, node);
      assert.is(verifyConsistency(m, n, p, roots[m]!, roots[n]!), null, `${m} -> ${n}`);
      if (p.length > 0) {
        const bent = p.map((h) => Buffer.from(h));
        bent[0]![0]! ^= 1;
        assert.ok(verifyConsistency(m, n, bent, roots[m]!, roots[n]!) !== null);
      }
    }
  }
});

test.run();
