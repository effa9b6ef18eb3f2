"""Measurements wrk cannot make, for scripts/bench.sh: streaming time to first byte at concurrency 1, and many
concurrent streams held open (stalls, errors, the server's peak RSS). Standard library only; loopback only.

    probe.py ttfb URL BODY_FILE [API_KEY] [N]      -> {"ttfb_p50_us", "ttfb_p99_us", "total_p50_us", "total_p99_us"}
    probe.py hold URL BODY_FILE API_KEY COUNT PID  -> {"streams", "completed", "errors", "stalls", "peak_rss_mb"}
"""
import asyncio
import json
import sys
import time
from urllib.parse import urlparse


def request_bytes(url, body, key):
    parsed = urlparse(url)
    headers = [
        f"POST {parsed.path} HTTP/1.1",
        f"Host: {parsed.hostname}:{parsed.port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    if key:
        headers.append(f"Authorization: Bearer {key}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


async def one_stream(url, payload, stall_seconds=10):
    """Sends one request and reads the answer to the end; returns (ttfb, total, ok, stalled) in seconds."""
    parsed = urlparse(url)
    start = time.perf_counter()
    reader, writer = await asyncio.open_connection(parsed.hostname, parsed.port)
    writer.write(payload)
    await writer.drain()
    first = None
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
    writer.close()
    end = time.perf_counter()
    ok = data.startswith(b"HTTP/1.1 200") and b"[DONE]" in data
    return (first or end) - start, end - start, ok, stalled


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


async def ttfb(url, body_file, key, count):
    payload = request_bytes(url, open(body_file, "rb").read(), key)
    for _ in range(20):
        await one_stream(url, payload)
    first, total = [], []
    for _ in range(count):
        a, b, ok, _ = await one_stream(url, payload)
        if not ok:
            raise SystemExit(f"stream failed: {url}")
        first.append(a)
        total.append(b)
    return {
        "ttfb_p50_us": int(percentile(first, 50) * 1e6), "ttfb_p99_us": int(percentile(first, 99) * 1e6),
        "total_p50_us": int(percentile(total, 50) * 1e6), "total_p99_us": int(percentile(total, 99) * 1e6),
    }


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
    results = [task.result() if not task.exception() else (0, 0, False, False) for task in tasks]
    return {
        "streams": count, "completed": sum(1 for r in results if r[2]), "errors": sum(1 for r in results if not r[2]),
        "stalls": sum(1 for r in results if r[3]), "peak_rss_mb": round(peak, 1),
    }


def main():
    mode, url, body_file = sys.argv[1], sys.argv[2], sys.argv[3]
    key = sys.argv[4] if len(sys.argv) > 4 else ""
    if mode == "ttfb":
        count = int(sys.argv[5]) if len(sys.argv) > 5 else 300
        print(json.dumps(asyncio.run(ttfb(url, body_file, key, count))))
    elif mode == "hold":
        print(json.dumps(asyncio.run(hold(url, body_file, key, int(sys.argv[5]), int(sys.argv[6])))))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
