#!/usr/bin/env bash
# Load one REST route with wrk and print one JSON line (our twin of ../shared/bench/run.sh).
#
#   bench/run_wrk.sh TARGET_URL PATH TOKENS_FILE
#
# TARGET_URL: http://127.0.0.1:PORT (loopback only); PATH: e.g. /api/games/slot/spin;
# TOKENS_FILE: one access JWT per line, or "-" for none. Environment (defaults in brackets):
#   BENCH_MODE [spread] | hot    BENCH_BODY ['{"bet": 10}']    BENCH_KEY_PREFIX [run<time><random>]
#   BENCH_THREADS [2]  BENCH_CONNECTIONS [32]  BENCH_DURATION [20s, at most 120s]  BENCH_SAMPLE [1]
#   BENCH_LABEL [mode]  -- copied into the JSON line    BENCH_TIMEOUT [10s, at most 60s]: wrk's
#   per-request timeout (an answer slower than it counts as a socket error)
#   BENCH_MODE once, BENCH_OFFSET, BENCH_BODIES, BENCH_METHOD, BENCH_IDEMPOTENCY: see wrk/spin.lua
# Every request carries a fresh Idempotency-Key "<prefix>-t<thread>-<n>" (bench/wrk/spin.lua).
# wrk's own report goes to stderr; stdout gets only the JSON line:
#   {"target", "path", "label", "rps", "p50_ms", "p90_ms", "p99_ms", "errors", "non2xx", ...}
# "errors" counts socket errors (connect/read/write/timeout); "non2xx" counts HTTP >= 400.
set -euo pipefail

if [ $# -lt 3 ]; then
  sed -n '2,16p' "$0" >&2
  exit 2
fi
TARGET_URL="${1%/}"
URL_PATH="$2"
TOKENS_FILE="$3"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

case "$TARGET_URL" in
  http://127.0.0.1:*|http://127.0.0.1/*|http://localhost:*|http://\[::1\]:*) ;;
  *) echo "run_wrk.sh: refusing a target that is not loopback: $TARGET_URL" >&2; exit 2 ;;
esac
if [ "$TOKENS_FILE" != "-" ] && [ ! -r "$TOKENS_FILE" ]; then
  echo "run_wrk.sh: cannot read tokens file $TOKENS_FILE" >&2; exit 2
fi
command -v wrk >/dev/null 2>&1 || {
  echo "run_wrk.sh: wrk is not installed (apt-get install wrk)" >&2; exit 2
}

DURATION="${BENCH_DURATION:-20s}"
if [[ ! "$DURATION" =~ ^[0-9]{1,3}s$ ]]; then
  echo "run_wrk.sh: BENCH_DURATION must be whole seconds like 20s, not $DURATION" >&2; exit 2
fi
SECONDS_="$((10#${DURATION%s}))"
if [ "$SECONDS_" -lt 1 ] || [ "$SECONDS_" -gt 120 ]; then
  echo "run_wrk.sh: BENCH_DURATION must be 1s to 120s, not $DURATION" >&2; exit 2
fi

REQUEST_TIMEOUT="${BENCH_TIMEOUT:-10s}"
if [[ ! "$REQUEST_TIMEOUT" =~ ^[0-9]{1,2}s$ ]] || [ "$((10#${REQUEST_TIMEOUT%s}))" -lt 1 ] \
  || [ "$((10#${REQUEST_TIMEOUT%s}))" -gt 60 ]; then
  echo "run_wrk.sh: BENCH_TIMEOUT must be 1s to 60s, not $REQUEST_TIMEOUT" >&2; exit 2
fi

export BENCH_MODE="${BENCH_MODE:-spread}"
export BENCH_THREADS="${BENCH_THREADS:-2}"
export BENCH_TOKENS="$TOKENS_FILE"
DEFAULT_BODY='{"bet": 10}'
export BENCH_BODY="${BENCH_BODY:-$DEFAULT_BODY}"
export BENCH_KEY_PREFIX="${BENCH_KEY_PREFIX:-run$(date +%s)$RANDOM}"
export BENCH_SAMPLE="${BENCH_SAMPLE:-1}"
[ "$BENCH_TOKENS" = "-" ] && BENCH_TOKENS=""
LABEL="${BENCH_LABEL:-$BENCH_MODE}"

LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT
# wrk stops itself after DURATION; the timeout only guards against a wedged wrk (--foreground keeps
# wrk in this script's process group, so whoever stops the group stops wrk too).
timeout --foreground --kill-after=5 "$((SECONDS_ + 30))" \
  wrk --threads "$BENCH_THREADS" --connections "${BENCH_CONNECTIONS:-32}" \
    --duration "$DURATION" --timeout "$REQUEST_TIMEOUT" --latency \
    --script "$HERE/wrk/spin.lua" "$TARGET_URL$URL_PATH" >"$LOG" 2>&1 || { cat "$LOG" >&2; exit 1; }
grep -v '^BENCH_JSON ' "$LOG" >&2 || true
RESULT="$(grep '^BENCH_JSON ' "$LOG" | sed 's/^BENCH_JSON {//')"
[ -n "$RESULT" ] || { echo "run_wrk.sh: wrk printed no result" >&2; exit 1; }
printf '{"target": "%s", "path": "%s", "label": "%s", %s\n' "$TARGET_URL" "$URL_PATH" "$LABEL" "$RESULT"
