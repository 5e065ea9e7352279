import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exitReason, exitStatusText, lastMeaningfulLine, signalName } from './exit.js';

describe('how an instance ended, for people', () => {
  it('quotes the last line that says something', () => {
    const out =
      'Traceback (most recent call last):\n  File "x"\nModuleNotFoundError: No module named \'http\'\n\n  \n---\n';
    expect(lastMeaningfulLine(out)).toBe("ModuleNotFoundError: No module named 'http'");
    expect(lastMeaningfulLine('\n\n')).toBeUndefined();
    expect(lastMeaningfulLine('')).toBeUndefined();
  });

  it('never passes on what could drive a terminal, and stays short', () => {
    expect(lastMeaningfulLine('\u001b]0;owned\u0007 boom\r\n')).toBe('?]0;owned? boom');
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 2000 }), (s) => {
        const line = lastMeaningfulLine(s);
        if (line === undefined) return;
        // eslint-disable-next-line no-control-regex
        expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
        expect(line.length).toBeLessThanOrEqual(301);
      }),
    );
  });

  it('says how it ended', () => {
    expect(exitStatusText({ code: 1, oomKilled: false })).toBe('exited 1');
    expect(exitStatusText({ signal: signalName(9), oomKilled: true })).toBe(
      'killed by SIGKILL (out of memory)',
    );
    expect(exitStatusText({ oomKilled: false })).toBe('exited (status unknown)');
    expect(signalName(40)).toBe('signal 40');
    expect(exitReason({ code: 2, oomKilled: false, at: 'x', lastLine: 'no' })).toBe(
      'its process exited 2: no',
    );
  });
});
