#!/usr/bin/env bash
# The README's Quick start on a machine that has nothing: builds a clean Debian 12 root with
# debootstrap (no CUDA toolkit, no compiler, only `make` added), copies a clone of this
# repository into it, and runs `make demo` and `make test` there as root, timing each. Not part
# of CI (it downloads a Debian base system); docs/hardening.md records a run.
#   sudo scripts/fresh-machine.sh [ROOTFS_DIR]     env: MIRROR (default http://deb.debian.org/debian),
#                                                   KEEP=1 keeps the root afterwards
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FS=${1:-/tmp/grpo-fresh-debian12}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
[[ $(id -u) -eq 0 ]] || { echo "fresh-machine.sh: run as root (debootstrap, chroot)"; exit 1; }
command -v debootstrap >/dev/null || { apt-get update -qq; apt-get install -y -qq debootstrap; }

t0=$(date +%s)
if [[ ! -x $FS/usr/bin/make ]]; then
  rm -rf "$FS"
  debootstrap --variant=minbase --include=make,ca-certificates bookworm "$FS" "$MIRROR"
fi
t_root=$(date +%s)

# a clone of the committed tree (what a new user gets), not the working directory
rm -rf "$FS/root/grpo"
git clone -q "$ROOT" "$FS/root/grpo"
mounts=(proc sys dev dev/pts)
cleanup() {
  for ((k = ${#mounts[@]} - 1; k >= 0; k--)); do umount "$FS/${mounts[$k]}" 2>/dev/null || true; done
  [[ ${KEEP:-0} == 1 ]] || rm -rf "$FS"
}
trap cleanup EXIT
mount -t proc proc "$FS/proc"
mount --rbind /sys "$FS/sys"
mount --bind /dev "$FS/dev"
mount --bind /dev/pts "$FS/dev/pts"
cp /etc/resolv.conf "$FS/etc/resolv.conf"

in_root() { chroot "$FS" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 bash -c "$1"; }
echo "== nvcc in the root: $(in_root 'command -v nvcc || echo none')"
t1=$(date +%s)
in_root "cd /root/grpo && make demo"
t2=$(date +%s)
in_root "cd /root/grpo && make test"
t3=$(date +%s)
echo "== fresh Debian 12 root: debootstrap $((t_root - t0)) s, make demo $((t2 - t1)) s (packages included), make test $((t3 - t2)) s"
