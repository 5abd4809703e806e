#!/usr/bin/env bash
# Regenerates tests/peers/fixtures/*.json from the peers' own code (by hand; CI only reads the
# fixtures). Makes a virtual environment under build/peers/venv (never committed), installs the
# pinned versions from PyPI, and runs the two generators:
#   tests/peers/make_fixtures.sh            # from anywhere; about 3 GB of wheels (torch's CUDA deps)
# The peers are installed from downloaded wheel files with --no-deps (their full dependency sets
# pull in vLLM, Ray, DeepSpeed, ...; the generators stub what the called functions do not use),
# so each fixture records the wheel's file name and sha256 (tests/peers/README.md).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VENV=${VENV:-$ROOT/build/peers/venv}
WHEELS=${WHEELS:-$ROOT/build/peers/wheels}
PY=${PYTHON:-python3}

TORCH=2.15.0
PEERS=(trl==1.16.0 liger-kernel==0.8.5 verl==0.9.1 openrlhf==0.11.2 tensordict==0.10.0)
# what the called functions import (the peers' own dependency lists are far larger)
SUPPORT=(accelerate transformers datasets omegaconf codetiming numpy pydantic)

if [[ ! -x $VENV/bin/python ]]; then
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet "torch==$TORCH" "${SUPPORT[@]}"
mkdir -p "$WHEELS"
for p in "${PEERS[@]}"; do
  "$VENV/bin/pip" download --quiet --no-deps --dest "$WHEELS" "$p"
done
for p in "${PEERS[@]}"; do
  name=${p%%==*}
  version=${p##*==}
  wheel=$(ls "$WHEELS"/"${name//-/_}"-"$version"-*.whl 2>/dev/null | head -1)
  [[ -n $wheel ]] || { echo "make_fixtures: no wheel for $p in $WHEELS" >&2; exit 1; }
  "$VENV/bin/pip" install --quiet --no-deps --force-reinstall "$wheel"
done

cd "$ROOT"
"$VENV/bin/python" tests/peers/trl_liger.py
"$VENV/bin/python" tests/peers/verl_openrlhf.py
echo "fixtures written: $(ls tests/peers/fixtures)"
