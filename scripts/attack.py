#!/usr/bin/env python3
"""Floods a release build of Handoff on loopback, as an attacker would, and reports whether it
holds (issue 22 §6). Run through scripts/attack.sh, which builds the binary and calls this.

    python3 scripts/attack.py BINARY [--logins N] [--seconds S]

Each phase starts from the same server, with the default limits (the real ones, not the tests'):
  1. login flood: N password logins at once, each from its own address (X-Forwarded-For, with
     127.0.0.1 trusted as a proxy), so the per-address throttle does not stop them and every one
     reaches password hashing. Reports the answers, refusals a second and the server's peak
     memory (VmHWM); goal under 300 MB whatever N is.
  2. /r flood: one address follows a referral link as fast as 64 connections allow while a real
     visitor (another address) follows it every 100 ms. Reports the visitor's answers and
     latency; goal: every visit redirected.
  3. slowloris: 2,000 connections from one address (127.0.0.3) each send half a request and
     stop, while the visitor keeps asking. Reports how many the server closed, and the visitor's
     answers and latency.
Every phase counts 5xx answers; goal zero. Exit status 1 when a goal is missed.
"""

import argparse
import asyncio
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

PORT = 3911
HOST = "127.0.0.1"
OWNER = "owner@example.com"
PASSWORD = "a long enough owner password"


async def request(method, path, headers=None, body=b"", timeout=30.0):
    """One HTTP/1.1 request on its own connection: (status, seconds, body bytes)."""
    started = time.monotonic()
    reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, PORT), timeout)
    try:
        head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{PORT}\r\nConnection: close\r\n"
        for name, value in (headers or {}).items():
            head += f"{name}: {value}\r\n"
        if body:
            head += f"Content-Length: {len(body)}\r\n"
        writer.write(head.encode() + b"\r\n" + body)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(-1), timeout)
    finally:
        writer.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, time.monotonic() - started, data.partition(b"\r\n\r\n")[2]


class Memory:
    """Polls the server's resident memory; `peak` is the largest seen, in MB."""

    def __init__(self, pid):
        self.pid, self.peak, self.running = pid, 0.0, True

    def rss(self, field="VmRSS"):
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
        return 0.0

    async def watch(self):
        while self.running:
            self.peak = max(self.peak, self.rss())
            await asyncio.sleep(0.02)


def tally(statuses):
    counts = {}
    for s in statuses:
        counts[s] = counts.get(s, 0) + 1
    return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))


async def login_flood(pid, logins):
    memory = Memory(pid)
    before = memory.rss()
    watcher = asyncio.create_task(memory.watch())
    origin = f"http://{HOST}:{PORT}"

    async def one(i):
        body = f"email=victim{i % 7}%40example.com&password=guess-{i}".encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": origin,
            # Each login from its own address: the throttle per address cannot help, only
            # the bound on concurrent hashing can.
            "X-Forwarded-For": f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}",
        }
        try:
            status, seconds, _ = await request("POST", "/rpc/login", headers, body, timeout=60)
        except (OSError, asyncio.TimeoutError):
            status, seconds = 0, 0.0
        return status, seconds

    started = time.monotonic()
    results = await asyncio.gather(*(one(i) for i in range(logins)))
    elapsed = time.monotonic() - started
    # The owner, right after, from an address of their own.
    owner_status, _, _ = await request(
        "POST",
        "/rpc/login",
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": origin,
            "X-Forwarded-For": "192.0.2.10",
        },
        f"email={OWNER.replace('@', '%40')}&password={PASSWORD.replace(' ', '+')}".encode(),
    )
    memory.running = False
    await watcher
    statuses = [s for s, _ in results]
    refused = statuses.count(429)
    hwm = memory.rss("VmHWM")
    print(f"[attack] login flood: {logins} logins at once from {logins} addresses in {elapsed:.1f} s")
    print(f"[attack]   answers: {tally(statuses)}  (0 = no answer)")
    print(f"[attack]   refused with 429: {refused} ({refused / elapsed:.0f}/s)")
    print(f"[attack]   memory: {before:.0f} MB before, peak {max(hwm, memory.peak):.0f} MB (goal < 300 MB)")
    print(f"[attack]   the owner's login right after: {owner_status}")
    fives = sum(1 for s in statuses if s >= 500)
    return {
        "5xx": fives,
        "memory_ok": max(hwm, memory.peak) < 300,
        "answered": statuses.count(0) == 0,
        "owner_ok": owner_status in (200, 302, 303),
    }


async def visitor(slug, stop, results, address="192.0.2.77"):
    """A real visitor following the link every 100 ms until `stop` is set."""
    while not stop.is_set():
        try:
            status, seconds, _ = await request(
                "GET", f"/r/{slug}", {"X-Forwarded-For": address}, timeout=30
            )
        except (OSError, asyncio.TimeoutError):
            status, seconds = 0, 30.0
        results.append((status, seconds))
        await asyncio.sleep(0.1)


def describe_visits(visits):
    statuses = [s for s, _ in visits]
    latencies = sorted(t * 1000 for _, t in visits)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"[attack]   the visitor: {len(visits)} visits ({tally(statuses)}), "
        f"median {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms, max {latencies[-1]:.0f} ms"
    )
    return all(s == 302 for s in statuses)


async def redirect_flood(slug, seconds):
    stop = asyncio.Event()
    visits, flood = [], []

    async def flooder():
        while not stop.is_set():
            try:
                status, _, _ = await request(
                    "GET", f"/r/{slug}", {"X-Forwarded-For": "198.51.100.66"}, timeout=30
                )
            except (OSError, asyncio.TimeoutError):
                status = 0
            flood.append(status)

    tasks = [asyncio.create_task(flooder()) for _ in range(64)]
    tasks.append(asyncio.create_task(visitor(slug, stop, visits)))
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*tasks)
    print(f"[attack] /r flood: one address, 64 connections, {seconds} s")
    print(f"[attack]   the flood's answers: {tally(flood)} ({len(flood) / seconds:.0f}/s)")
    ok = describe_visits(visits)
    return {"5xx": sum(1 for s in flood + [s for s, _ in visits] if s >= 500), "visitor_ok": ok}


async def slowloris(slug, sockets, seconds):
    held = []
    for _ in range(sockets):
        try:
            # From an address of its own (loopback has all of 127/8), not the trusted proxy's.
            reader, writer = await asyncio.open_connection(HOST, PORT, local_addr=("127.0.0.3", 0))
        except OSError:
            break
        writer.write(f"GET /r/{slug} HTTP/1.1\r\nHost: {HOST}\r\nX-Slow: ".encode())
        held.append((reader, writer))
    stop = asyncio.Event()
    visits = []
    task = asyncio.create_task(visitor(slug, stop, visits, "192.0.2.78"))
    await asyncio.sleep(seconds)
    stop.set()
    await task
    closed = 0
    for reader, writer in held:
        if reader.at_eof() or writer.is_closing():
            closed += 1
        writer.close()
    print(f"[attack] slowloris: {len(held)} half-sent requests held open, {seconds} s")
    print(f"[attack]   closed by the server by the end: {closed}")
    ok = describe_visits(visits)
    return {"5xx": sum(1 for s, _ in visits if s >= 500), "visitor_ok": ok}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary")
    parser.add_argument("--logins", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--sockets", type=int, default=2000)
    args = parser.parse_args()

    data = tempfile.mkdtemp(prefix="handoff-attack.")
    env = dict(
        os.environ,
        HANDOFF_DATA_DIR=data,
        HANDOFF_ADDR=f"{HOST}:{PORT}",
        HANDOFF_TRUSTED_PROXIES="127.0.0.1",
        RUST_LOG="warn",
    )
    env.pop("HANDOFF_RATE_LIMITS", None)
    subprocess.run(
        [args.binary, "admin", "create", "--email", OWNER, "--role", "owner"],
        input=PASSWORD.encode(), env=env, check=True, capture_output=True,
    )
    key = subprocess.run(
        [args.binary, "api-key", "create", "--name", "attack"],
        env=env, check=True, capture_output=True,
    ).stdout.decode().strip()
    log = open(os.path.join(data, "server.log"), "wb")
    server = subprocess.Popen([args.binary, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            try:
                if asyncio.run(request("GET", "/healthz"))[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        import json

        auth = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        asyncio.run(request("POST", "/api/v1/campaigns", auth, json.dumps(
            {"name": "Attack", "slug": "attack", "landing_url": "https://shop.example/join"}).encode()))
        _, _, body = asyncio.run(request("POST", "/api/v1/referrers", auth, json.dumps(
            {"campaign": "attack", "name": "Jane Doe", "email": "jane@example.com"}).encode()))
        slug = json.loads(body)["link"].rsplit("/", 1)[1]

        results = [
            asyncio.run(login_flood(server.pid, args.logins)),
            asyncio.run(redirect_flood(slug, args.seconds)),
            asyncio.run(slowloris(slug, args.sockets, args.seconds)),
        ]
        alive = server.poll() is None
        fives = sum(r["5xx"] for r in results)
        errors = re.findall(rb"(?m)^.*(?:ERROR|panicked).*$", open(os.path.join(data, "server.log"), "rb").read())
        print(f"[attack] 5xx answers in all: {fives} (goal 0); server still running: {alive}; error lines in its log: {len(errors)}")
        for line in errors[:5]:
            print("[attack]   " + line.decode(errors="replace")[:300])
        failed = [
            name
            for name, ok in [
                ("no 5xx", fives == 0),
                ("memory under 300 MB", results[0]["memory_ok"]),
                ("every login answered", results[0]["answered"]),
                ("the owner logs in after the flood", results[0]["owner_ok"]),
                ("the visitor redirected during the /r flood", results[1]["visitor_ok"]),
                ("the visitor redirected during slowloris", results[2]["visitor_ok"]),
                ("the server survives", alive),
            ]
            if not ok
        ]
        print("[attack] " + ("every goal met" if not failed else "MISSED: " + "; ".join(failed)))
        return 1 if failed else 0
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
