import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MACHINES, stepMachine, xstateStep } from '../src/model/step.js';
import type { MachineName } from '../src/model/types.js';

const src = fileURLToPath(new URL('../../machines/', import.meta.url));

const s = suite('machines');

s('machines/ imports xstate and its own files only: no IO, no clock, no randomness', () => {
  const files = readdirSync(src).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length >= 5);
  for (const f of files) {
    const text = readFileSync(src + f, 'utf8');
    for (const m of text.matchAll(/from '([^']+)'/g)) assert.ok(m[1] === 'xstate' || m[1]!.startsWith('./'), `${f} imports ${m[1]}`);
    assert.not.match(text, /new Date|Date\.now|Math\.random|process\.|require\(/, f);
  }
});

s('the memoised step agrees with xstate for every state and event of every machine', () => {
  for (const [name, machine] of Object.entries(MACHINES) as Array<[MachineName, any]>) {
    const states = Object.keys(machine.config.states);
    const events = new Set<string>();
    for (const st of Object.values(machine.config.states) as Array<{ on?: Record<string, unknown> }>) for (const e of Object.keys(st.on ?? {})) events.add(e);
    for (const st of states) {
      for (const e of events) {
        const a = stepMachine(name, st, e);
        assert.is(a, xstateStep(name, st, e), `${name} ${st} ${e}`);
        assert.is(stepMachine(name, st, e), a, 'memo is stable');
      }
    }
  }
  assert.is(stepMachine('pasid', 'free', 'ALLOC'), 'allocated');
  assert.is(stepMachine('pasid', 'free', 'FREE'), null);
  assert.is(stepMachine('container', 'iommu_set', 'CLOSE'), null, 'a container closes only after its groups left');
});

s.run();
