#!/bin/sh
# Sourced by the KVM lab's job libraries (inside L1): timestamps, facts, and `run`, which runs a
# command under a deadline and records it as $OUT/cmd/NAME.{out,err,meta} (meta: "rc N", "ms N").
# The caller sets OUT and CMD_DEADLINE and creates $OUT/cmd.

now_ms() { date +%s%3N; }
log() { echo "[$(date +%T)] $*"; }
fact() { echo "$*" >> "$OUT/facts.txt"; }

# run NAME CMD...: runs CMD under `timeout`, keeps stdout/stderr, exit status and wall time.
run() {
  _name=$1; shift
  _t0=$(now_ms)
  timeout -k 5 "$CMD_DEADLINE" "$@" > "$OUT/cmd/$_name.out" 2> "$OUT/cmd/$_name.err"
  _rc=$?
  _ms=$(( $(now_ms) - _t0 ))
  printf 'rc %s\nms %s\n' "$_rc" "$_ms" > "$OUT/cmd/$_name.meta"
  log "$_name: exit $_rc in $_ms ms"
  [ "$_rc" -eq 0 ] || sed 's/^/    /' "$OUT/cmd/$_name.err" | tail -8
  return "$_rc"
}
