"""Measurements wrk cannot make, for scripts/bench.sh: streaming time to first byte at concurrency 1, and many
concurrent streams held open (stalls, errors, the server's peak RSS). Standard library only; loopback only.

    probe.py ttfb URL BODY_FILE [API_KEY] [N]      -> {"ttfb_p50_us", "ttfb_p99_us", "first_content_p50_us",
                                                       "first_content_p99_us", "total_p50_us", "total_p99_us",
                                                       "reused": {the same keys}}

Time to first byte counts from the request's start (its connection's, for a new connection) to the answer's first
byte; first content, to the first non-empty `"content"` delta. The top-level figures open a new connection per
stream; `reused` sends every stream over one keep-alive connection, as SDK clients do.
    probe.py ttfb-pair URL_A BODY_A KEY_A URL_B BODY_B KEY_B [N]
                                                   -> {"a": {as ttfb}, "b": {as ttfb}}: the two measured in
                                                      alternating blocks of 25 streams, so that the machine's drift
                                                      (this VM's speed moves from minute to minute) falls on both
    probe.py hold URL BODY_FILE API_KEY COUNT PID  -> {"streams", "completed", "errors", "stalls", "peak_rss_mb"}
"""
import asyncio
import json
import re
import sys
import time
from urllib.parse import urlparse


def request_bytes(url, body, key, close=True):
    parsed = urlparse(url)
    headers = [
        f"POST {parsed.path} HTTP/1.1",
        f"Host: {parsed.hostname}:{parsed.port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    if close:
        headers.append("Connection: close")
    if key:
        headers.append(f"Authorization: Bearer {key}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


CONTENT = re.compile(rb'"content":"[^"]')


async def one_stream(url, payload, stall_seconds=10, connection=None):
    """Sends one request and reads the answer to its end (the connection's close, or the last chunk on a reused
    `connection`); returns (ttfb, first content, total, ok, stalled) in seconds."""
    parsed = urlparse(url)
    start = time.perf_counter()
    if connection is None:
        reader, writer = await asyncio.open_connection(parsed.hostname, parsed.port)
    else:
        reader, writer = connection
    writer.write(payload)
    await writer.drain()
    first = content = None
    data = b""
    stalled = False
    while True:
        try:
            chunk = await asyncio.wait_for(reader.read(65536), timeout=stall_seconds)
        except asyncio.TimeoutError:
            stalled = True
            break
        if not chunk:
            break
        if first is None:
            first = time.perf_counter()
        data += chunk
        if content is None and CONTENT.search(data):
            content = time.perf_counter()
        if connection is not None and data.endswith(b"0\r\n\r\n"):
            break
    if connection is None:
        writer.close()
    end = time.perf_counter()
    ok = data.startswith(b"HTTP/1.1 200") and b"[DONE]" in data
    return (first or end) - start, (content or end) - start, end - start, ok, stalled


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def summary(first, content, total):
    return {
        "ttfb_p50_us": int(percentile(first, 50) * 1e6), "ttfb_p99_us": int(percentile(first, 99) * 1e6),
        "first_content_p50_us": int(percentile(content, 50) * 1e6), "first_content_p99_us": int(percentile(content, 99) * 1e6),
        "total_p50_us": int(percentile(total, 50) * 1e6), "total_p99_us": int(percentile(total, 99) * 1e6),
    }


async def ttfb_alternating(targets, count, block=25):
    """Streams to each (url, body file, key) target, `count` on new connections and `count` on one reused connection
    each, in blocks of `block` that take turns (A B, then B A, ...). Returns one `ttfb` result per target."""
    results = [{} for _ in targets]
    for reused in (False, True):
        payloads = [request_bytes(url, open(body_file, "rb").read(), key, close=not reused) for url, body_file, key in targets]
        connections = [None] * len(targets)
        if reused:
            for index, (url, _, _) in enumerate(targets):
                parsed = urlparse(url)
                connections[index] = await asyncio.open_connection(parsed.hostname, parsed.port)
        samples = [([], [], []) for _ in targets]
        for index, (url, _, _) in enumerate(targets):
            for _ in range(20):  # warm-up, not counted
                await one_stream(url, payloads[index], connection=connections[index])
        rounds = max(1, count // block)
        for round_ in range(rounds):
            order = list(range(len(targets)))
            if round_ % 2:
                order.reverse()
            for index in order:
                url = targets[index][0]
                for _ in range(block):
                    a, b, c, ok, _ = await one_stream(url, payloads[index], connection=connections[index])
                    if not ok:
                        raise SystemExit(f"stream failed: {url}")
                    for values, value in zip(samples[index], (a, b, c)):
                        values.append(value)
        for index, connection in enumerate(connections):
            if connection is not None:
                connection[1].close()
            if reused:
                results[index]["reused"] = summary(*samples[index])
            else:
                results[index].update(summary(*samples[index]))
    return results


async def ttfb(url, body_file, key, count):
    return (await ttfb_alternating([(url, body_file, key)], count))[0]


def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def hold(url, body_file, key, count, pid):
    payload = request_bytes(url, open(body_file, "rb").read(), key)
    peak = rss_mb(pid)
    tasks = [asyncio.create_task(one_stream(url, payload)) for _ in range(count)]
    while not all(task.done() for task in tasks):
        peak = max(peak, rss_mb(pid))
        await asyncio.sleep(0.05)
    results = [task.result() if not task.exception() else (0, 0, 0, False, False) for task in tasks]
    return {
        "streams": count, "completed": sum(1 for r in results if r[3]), "errors": sum(1 for r in results if not r[3]),
        "stalls": sum(1 for r in results if r[4]), "peak_rss_mb": round(peak, 1),
    }


def main():
    mode, url, body_file = sys.argv[1], sys.argv[2], sys.argv[3]
    key = sys.argv[4] if len(sys.argv) > 4 else ""
    if mode == "ttfb":
        count = int(sys.argv[5]) if len(sys.argv) > 5 else 300
        print(json.dumps(asyncio.run(ttfb(url, body_file, key, count))))
    elif mode == "ttfb-pair":
        a = (sys.argv[2], sys.argv[3], sys.argv[4])
        b = (sys.argv[5], sys.argv[6], sys.argv[7])
        count = int(sys.argv[8]) if len(sys.argv) > 8 else 300
        first, second = asyncio.run(ttfb_alternating([a, b], count))
        print(json.dumps({"a": first, "b": second}))
    elif mode == "hold":
        print(json.dumps(asyncio.run(hold(url, body_file, key, int(sys.argv[5]), int(sys.argv[6])))))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
