import { describe, expect, it } from 'vitest';
import { answered, parseStat } from './stat.js';

/** HAProxy 2.6.12's `show stat` header, as captured. */
const COLUMNS =
  'pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out'.split(
    ',',
  );

function row(values: Record<string, string | number>): string {
  return `${COLUMNS.map((c) => String(values[c] ?? '')).join(',')},`;
}

const text = [
  `# ${COLUMNS.join(',')},`,
  row({ pxname: 'fe_web', svname: 'FRONTEND', type: 0, status: 'OPEN', stot: 99 }),
  row({
    pxname: 'be_web',
    svname: 'web-1',
    type: 2,
    status: 'no check',
    scur: 1,
    stot: 40,
    hrsp_2xx: 30,
    hrsp_5xx: 2,
    econ: 1,
    eresp: 0,
    wretr: 3,
    wredis: 1,
  }),
  // A quoted field with a comma inside (and a quote) does not shift the columns after it.
  row({
    pxname: 'be_web',
    svname: 'web-2',
    type: 2,
    status: '"MAINT (via ""x"", y)"',
    hrsp_2xx: 7,
  }),
  row({ pxname: 'be_web', svname: 'BACKEND', type: 1, status: 'UP', hrsp_2xx: 37 }),
  '',
].join('\n');

describe('parseStat', () => {
  it('reads every server’s counters by column name, and nothing else', () => {
    const stats = parseStat(text);
    expect(stats.map((s) => s.server)).toEqual(['web-1', 'web-2']);
    expect(stats[0]).toEqual({
      backend: 'be_web',
      server: 'web-1',
      status: 'no check',
      current: 1,
      sessions: 40,
      responses: { '1xx': 0, '2xx': 30, '3xx': 0, '4xx': 0, '5xx': 2, other: 0 },
      connectionErrors: 1,
      responseErrors: 0,
      retries: 3,
      redispatches: 1,
    });
    expect(answered(stats[0]!)).toBe(32);
    expect(stats[1]?.status).toBe('MAINT (via "x", y)');
    expect(stats[1]?.responses['2xx']).toBe(7);
  });

  it('refuses counters that are not numbers, and answers without a header', () => {
    expect(() => parseStat(text.replace(',30,', ',3e1,'))).toThrow(
      expect.objectContaining({ code: 'E_EDGE_PROTOCOL' }),
    );
    expect(() => parseStat('be_web,web-1\n')).toThrow(
      expect.objectContaining({ code: 'E_EDGE_PROTOCOL' }),
    );
  });
});
