"""What one client can make a Redis server do to the others, measured on redis-server and
cairn side by side (bench/hardening.sh starts them): the time of commands that are O(n) or
worse done badly, how long a PING from another client waits meanwhile, and the memory that
large or unauthenticated requests cost.

Usage: python3 bench/hardening.py NAME PORT PID PASSWORD N  (prints "test|value" lines)
"""

import os
import socket
import sys
import threading
import time

name, port, pid, password, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])


def memory():
    """Resident and anonymous memory of the server, in MiB."""
    out = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key = line.split(":")[0]
            if key in ("VmRSS", "RssAnon", "VmHWM"):
                out[key] = int(line.split()[1]) // 1024
    return out


def encode(*args):
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(parts)


class Client:
    def __init__(self, auth=True):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = b""
        if auth:
            assert self.call("AUTH", password) == b"+OK", "AUTH"

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def call(self, *args):
        self.send(encode(*args))
        line = self.line()
        if line.startswith(b"$") and line != b"$-1":
            self.line()
        return line


def report(test, value):
    print(f"{test}|{value}", flush=True)


def timed(test, client, *args):
    """Runs one command; reports its time and the worst PING of another client meanwhile."""
    pinger = Client()
    worst = [0.0]
    done = threading.Event()

    def ping():
        while not done.is_set():
            start = time.time()
            pinger.call("PING")
            worst[0] = max(worst[0], time.time() - start)
            time.sleep(0.002)

    thread = threading.Thread(target=ping)
    thread.start()
    start = time.time()
    reply = client.call(*args)
    elapsed = time.time() - start
    done.set()
    thread.join()
    assert not reply.startswith(b"-"), reply
    report(f"{test} (ms)", f"{elapsed * 1000:.1f}")
    report(f"{test}: worst PING meanwhile (ms)", f"{worst[0] * 1000:.1f}")


c = Client()
c.call("FLUSHALL")
values = [b"v%d" % i for i in range(n)]
timed(f"RPUSH of {n} values in one command", c, "RPUSH", "big", *values)
timed(f"LINSERT before the 10th element from the tail of {n}", c, "LINSERT", "big", "BEFORE", b"v%d" % (n - 10), "new")
timed(f"LREM of the 5th element from the tail of {n}", c, "LREM", "big", "1", b"v%d" % (n - 5))

blocked = []
for i in range(2000):
    b = Client()
    b.send(encode("BLPOP", "wait:%d" % i, "0"))
    blocked.append(b)
time.sleep(0.5)
latencies = []
for i in range(500):
    start = time.time()
    c.call("RPUSH", "other", "x")
    latencies.append(time.time() - start)
latencies.sort()
report("RPUSH p50 with 2000 clients blocked on other keys (ms)", f"{latencies[250] * 1000:.3f}")
for b in blocked:
    b.sock.close()

loader = Client()
for start in range(0, n, 10000):
    loader.send(b"".join(encode("SET", "key:%d" % i, "x") for i in range(start, min(n, start + 10000))))
    for _ in range(start, min(n, start + 10000)):
        loader.line()
timed(f"FLUSHALL of {n} keys", c, "FLUSHALL")

start = time.time()
kept = []
for i in range(3000):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"PING\r\n")
    s.recv(100)
    kept.append(s)
report("3000 connections opened one after another (ms)", f"{(time.time() - start) * 1000:.0f}")
for s in kept:
    s.close()
time.sleep(0.5)

# Three clients that have not authenticated send the header of a 500 MB AUTH argument, then
# up to 200 MB of it each. (Each baseline is taken once memory freed before has settled.)
time.sleep(3)
before = memory()["VmRSS"]
attackers = []
for _ in range(3):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"*2\r\n$4\r\nAUTH\r\n$500000000\r\n")
    attackers.append(s)
chunk = b"x" * (1 << 20)
for s in attackers:
    s.settimeout(2)
    try:
        for _ in range(200):
            s.sendall(chunk)
    except OSError:
        pass
time.sleep(0.5)
report("RSS growth from 3 unauthenticated 500 MB AUTH arguments (MiB)", memory()["VmRSS"] - before)
for s in attackers:
    s.close()

# A 510 MB bulk in flight (all but its last byte sent), then completed.
time.sleep(3)
big = Client()
size = 510_000_000
before = memory()["VmRSS"]
big.send(b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%d\r\n" % size)
piece = b"b" * (1 << 20)
left = size - 1
while left > 0:
    big.send(piece[: min(left, len(piece))])
    left -= min(left, len(piece))
time.sleep(1)
report("RSS growth with a 510 MB bulk in flight (MiB)", memory()["VmRSS"] - before)
big.send(b"b\r\n")
assert big.line() == b"+OK"
big.call("DEL", "big")
big.sock.close()

# A 448 MB string of random bytes: the peak while it is set, and what stays once the client
# has gone and the key is deleted.
time.sleep(3)
value = os.urandom(1 << 20) * 428
setter = Client()
base = memory()
peak = [0]
setting = threading.Event()


def sample():
    while not setting.is_set():
        peak[0] = max(peak[0], memory()["VmRSS"])
        time.sleep(0.005)


sampler = threading.Thread(target=sample)
sampler.start()
setter.call("SET", "string", value)
time.sleep(0.2)
setting.set()
sampler.join()
report("peak RSS growth during SET of a 448 MB string (MiB)", peak[0] - base["VmRSS"])
setter.call("DEL", "string")
setter.sock.close()
time.sleep(3)
report("anonymous memory kept 3 s after it is deleted and its client gone (MiB)", memory()["RssAnon"] - base["RssAnon"])
