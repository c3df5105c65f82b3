import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { explainAll, explainLogs } from './explain_logs.js';

/**
 * Not a suite: a tool. `node dist/test/explain_dump.js DIR` writes what `explain` prints
 * for every seq of the golden logs as DIR/<log>/<seq>.txt and .json (to diff two builds);
 * `--sha DIR` writes DIR/<log>.json, the SHA-256 of each (test/fixtures/explain/).
 */
const sha = process.argv[2] === '--sha';
const dir = process.argv[sha ? 3 : 2]!;
const digest = (s: string) => createHash('sha256').update(s).digest('hex');
mkdirSync(dir, { recursive: true });
for (const { name, path } of await explainLogs()) {
  const all = await explainAll(path);
  if (sha) {
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(all.map((x) => ({ seq: x.seq, text: digest(x.text), json: digest(x.json) })), null, 1) + '\n');
    continue;
  }
  mkdirSync(join(dir, name), { recursive: true });
  for (const x of all) {
    writeFileSync(join(dir, name, `${x.seq}.txt`), x.text);
    writeFileSync(join(dir, name, `${x.seq}.json`), x.json);
  }
}
