/**
 * The process-event helper, run as `python3 -I -S -c HELPER [HOST_NET]`: Node cannot open a
 * netlink socket, Python's standard library can (socket.AF_NETLINK), and python3 needs no
 * compiler on the host. It subscribes to the kernel's proc connector (NETLINK_CONNECTOR,
 * CN_IDX_PROC) and, for every process FORK and EXEC, reads /proc/PID at once: its
 * namespaces, its parent and the parent's PID namespace, its program, its name and its
 * cgroups. A process that lives entirely in the host's namespaces (the agent's: the
 * helper's own, but for the network namespace HOST_NET names when given) is dropped here,
 * so a fork storm on the host costs three readlinks per event and never reaches Node.
 *
 * Races with exit, and how they are handled:
 * - FORK is read while the child still runs its parent's code: for `runc exec` that is
 *   runc's own init in the instance's PID namespace (tens of ms before it execs the
 *   command), for `nsenter` the fork before the exec. A child gone before the read is
 *   replaced by its parent ("parent"): whoever forked it already joined the namespaces
 *   (nsenter waits for its child; runc forks with CLONE_PARENT, its parent is runc itself).
 * - EXEC names the program; a command that exited before the read is still known from its
 *   FORK.
 * - Reading never waits for the agent: lines queue for a writer thread, so a busy agent
 *   delays the taint, not the read of /proc.
 * - The kernel drops events when the socket's buffer is full (ENOBUFS), and the queue has
 *   a bound: either is reported ("lost"), and the monitor scans /proc at once.
 *
 * Output: one JSON object a line on stdout ({"ready":…}, {"error":…}, {"lost":…}, or a
 * process). It exits when stdin closes: the agent that started it is gone.
 *
 * Paths and names come from processes an attacker may control: json.dumps escapes them
 * (ensure_ascii), so a newline or quote in a program's name cannot forge a line.
 */
export const HELPER = String.raw`
import collections, errno, json, os, select, socket, struct, sys, threading

NETLINK_CONNECTOR = 11
CN_IDX_PROC = 1
CN_VAL_PROC = 1
NLMSG_DONE = 3
PROC_CN_MCAST_LISTEN = 1
EV_NONE, EV_FORK, EV_EXEC = 0, 1, 2
SO_RCVBUFFORCE = 33
EVENT_AT = 16 + 20  # nlmsghdr + cn_msg

# Lines wait here for a writer thread: /proc is read the moment an event arrives, even when
# the agent is slow to read its pipe (a blocked write would delay the reads past a short
# process's exit). Bounded: past it, lines are dropped and reported lost.
MAX_QUEUED = 100000
queue = collections.deque()
queued = threading.Condition()
dropped = False

def emit(obj):
    global dropped
    with queued:
        if len(queue) >= MAX_QUEUED:
            dropped = True
            return
        queue.append(json.dumps(obj) + '\n')
        queued.notify()

def writer():
    global dropped
    out = sys.stdout
    while True:
        with queued:
            while not queue and not dropped:
                queued.wait()
            lines = list(queue)
            queue.clear()
            if dropped:
                lines.append(json.dumps({'lost': True}) + '\n')
                dropped = False
        try:
            out.write(''.join(lines))
            out.flush()
        except (BrokenPipeError, OSError):
            os._exit(0)

def link(path):
    try:
        return os.readlink(path)
    except OSError:
        return None

def text(path, limit):
    try:
        with open(path, 'rb') as f:
            return f.read(limit).decode('utf-8', 'surrogateescape')
    except OSError:
        return None

def field(status, name):
    for line in status.split('\n'):
        if line.startswith(name + ':'):
            return line[len(name) + 1:].strip()
    return None

# The host's namespaces are the agent's. Its network namespace comes as an argument when the
# helper runs in another one (the initial one, where alone the proc connector answers: see
# proc-events.ts); the PID and mount namespaces are always its own.
host = [link('/proc/self/ns/pid'), link('/proc/self/ns/mnt'),
        sys.argv[1] if len(sys.argv) > 1 else link('/proc/self/ns/net')]

def namespaces(pid):
    return [link('/proc/%d/ns/%s' % (pid, n)) for n in ('pid', 'mnt', 'net')]

def view(kind, pid, ts):
    ns = namespaces(pid)
    if ns[0] is None or ns[1] is None or ns == host:
        return None
    status = text('/proc/%d/status' % pid, 4096)
    ppid = field(status, 'PPid') if status else None
    if ppid is None or not ppid.isdigit():
        return None
    return {
        'kind': kind, 'pid': pid, 'ppid': int(ppid), 'ts': ts,
        'pidNs': ns[0], 'mntNs': ns[1], 'netNs': ns[2],
        'parentPidNs': link('/proc/%s/ns/pid' % ppid),
        'exe': link('/proc/%d/exe' % pid),
        'comm': field(status, 'Name'),
        'cgroup': text('/proc/%d/cgroup' % pid, 4096),
    }

def control(sock, payload):
    cn = struct.pack('=IIIIHH', CN_IDX_PROC, CN_VAL_PROC, 0, 0, len(payload), 0) + payload
    sock.send(struct.pack('=IHHII', 16 + len(cn), NLMSG_DONE, 0, 0, 0) + cn)

def main():
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_CONNECTOR)
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
        except OSError:
            pass
        sock.bind((0, CN_IDX_PROC))
        # Listen to every event (any kernel), then, where the kernel filters (6.6+), to
        # FORK and EXEC only; an older kernel ignores the second message.
        control(sock, struct.pack('=I', PROC_CN_MCAST_LISTEN))
        control(sock, struct.pack('=II', PROC_CN_MCAST_LISTEN, EV_FORK | EV_EXEC))
    except OSError as e:
        emit({'error': 'cannot subscribe to process events: ' + str(e)})
        return 1
    threading.Thread(target=writer, daemon=True).start()
    ready = False
    polls = [sock, sys.stdin]
    while True:
        try:
            readable, _, _ = select.select(polls, [], [], None if ready else 5)
        except InterruptedError:
            continue
        if not readable:
            emit({'error': 'the kernel did not acknowledge the subscription within 5 s'})
            return 1
        if sys.stdin in readable and not os.read(sys.stdin.fileno(), 4096):
            return 0
        if sock not in readable:
            continue
        try:
            data = sock.recv(65536)
        except OSError as e:
            if e.errno == errno.ENOBUFS:
                emit({'lost': True})
                continue
            raise
        if len(data) < EVENT_AT + 16 + 8:
            continue
        what, _cpu, ts = struct.unpack_from('=IIQ', data, EVENT_AT)
        at = EVENT_AT + 16
        if what == EV_NONE:
            (err,) = struct.unpack_from('=I', data, at)
            # Acknowledgements go to every listener: only one before ready can be ours.
            if err != 0 and not ready:
                emit({'error': 'the kernel refused the subscription: ' + os.strerror(err)})
                return 1
            if not ready:
                ready = True
                emit({'ready': True, 'pid': os.getpid()})
        elif what == EV_FORK and len(data) >= at + 16:
            _ppid, ptgid, pid, tgid = struct.unpack_from('=IIII', data, at)
            if pid != tgid:
                continue  # a thread, not a process
            v = view('fork', pid, ts)
            if v is None and namespaces(pid)[0] is None:
                v = view('parent', ptgid, ts)
            if v is not None:
                emit(v)
        elif what == EV_EXEC:
            _pid, tgid = struct.unpack_from('=II', data, at)
            v = view('exec', tgid, ts)
            if v is not None:
                emit(v)

def flushed(code):
    # What is queued (an error line above all) is written before the end.
    with queued:
        lines = list(queue)
        queue.clear()
    try:
        sys.stdout.write(''.join(lines))
        sys.stdout.flush()
    except OSError:
        pass
    return code

sys.exit(flushed(main()))
`;
