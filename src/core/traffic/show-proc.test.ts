import { describe, expect, it } from 'vitest';
import { parseShowProc } from './show-proc.js';

const HEAD = '#<PID>          <type>          <reloads>       <uptime>        <version>      ';

describe('parseShowProc', () => {
  it('reads the master, its reloads, the current and the old workers', () => {
    const text = [
      HEAD,
      '19659           master          1 [failed: 0]   0d00h00m01s     2.6.12-1+deb12u4',
      '# workers',
      '19750           worker          0               0d00h00m01s     2.6.12-1+deb12u4',
      '# old workers',
      '19687           worker          1               0d00h00m02s     2.6.12-1+deb12u4',
      '# programs',
      '',
      '',
    ].join('\n');
    expect(parseShowProc(text)).toEqual({
      master: 19659,
      reloads: 1,
      failedReloads: 0,
      workers: [19750],
      oldWorkers: [19687],
    });
  });

  it('shows a failed reload: the count grows and the old worker stays current', () => {
    const text = [
      HEAD,
      '19659           master          2 [failed: 1]   0d00h00m06s     2.6.12-1+deb12u4',
      '# workers',
      '19750           worker          1               0d00h00m06s     2.6.12-1+deb12u4',
      '# programs',
      '',
    ].join('\n');
    expect(parseShowProc(text)).toMatchObject({
      failedReloads: 1,
      workers: [19750],
      oldWorkers: [],
    });
  });

  it('refuses an answer without a master, or with lines it does not know', () => {
    for (const text of [
      '',
      `${HEAD}\n# workers\n1 worker 0`,
      `${HEAD}\n1 master 0 [failed: 0]\n# workers\nhello`,
    ])
      expect(() => parseShowProc(text)).toThrow(
        expect.objectContaining({ code: 'E_EDGE_PROTOCOL' }),
      );
  });
});
