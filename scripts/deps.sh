#!/usr/bin/env bash
# Installs what grpo's build, tests and demo need, from Debian's packages. As root it runs
# apt-get; otherwise it prints the exact command and stops.
set -euo pipefail
need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
for pkg in "$@"; do have "$pkg" || need+=("$pkg"); done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "grpo: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
else
  echo "grpo: missing packages. Run:"
  echo "  sudo apt-get install -y ${need[*]}"
  exit 1
fi
