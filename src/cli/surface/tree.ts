import type { Command, Help, Option } from 'commander';

/** An option as completion scripts and man pages need it. */
export interface OptionNode {
  /** As commander shows them: "-o, --output <format>". */
  readonly flags: string;
  readonly long: string | null;
  readonly short: string | null;
  readonly description: string;
  /** The description with its choices and default, as `--help` shows it. */
  readonly help: string;
  /** Whether the next word is its value ("--home DIR"). */
  readonly takesValue: boolean;
  readonly choices: readonly string[];
}

export interface ArgumentNode {
  readonly name: string;
  readonly required: boolean;
  readonly variadic: boolean;
  readonly description: string;
}

/** A command of the tree, as plain data: the generators below never see commander. */
export interface CommandNode {
  readonly name: string;
  /** One line, for lists. */
  readonly summary: string;
  /** As long as its author wrote it (the summary where there is none). */
  readonly description: string;
  readonly usage: string;
  readonly arguments: readonly ArgumentNode[];
  readonly options: readonly OptionNode[];
  readonly commands: readonly CommandNode[];
}

function optionNode(option: Option, help: Help): OptionNode {
  return {
    flags: option.flags,
    long: option.long ?? null,
    short: option.short ?? null,
    description: option.description,
    help: help.optionDescription(option),
    takesValue: option.required || option.optional,
    choices: option.argChoices ?? [],
  };
}

/**
 * The command tree as data, with the help options commander adds (`-h, --help`) and without
 * hidden commands and options.
 */
export function commandTree(command: Command): CommandNode {
  const help = command.createHelp();
  const options = help.visibleOptions(command).map((o) => optionNode(o, help));
  const summary = command.summary() || command.description().split('\n')[0] || '';
  return {
    name: command.name(),
    summary,
    description: command.description() || summary,
    usage: command.usage(),
    arguments: command.registeredArguments.map((a) => ({
      name: a.name(),
      required: a.required,
      variadic: a.variadic,
      description: a.description,
    })),
    options,
    // The implicit `help` command is left out: every command takes --help.
    commands: help
      .visibleCommands(command)
      .filter((c) => c.name() !== 'help')
      .map(commandTree),
  };
}
