import { hostViews } from '../../core/cluster/index.js';
import type { ControlCoordination, CoordinationOptions } from '../../ports/coordination.js';
import { connect, type Connection } from './connect.js';
import { campaign, currentLeader } from './election.js';
import { listAll } from './list.js';
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

  listAssignments: ControlCoordination['listAssignments'] = async (host) =>
    listAll(this.conn, assignmentsReader(host), `listing the assignments of ${host}`);

  listStatus: ControlCoordination['listStatus'] = async (host) =>
    listAll(this.conn, statusReader(host), `listing the status of ${host ?? 'every host'}`);

  watchStatus: ControlCoordination['watchStatus'] = (from, handler) =>
    watchPrefix(this.conn, statusReader(), from, handler, 'watching the status of every host');

  leader: ControlCoordination['leader'] = () => currentLeader(this.conn);

  campaign: ControlCoordination['campaign'] = (candidate, options) =>
    campaign(this.conn, candidate, options, this.now);

  close = (): Promise<void> => this.conn.close();
}
