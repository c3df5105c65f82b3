import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { formatCheckpoint, parseCheckpoint } from '../src/tlog/checkpoint.js';
import { ALG_COSIGNATURE_V1, formatSignerKey, formatVerifierKey, generateSigner, parseSignerKey, parseVerifierKey } from '../src/tlog/keys.js';
import { openNote, signNote, signatureLine } from '../src/tlog/note.js';

const test = suite('tlog_note');

// Go's golang.org/x/mod/sumdb/note note_test.go golden values.
const GO_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const GO_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_SIG = 'x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=';

test('the C2SP signed-note example verifier key parses and its key id is recomputed', () => {
  const v = parseVerifierKey('example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k');
  assert.type(v, 'object');
  if (typeof v === 'string') return;
  assert.is(v.keyId.toString('hex'), '530d903a');
  assert.is(formatVerifierKey(v), 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k');
  assert.match(String(parseVerifierKey('example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k')), /does not match/);
});

test("Go's golden note is reproduced byte for byte and verifies", () => {
  const s = parseSignerKey(GO_SKEY);
  assert.type(s, 'object');
  if (typeof s === 'string') return;
  assert.is(formatVerifierKey(s), GO_VKEY);
  assert.is(formatSignerKey(s), GO_SKEY);
  const note = signNote(GO_TEXT, s);
  assert.is(note, `${GO_TEXT}\n\u2014 PeterNeumann ${GO_SIG}\n`);
  const v = parseVerifierKey(GO_VKEY);
  if (typeof v === 'string') throw new Error(v);
  const opened = openNote(note, [v]);
  assert.type(opened, 'object');
  assert.equal(typeof opened === 'object' ? opened.good.map((g) => g.name) : opened, ['PeterNeumann']);
  assert.match(String(openNote(note.replace('cryptography', 'cryptographY'), [v])), /does not verify/);
});

test('a witness cosignature/v1 verifies with its 0x04 key and carries its time', () => {
  const log = generateSigner('example.com/log', 0x01);
  const w = generateSigner('witness.example', ALG_COSIGNATURE_V1);
  const body = formatCheckpoint({ origin: 'example.com/log', size: 7, root: Buffer.alloc(32, 9) });
  const note = signNote(body, log) + signatureLine(body, w, 1700000000);
  const wv = parseVerifierKey(formatVerifierKey(w));
  if (typeof wv === 'string') throw new Error(wv);
  assert.is(wv.alg, 4);
  const opened = openNote(note, [log, wv]);
  if (typeof opened === 'string') throw new Error(opened);
  assert.equal(opened.good.map((g) => [g.name, g.timestamp]), [['example.com/log', undefined], ['witness.example', 1700000000]]);
  const cp = parseCheckpoint(opened.text);
  assert.equal(typeof cp === 'object' ? [cp.origin, cp.size] : cp, ['example.com/log', 7]);
  // The same key under another name is another key id: not accepted.
  assert.equal((openNote(note, [generateSigner('other', 1)]) as { good: unknown[] }).good, []);
});

test('malformed checkpoints are refused with a reason', () => {
  assert.type(parseCheckpoint('o\n01\nAAAA\n'), 'string');
  assert.type(parseCheckpoint('o\n1\n' + Buffer.alloc(31).toString('base64') + '\n'), 'string');
  assert.type(parseCheckpoint('\n1\n' + Buffer.alloc(32).toString('base64') + '\n'), 'string');
  assert.type(parseCheckpoint('o\n1\n' + Buffer.alloc(32).toString('base64')), 'string');
});

test.run();
