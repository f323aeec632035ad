#!/bin/sh
# Sourced by the handoff lab jobs (inside L1). Runs commands with a deadline and records them, and
# snapshots the live kernel's state, in the layout test/lab/lib/job-results.ts reads:
#   $OUT/cmd/NAME.{out,err,meta}   meta: "rc N", "ms N" and any extra "key value" lines
#   $OUT/snap/NAME.txt             driver/override/group/vendor/arbiter/connector/soundcard/netdev/devvfio/process/memory lines
#   $OUT/facts.txt                 "key value" lines
# The caller sets OUT, STATE (the --state-dir) and ADDRS (the PCI functions to watch).
OUT="${OUT:-$LAB_SHARE}"
CMD_DEADLINE="${CMD_DEADLINE:-120}"
BATON="$LAB_REPO/bin/baton"
mkdir -p "$OUT/cmd" "$OUT/snap"

. "$LAB_REPO/test/lab/kvm/job-run.sh"

# baton NAME ARGS...: `run` for the CLI.
baton() { _n=$1; shift; run "$_n" /usr/bin/node "$BATON" "$@"; }

# note NAME KEY VALUE: adds a line to a command's meta file.
note() { echo "$2 $3" >> "$OUT/cmd/$1.meta"; }

pci_of() { basename "$(readlink -f "$1")"; }
driver_of() { if [ -e "/sys/bus/pci/devices/$1/driver" ]; then basename "$(readlink "/sys/bus/pci/devices/$1/driver")"; else echo none; fi; }
group_of() { basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")"; }

# One perl process per snapshot or wait: under TCG every exec is slow, and a shell snapshot of this
# many sysfs links costs seconds. perl is part of Debian's essential set.
SYSFS_PL='
use strict; use warnings; use Time::HiRes qw(time sleep); use Cwd qw(abs_path);
sub base { my ($p) = @_; $p =~ s{.*/}{}; return $p }
sub pci { my $r = abs_path($_[0]); return defined $r ? base($r) : "none" }
sub owned {
  my ($kind) = @_;
  my %where = (connector => ["/sys/class/drm/card*-*", "device/device"], soundcard => ["/sys/class/sound/card*", "device"],
               netdev => ["/sys/class/net/*", "device"]);
  my ($glob, $link) = @{ $where{$kind} or die "unknown kind $kind\n" };
  return map { [base($_), pci("$_/$link")] } grep { -e "$_/$link" } glob $glob;
}
sub has { my ($kind, $addr) = @_; return scalar grep { $_->[1] eq $addr } owned($kind) }
sub slurp { my ($f) = @_; open(my $h, "<", $f) or return undef; local $/; my $s = <$h>; close $h; return $s }
my $mode = shift @ARGV;
if ($mode eq "has") { exit(has(@ARGV) ? 0 : 1) }
if ($mode eq "wait") {
  my ($seconds, $kind, $addr) = @ARGV; my $t0 = time;
  until (has($kind, $addr)) { if (time - $t0 > $seconds) { printf "%d\n", (time - $t0) * 1000; exit 1 } sleep 0.05 }
  printf "%d\n", (time - $t0) * 1000; exit 0;
}
if ($mode eq "holders") {
  my ($group) = @ARGV; my @pids;
  for my $fd (glob "/proc/[0-9]*/fd/*") {
    my $l = readlink($fd) // next;
    push @pids, $1 if $l eq "/dev/vfio/$group" && $fd =~ m{^/proc/(\d+)/};
  }
  my %seen; print "$_\n" for grep { !$seen{$_}++ } @pids; exit(@pids ? 0 : 1);
}
if ($mode eq "snap") {
  my ($state, @addrs) = @ARGV; my @out;
  for my $a (@addrs) {
    my $d = "/sys/bus/pci/devices/$a";
    my $drv = readlink("$d/driver");
    push @out, "driver $a " . (defined $drv ? base($drv) : "none");
    my $ov = slurp("$d/driver_override") // "missing\n"; chomp $ov; push @out, "override $a $ov";
    my $g = readlink("$d/iommu_group"); push @out, "group $a " . (defined $g ? base($g) : "none");
    my $v = slurp("$d/vendor") // "missing\n"; chomp $v; push @out, "vendor $a $v";
  }
  if (open(my $arb, "+<", "/dev/vga_arbiter")) {
    for my $a (@addrs) {
      next unless defined syswrite($arb, "target PCI:$a");
      my $b = ""; sysread($arb, $b, 256);
      push @out, "arbiter $a $1 $2" if $b =~ /,owns=(\S+?),locks=(\S+)/;
    }
    close $arb;
  }
  for my $kind (qw(connector soundcard netdev)) { push @out, "$kind $_->[0] $_->[1]" for owned($kind) }
  push @out, "devvfio " . base($_) for glob "/dev/vfio/*";
  for my $p (glob "/proc/[0-9]*") {
    my $stat = slurp("$p/stat") // next;
    my ($pid, $comm, $st) = $stat =~ /^(\d+) \((.*)\) (\S)/ or next;
    # cli-batch.js runs the CLI in-process and takes snapshots through us: not a leftover.
    next if defined $ENV{LAB_DRIVER_PID} && $ENV{LAB_DRIVER_PID} eq $pid;
    push @out, "process $pid $comm $st" if $comm eq "node" || $comm =~ /^qemu-system-/;
  }
  my $mem = slurp("$state/drivers.json");
  if (defined $mem) { $mem =~ s/\n//g; push @out, "memory $mem" } else { push @out, "memory missing" }
  print "$_\n" for @out; exit 0;
}
die "usage: snap STATE ADDR... | has KIND ADDR | wait SECONDS KIND ADDR | holders GROUP\n";
'
sysfs_pl() { perl -e "$SYSFS_PL" -- "$@"; }
has_connector() { sysfs_pl has connector "$1"; }
has_soundcard() { sysfs_pl has soundcard "$1"; }
has_netdev() { sysfs_pl has netdev "$1"; }
# wait_for SECONDS KIND ADDR: until a connector / soundcard / netdev of ADDR exists; prints the wait in ms.
wait_for() { sysfs_pl wait "$@"; }

# vfio_holders GROUP: the pids with /dev/vfio/GROUP open, one a line; status 1 when none.
vfio_holders() { sysfs_pl holders "$1"; }

# wait_until SECONDS CMD...: polls CMD (its output discarded) every 0.1 s; prints the wait in ms;
# status 1 when SECONDS pass first.
wait_until() {
  _deadline=$(( $(now_ms) + $1 * 1000 )); shift
  _t0=$(now_ms)
  until "$@" > /dev/null 2>&1; do
    if [ "$(now_ms)" -gt "$_deadline" ]; then echo $(( $(now_ms) - _t0 )); return 1; fi
    sleep 0.1
  done
  echo $(( $(now_ms) - _t0 ))
}

# snap NAME: the state of $ADDRS, the DRM / sound / net devices, /dev/vfio, node and qemu processes and
# the state dir's drivers.json.
snap() { sysfs_pl snap "$STATE" $ADDRS > "$OUT/snap/$1.txt"; }
