import { Command, Option } from 'commander';
import { escapeControls } from '../text/escape.js';
import { COMMANDS, type CommandEntry } from './commands.js';

const EXIT_STATUS = `
Exit status:
  0   success
  1   a check found a problem (audit: an invariant broken; verify: a bad entry or
      checkpoint; replay --verify / --check-chain: an entry differs; export: the copy
      does not verify)
  2   bad input or an unusable file (one line on stderr): a bad option or request
      file, a file that holds no pasid-ledger log, an output file that exists (see
      --force) or is the log, a database kept busy by another writer (--busy-timeout)
  70  internal error (a bug: please report it with the stack trace printed)`;

/**
 * The root command without its commands: name, description, version, the exit status text
 * after the help, escaped error output; commander throws instead of exiting.
 *
 * @example
 * const program = newProgram(); // then a command: registerState(program)
 */
export function newProgram(): Command {
  return new Command('pasid-ledger')
    .description('VFIO PASID allocation as xstate machines over an append-only, hash-chained SQLite log')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', EXIT_STATUS)
    // commander quotes the offending argument in its messages: escaped like every output.
    .configureOutput({ outputError: (str, write) => write(str.endsWith('\n') ? `${escapeControls(str.slice(0, -1))}\n` : escapeControls(str)) })
    .exitOverride();
}

/** Commander picked `command`, which is only a stub so far: load it and parse again. */
class LoadCommand extends Error {
  override name = 'LoadCommand';
  constructor(readonly command: string) {
    super(`load command ${command}`);
  }
}

/**
 * Stands in for a command in the top-level help and in commander's choice of a command
 * (names, "did you mean"): the same name, description and term (a hidden option makes
 * commander print ` [options]`). It never parses nor prints its own help.
 */
class CommandStub extends Command {
  constructor(entry: CommandEntry) {
    super(entry.name);
    this.description(entry.description);
    if (entry.args !== '') this.arguments(entry.args);
    if (entry.options) this.addOption(new Option('--stub-of-options').hideHelp());
  }

  /** `help <command>` asks the stub for its help: that needs the real command. */
  override help(): never {
    throw new LoadCommand(this.name());
  }
}

async function build(program: Command, loaded: string | undefined): Promise<Command> {
  for (const entry of COMMANDS) {
    if (entry.name === loaded) (await entry.load())(program);
    else program.addCommand(new CommandStub(entry).copyInheritedSettings(program));
  }
  program.hook('preSubcommand', (_program, sub) => {
    if (sub instanceof CommandStub) throw new LoadCommand(sub.name());
  });
  for (const cmd of program.commands) {
    cmd.exitOverride();
    for (const sub of cmd.commands) sub.exitOverride();
  }
  return program;
}

/**
 * Parses `argv` (node, script, arguments) and runs the command it names, importing only
 * that command's module. Every command is first a stub; when commander picks one (to run
 * it or show its help), that command alone is loaded and the arguments parsed again, so
 * everything else (top-level help, version, unknown command, "did you mean") is
 * commander's own answer over the same names, without loading any command.
 *
 * @example
 * await runCli(process.argv); // throws CommanderError (exitCode 0 for --help), CliError...
 */
export async function runCli(argv: readonly string[], root: () => Command = newProgram): Promise<void> {
  let loaded: string | undefined;
  for (;;) {
    const program = await build(root(), loaded);
    try {
      await program.parseAsync(argv);
      return;
    } catch (e) {
      if (!(e instanceof LoadCommand) || loaded !== undefined) throw e;
      loaded = e.command;
    }
  }
}
