import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { COMMANDS, type Register } from '../src/cli/commands.js';
import { newProgram, runCli } from '../src/cli/program.js';
import { CLI, tmpDir } from './helpers.js';

/**
 * Issue 9 item 8: `pasid-ledger` loads only the command it runs. The top-level help comes
 * from a static table (src/cli/commands.ts) and stubs: here every answer of the lazy CLI
 * (help, help of every command and subcommand, version, unknown command, "did you mean")
 * is compared with the program built the old way, every command registered eagerly. The
 * eager program takes every `registerX` exported by a module of dist/src/cli, so a command
 * added without a table row, or a row whose name, description or term drifted, fails here.
 */
const s = suite('CLI start-up: only the command named is loaded; help as with every command loaded');

const CLI_DIR = fileURLToPath(new URL('../src/cli/', import.meta.url));
const TRACE_HOOK = fileURLToPath(new URL('./support/load_trace.js', import.meta.url));

/** Every exported `registerX` of the CLI's modules: table rows first, in table order, then any the table misses. */
async function everyRegister(): Promise<Register[]> {
  const found: Register[] = [];
  for (const file of readdirSync(CLI_DIR).filter((f) => f.endsWith('.js') && f !== 'main.js').sort()) {
    if (!/export (async )?function register[A-Z]/.test(readFileSync(join(CLI_DIR, file), 'utf8'))) continue;
    const mod = (await import(pathToFileURL(join(CLI_DIR, file)).href)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(mod)) if (/^register[A-Z]/.test(name) && typeof value === 'function') found.push(value as Register);
  }
  const listed = await Promise.all(COMMANDS.map((c) => c.load()));
  return [...listed, ...found.filter((f) => !listed.includes(f))];
}

interface Answer {
  out: string;
  err: string;
  /** How it ended: 'ok', or the CommanderError's code and exit code, or the error's name and message. */
  end: string;
}

/** A root whose output goes to `answer` (80 columns, no colours, as through a pipe). */
function capturing(answer: Answer): () => Command {
  return () => newProgram().configureOutput({
    writeOut: (str) => void (answer.out += str),
    writeErr: (str) => void (answer.err += str),
    getOutHelpWidth: () => 80,
    getErrHelpWidth: () => 80,
    getOutHasColors: () => false,
    getErrHasColors: () => false,
  });
}

/** Runs a parse with its output captured, also what goes to process.stdout/stderr directly (fleet's subcommands do not inherit the output settings). */
async function answer(run: (root: () => Command) => Promise<void>): Promise<Answer> {
  const a: Answer = { out: '', err: '', end: 'ok' };
  const { stdout, stderr } = process;
  const [writeOut, writeErr] = [stdout.write, stderr.write];
  stdout.write = ((str: string) => ((a.out += str), true)) as typeof stdout.write;
  stderr.write = ((str: string) => ((a.err += str), true)) as typeof stderr.write;
  try {
    await run(capturing(a));
  } catch (e) {
    a.end = e instanceof CommanderError ? `commander ${e.code} exit ${e.exitCode}` : `${(e as Error).name}: ${(e as Error).message}`;
  } finally {
    stdout.write = writeOut;
    stderr.write = writeErr;
  }
  return a;
}

const argv = (args: string[]) => ['node', 'pasid-ledger', ...args];

function lazy(args: string[]): Promise<Answer> {
  return answer((root) => runCli(argv(args), root));
}

function eager(registers: Register[], args: string[]): Promise<Answer> {
  return answer(async (root) => {
    const program = root();
    for (const register of registers) register(program);
    for (const cmd of program.commands) {
      cmd.exitOverride();
      for (const sub of cmd.commands) sub.exitOverride();
    }
    await program.parseAsync(argv(args));
  });
}

/** The command paths of a program: ['run'], ..., ['fleet'], ['fleet', 'hosts'], ... */
function commandPaths(program: Command, prefix: string[] = []): string[][] {
  return program.commands.flatMap((c) => [[...prefix, c.name()], ...commandPaths(c, [...prefix, c.name()])]);
}

function spawnCli(args: string[], env: NodeJS.ProcessEnv = process.env, nodeArgs: string[] = []) {
  const r = spawnSync(process.execPath, [...nodeArgs, CLI, ...args], { encoding: 'utf8', env });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

s('the table names every command a module registers, in order, each row loading the module that registers it', async () => {
  const registers = await everyRegister();
  const program = new Command('x');
  for (const register of registers) register(program);
  assert.equal(program.commands.map((c) => c.name()), COMMANDS.map((c) => c.name));
  for (const entry of COMMANDS) {
    const one = new Command('x');
    (await entry.load())(one);
    assert.equal(one.commands.map((c) => c.name()), [entry.name]);
  }
});

s('top-level help, version and every usage error: the same bytes and end as with every command loaded', async () => {
  const registers = await everyRegister();
  const help = await eager(registers, ['--help']);
  assert.is(help.end, 'commander commander.helpDisplayed exit 0');
  for (const c of COMMANDS) assert.ok(help.out.includes(`\n  ${c.name} `), c.name);
  const cases = [
    [], ['--help'], ['-h'], ['help'], ['help', 'help'], ['-V'], ['--version'], ['stat'], ['bogus'], ['verify-bundel'], ['help', 'bogus'], ['--bogus'],
    ['--db', 'x', 'state'], ['\x1b[31mred'], ['fleet'], ['fleet', 'host'], ['token'], ['run'], ['openapi', 'extra'], ['log', '--limit', 'x'],
    ['state', '-V'], ['-h', 'state'], ['--help', 'fleet'],
  ];
  for (const args of cases) assert.equal(await lazy(args), await eager(registers, args), args.join(' '));
});

s("every command's and subcommand's help: the same bytes as with every command loaded", async () => {
  const registers = await everyRegister();
  const all = new Command('x');
  for (const register of registers) register(all);
  const paths = commandPaths(all);
  assert.ok(paths.some((p) => p.join(' ') === 'fleet hosts'), 'subcommands are compared too');
  for (const path of paths) {
    const want = await eager(registers, [...path, '--help']);
    assert.is(want.end, 'commander commander.helpDisplayed exit 0', path.join(' '));
    assert.ok(want.out.startsWith(`Usage: pasid-ledger ${path.join(' ')} `), want.out);
    assert.equal(await lazy([...path, '--help']), want, path.join(' '));
    assert.equal(await lazy(['help', ...path]), await eager(registers, ['help', ...path]), `help ${path.join(' ')}`);
  }
});

s('the process: --help, help state and a typo give the eager bytes and exit status', async () => {
  const registers = await everyRegister();
  const help = spawnCli(['--help']);
  assert.is(help.code, 0, help.err);
  assert.is(help.out, (await eager(registers, ['--help'])).out);
  const state = spawnCli(['help', 'state']);
  assert.is(state.code, 0, state.err);
  assert.is(state.out, (await eager(registers, ['state', '--help'])).out);
  const typo = spawnCli(['stat']);
  assert.is(typo.code, 2);
  assert.is(typo.err, (await eager(registers, ['stat'])).err);
  assert.ok(typo.err.includes('Did you mean state?'), typo.err);
});

/** The modules a process running the CLI with `args` imported (URLs), through a loader hook. */
function loadedBy(args: string[]): string[] {
  const trace = join(tmpDir(), 'trace');
  const r = spawnCli(args, { ...process.env, PASID_LOAD_TRACE: trace }, ['--import', pathToFileURL(TRACE_HOOK).href]);
  assert.is(r.code, 0, r.err);
  return readFileSync(trace, 'utf8').trim().split('\n');
}

const HEAVY = ['kysely', 'better-sqlite3', 'pg', 'xstate'];
const heavyIn = (urls: string[]) => HEAVY.filter((p) => urls.some((u) => u.includes(`/node_modules/${p}/`)));

s('--help imports no store, machine or PostgreSQL code and no command module', () => {
  const urls = loadedBy(['--help']);
  assert.ok(urls.some((u) => u.endsWith('/dist/src/cli/main.js')), 'the trace sees the CLI');
  assert.equal(heavyIn(urls), []);
  const commandModules = urls.filter((u) => /\/dist\/src\/cli\/[^/]+\.js$/.test(u) && !/\/(main|program|commands)\.js$/.test(u));
  assert.equal([...new Set(commandModules)], []);
  assert.equal(heavyIn(loadedBy(['help'])), []);
});

s('the trace does see them when a command is loaded (so the check above can fail)', () => {
  const urls = loadedBy(['state', '--help']);
  assert.ok(urls.some((u) => u.endsWith('/dist/src/cli/state.js')));
  assert.equal(heavyIn(urls).filter((p) => p === 'better-sqlite3' || p === 'xstate'), ['better-sqlite3', 'xstate']);
  assert.ok(!urls.some((u) => u.endsWith('/dist/src/cli/fleet.js')), 'only the command named');
  const fleet = loadedBy(['fleet', 'hosts', '--help']);
  assert.ok(fleet.some((u) => u.endsWith('/dist/src/cli/fleet.js')));
  assert.ok(!fleet.some((u) => u.endsWith('/dist/src/cli/state.js')), 'only the command named');
});

s.run();
