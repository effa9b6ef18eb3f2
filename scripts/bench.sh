#!/usr/bin/env bash
# The performance benchmark: the same load, on loopback, straight to a fast upstream (the floor), through GateRouter
# (release build) and through LiteLLM's proxy (best of 1 and 2 workers), non-streaming and streaming, at concurrency
# 1, 64 and 256, and JSON at 64 connections paced to the same rate on both paths (the added latency at the same load);
# then streaming time to first byte and 2,000 concurrent streams held open. A naive Hummingbird +
# AsyncHTTPClient passthrough (`gaterouter-bench passthrough`) runs the JSON load too, as the frameworks' own cost,
# and so does a byte relay on SwiftNIO (`gaterouter-bench relay`), the floor of any NIO proxy.
#
#   bash scripts/bench.sh            # one pass, about 6 minutes after the release build and the one-time installs
#   BENCH_DURATION=5 bash scripts/bench.sh
#   BENCH_PACE_MS=10 bash scripts/bench.sh   # the paced rows' mean pause after each answer (default 20 ms)
#
# Prints a table and writes it to bench/results/<UTC time>.json. Run it alone on the machine, and more than once:
# other processes add noise. Needs wrk and nginx (installed with apt-get when missing) and PyPI for LiteLLM.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
DURATION="${BENCH_DURATION:-10}"
HOLD_STREAMS="${BENCH_HOLD_STREAMS:-2000}"
PACE_MS="${BENCH_PACE_MS:-20}"
WORK="$(mktemp -d /tmp/gaterouter-bench.XXXXXX)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || ulimit -n 16384 2>/dev/null || true

# --- Prerequisites -------------------------------------------------------------------------------------------------
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null || ! command -v curl >/dev/null; then
  apt-get update -q && apt-get install -y -q wrk nginx-light curl
fi
if ! .bench-venv/bin/python -c "import litellm" 2>/dev/null; then
  python3 -m venv .bench-venv
  .bench-venv/bin/pip install --quiet --disable-pip-version-check 'litellm[proxy]'
fi
swift build -c release --product gaterouter >/dev/null
swift build -c release --product gaterouter-bench >/dev/null
GATEROUTER="$ROOT/.build/release/gaterouter"

wait_for_port() {  # port, [tenths of a second to wait]
  for _ in $(seq 1 "${2:-300}"); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  exit 1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
peak_rss_mb() { awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

# --- Upstreams: nginx for JSON, the mock provider (release) for streams ----------------------------------------------
mkdir -p "$WORK/nginx"
nginx -c "$ROOT/bench/nginx.conf" -p "$WORK/nginx" >/dev/null 2>&1 &
PIDS+=($!)
"$GATEROUTER" mock-provider --port 18081 --dialect openai --reply-words 64 >/dev/null 2>&1 &
PIDS+=($!)
"$GATEROUTER" mock-provider --port 18082 --dialect openai --reply-words 64 --token-delay-ms 40 >/dev/null 2>&1 &
PIDS+=($!)
wait_for_port 18080; wait_for_port 18081; wait_for_port 18082

# --- GateRouter ----------------------------------------------------------------------------------------------------
OPENAI_API_KEY=bench OPENAI_BASE_URL=http://127.0.0.1:18080/v1 \
DEEPSEEK_API_KEY=bench DEEPSEEK_BASE_URL=http://127.0.0.1:18081/v1 \
XAI_API_KEY=bench XAI_BASE_URL=http://127.0.0.1:18082/v1 \
  "$GATEROUTER" serve --port 18090 --data-dir "$WORK/gateway" >"$WORK/gateway.out" 2>"$WORK/gateway.log" &
GATEWAY_PID=$!
PIDS+=($GATEWAY_PID)
wait_for_port 18090
sleep 0.5
KEY="$(awk '/API key:/ {print $3}' "$WORK/gateway.out")"
GATEWAY_IDLE_RSS="$(rss_mb "$GATEWAY_PID")"

# --- Request bodies --------------------------------------------------------------------------------------------------
body() {  # model, stream
  printf '{"model":"%s","stream":%s,"max_tokens":128,"temperature":0.2,"messages":[{"role":"system","content":"You are a concise assistant. Answer in one short paragraph and cite no sources."},{"role":"user","content":"What is the capital of France, and why did it become the capital? Keep it brief."}]}' "$1" "$2"
}
body "gpt-4.1-nano" false >"$WORK/direct-json.json"
body "gpt-4.1-nano" true >"$WORK/direct-stream.json"
body "openai/gpt-4.1-nano" false >"$WORK/gateway-json.json"
body "deepseek/deepseek-v3.2" true >"$WORK/gateway-stream.json"
body "auto" false >"$WORK/gateway-auto.json"
body "x-ai/grok-4.1-fast" true >"$WORK/gateway-hold.json"
body "bench-json" false >"$WORK/litellm-json.json"
body "bench-stream" true >"$WORK/litellm-stream.json"

RESULTS="$WORK/results.jsonl"
: >"$RESULTS"

run_wrk() {  # path, mode, connections, url, body file, key, pid to meter (or empty), [pause in ms between requests]
  local path=$1 mode=$2 connections=$3 url=$4 file=$5 key=$6 pid=$7 pause=${8:-0} threads=2 before=0 after=0
  [ "$connections" -lt 2 ] && threads=1
  [ -n "$pid" ] && before=$(cpu_ticks "$pid")
  local line
  line=$(BENCH_BODY_FILE="$file" BENCH_API_KEY="$key" BENCH_PAUSE_MS="$pause" wrk -t"$threads" -c"$connections" -d"${RUN_SECONDS:-$DURATION}s" --timeout 10s \
    -s "$ROOT/bench/wrk/post.lua" "$url" | tail -1)
  [ -n "$pid" ] && after=$(cpu_ticks "$pid")
  python3 - "$path" "$mode" "$connections" "$line" "$before" "$after" "$(getconf CLK_TCK)" >>"$RESULTS" <<'PY'
import json, sys
path, mode, connections, line, before, after, tick = sys.argv[1:]
result = json.loads(line)
result.update(path=path, mode=mode, connections=int(connections), rps=round(result["requests"] / result["seconds"], 1))
cpu = (int(after) - int(before)) / int(tick)
result["cpu_s_per_1000"] = round(cpu / max(1, result["requests"]) * 1000, 3) if int(after) else None
print(json.dumps(result))
PY
  echo "  $path $mode c=$connections: $(tail -1 "$RESULTS")" >&2
}

echo "direct (floor) and GateRouter..." >&2
for c in 1 64 256; do
  run_wrk direct json "$c" http://127.0.0.1:18080/v1/chat/completions "$WORK/direct-json.json" "" ""
  run_wrk gaterouter json "$c" http://127.0.0.1:18090/openai/v1/chat/completions "$WORK/gateway-json.json" "$KEY" "$GATEWAY_PID"
  run_wrk direct stream "$c" http://127.0.0.1:18081/v1/chat/completions "$WORK/direct-stream.json" "" ""
  run_wrk gaterouter stream "$c" http://127.0.0.1:18090/openai/v1/chat/completions "$WORK/gateway-stream.json" "$KEY" "$GATEWAY_PID"
done
# Added latency at the same load: at saturation each path runs at its own rate, and with 64 connections a path's
# latency is mostly 64 / its throughput, so the saturated rows compare throughputs twice. Here every connection pauses
# $PACE_MS on average (drawn from 0 to twice that) after each answer (64 connections, 20 ms: about 3,000 requests/s), a
# rate both paths hold.
run_wrk direct json-paced 64 http://127.0.0.1:18080/v1/chat/completions "$WORK/direct-json.json" "" "" "$PACE_MS"
run_wrk gaterouter json-paced 64 http://127.0.0.1:18090/openai/v1/chat/completions "$WORK/gateway-json.json" "$KEY" "$GATEWAY_PID" "$PACE_MS"
# `auto` against the fixed model it picks for this prompt (same upstream, same answer): the difference is routing's.
# `auto` ranks every configured provider by price and live latency, so under load it can move to the streaming mocks
# (another upstream, a longer answer) and the rows would compare upstreams, not routing. For these two rows the
# account's routing may pick only OpenAI models, which nginx answers, and the models that did answer are recorded.
settings() { curl -s -X PATCH http://127.0.0.1:18090/api/v1/settings -H "authorization: Bearer $KEY" -H 'content-type: application/json' -d "$1" >/dev/null; }
models_answered() { sleep 1; curl -s "http://127.0.0.1:18090/api/v1/usage?group_by=model" -H "authorization: Bearer $KEY"; }
settings '{"allowed_providers":["openai"]}'
AUTO_MODEL=$(curl -s -D - -o /dev/null http://127.0.0.1:18090/openai/v1/chat/completions -H "authorization: Bearer $KEY" \
  -H 'content-type: application/json' --data-binary @"$WORK/gateway-auto.json" | awk 'tolower($1) == "x-gaterouter-model:" {print $2}' | tr -d '\r')
echo "  auto picks $AUTO_MODEL for the benchmark prompt" >&2
body "$AUTO_MODEL" false >"$WORK/gateway-auto-fixed.json"
# Alternated, half the duration each (fixed, auto, fixed, auto) so that drift in the machine's speed falls on both;
# the report adds up each pair.
MODELS_AUTO=()
for half in 1 2; do
  RUN_SECONDS=$(( (DURATION + 1) / 2 )) run_wrk gaterouter-auto-model json 64 http://127.0.0.1:18090/openai/v1/chat/completions \
    "$WORK/gateway-auto-fixed.json" "$KEY" "$GATEWAY_PID"
  MODELS_AUTO+=("$(models_answered)")
  RUN_SECONDS=$(( (DURATION + 1) / 2 )) run_wrk gaterouter-auto json 64 http://127.0.0.1:18090/openai/v1/chat/completions \
    "$WORK/gateway-auto.json" "$KEY" "$GATEWAY_PID"
  MODELS_AUTO+=("$(models_answered)")
done
settings '{"allowed_providers":[]}'

# The naive design for reference (Hummingbird + AsyncHTTPClient, collect and forward, nothing else): what the two
# frameworks cost before the gateway does any work of its own.
"$ROOT/.build/release/gaterouter-bench" passthrough 18092 http://127.0.0.1:18080/v1/chat/completions >/dev/null 2>&1 &
NAIVE_PID=$!
PIDS+=($NAIVE_PID)
wait_for_port 18092
for c in 1 64; do
  run_wrk naive-passthrough json "$c" http://127.0.0.1:18092/openai/v1/chat/completions "$WORK/direct-json.json" "" "$NAIVE_PID"
done
kill "$NAIVE_PID" 2>/dev/null || true

# The floor of any SwiftNIO proxy here: bytes copied between a client connection and its own upstream connection,
# nothing parsed. The gap between it and GateRouter is the gateway's own work (HTTP, JSON, auth, routing, metering).
"$ROOT/.build/release/gaterouter-bench" relay 18093 18080 >/dev/null 2>&1 &
RELAY_PID=$!
PIDS+=($RELAY_PID)
wait_for_port 18093
for c in 1 64; do
  run_wrk nio-relay json "$c" http://127.0.0.1:18093/v1/chat/completions "$WORK/direct-json.json" "" "$RELAY_PID"
done
kill "$RELAY_PID" 2>/dev/null || true

echo "streaming time to first byte at concurrency 1..." >&2
# Direct and GateRouter in alternating blocks of 25 streams: measured one after the other, the difference moved with
# the machine's speed between the two (the new-connection figure swung from -0.4 to +0.7 ms between runs).
TTFB=$(python3 bench/probe.py ttfb-pair http://127.0.0.1:18081/v1/chat/completions "$WORK/direct-stream.json" "" \
  http://127.0.0.1:18090/openai/v1/chat/completions "$WORK/gateway-stream.json" "$KEY" 300)
TTFB_DIRECT=$(python3 -c 'import json, sys; print(json.dumps(json.loads(sys.argv[1])["a"]))' "$TTFB")
TTFB_GATEWAY=$(python3 -c 'import json, sys; print(json.dumps(json.loads(sys.argv[1])["b"]))' "$TTFB")

echo "$HOLD_STREAMS concurrent streams through GateRouter..." >&2
HOLD=$(python3 bench/probe.py hold http://127.0.0.1:18090/openai/v1/chat/completions "$WORK/gateway-hold.json" "$KEY" "$HOLD_STREAMS" "$GATEWAY_PID")
GATEWAY_PEAK_RSS="$(peak_rss_mb "$GATEWAY_PID")"

# --- LiteLLM (1 and 2 workers, the better counts) --------------------------------------------------------------------
cat >"$WORK/litellm.yaml" <<'YAML'
model_list:
  - model_name: bench-json
    litellm_params: { model: openai/gpt-4.1-nano, api_base: "http://127.0.0.1:18080/v1", api_key: bench }
  - model_name: bench-stream
    litellm_params: { model: openai/gpt-4.1-nano, api_base: "http://127.0.0.1:18081/v1", api_key: bench }
litellm_settings: { drop_params: true, set_verbose: false }
YAML
for workers in 1 2; do
  echo "LiteLLM with $workers worker(s)..." >&2
  LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_LOG=ERROR LITELLM_MASTER_KEY=sk-bench .bench-venv/bin/litellm --config "$WORK/litellm.yaml" --port 18095 \
    --num_workers "$workers" >"$WORK/litellm-$workers.log" 2>&1 &
  LITELLM_PID=$!
  wait_for_port 18095 1800
  sleep 3
  for c in 1 64 256; do
    run_wrk "litellm-${workers}w" json "$c" http://127.0.0.1:18095/v1/chat/completions "$WORK/litellm-json.json" sk-bench ""
    run_wrk "litellm-${workers}w" stream "$c" http://127.0.0.1:18095/v1/chat/completions "$WORK/litellm-stream.json" sk-bench ""
  done
  pkill -P "$LITELLM_PID" 2>/dev/null || true
  kill "$LITELLM_PID" 2>/dev/null || true
  wait "$LITELLM_PID" 2>/dev/null || true
  sleep 1
done

# --- Report ----------------------------------------------------------------------------------------------------------
mkdir -p bench/results
OUT="bench/results/$(date -u +%Y%m%dT%H%M%SZ).json"
python3 - "$RESULTS" "$OUT" "$TTFB_DIRECT" "$TTFB_GATEWAY" "$HOLD" "$GATEWAY_IDLE_RSS" "$GATEWAY_PEAK_RSS" "$DURATION" \
  "$PACE_MS" "${MODELS_AUTO[@]}" <<'PY'
import json, os, platform, sys
results_file, out, ttfb_direct, ttfb_gateway, hold, idle_rss, peak_rss, duration, pace_ms = sys.argv[1:10]
# Ledger counts per model after each of the four alternated auto/fixed rows.
models_after_each = sys.argv[10:14]
def answered(text):
    try:
        return {group["group"]: group["requests"] for group in json.loads(text)["data"]}
    except (ValueError, KeyError, TypeError):
        return {}
# Which models answered the `auto` rows (ledger counts after each minus before it).
auto_answered_by = {}
for before_text, after_text in ((models_after_each[0], models_after_each[1]), (models_after_each[2], models_after_each[3])):
    before, after = answered(before_text), answered(after_text)
    for model, count in after.items():
        if count > before.get(model, 0):
            auto_answered_by[model] = auto_answered_by.get(model, 0) + count - before.get(model, 0)
rows = []
for line in open(results_file):
    row = json.loads(line)
    same = next((r for r in rows if (r["path"], r["mode"], r["connections"]) == (row["path"], row["mode"], row["connections"])), None)
    if same is None:
        rows.append(row)
        continue
    # A row run in parts (the alternated auto rows): counts add up, latencies are the parts' request-weighted means.
    total = same["requests"] + row["requests"]
    for field in ("p50_us", "p99_us", "p999_us", "mean_us"):
        same[field] = round((same[field] * same["requests"] + row[field] * row["requests"]) / max(1, total), 1)
    if same["cpu_s_per_1000"] is not None and row["cpu_s_per_1000"] is not None:
        same["cpu_s_per_1000"] = round((same["cpu_s_per_1000"] * same["requests"] + row["cpu_s_per_1000"] * row["requests"]) / max(1, total), 3)
    same["seconds"] = round(same["seconds"] + row["seconds"], 3)
    same["errors"] += row["errors"]
    same["non2xx"] += row["non2xx"]
    same["requests"] = total
    same["rps"] = round(total / same["seconds"], 1)
def find(path, mode, c):
    return next((r for r in rows if r["path"] == path and r["mode"] == mode and r["connections"] == c), None)
def best_litellm(mode, c):
    candidates = [r for r in (find("litellm-1w", mode, c), find("litellm-2w", mode, c)) if r]
    return max(candidates, key=lambda r: r["rps"]) if candidates else None
print(f"\n{'path':<16}{'mode':<11}{'conns':>6}{'req/s':>10}{'p50 µs':>9}{'p99 µs':>9}{'p99.9 µs':>10}{'+p50 µs':>9}{'+p99 µs':>9}{'cpu s/1k':>9}{'errors':>7}")
for r in rows:
    direct = find("direct", r["mode"], r["connections"])
    added50 = r["p50_us"] - direct["p50_us"] if direct and r["path"] != "direct" else ""
    added99 = r["p99_us"] - direct["p99_us"] if direct and r["path"] != "direct" else ""
    cpu = r["cpu_s_per_1000"] if r["cpu_s_per_1000"] is not None else ""
    print(f"{r['path']:<16}{r['mode']:<11}{r['connections']:>6}{r['rps']:>10.0f}{r['p50_us']:>9}{r['p99_us']:>9}{r['p999_us']:>10}{added50:>9}{added99:>9}{cpu:>9}{r['errors']:>7}")
ratios = {}
for mode in ("json", "stream"):
    for c in (1, 64, 256):
        gateway, direct, litellm = find("gaterouter", mode, c), find("direct", mode, c), best_litellm(mode, c)
        if gateway and direct:
            ratios[f"{mode}_c{c}_gaterouter_over_direct"] = round(gateway["rps"] / direct["rps"], 3)
        if gateway and litellm:
            ratios[f"{mode}_c{c}_gaterouter_over_litellm"] = round(gateway["rps"] / litellm["rps"], 1)
        naive = find("naive-passthrough", mode, c)
        if gateway and naive:
            ratios[f"{mode}_c{c}_gaterouter_over_naive_passthrough"] = round(gateway["rps"] / naive["rps"], 2)
        relay = find("nio-relay", mode, c)
        if gateway and relay:
            ratios[f"{mode}_c{c}_gaterouter_over_nio_relay"] = round(gateway["rps"] / relay["rps"], 3)
paced_direct, paced_gateway = find("direct", "json-paced", 64), find("gaterouter", "json-paced", 64)
same_load = None
if paced_direct and paced_gateway:
    same_load = {
        "connections": 64, "pause_ms": int(pace_ms), "direct_rps": paced_direct["rps"], "gaterouter_rps": paced_gateway["rps"],
        "added_p50_us": paced_gateway["p50_us"] - paced_direct["p50_us"], "added_p99_us": paced_gateway["p99_us"] - paced_direct["p99_us"],
    }
auto, fixed = find("gaterouter-auto", "json", 64), find("gaterouter-auto-model", "json", 64)
if auto and fixed:
    ratios["json_c64_auto_over_fixed"] = round(auto["rps"] / fixed["rps"], 3)
summary = {
    "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
    "duration_s": int(duration), "rows": rows, "ratios": ratios,
    "stream_ttfb_c1": {"direct": json.loads(ttfb_direct), "gaterouter": json.loads(ttfb_gateway)},
    "gaterouter_hold": json.loads(hold), "gaterouter_rss_mb": {"idle": float(idle_rss), "peak": float(peak_rss)},
    "auto_answered_by": auto_answered_by, "added_at_same_load": same_load,
}
print("\nratios:", json.dumps(ratios))
print("stream TTFB at c=1 (µs):", json.dumps(summary["stream_ttfb_c1"]))
print("held streams:", hold, f" GateRouter RSS idle {idle_rss} MB, peak {peak_rss} MB")
print("auto answered by:", json.dumps(auto_answered_by))
print("added latency at the same load (64 connections, paced):", json.dumps(same_load))
json.dump(summary, open(out, "w"), indent=1)
print(f"\nwritten to {out}")
PY
