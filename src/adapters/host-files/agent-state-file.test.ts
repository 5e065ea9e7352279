import { spawn } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Digest } from '../../domain/digest.js';
import type { SavedInstance } from '../../ports/agent-state.js';
import { AgentStateFile } from './agent-state-file.js';

const homes: string[] = [];
const tmp = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'ingot-agent-state-'));
  homes.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of homes.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const inst = (id: string, extra: Partial<SavedInstance> = {}): SavedInstance => ({
  id,
  fleet: 'web',
  artifact: `sha256:${'a'.repeat(64)}` as Digest,
  state: 'starting',
  ...extra,
});
const ids = (loaded: unknown[]) => loaded.map((s) => (s as { id: string }).id).sort();
const journal = (home: string) => join(home, 'agent', 'state.journal');

describe('the agent state journal', () => {
  it('keeps puts and removals across reopening, one record per change', async () => {
    const home = tmp();
    const a = new AgentStateFile(home);
    expect(a.load()).toEqual([]);
    a.put(inst('web-1'));
    a.put(inst('web-2'));
    a.put(inst('web-1', { state: 'healthy' }));
    a.remove('web-2');
    a.remove('web-9'); // never saved: nothing to write
    await a.close();
    expect(readFileSync(journal(home), 'utf8').trim().split('\n')).toHaveLength(4);
    expect(statSync(journal(home)).mode & 0o777).toBe(0o600);
    const b = new AgentStateFile(home);
    expect(b.load()).toEqual([inst('web-1', { state: 'healthy' })]);
    // Opening compacts: one record per live instance.
    expect(readFileSync(journal(home), 'utf8').trim().split('\n')).toHaveLength(1);
    await b.close();
  });

  it('ignores a torn last record and loses nothing before it; later appends read back', async () => {
    const home = tmp();
    const a = new AgentStateFile(home);
    for (const id of ['web-1', 'web-2', 'web-3']) a.put(inst(id));
    await a.close();
    // A crash in the middle of the last append: half of its line reached the file.
    const size = statSync(journal(home)).size;
    const last = readFileSync(journal(home), 'utf8').trim().split('\n').at(-1)!;
    truncateSync(journal(home), size - Math.floor(last.length / 2));
    const b = new AgentStateFile(home);
    expect(ids(b.load())).toEqual(['web-1', 'web-2']);
    b.put(inst('web-4'));
    await b.close();
    expect(ids(new AgentStateFile(home).load())).toEqual(['web-1', 'web-2', 'web-4']);
    expect(readdirSync(join(home, 'agent')).filter((f) => f.includes('damaged'))).toEqual([]);
  });

  it('ignores a tail of zeros (a crash after the size grew, before the data)', async () => {
    const home = tmp();
    const a = new AgentStateFile(home);
    a.put(inst('web-1'));
    a.put(inst('web-2'));
    await a.close();
    appendFileSync(journal(home), Buffer.alloc(300));
    expect(ids(new AgentStateFile(home).load())).toEqual(['web-1', 'web-2']);
  });

  it('stops at a damaged record in the middle, and keeps the file for inspection', async () => {
    const home = tmp();
    const a = new AgentStateFile(home);
    for (const id of ['web-1', 'web-2', 'web-3', 'web-4']) a.put(inst(id));
    await a.close();
    const lines = readFileSync(journal(home), 'utf8').split('\n');
    // One changed byte in the second record: its check no longer matches.
    lines[1] = lines[1]!.replace('web-2', 'web-X');
    writeFileSync(journal(home), lines.join('\n'));
    expect(ids(new AgentStateFile(home).load())).toEqual(['web-1']);
    expect(readdirSync(join(home, 'agent')).some((f) => f.includes('.damaged-'))).toBe(true);
  });

  it("reads an earlier version's state.json once, then keeps to the journal", async () => {
    const home = tmp();
    mkdirSync(join(home, 'agent'));
    const legacy = join(home, 'agent', 'state.json');
    writeFileSync(legacy, JSON.stringify({ version: 1, instances: [inst('web-1'), { no: 'id' }] }));
    const a = new AgentStateFile(home);
    expect(a.load()).toEqual([inst('web-1')]);
    expect(existsSync(legacy)).toBe(false);
    a.put(inst('web-2'));
    await a.close();
    expect(ids(new AgentStateFile(home).load())).toEqual(['web-1', 'web-2']);
  });

  it('sets a damaged state.json aside and starts empty', () => {
    const home = tmp();
    mkdirSync(join(home, 'agent'));
    writeFileSync(join(home, 'agent', 'state.json'), '{"version":1,"instances":[{"id":');
    expect(new AgentStateFile(home).load()).toEqual([]);
    expect(readdirSync(join(home, 'agent')).some((f) => f.startsWith('state.json.damaged-'))).toBe(
      true,
    );
  });

  it('stays within a small multiple of what it describes, however many changes', async () => {
    const home = tmp();
    const a = new AgentStateFile(home, { compactAfter: 64 });
    for (let n = 0; n < 5000; n++) a.put(inst(`web-${n % 10}`, { pid: n }));
    a.remove('web-0');
    const lines = readFileSync(journal(home), 'utf8').trim().split('\n').length;
    expect(lines).toBeLessThan(4 * 10 + 64 + 1);
    await a.close();
    const loaded = new AgentStateFile(home).load() as SavedInstance[];
    expect(ids(loaded)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => `web-${n}`));
    expect(loaded.find((s) => s.id === 'web-9')?.pid).toBe(4999);
  });

  it('keeps every change a killed writer made (kill -9 mid-stream)', async () => {
    const home = tmp();
    const module = fileURLToPath(new URL('./agent-state-file.ts', import.meta.url));
    const script = join(home, 'writer.ts');
    // It counts up one instance's pid, with a second instance churned in between, and says
    // each value once put() returned.
    writeFileSync(
      script,
      `import { AgentStateFile } from ${JSON.stringify(module)};
       const s = new AgentStateFile(${JSON.stringify(home)}, { compactAfter: 16 });
       s.load();
       for (let n = 1; ; n++) {
         s.put({ id: 'web-1', fleet: 'web', artifact: 'sha256:x', state: 'starting', pid: n });
         if (n % 3 === 0) s.put({ id: 'web-2', fleet: 'web', artifact: 'sha256:x', state: 'healthy' });
         if (n % 3 === 1) s.remove('web-2');
         process.stdout.write(n + '\\n');
       }`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let said = 0;
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const lines = out.split('\n');
      out = lines.pop()!;
      if (lines.length > 0) said = Number(lines.at(-1));
    });
    while (said < 3000) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const loaded = new AgentStateFile(home).load() as SavedInstance[];
    const pid = loaded.find((s) => s.id === 'web-1')?.pid ?? 0;
    // Everything acknowledged is there (the writer may have gone a little further).
    expect(pid).toBeGreaterThanOrEqual(said);
    // And web-2 as a whole change around that point left it: gone after n % 3 = 1 and 2.
    if (pid % 3 === 2) expect(loaded.some((s) => s.id === 'web-2')).toBe(false);
  }, 30_000);
});
