#!/usr/bin/env bash
# The prepared device check (H200, sm_90): builds the CUDA test programs (log-prob kernels, the
# fused objective backends, the advantage group math),
# runs them (every kernel against the float64 CPU reference on fresh random inputs with poisoned
# outputs, then CUDA-event timings against the copy bandwidth and cuBLAS GEMM rate it measures
# itself), then the eager PyTorch peers on the same shapes (and Liger-Kernel when importable).
# Total well under 8 minutes. Run from the repository root on the device machine:
#   benchmarks/device/run.sh            (logs go to $OUT when set, else /tmp)
# With the device tool: run(command="benchmarks/device/run.sh", timeout_s=540)
# For Liger-Kernel, carry its wheel (device README: pip download ... -d .whl liger-kernel==X),
# name .whl in carry, and it is installed to /tmp/site first.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
LOGDIR=${OUT:-/tmp}
B=build-device
mkdir -p "$B"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader || true
date -u

if [[ -d .whl ]] && ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl &&
    export PYTHONPATH=/tmp/site || echo "wheel install failed: peers without Liger"
fi

# 1) build: CMake when the host dependencies are there (Eigen, Catch2, Boost), else nvcc directly
# (the CUDA headers need only the CUDA toolkit). Four programs: the log-prob and distillation
# kernels, the fused objective (token loss) backends, the advantage layer's group math, and the
# NCCL hooks on a one-GPU communicator.
PROGRAMS=(logprob_cuda objective advantage nccl)
bins=()
if timeout 120 cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
     -DGRPO_BUILD_EXAMPLES=OFF >"$LOGDIR/cmake.log" 2>&1 &&
   timeout 300 cmake --build "$B" -j 16 --target cuda_logprob_cuda cuda_objective cuda_advantage cuda_nccl \
     >>"$LOGDIR/cmake.log" 2>&1; then
  for p in "${PROGRAMS[@]}"; do bins+=("$B/tests/cuda/cuda_$p"); done
else
  echo "cmake build unavailable here (see cmake.log); compiling with nvcc directly"
  NVCC=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
  EIGEN=$(ls -d /usr/include/eigen3 2>/dev/null || true)
  for p in "${PROGRAMS[@]}"; do
    timeout 240 "$NVCC" -std=c++20 -O3 -arch=sm_90 --expt-relaxed-constexpr -Iinclude -Itests \
      ${EIGEN:+-isystem $EIGEN} -I/usr/local/cuda/include/cccl "tests/cuda/$p.cu" -lcublas \
      $([[ $p == nccl ]] && echo -lnccl) -o "$B/$p" &
  done
  wait
  for p in "${PROGRAMS[@]}"; do bins+=("$B/$p"); done
fi

# 2) checks + timings (ours)
set +e
ours_rc=0
for bin in "${bins[@]}"; do
  [[ -x $bin ]] || { echo "== $bin: not built (no NCCL here?), skipped =="; continue; }
  echo "== $bin =="
  timeout 240 "$bin" 2>&1 | tee -a "$LOGDIR/ours.txt"
  rc=${PIPESTATUS[0]}
  echo "exit code: $rc"
  [[ $rc -ne 0 ]] && ours_rc=$rc
done
set -e
echo "ours exit code: $ours_rc"

# 3) eager PyTorch peers on the same shapes (and Liger-Kernel when importable)
timeout 240 python3 - <<'PYEOF' 2>&1 | tee "$LOGDIR/peers.txt" || echo "peers failed or timed out"
import time, torch
dev = "cuda"
torch.manual_seed(0)

def timed(fn, reps=5):
    fn(); torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(); fn(); b.record(); torch.cuda.synchronize()
        ts.append(a.elapsed_time(b))
    return sorted(ts)[len(ts) // 2]

def trl_style_selective_log_softmax(logits, index):  # bf16 branch: log_softmax per batch row
    rows = []
    for lg, ix in zip(logits, index):
        rows.append(torch.log_softmax(lg, dim=-1).gather(-1, ix.unsqueeze(-1)).squeeze(-1))
    return torch.stack(rows)

print(f"torch {torch.__version__} on {torch.cuda.get_device_name()}")
N, V = 65536, 151936
z = torch.randn(8, N // 8, V, device=dev, dtype=torch.bfloat16) * 4
y = torch.randint(0, V, (8, N // 8), device=dev)
ms = timed(lambda: trl_style_selective_log_softmax(z, y))
print(f"torch eager TRL selective_log_softmax fwd {N}x{V} bf16: {ms:8.2f} ms  {N*V*2/ms/1e9:6.2f} TB/s")
def fwd_bwd():
    zz = z.detach().requires_grad_(True)
    trl_style_selective_log_softmax(zz, y).sum().backward()
ms = timed(fwd_bwd, reps=3)
print(f"torch eager TRL selective_log_softmax fwd+bwd, same: {ms:8.2f} ms")
try:
    from liger_kernel.transformers.functional import liger_cross_entropy  # noqa: F401
    import liger_kernel
    print(f"liger-kernel {getattr(liger_kernel, '__version__', '?')} importable (add its GRPO loss call here)")
except Exception as e:
    print(f"liger-kernel not available: {type(e).__name__}")
del z, y
torch.cuda.empty_cache()

# fused-linear peer: logits materialised, then log_softmax in fp32 (as verl does); N reduced to fit
N, H, V = 16384, 4096, 151936
h = torch.randn(N, H, device=dev, dtype=torch.bfloat16)
W = torch.randn(V, H, device=dev, dtype=torch.bfloat16) * 0.02
y = torch.randint(0, V, (N,), device=dev)
def lin_fwd_bwd():
    hh = h.detach().requires_grad_(True); ww = W.detach().requires_grad_(True)
    logits = (hh @ ww.t()).float()
    logp = torch.log_softmax(logits, dim=-1).gather(-1, y.unsqueeze(-1)).squeeze(-1)
    logp.mean().backward()
torch.cuda.reset_peak_memory_stats()
ms = timed(lin_fwd_bwd, reps=3)
print(f"torch eager materialising fused-linear fwd+bwd N{N} H{H} V{V} bf16: {ms:8.2f} ms  "
      f"{6*N*H*V/ms/1e9:6.1f} TFLOP/s (6NHV)  peak {torch.cuda.max_memory_allocated()/1e9:.1f} GB")
PYEOF
date -u
exit "$ours_rc"
