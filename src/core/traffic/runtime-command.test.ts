import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { answerProblem, formatCommand, type RuntimeCommand } from './runtime-command.js';

const SAFE_LINE =
  /^(add server|set server|del server) (be|fe)_[a-z0-9-]+(_preview)?\/[a-z0-9-]+( [a-z0-9 .:]+)?$/;

describe('Runtime API commands', () => {
  it('format as HAProxy 2.6 reads them', () => {
    const b = { backend: 'be_web', server: 'web-1' };
    expect(formatCommand({ op: 'add', ...b, address: '10.0.0.2', port: 8080, weight: 5 })).toBe(
      'add server be_web/web-1 10.0.0.2:8080 weight 5',
    );
    expect(formatCommand({ op: 'weight', ...b, weight: 0 })).toBe(
      'set server be_web/web-1 weight 0',
    );
    expect(formatCommand({ op: 'state', ...b, state: 'drain' })).toBe(
      'set server be_web/web-1 state drain',
    );
    expect(formatCommand({ op: 'addr', ...b, address: '10.0.0.3', port: 81 })).toBe(
      'set server be_web/web-1 addr 10.0.0.3 port 81',
    );
    expect(formatCommand({ op: 'del', ...b })).toBe('del server be_web/web-1');
  });

  it('never carry a second command, a newline or anything but checked names', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (backend, server, address) => {
        const cmds: RuntimeCommand[] = [
          { op: 'add', backend, server, address, port: 80, weight: 1 },
          { op: 'del', backend, server },
          { op: 'addr', backend: 'be_x', server, address, port: 80 },
          { op: 'state', backend: 'be_x', server, state: 'ready' },
          { op: 'weight', backend, server: 'web-1', weight: 1 },
        ];
        for (const c of cmds) {
          let line: string;
          try {
            line = formatCommand(c);
          } catch (err) {
            expect(err).toMatchObject({ code: 'E_EDGE_INVALID' });
            continue;
          }
          expect(line).toMatch(SAFE_LINE);
        }
      }),
      { numRuns: 2_000 },
    );
    for (const server of [
      'a;shutdown',
      'a;shutdown sessions server be_x/y',
      'a\nset weight',
      'a b',
    ])
      expect(() => formatCommand({ op: 'del', backend: 'be_x', server })).toThrow(
        expect.objectContaining({ code: 'E_EDGE_INVALID' }),
      );
  });

  it('tell HAProxy’s success from its refusals', () => {
    const b = { backend: 'be_web', server: 'web-1' };
    const add: RuntimeCommand = { op: 'add', ...b, address: '10.0.0.2', port: 80, weight: 1 };
    expect(answerProblem(add, 'New server registered.\n\n')).toBeNull();
    expect(answerProblem(add, 'Already exists a server with the same name in backend.\n')).toMatch(
      /refused "add server be_web\/web-1.*Already exists/,
    );
    expect(answerProblem({ op: 'del', ...b }, 'Server deleted.\n')).toBeNull();
    expect(
      answerProblem({ op: 'del', ...b }, 'Only servers in maintenance mode can be deleted.\n'),
    ).not.toBeNull();
    expect(answerProblem({ op: 'weight', ...b, weight: 1 }, '\n')).toBeNull();
    expect(answerProblem({ op: 'weight', ...b, weight: 1 }, 'No such server.\n')).not.toBeNull();
    const addr: RuntimeCommand = { op: 'addr', ...b, address: '10.0.0.3', port: 81 };
    expect(
      answerProblem(addr, "IP changed from '10.0.0.2' to '10.0.0.3' by 'stats socket command'\n"),
    ).toBeNull();
    expect(answerProblem(addr, '')).not.toBeNull();
  });
});
