import { describe, expect, it } from 'vitest';
import { tcpPorts } from './start-instance.js';

describe('tcpPorts', () => {
  it('lists the TCP ports an image exposes, sorted, once each; nothing else', () => {
    expect(tcpPorts({ '8080/tcp': {}, '53/udp': {}, '80': {}, '8080': {} })).toEqual([80, 8080]);
    expect(tcpPorts({ '0/tcp': {}, '70000/tcp': {}, 'x/tcp': {}, '80/tcp/x': {} })).toEqual([]);
    expect(tcpPorts(undefined)).toEqual([]);
  });
});
