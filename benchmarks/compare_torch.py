#!/usr/bin/env python3
"""Side-by-side with eager PyTorch, the way TRL and verl compute the same things.

For each case, the inputs are generated once (seeded numpy) and written as raw .bin files; then
  * our side runs as `bench_logprob --tool=...` in its own process,
  * the PyTorch side runs as `python3 compare_torch.py --worker=...` in its own process,
so each side's peak resident memory (that child's maximum resident set size) is its own. Both
sides time only the computation (median over repetitions) and write their outputs, which are then
compared numerically. The two sides take turns for --rounds rounds (default 3; the side that goes
first alternates), so that both see the same state of a shared machine: `speedup` is the median
over rounds of that round's torch median / our median, and ours_ms and torch_ms are the medians of
each side's round medians. Prints a table and writes build/bench/compare.json as a list of
{name, ours_ms, torch_ms, speedup, ours_peak_mb, torch_peak_mb} (+ max_rel_err, agree, rounds).

Then the preset table (preset_table): every preset of PRESETS through our default (validated)
evaluate and unchecked, against its peer's formula (peer_preset_loss) in PyTorch eager and under
torch.compile, 524,288 tokens fwd + bwd.

Needs torch; PyTorch from PyPI in a venv is what the docs quote (tests/peers/make_fixtures.sh makes
build/peers/venv), Debian's python3-torch works for the eager side. Usage:
  build/peers/venv/bin/python benchmarks/compare_torch.py --bin build/benchmarks/bench_logprob \
      --out build/bench/compare.json [--quick] [--only NAME] [--presets]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

# ---- the PyTorch side (what TRL / verl run) ----------------------------------------------


def trl_style_selective_log_softmax(logits, index):
    """TRL's selective_log_softmax, in our words: for fp32/fp64 logits, gather the chosen logit and
    subtract a logsumexp computed one batch row at a time (a Python loop that bounds peak memory);
    for other dtypes, log_softmax one batch row at a time, then gather."""
    import torch
    if logits.dtype in (torch.float32, torch.float64):
        chosen = torch.gather(logits, dim=-1, index=index.unsqueeze(-1)).squeeze(-1)
        lse = torch.stack([torch.logsumexp(row, dim=-1) for row in logits])
        return chosen - lse
    rows = []
    for row_logits, row_index in zip(logits, index):
        lp = torch.log_softmax(row_logits, dim=-1)
        rows.append(lp.gather(dim=-1, index=row_index.unsqueeze(-1)).squeeze(-1))
    return torch.stack(rows)


def trl_style_grpo_token_loss(logp, old_logp, ref_logp, advantages, mask, eps_low=0.2, eps_high=0.2, beta=0.04):
    """TRL's GRPO per-token loss formula (k3 KL, clipped ratio, sequence-mean then batch-mean), in
    our words. Used by the token-loss comparison hook below."""
    import torch
    ratio = torch.exp(logp - old_logp)
    clipped = torch.clamp(ratio, 1 - eps_low, 1 + eps_high)
    a = advantages.unsqueeze(1)
    per_token = -torch.min(ratio * a, clipped * a)
    if beta != 0.0:
        kl = torch.exp(ref_logp - logp) - (ref_logp - logp) - 1
        per_token = per_token + beta * kl
    return ((per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean()


def peer_preset_loss(preset, lp, old, ref, adv, mask):
    """Each preset's loss as its peer computes it, in our words (the peers' formulas; see
    docs/objective.md for the options each follows). Float32 on both sides."""
    import torch
    a = adv.unsqueeze(1)

    def seq_mean(pt):  # TRL grpo/sapo: per-sequence token mean, then the mean over all rows
        return ((pt * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean()

    def token_mean(pt):  # TRL dapo/cispo, verl/OpenRLHF token-mean
        return (pt * mask).sum() / mask.sum().clamp(min=1.0)

    def ppo(ratio, lo=0.8, hi=1.2):
        return -torch.min(ratio * a, torch.clamp(ratio, lo, hi) * a)

    if preset in ("trl_grpo", "trl_dapo"):  # beta 0.04, KL bias-corrected (k3·ratio), no clamps
        ratio = torch.exp(lp - old)
        d = ref - lp
        pt = ppo(ratio) + 0.04 * (torch.exp(d) - d - 1) * ratio
        return seq_mean(pt) if preset == "trl_grpo" else token_mean(pt)
    if preset == "trl_cispo":  # epsilon_high = 5: -sg(min(ratio, 5))·A·logp
        ratio = torch.exp(lp - old)
        return token_mean(-torch.clamp(ratio, max=5.0).detach() * a * lp)
    if preset == "trl_sapo":
        ratio = torch.exp(lp - old)
        tau = torch.where(a > 0, torch.ones_like(a), torch.full_like(a, 1.05))
        return seq_mean(-torch.sigmoid(tau * (ratio - 1)) * (4.0 / tau) * a)
    if preset == "verl_vanilla":  # log-ratio clamped ±20, dual clip c = 3 for A < 0
        ratio = torch.exp(torch.clamp(lp - old, -20.0, 20.0))
        clip1 = torch.max(-a * ratio, -a * torch.clamp(ratio, 0.8, 1.2))
        clip2 = torch.min(-a * 3.0, clip1)
        return token_mean(torch.where(a < 0, clip2, clip1))
    if preset == "verl_gspo":  # GSPO-token: log s = mean log-ratio, clamped at 10 from above
        seq = ((lp - old) * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)
        s = torch.exp(torch.clamp(lp - lp.detach() + seq.detach().unsqueeze(1), max=10.0))
        return token_mean(torch.max(-a * s, -a * torch.clamp(s, 0.8, 1.2)))
    if preset == "openrlhf_ppo_k3":  # ±20 log-ratio clamp; token-mean k3 KL (init_coef 0.01)
        ratio = torch.exp(torch.clamp(lp - old, -20.0, 20.0))
        x = torch.clamp(ref - lp, max=10.0)
        kl = torch.clamp(torch.exp(x) - 1 - x, -10.0, 10.0)
        return token_mean(ppo(ratio)) + 0.01 * token_mean(kl)
    raise SystemExit(f"unknown preset {preset}")


PRESETS = ["trl_grpo", "trl_dapo", "trl_cispo", "trl_sapo", "verl_vanilla", "verl_gspo", "openrlhf_ppo_k3"]


BATCH_ROWS = 8  # TRL sees logits as [B, T, V] and loops over B: N tokens = B sequences of N/B


def load(d, name, dtype, shape):
    return np.fromfile(os.path.join(d, name), dtype=dtype).reshape(shape)


def torch_token_loss_worker(d, n, h, reps, preset="", compiled=False):
    """A token loss with autograd, n sequences of h tokens: TRL's GRPO formula, or a preset's
    peer formula (peer_preset_loss), eager or under torch.compile (compiled before timing)."""
    import torch
    torch.set_num_threads(os.cpu_count())
    times = []
    # the `hidden` slot carries T for this case
    logp0 = torch.from_numpy(load(d, "logp.bin", np.float32, (n, h)))
    old = torch.from_numpy(load(d, "old.bin", np.float32, (n, h)))
    ref = torch.from_numpy(load(d, "ref.bin", np.float32, (n, h)))
    mask = torch.from_numpy(load(d, "mask.bin", np.uint8, (n, h))).float()
    adv = torch.from_numpy(load(d, "adv.bin", np.float32, (n,)))
    if preset:
        def fn(lp, old, ref, adv, mask):
            return peer_preset_loss(preset, lp, old, ref, adv, mask)
    else:
        def fn(lp, old, ref, adv, mask):
            return trl_style_grpo_token_loss(lp, old, ref, adv, mask)
    if compiled:
        fn = torch.compile(fn)
        for _ in range(3):  # compile (forward and backward graphs) outside the timing
            lp = logp0.detach().requires_grad_(True)
            fn(lp, old, ref, adv, mask).backward()
    for _ in range(reps):
        lp = logp0.detach().requires_grad_(True)
        t0 = time.perf_counter()
        loss = fn(lp, old, ref, adv, mask)
        loss.backward()
        times.append((time.perf_counter() - t0) * 1e3)
    np.array([loss.item()], dtype=np.float64).tofile(os.path.join(d, "torch_loss.bin"))
    lp.grad.numpy().tofile(os.path.join(d, "torch_dlogp.bin"))
    if not compiled:
        # The same formula in float64 (untimed) is what both float32 sides are checked against:
        # PyTorch's float32 gradient of a k3 term cancels (1 - e^d against e^d - d - 1) and is
        # itself ~1e-4 off on small tokens, so float32 torch is not a reference.
        lp64 = logp0.double().requires_grad_(True)
        loss64 = fn(lp64, old.double(), ref.double(), adv.double(), mask.double())
        loss64.backward()
        np.array([loss64.item()], dtype=np.float64).tofile(os.path.join(d, "torch_loss64.bin"))
        lp64.grad.numpy().tofile(os.path.join(d, "torch_dlogp64.bin"))
    print(json.dumps({"op": "token_loss_fwd_bwd", "preset": preset, "compiled": compiled,
                      "median_ms": float(np.median(times)), "times_ms": times}))


def torch_worker(case, d, n, v, h, reps, tau, preset="", compiled=False):
    if case == "token_loss_fwd_bwd":
        return torch_token_loss_worker(d, n, h, reps, preset, compiled)
    import torch
    torch.set_num_threads(os.cpu_count())  # Debian's build otherwise may run one thread
    torch.manual_seed(0)
    y = torch.from_numpy(load(d, "targets.bin", np.int64, (n,)))
    times = []
    if case in ("logsoftmax_fwd", "logsoftmax_fwd_bwd"):
        z = torch.from_numpy(load(d, "logits.bin", np.float32, (n, v)))
        if case == "logsoftmax_fwd":
            with torch.no_grad():
                for _ in range(reps):
                    t0 = time.perf_counter()
                    logp = trl_style_selective_log_softmax((z / tau).view(BATCH_ROWS, -1, v), y.view(BATCH_ROWS, -1))
                    times.append((time.perf_counter() - t0) * 1e3)
        else:
            g = torch.from_numpy(load(d, "dlogp.bin", np.float32, (n,)))
            for _ in range(reps):
                zz = z.detach().requires_grad_(True)
                t0 = time.perf_counter()
                logp = trl_style_selective_log_softmax((zz / tau).view(BATCH_ROWS, -1, v), y.view(BATCH_ROWS, -1))
                logp.reshape(-1).backward(g)
                times.append((time.perf_counter() - t0) * 1e3)
            zz.grad[: min(n, 8)].numpy().tofile(os.path.join(d, "torch_dlogits_head.bin"))
    elif case == "fused_linear_fwd_bwd":
        hid = torch.from_numpy(load(d, "hidden.bin", np.float32, (n, h)))
        w = torch.from_numpy(load(d, "weight.bin", np.float32, (v, h)))
        g = torch.from_numpy(load(d, "dlogp.bin", np.float32, (n,)))
        for _ in range(reps):
            hh = hid.detach().requires_grad_(True)
            ww = w.detach().requires_grad_(True)
            t0 = time.perf_counter()
            logits = hh @ ww.t()  # materialised [N, V], as the unfused path does
            logp = torch.log_softmax(logits / tau, dim=-1).gather(-1, y.unsqueeze(-1)).squeeze(-1)
            logp.backward(g)
            times.append((time.perf_counter() - t0) * 1e3)
        hh.grad.numpy().tofile(os.path.join(d, "torch_dhidden.bin"))
        ww.grad.numpy().tofile(os.path.join(d, "torch_dweight.bin"))
    else:
        raise SystemExit(f"unknown worker case {case}")
    logp.detach().reshape(-1).numpy().astype(np.float32).tofile(os.path.join(d, "torch_logp.bin"))
    print(json.dumps({"op": case, "median_ms": float(np.median(times)), "times_ms": times}))


# ---- the driver -----------------------------------------------------------------------------


def run_child(cmd):
    """Runs cmd, returns (stdout, peak RSS in MB of that child alone).

    The child is started through /usr/bin/time -v: a process forked straight from this one would
    inherit this process's resident-size high-water mark (Linux keeps it across exec)."""
    with tempfile.NamedTemporaryFile(mode="r", suffix=".time") as tf:
        p = subprocess.run(["/usr/bin/time", "-v", "-o", tf.name] + cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
        rss_kb = [int(line.split(":")[1]) for line in tf.read().splitlines() if "Maximum resident set size" in line]
    return p.stdout, rss_kb[0] / 1024.0


def make_inputs(d, case, n, v, h, rng):
    if case == "token_loss_fwd_bwd":  # n sequences of h tokens, ragged masks
        logp = -np.abs(rng.standard_normal((n, h), dtype=np.float32)) - 0.05
        logp.tofile(os.path.join(d, "logp.bin"))
        (logp + 0.1 * rng.standard_normal((n, h), dtype=np.float32)).astype(np.float32).tofile(os.path.join(d, "old.bin"))
        (logp + 0.1 * rng.standard_normal((n, h), dtype=np.float32)).astype(np.float32).tofile(os.path.join(d, "ref.bin"))
        lengths = rng.integers(1, h + 1, size=n)
        (np.arange(h)[None, :] < lengths[:, None]).astype(np.uint8).tofile(os.path.join(d, "mask.bin"))
        rng.standard_normal(n, dtype=np.float32).tofile(os.path.join(d, "adv.bin"))
        return
    y = rng.integers(0, v, size=n, dtype=np.int64)
    y.tofile(os.path.join(d, "targets.bin"))
    rng.standard_normal(n, dtype=np.float32).tofile(os.path.join(d, "dlogp.bin"))
    if case.startswith("logsoftmax"):
        (rng.standard_normal((n, v), dtype=np.float32) * 3).tofile(os.path.join(d, "logits.bin"))
    else:
        rng.standard_normal((n, h), dtype=np.float32).tofile(os.path.join(d, "hidden.bin"))
        (rng.standard_normal((v, h), dtype=np.float32) * 0.03).tofile(os.path.join(d, "weight.bin"))


def max_rel_err(a, b):
    scale = max(1.0, float(np.abs(b).max()))
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max()) / scale


def compare(d, case, n, v, h):
    if case == "token_loss_fwd_bwd":
        # ours (float32) against the peer's formula evaluated in float64 by PyTorch
        a, b = load(d, "ours_loss.bin", np.float64, (1,)), load(d, "torch_loss64.bin", np.float64, (1,))
        g_a, g_b = load(d, "ours_dlogp.bin", np.float32, (n, h)), load(d, "torch_dlogp64.bin", np.float64, (n, h))
        return {"loss": float(abs(a[0] - b[0]) / max(1e-30, abs(b[0]))),
                "dlogp": float(np.abs(g_a - g_b).max()) / max(1e-30, float(np.abs(g_b).max()))}
    errs = {"logp": max_rel_err(load(d, "ours_logp.bin", np.float32, (n,)), load(d, "torch_logp.bin", np.float32, (n,)))}
    if case == "logsoftmax_fwd_bwd":
        k = min(n, 8)
        a = load(d, "ours_dlogits_head.bin", np.float32, (k, v))
        b = load(d, "torch_dlogits_head.bin", np.float32, (k, v))
        errs["dlogits"] = float(np.abs(a - b).max()) / max(1e-30, float(np.abs(b).max()))
    if case == "fused_linear_fwd_bwd":
        for name, shape in (("dhidden", (n, h)), ("dweight", (v, h))):
            a = load(d, f"ours_{name}.bin", np.float32, shape)
            b = load(d, f"torch_{name}.bin", np.float32, shape)
            errs[name] = float(np.abs(a - b).max()) / max(1e-30, float(np.abs(b).max()))
    return errs


# (name, case, N, V, H, repetitions); tolerance 1e-4 relative on every output
CASES = [
    ("logsoftmax_fwd 1024x151936 fp32", "logsoftmax_fwd", 1024, 151936, 0, 5),
    ("logsoftmax_fwd 4096x32768 fp32", "logsoftmax_fwd", 4096, 32768, 0, 5),
    ("logsoftmax_fwd_bwd 1024x151936 fp32", "logsoftmax_fwd_bwd", 1024, 151936, 0, 3),
    ("fused_linear_fwd_bwd N4096 H1024 V32768 fp32", "fused_linear_fwd_bwd", 4096, 32768, 1024, 3),
    # TRL's GRPO token loss (loss_type "grpo": seq-mean-token-mean, k3 with beta = 0.04) at
    # 524,288 tokens, as N sequences of T tokens (T travels in the `hidden` slot), completion
    # lengths uniform in [1, T] (so about half of the batch is padding): N = 512, T = 1024 (the
    # shape of bench_token_loss) and N = 4096, T = 128. Our side is bench_token_loss --tool,
    # with grpo::presets::trl::grpo().
    ("token_loss_fwd_bwd 512x1024 tokens", "token_loss_fwd_bwd", 512, 0, 1024, 200),
    ("token_loss_fwd_bwd 4096x128 tokens", "token_loss_fwd_bwd", 4096, 0, 128, 200),
]
QUICK = {"logsoftmax_fwd": (256, 32768), "logsoftmax_fwd_bwd": (64, 32768), "fused_linear_fwd_bwd": (512, 8192),
         "token_loss_fwd_bwd": (256, 0)}


def preset_table(args, rng, n=512, h=1024, reps=100):
    """Every preset of PRESETS at n x h tokens (lengths uniform in [1, h]): ours through the default
    (validated) evaluate with exec::parallel, and unchecked; the peer's formula in PyTorch eager and
    under torch.compile. The sides take turns (--rounds), each in its own process; ratios are the
    medians of the per-round ratios."""
    if args.quick:
        n, h, reps = 64, 256, 10
    binary = os.path.join(os.path.dirname(args.bin), "bench_token_loss")
    rows = []
    print(f"\n{'preset (fwd+bwd, %d tokens)' % (n * h):34s} {'ours':>7s} {'unchk':>7s} {'eager':>7s} {'compile':>8s}"
          f" {'x eager':>8s} {'x compile':>10s} {'valid/unchk':>11s}  max rel err (vs the peer formula in float64)")
    for preset in PRESETS:
        with tempfile.TemporaryDirectory(prefix="grpo_cmp_") as d:
            make_inputs(d, "token_loss_fwd_bwd", n, 0, h, rng)
            common = [f"--dir={d}", f"--tokens={n}", f"--hidden={h}", f"--reps={reps}", f"--preset={preset}"]
            sides = {"ours": [binary, "--tool=token_loss_fwd_bwd"] + common,
                     "eager": [sys.executable, os.path.abspath(__file__), "--worker=token_loss_fwd_bwd"] + common,
                     "compile": [sys.executable, os.path.abspath(__file__), "--worker=token_loss_fwd_bwd", "--compiled"] + common}
            got = {k: [] for k in ("ours", "unchecked", "eager", "compile")}
            errs = {}
            for r in range(max(1, args.rounds)):
                order = ["ours", "eager", "compile"] if r % 2 == 0 else ["compile", "eager", "ours"]
                for side in order:
                    out, _ = run_child(sides[side])
                    j = json.loads(out.strip().splitlines()[-1])
                    got[side].append(j["median_ms"])
                    if side == "ours":
                        got["unchecked"].append(j["unchecked_median_ms"])
                    if side == "eager":
                        errs = compare(d, "token_loss_fwd_bwd", n, 0, h)
        med = {k: float(np.median(v)) for k, v in got.items()}
        x_eager = float(np.median([e / o for e, o in zip(got["eager"], got["ours"])]))
        x_compile = float(np.median([c / o for c, o in zip(got["compile"], got["ours"])]))
        overhead = float(np.median([o / u for o, u in zip(got["ours"], got["unchecked"])]))
        agree = all(e <= 1e-4 for e in errs.values())
        rows.append({"name": "preset " + preset, "ours_ms": med["ours"], "unchecked_ms": med["unchecked"],
                     "torch_ms": med["eager"], "compile_ms": med["compile"], "speedup": x_eager,
                     "speedup_vs_compile": x_compile, "validated_over_unchecked": overhead,
                     "max_rel_err": errs, "agree": agree, "rounds": got})
        err_s = ", ".join(f"{k} {e:.1e}" for k, e in errs.items())
        print(f"{preset:34s} {med['ours']:7.3f} {med['unchecked']:7.3f} {med['eager']:7.2f} {med['compile']:8.3f}"
              f" {x_eager:7.1f}x {x_compile:9.2f}x {overhead:10.2f}x  {err_s}{'' if agree else '  DISAGREE'}", flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/benchmarks/bench_logprob")
    ap.add_argument("--out", default="build/bench/compare.json")
    ap.add_argument("--quick", action="store_true", help="small shapes, for a smoke test")
    ap.add_argument("--only", default="", help="run the cases whose name contains this")
    ap.add_argument("--tau", type=float, default=1.0)
    ap.add_argument("--worker", default="")
    ap.add_argument("--dir", default="")
    ap.add_argument("--tokens", type=int, default=0)
    ap.add_argument("--vocab", type=int, default=0)
    ap.add_argument("--hidden", type=int, default=0)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3, help="turns each side takes, alternating")
    ap.add_argument("--preset", default="", help="worker: a preset's peer formula (PRESETS)")
    ap.add_argument("--compiled", action="store_true", help="worker: under torch.compile")
    ap.add_argument("--presets", action="store_true",
                    help="only the preset table: every preset against its peer's formula, eager and compiled")
    args = ap.parse_args()
    if args.worker:
        torch_worker(args.worker, args.dir, args.tokens, args.vocab, args.hidden, args.reps, args.tau,
                     args.preset, args.compiled)
        return
    try:
        import torch
        torch_version = torch.__version__
        blas = next((p.split("=")[1] for p in torch.__config__.show().replace(",", " ").split() if p.startswith("BLAS_INFO=")), "?")
        if blas == "generic":  # Debian: whatever libblas.so.3 points to (OpenBLAS once installed)
            blas = "generic -> " + os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
        del torch
    except ImportError:
        sys.exit("compare_torch.py: torch is not importable by " + sys.executable +
                 " (apt-get install python3-torch, then run with /usr/bin/python3)")
    rng = np.random.default_rng(12345)
    rows = []
    print(f"torch {torch_version} ({sys.executable}; BLAS: {blas}), ours: {args.bin}, tau = {args.tau}")
    print(f"{'computation':46s} {'ours ms':>9s} {'torch ms':>9s} {'speedup':>8s} {'ours MB':>8s} {'torch MB':>9s}  max rel err")
    for name, case, n, v, h, reps in ([] if args.presets else CASES):
        if args.only and args.only not in name:
            continue
        if args.quick:
            n, v = QUICK[case]
            h = min(h, 256) if h else 0
            name += " [quick: %dx%d]" % (n, v)
        with tempfile.TemporaryDirectory(prefix="grpo_cmp_") as d:
            make_inputs(d, case, n, v, h, rng)
            common = [f"--dir={d}", f"--tokens={n}", f"--vocab={v}", f"--hidden={h}", f"--reps={reps}", f"--tau={args.tau}"]
            binary = args.bin
            if case == "token_loss_fwd_bwd":  # the token loss has its own benchmark program
                binary = os.path.join(os.path.dirname(args.bin), "bench_token_loss")
            ours_cmd = [binary, f"--tool={case}"] + common
            torch_cmd = [sys.executable, os.path.abspath(__file__), f"--worker={case}"] + common
            ours_ms, torch_ms, ratios, ours_mb, torch_mb = [], [], [], 0.0, 0.0
            for r in range(max(1, args.rounds)):
                order = [("ours", ours_cmd), ("torch", torch_cmd)]
                if r % 2 == 1:
                    order.reverse()
                got = {}
                for side, cmd in order:
                    out, mb = run_child(cmd)
                    got[side] = (json.loads(out.strip().splitlines()[-1])["median_ms"], mb)
                ours_ms.append(got["ours"][0])
                torch_ms.append(got["torch"][0])
                ratios.append(got["torch"][0] / got["ours"][0])
                ours_mb, torch_mb = max(ours_mb, got["ours"][1]), max(torch_mb, got["torch"][1])
            errs = compare(d, case, n, v, h)
        agree = all(e <= 1e-4 for e in errs.values())
        row = {"name": name, "ours_ms": float(np.median(ours_ms)), "torch_ms": float(np.median(torch_ms)),
               "speedup": float(np.median(ratios)), "ours_peak_mb": ours_mb, "torch_peak_mb": torch_mb,
               "max_rel_err": errs, "agree": agree,
               "rounds": [{"ours_ms": o, "torch_ms": t} for o, t in zip(ours_ms, torch_ms)]}
        rows.append(row)
        err_s = ", ".join(f"{k} {e:.1e}" for k, e in errs.items())
        print(f"{name:46s} {row['ours_ms']:9.2f} {row['torch_ms']:9.1f} {row['speedup']:7.1f}x "
              f"{ours_mb:8.0f} {torch_mb:9.0f}  {err_s}{'' if agree else '  DISAGREE'}  "
              f"(rounds {min(ratios):.1f}-{max(ratios):.1f}x)", flush=True)
    rows += preset_table(args, rng) if (args.presets or not args.only) else []
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(rows, f, indent=2)
    print(f"wrote {args.out}")
    if not all(r["agree"] for r in rows):
        sys.exit("compare_torch.py: our results and PyTorch's disagree (see the table)")


if __name__ == "__main__":
    main()
