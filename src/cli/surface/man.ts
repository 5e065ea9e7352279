import type { CommandNode, OptionNode } from './tree.js';

/*
 * Man pages (roff, man(7) macros) made from the command tree: ingot(1), and one page per
 * top-level command, ingot-COMMAND(1), which also describes its subcommands. No date in the
 * header: the same commands give the same bytes, so the committed pages can be checked.
 */

/** What the root page says beyond the tree (main.ts keeps both for `--help` too). */
export interface ManExtras {
  readonly version: string;
  readonly environment: readonly (readonly [string, string])[];
  readonly exitCodes: string;
}

/**
 * Text safe in roff: backslashes kept, no line read as a request, and anything past ASCII
 * ("…", "→") as a named glyph, which every formatter reads whatever its input encoding.
 */
function esc(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(
      /[^\t\n -~]/gu,
      (c) => `\\[u${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}]`,
    )
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n');
}

/** A name or flag in bold, its hyphens as roff's minus (so that they can be searched). */
function bold(text: string): string {
  return `\\fB${esc(text).replace(/-/g, '\\-')}\\fR`;
}

/** "-o, --output <format>" with the flags bold and the value italic. */
function flags(text: string): string {
  return text
    .split(/(,?\s+)/)
    .map((part) =>
      part.startsWith('-') ? bold(part) : /^[<[]/.test(part) ? `\\fI${esc(part)}\\fR` : esc(part),
    )
    .join('');
}

/** A paragraph of prose: blank lines start new paragraphs; roff refills the rest. */
function prose(text: string): string {
  return text
    .trim()
    .split(/\n\s*\n/)
    .map((p) => esc(p.trim()))
    .join('\n.PP\n');
}

function optionList(options: readonly OptionNode[]): string {
  return options.map((o) => `.TP\n${flags(o.flags)}\n${prose(o.help)}\n`).join('');
}

function argumentList(node: CommandNode): string {
  return node.arguments
    .filter((a) => a.description !== '')
    .map((a) => `.TP\n\\fI${esc(a.name)}\\fR\n${prose(a.description)}\n`)
    .join('');
}

function header(name: string, extras: ManExtras): string {
  return (
    `.\\" Generated from ingot's commands by \`npm run schemas\`: do not edit.\n` +
    `.TH ${name.toUpperCase().replace(/-/g, '\\-')} 1 "" "ingot ${esc(extras.version)}" "Ingot Manual"\n`
  );
}

function pageName(command: CommandNode): string {
  return `ingot-${command.name}`;
}

/** A subcommand's part of its page: usage, description, arguments, options. */
function subcommandSection(path: string, node: CommandNode): string {
  let out = `.SS "${esc(path)}"\n${bold(path)} ${esc(node.usage)}\n.PP\n${prose(node.description)}\n`;
  const args = argumentList(node);
  if (args !== '') out += `.PP\nArguments:\n${args}`;
  if (node.options.length > 0) out += `.PP\nOptions:\n${optionList(node.options)}`;
  return out;
}

function commandPage(root: CommandNode, command: CommandNode, extras: ManExtras): string {
  const path = `${root.name} ${command.name}`;
  let out = header(pageName(command), extras);
  out += `.SH NAME\n${pageName(command).replace(/-/g, '\\-')} \\- ${esc(command.summary)}\n`;
  out += `.SH SYNOPSIS\n${bold(path)} ${esc(command.usage)}\n`;
  out += `.SH DESCRIPTION\n${prose(command.description)}\n`;
  const args = argumentList(command);
  if (args !== '') out += `.SH ARGUMENTS\n${args}`;
  if (command.options.length > 0) out += `.SH OPTIONS\n${optionList(command.options)}`;
  if (command.commands.length > 0) {
    out += '.SH COMMANDS\n';
    const walk = (node: CommandNode, prefix: string) => {
      for (const child of node.commands) {
        const childPath = `${prefix} ${child.name}`;
        out += subcommandSection(childPath, child);
        walk(child, childPath);
      }
    };
    walk(command, path);
  }
  out += `.SH GLOBAL OPTIONS\nEvery command also takes the options of ${bold('ingot')}(1): ${root.options
    .filter((o) => o.long !== '--help' && o.long !== '--version')
    .map((o) => bold(o.long ?? o.flags))
    .join(', ')}.\n`;
  out += `.SH SEE ALSO\n${bold('ingot')}(1)\n`;
  return out;
}

function rootPage(root: CommandNode, extras: ManExtras): string {
  let out = header(root.name, extras);
  const [first, ...rest] = root.description.split(/(?<=\.)\s+/);
  out += `.SH NAME\n${root.name} \\- ${esc((first ?? '').replace(/\.$/, ''))}\n`;
  out += `.SH SYNOPSIS\n${bold(root.name)} [\\fIoptions\\fR] \\fIcommand\\fR [\\fIargs\\fR]\n`;
  out += `.SH DESCRIPTION\n${prose(rest.join(' ') || root.description)}\n`;
  out += `.SH OPTIONS\n${optionList(root.options)}`;
  out += '.SH COMMANDS\n';
  out += root.commands
    .map(
      (c) =>
        `.TP\n${bold(`${root.name} ${c.name}`)}\n${esc(c.summary)}; see ${bold(pageName(c))}(1).\n`,
    )
    .join('');
  out += '.SH ENVIRONMENT\n';
  out += extras.environment
    .map(([name, meaning]) => `.TP\n${bold(name)}\n${esc(meaning)}\n`)
    .join('');
  out += `.SH EXIT STATUS\n${esc(extras.exitCodes)}\n`;
  out += `.SH SEE ALSO\n${root.commands.map((c) => `${bold(pageName(c))}(1)`).join(',\n')}\n`;
  return out;
}

/** Every page: file name (ingot.1, ingot-build.1, …) → roff. */
export function manPages(root: CommandNode, extras: ManExtras): Map<string, string> {
  const pages = new Map<string, string>([[`${root.name}.1`, rootPage(root, extras)]]);
  for (const command of root.commands)
    pages.set(`${pageName(command)}.1`, commandPage(root, command, extras));
  return pages;
}
