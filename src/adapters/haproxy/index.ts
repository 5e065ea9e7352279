/**
 * HAProxy as Ingot's traffic edge: the supervised process, its Runtime API client, and the
 * edge that moves it to each desired state (src/core/traffic decides what; this does it).
 */
export { HaproxyEdge, type ApplyReport, type EdgeEvent, type EdgeOptions } from './edge.js';
export { runPaths, type RunPaths } from './run-dir.js';
export { RuntimeClient, showProc, type RunReport } from './runtime-client.js';
export { callSocket, type CallOptions } from './socket-call.js';
export { HaproxySupervisor, type SupervisorEvent, type SupervisorOptions } from './supervisor.js';
