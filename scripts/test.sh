#!/usr/bin/env bash
# Runs every test. Creates .venv with the official SDKs the conformance tests use if it is missing, then runs the
# Swift test suite (which starts the gateway, mock upstreams and the SDK scripts itself).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! .venv/bin/python -c "import openai, anthropic, google.genai" 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r Tests/Conformance/requirements.txt
fi
export GATEROUTER_PYTHON="$PWD/.venv/bin/python"

swift test --disable-xctest "$@"
