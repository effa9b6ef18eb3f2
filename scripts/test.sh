#!/usr/bin/env bash
# Runs every test. Creates .venv with the official SDKs the conformance tests use if it is missing, then runs the
# Swift test suite (which starts the gateway, mock upstreams and the SDK scripts itself).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! .venv/bin/python -c "import openai, anthropic, google.genai, selenium" 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r Tests/Conformance/requirements.txt
fi
export GATEROUTER_PYTHON="$PWD/.venv/bin/python"

# Suites that measure time (failover deadlines, propagation within a second, a departed client noticed within seconds,
# upstream idle timeouts, SIGTERM under load, several gateway processes) and the memory test, which loads a gateway
# process with thousands of requests, run in a second pass, after the rest, one test at a time: on a 2-core
# machine the other tests running in parallel (several start gateway processes or load one) would otherwise be
# measured along with them.
timed='MultiInstanceTests|OperatorCommandTests|TwoProcessTests|AutoRoutingTests|rateGrantsOfTwoInstances|streamedChunksArriveAsTheUpstreamSendsThem|StreamLifecycleTests|aClientThatLeavesAStreamIsMeteredAtOnce|anUpstreamSilentLongerThanTheIdleTimeout|anUpstreamThatGoesSilentIsCutAtTheIdleTimeout|MemoryUnderLoadTests'
status=0
swift test --disable-xctest --skip "$timed" "$@" || status=$?
swift test --disable-xctest --skip-build --no-parallel --filter "$timed" "$@" || status=$?
exit "$status"
