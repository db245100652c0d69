#!/usr/bin/env bash
# Runs the Qwen Code agent CLI (npm @qwen-code/qwen-code), unmodified and headless, against a Lanes gateway.
# Usage: qwen-code-task.sh WORKDIR PROMPT   (env: LANES_BASE_URL, LANES_API_KEY, LANES_MODEL)
# HOME is a fresh folder so no user settings are read or written; telemetry is off so nothing leaves the machine.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$1"; prompt="$2"
home="$(mktemp -d)"
trap 'rm -rf "$home"' EXIT
cd "$work"
exec env -i PATH="$PATH" HOME="$home" TERM=dumb \
  OPENAI_BASE_URL="$LANES_BASE_URL" OPENAI_API_KEY="$LANES_API_KEY" OPENAI_MODEL="$LANES_MODEL" \
  QWEN_USAGE_STATISTICS_ENABLED=0 QWEN_TELEMETRY_ENABLED=0 QWEN_CODE_SUPPRESS_YOLO_WARNING=1 \
  node "$here/node_modules/@qwen-code/qwen-code/cli-entry.js" --yolo "$prompt" </dev/null
