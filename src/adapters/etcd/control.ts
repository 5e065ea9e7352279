import { hostViews } from '../../core/cluster/index.js';
import type { ControlCoordination, CoordinationOptions } from '../../ports/coordination.js';
import { connect, type Connection } from './connect.js';
import { campaign, currentLeader } from './election.js';
import { compacted, listAll } from './list.js';
import { assignmentsReader, membersReader, registrationsReader, statusReader } from './readers.js';
import { watchPrefix } from './watch.js';

/** Open the servers' view of the cluster, with the servers' credentials. */
export function openControlCoordination(
  options: CoordinationOptions,
  now: () => Date = () => new Date(),
): ControlCoordination {
  return new EtcdControlCoordination(connect(options), now);
}

class EtcdControlCoordination implements ControlCoordination {
  constructor(
    private readonly conn: Connection,
    private readonly now: () => Date,
  ) {}

  listHosts: ControlCoordination['listHosts'] = async () => {
    const members = await listAll(this.conn, membersReader, 'listing the member hosts');
    const live = await listAll(
      this.conn,
      registrationsReader,
      'listing the registered hosts',
      members.revision,
    );
    return {
      revision: members.revision,
      hosts: hostViews(
        members.entries.map((e) => e.value),
        live.entries.map((e) => e.value),
      ),
      invalid: [...members.invalid, ...live.invalid],
    };
  };

  watchHosts: ControlCoordination['watchHosts'] = (from, handler) =>
    watchPrefix(this.conn, registrationsReader, from, handler, 'watching the registered hosts');

  watchMembers: ControlCoordination['watchMembers'] = (from, handler) =>
    watchPrefix(this.conn, membersReader, from, handler, 'watching the member hosts');

  listAssignments: ControlCoordination['listAssignments'] = async (host) =>
    listAll(this.conn, assignmentsReader(host), `listing the assignments of ${host}`);

  watchAssignments: ControlCoordination['watchAssignments'] = (from, handler) =>
    watchPrefix(
      this.conn,
      assignmentsReader(),
      from,
      handler,
      'watching the assignments of every host',
    );

  listCluster: ControlCoordination['listCluster'] = async () => {
    // The folders are listed as of the first one's revision; if etcd compacted it away
    // between pages, all of them again, as of a newer one.
    for (let attempt = 1; ; attempt++) {
      try {
        const members = await listAll(this.conn, membersReader, 'listing the member hosts');
        const at = members.revision;
        const [registrations, assignments, status] = await Promise.all([
          listAll(this.conn, registrationsReader, 'listing the registered hosts', at),
          listAll(this.conn, assignmentsReader(), 'listing the assignments of every host', at),
          listAll(this.conn, statusReader(), 'listing the status of every host', at),
        ]);
        return { revision: at, members, registrations, assignments, status };
      } catch (err) {
        if (attempt >= 3 || !compacted(err)) throw err;
      }
    }
  };

  listStatus: ControlCoordination['listStatus'] = async (host) =>
    listAll(this.conn, statusReader(host), `listing the status of ${host ?? 'every host'}`);

  watchStatus: ControlCoordination['watchStatus'] = (from, handler) =>
    watchPrefix(this.conn, statusReader(), from, handler, 'watching the status of every host');

  leader: ControlCoordination['leader'] = () => currentLeader(this.conn);

  campaign: ControlCoordination['campaign'] = (candidate, options) =>
    campaign(this.conn, candidate, options, this.now);

  close = (): Promise<void> => this.conn.close();
}
