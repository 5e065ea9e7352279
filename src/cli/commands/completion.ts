import { Argument, type Command } from 'commander';
import { completionScript, SHELLS, type Shell } from '../surface/completion.js';
import { commandTree } from '../surface/tree.js';
import type { Runner } from './runner.js';

/** `ingot completion bash|zsh|fish`: a completion script made from this very command tree. */
export function registerCompletion(program: Command, run: Runner): void {
  program
    .command('completion')
    .summary('print a shell completion script (bash, zsh or fish)')
    .description(
      'Print a completion script for SHELL, made from the commands and options of this ingot.\n' +
        'bash: source <(ingot completion bash); zsh (after compinit): source <(ingot completion zsh);\n' +
        'fish: ingot completion fish | source. Each script says how to install it for good.',
    )
    .addArgument(new Argument('<shell>', 'the shell').choices(SHELLS))
    .action(async (shell: Shell) => {
      await run(
        (_app, io) => {
          io.out(completionScript(shell, commandTree(program)));
          return Promise.resolve(0);
        },
        () => 'text',
        { homeless: true },
      );
    });
}
