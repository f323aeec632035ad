#!/bin/sh
# Stops exactly the libvirtd and virtlogd that start-libvirtd.sh started (by their pidfiles).
# Usage: stop-libvirtd.sh [STATE_DIR]   (default /run/baton-libvirtd)
set -eu
STATE_DIR=${1:-/run/baton-libvirtd}

stop() {
  pidfile="$STATE_DIR/$1.pid"
  [ -s "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    i=0
    while kill -0 "$pid" 2>/dev/null; do
      i=$((i + 1))
      if [ "$i" -ge 50 ]; then kill -KILL "$pid" 2>/dev/null || true; break; fi
      sleep 0.2
    done
  fi
  rm -f "$pidfile"
}
# libvirtd first: it holds connections to virtlogd.
stop libvirtd
stop virtlogd
