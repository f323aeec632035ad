#!/bin/sh
# Times lab suites one at a time, each under the machine's heavy-job lock (other heavy jobs can run
# between two suites). Prints one line per suite: seconds, vitest's exit status, the file.
# Usage: test/lab/time-suites.sh OUT_FILE [SUITE_FILE...]   (default: every *.lab.test.ts)
# Run from the repository to measure. Measures wall time inside the lock, not the wait for it.
set -eu
out=$1; shift
[ $# -gt 0 ] || set -- $(find test/lab -name '*.lab.test.ts' | sort)
: > "$out"
for suite in "$@"; do
  flock /tmp/baton-heavy.lock sh -c '
    t0=$(date +%s.%N)
    rc=0
    npx vitest run --project lab "$1" > "$3.$(basename "$1").log" 2>&1 || rc=$?
    t1=$(date +%s.%N)
    printf "%s %s %s load=%s\n" "$(echo "$t1 - $t0" | bc)" "$rc" "$1" "$(cut -d" " -f1-3 /proc/loadavg | tr " " /)" >> "$2"
  ' sh "$suite" "$out" "$out"
done
