#!/usr/bin/env bash
# Times README command 1 (install what building needs, build the
# executables, train CartPole-v1 until solved) on a bare Debian bookworm: a
# debootstrap minbase chroot, as a new machine would start. Needs root,
# debootstrap and the Debian mirror; takes ~10 minutes on 2 cores. Not part
# of ctest: the figure it prints goes into README.md's Quickstart.
#
#   tests/deploy/first_command_time.sh [WORK_DIR]   (default /var/tmp/proxima-first-command)
#
# The clone is of this checkout's HEAD. Output: one line per stage with the
# seconds since command 1 started, and the training output, timestamped.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-/var/tmp/proxima-first-command}
root=$work/root
mirror=${PROXIMA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
[[ $(id -u) -eq 0 ]] || { echo "first_command_time: needs root (chroot, mount)" >&2; exit 2; }

cleanup() {
  for m in dev/pts dev proc sys; do umount "$root/$m" 2>/dev/null || true; done
}
trap cleanup EXIT
rm -rf "$root"
mkdir -p "$work"
echo "first_command_time: debootstrap --variant=minbase bookworm $root"
debootstrap --variant=minbase bookworm "$root" "$mirror" > "$work/debootstrap.log" 2>&1
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
mount -t sysfs sys "$root/sys"
git clone -q "$repo" "$root/root/proxima"

# README command 1, read from README.md itself, run step by step and timed.
cmd=$(sed -n '/^# 1\. /{n;p;q}' "$repo/README.md")
printf '%s\n' "$cmd" | sed 's/ && /\n/g' > "$root/root/first_command.steps"
cat > "$root/root/first_command.sh" <<'SCRIPT'
cd /root/proxima
t0=$(date +%s)
stamp() { while IFS= read -r l; do echo "[+$(( $(date +%s) - t0 )) s] $l"; done; }
mapfile -t steps < /root/first_command.steps
n=0
for step in "${steps[@]}"; do
  n=$((n + 1))
  echo "[+$(( $(date +%s) - t0 )) s] step $n: $step"
  if [[ $step == *"proxima train"* ]]; then
    bash -c "$step" 2>&1 | stdbuf -o0 tr '\r' '\n' | stamp
    rc=${PIPESTATUS[0]}
  else
    rc=0; bash -c "$step" > "/root/step-$n.log" 2>&1 || rc=$?
  fi
  ((rc == 0)) || { echo "step $n failed (exit $rc; log /root/step-$n.log)"; exit 1; }
done
echo "[+$(( $(date +%s) - t0 )) s] done"
SCRIPT
chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin bash /root/first_command.sh
