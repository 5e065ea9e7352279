import { join } from 'node:path';
import {
  readInstanceLogBytes,
  readInstanceLogMarks,
} from '../adapters/host-files/instance-files.js';
import { readPrevious } from '../adapters/host-files/previous-instances.js';
import { bridgeSession, spawnDebugSession } from '../adapters/runc/debug-session.js';
import type { InstanceHosts } from '../ports/instance-hosts.js';
import type { Agent } from '../services/agent/index.js';
import { localInstanceHosts } from '../services/api/instance-hosts.js';

/** The instances of this host's agent with its home's files and runtime (agent.ts's runc root). */
export function hostInstances(home: string, agent: Agent): InstanceHosts {
  return localInstanceHosts(agent, {
    readLogs: (id) => readInstanceLogBytes(home, id),
    readLogMarks: (id) => readInstanceLogMarks(home, id),
    readPrevious: (id) => readPrevious(home, id),
    runSession: (id, request, client, ended) => {
      // Nothing runs for a client that has gone already.
      if (client.destroyed) return ended();
      bridgeSession(spawnDebugSession(join(home, 'runc'), id, request), client, ended);
    },
  });
}
