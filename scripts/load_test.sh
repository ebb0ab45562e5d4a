#!/usr/bin/env bash
# Bounded load test of `triad serve` on loopback (issue 9).
#
#  1. trains a baseline model on simulator data (`triad simulate` + `triad train`);
#  2. starts `triad serve` with it on a free loopback port and runs `triad loadgen`
#     (simulator telemetry as OTLP/protobuf, as fast as possible, bounded by
#     DURATION seconds): throughput with detection on, latency, RSS, CPU per
#     record, and zero loss (everything acknowledged is ingested and processed);
#  3. overload: a second server with a one-batch queue, many clients: it must
#     answer 429 (never crash), stay healthy (/healthz 200) and lose nothing it
#     acknowledged;
#  4. SIGTERM to each server: it must exit 0.
# Exit status: 0 iff every check passed.
#
# Environment (defaults): TRIAD_BIN (build/triad), OUT (a new temporary directory),
# SERVICES (10), RPS (200), MINUTES (5: simulated minutes to send), DURATION (60 s),
# CLIENTS (4), BATCH (500), FORMAT (proto), OVERLOAD_CLIENTS (32), OVERLOAD_DURATION (8 s).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${TRIAD_BIN:-build/triad}
OUT=${OUT:-$(mktemp -d -t triad_load.XXXXXX)}
SERVICES=${SERVICES:-10}
RPS=${RPS:-200}
MINUTES=${MINUTES:-5}
DURATION=${DURATION:-60}
CLIENTS=${CLIENTS:-4}
BATCH=${BATCH:-500}
FORMAT=${FORMAT:-proto}
OVERLOAD_CLIENTS=${OVERLOAD_CLIENTS:-32}
OVERLOAD_DURATION=${OVERLOAD_DURATION:-8}
mkdir -p "$OUT"
FAILED=()
fail() { echo "load_test: FAIL: $*" >&2; FAILED+=("$*"); }

[[ -x "$BIN" ]] || { echo "load_test: no triad binary at $BIN (set TRIAD_BIN)" >&2; exit 2; }

echo "== training a baseline model ($SERVICES services, $RPS rps) in $OUT"
"$BIN" simulate --out "$OUT/train" --services "$SERVICES" --rps "$RPS" --minutes 6 \
  --train-minutes 6 --faults 0 --seed 7 > "$OUT/simulate.log" || { echo "simulate failed" >&2; exit 2; }
"$BIN" train --train-end-from "$OUT/train/ground_truth.json" --out "$OUT/model.json" \
  "$OUT"/train/traces.jsonl "$OUT"/train/logs.jsonl "$OUT"/train/metrics.jsonl \
  > "$OUT/train.log" 2>&1 || { cat "$OUT/train.log" >&2; echo "train failed" >&2; exit 2; }
rm -rf "$OUT/train"

# start_serve NAME ARGS...: starts `triad serve` on a free port; sets PID and PORT.
start_serve() {
  local name=$1
  shift
  "$BIN" serve --listen 127.0.0.1:0 --db "$OUT/$name.db" "$@" > "$OUT/$name.log" 2>&1 &
  PID=$!
  PORT=""
  for _ in $(seq 1 500); do
    PORT=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$OUT/$name.log" | head -1)
    [[ -n "$PORT" ]] && return 0
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.02
  done
  cat "$OUT/$name.log" >&2
  echo "load_test: $name did not start" >&2
  exit 2
}

# stop_serve NAME: SIGTERM; the server must exit 0 after processing what it accepted.
stop_serve() {
  local name=$1 rc=0
  if ! kill -0 "$PID" 2>/dev/null; then fail "$name: server died (crash?)"; return; fi
  kill -TERM "$PID"
  wait "$PID" || rc=$?
  [[ $rc -eq 0 ]] || fail "$name: server exited $rc after SIGTERM (see $OUT/$name.log)"
}

healthy() {
  [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")" == 200 ]]
}

echo "== load: $CLIENTS clients, batch $BATCH $FORMAT, up to $DURATION s"
start_serve load --model "$OUT/model.json"
"$BIN" loadgen --target "http://127.0.0.1:$PORT" --server-pid "$PID" --services "$SERVICES" \
  --rps "$RPS" --minutes "$MINUTES" --clients "$CLIENTS" --batch "$BATCH" --format "$FORMAT" \
  --duration "$DURATION" --json "$OUT/load.json" | tee "$OUT/loadgen.txt" ||
  fail "load: loadgen reported loss (see $OUT/loadgen.txt)"
healthy || fail "load: /healthz not 200 after the load"
stop_serve load

echo "== overload: queue of 1 batch, $OVERLOAD_CLIENTS clients, $OVERLOAD_DURATION s"
start_serve overload --model "$OUT/model.json" --queue-batches 1 --threads 16
"$BIN" loadgen --target "http://127.0.0.1:$PORT" --server-pid "$PID" --services "$SERVICES" \
  --rps "$RPS" --minutes 2 --clients "$OVERLOAD_CLIENTS" --batch 200 --format "$FORMAT" \
  --duration "$OVERLOAD_DURATION" --expect-refusals --json "$OUT/overload.json" |
  tee "$OUT/overload.txt" || fail "overload: loss or no 429/503 (see $OUT/overload.txt)"
healthy || fail "overload: /healthz not 200 after the overload (crash?)"
stop_serve overload

echo
echo "== summary (results in $OUT)"
jq -r '"load:     \(.acked.spans) spans, \(.acked.logs) log lines, \(.acked.metrics) metric points acked; " +
  "\(.acked_per_s_send.spans|floor) spans/s and \(.acked_per_s_send.logs|floor) log lines/s while sending, " +
  "\(.acked_per_s_e2e.all|floor) records/s end to end; p99 \(.latency_ms.p99*100|round/100) ms; " +
  "RSS peak \(.server_rss_peak_bytes/1e6|floor) MB; \(.server_cpu_us_per_record*100|round/100) us CPU/record; " +
  "zero loss \(if .zero_loss then "PASS" else "FAIL" end); load avg \(.load_average_after)"' "$OUT/load.json"
jq -r '"overload: \(.refused_429) x 429, \(.refused_503) x 503, \(.acked_requests) requests acked; " +
  "zero loss \(if .zero_loss then "PASS" else "FAIL" end)"' "$OUT/overload.json"
if [[ ${#FAILED[@]} -gt 0 ]]; then
  printf 'load_test: FAILED: %s\n' "${FAILED[@]}"
  exit 1
fi
echo "load_test: PASS"
