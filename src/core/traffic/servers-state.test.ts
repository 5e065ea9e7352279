import { describe, expect, it } from 'vitest';
import { parseServersState } from './servers-state.js';

/** HAProxy 2.6.12's answer, as captured (one server per admin state met in practice). */
const HEADER =
  '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port';
const row = (name: string, admin: number, weight: number, be = 'be_web') =>
  `3 ${be} 1 ${name} 10.88.0.2 2 ${admin} ${weight} ${weight} 3 1 0 2 0 0 0 0 - 8080 - 0 0 - - 0`;

describe('parseServersState', () => {
  it('reads name, address, port, weight and state (maintenance bits, drain bits)', () => {
    const text = [
      '1',
      HEADER,
      row('web-1', 0, 10), // ready
      row('web-2', 1, 5), // added over the API: forced maintenance
      row('web-3', 5, 5), // `disabled` in the file: config + forced maintenance
      row('web-4', 4, 7), // `disabled` in the file, then `state ready`: only the config bit stays
      row('web-5', 8, 7), // forced drain
      row('web-6', 12, 7), // `disabled`, then `state drain`
      '',
      '',
    ].join('\n');
    const { servers, foreign } = parseServersState(text);
    expect(foreign).toEqual([]);
    expect(servers.map((s) => [s.server, s.state, s.weight])).toEqual([
      ['web-1', 'ready', 10],
      ['web-2', 'maint', 5],
      ['web-3', 'maint', 5],
      ['web-4', 'ready', 7],
      ['web-5', 'drain', 7],
      ['web-6', 'drain', 7],
    ]);
    expect(servers[0]).toEqual({
      backend: 'be_web',
      server: 'web-1',
      address: '10.88.0.2',
      port: 8080,
      weight: 10,
      state: 'ready',
    });
  });

  it('keeps servers that are not ours apart instead of trusting them', () => {
    const text = ['1', HEADER, row('Evil_1', 0, 1), row('web-1', 0, 1, 'stats'), ''].join('\n');
    expect(parseServersState(text)).toEqual({
      servers: [],
      foreign: ['be_web/Evil_1', 'stats/web-1'],
    });
  });

  it('refuses what HAProxy 2.6 does not print, with E_EDGE_PROTOCOL', () => {
    const bad = [
      '2\n' + HEADER,
      '1\n',
      '1\n# be_name srv_name\nbe_web web-1',
      ['1', HEADER, row('web-1', 0, 300)].join('\n'),
      ['1', HEADER, row('web-1', 0, 1).replace('10.88.0.2', 'host.example')].join('\n'),
      ['1', HEADER, `${row('web-1', 0, 1)} extra`].join('\n'),
      ['1', HEADER, row('web-1', 0, 1).replace(' 8080 ', ' 8080x ')].join('\n'),
    ];
    for (const text of bad)
      expect(() => parseServersState(text), text).toThrow(
        expect.objectContaining({ code: 'E_EDGE_PROTOCOL' }),
      );
  });
});
