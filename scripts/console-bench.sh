#!/usr/bin/env bash
# Console page benchmark: a release gateway in demo mode with a ledger of BENCH_RECORDS requests (default 5,000),
# then every console page fetched BENCH_ROUNDS times (default 50) over one keep-alive connection, as an account and
# as the admin. Prints size and server time (time to the whole response, on loopback) per page, against the budget of
# 100 KB and 50 ms.
#
#   bash scripts/console-bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS="${BENCH_RECORDS:-5000}"
ROUNDS="${BENCH_ROUNDS:-50}"
PORT="${BENCH_PORT:-18190}"
WORK="$(mktemp -d /tmp/gaterouter-console-bench.XXXXXX)"
PID=""
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

swift build -c release --product gaterouter >/dev/null
GATEROUTER_ADMIN_TOKEN=bench-admin-token GATEROUTER_LOG_LEVEL=warning \
  .build/release/gaterouter serve --demo --host 127.0.0.1 --port "$PORT" --data-dir "$WORK" >"$WORK/out.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do grep -q "API key:" "$WORK/out.log" 2>/dev/null && break; sleep 0.1; done
KEY="$(awk '/API key:/ {print $3}' "$WORK/out.log")"
python3 - "$PORT" "$KEY" "$RECORDS" "$ROUNDS" <<'PY'
import http.client, json, statistics, sys, time, urllib.parse
from concurrent.futures import ThreadPoolExecutor

port, key, records, rounds = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
models = ["deepseek/deepseek-v3.2", "auto", "anthropic/claude-sonnet-4.6", "openai/gpt-5-mini", "nonexistent/model"]

def fill(worker):
    connection = http.client.HTTPConnection("127.0.0.1", port)
    for index in range(worker, records, 8):
        body = json.dumps({"model": models[index % len(models)], "messages": [{"role": "user", "content": f"request {index}"}]})
        connection.request("POST", "/openai/v1/chat/completions", body, {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        connection.getresponse().read()

started = time.monotonic()
with ThreadPoolExecutor(8) as pool:
    list(pool.map(fill, range(8)))
print(f"ledger: {records} requests in {time.monotonic() - started:.1f} s")
time.sleep(1.5)  # records are written behind the responses

def sign_in(secret):
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request("POST", "/console/login", urllib.parse.urlencode({"key": secret}), {"Content-Type": "application/x-www-form-urlencoded"})
    response = connection.getresponse()
    response.read()
    return response.getheader("Set-Cookie").split(";")[0]

pages = ["", "keys", "settings", "models", "logs", "playground", "integrations"]
print(f"{'page':<24}{'bytes':>9}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
worst = 0.0
for who, secret, extra in (("account", key, []), ("admin", "bench-admin-token", ["accounts", "?period=30d"])):
    cookie = sign_in(secret)
    connection = http.client.HTTPConnection("127.0.0.1", port)
    for page in pages + extra:
        times, size = [], 0
        for _ in range(rounds):
            began = time.perf_counter()
            connection.request("GET", "/console/" + page, headers={"Cookie": cookie})
            response = connection.getresponse()
            body = response.read()
            times.append((time.perf_counter() - began) * 1000)
            assert response.status == 200, (page, response.status)
            size = len(body)
        times.sort()
        p95 = times[int(len(times) * 0.95) - 1]
        worst = max(worst, p95)
        print(f"{who + ' /' + page:<24}{size:>9}{statistics.median(times):>9.2f}{p95:>9.2f}{times[-1]:>9.2f}")
print(f"budget: every page under 100 KB and 50 ms; worst p95 {worst:.2f} ms")
PY
