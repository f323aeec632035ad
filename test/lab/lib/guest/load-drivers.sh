#!/bin/sh
# Inside L1: load-drivers.sh MODULE... -- ADDRESS...
# Loads the modules, then waits (up to 60 s) until each PCI function has a driver and the DRM and
# sound classes stop changing (connectors and HDA codecs appear asynchronously).
set -eu
while [ $# -gt 0 ] && [ "$1" != "--" ]; do modprobe "$1"; shift; done
[ $# -gt 0 ] && shift
tries=0
for address in "$@"; do
  while [ ! -e "/sys/bus/pci/devices/$address/driver" ]; do
    tries=$((tries + 1))
    if [ $tries -gt 240 ]; then echo "load-drivers: no driver bound to $address" >&2; exit 1; fi
    sleep 0.25
  done
done
last="" stable=0
while [ $stable -lt 8 ] && [ $tries -lt 240 ]; do
  now="$(ls /sys/class/drm /sys/class/sound 2>/dev/null | tr '\n' ' ')"
  if [ "$now" = "$last" ]; then stable=$((stable + 1)); else stable=0; fi
  last="$now" tries=$((tries + 1))
  sleep 0.25
done
