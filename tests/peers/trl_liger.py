"""Golden fixtures from TRL's and Liger-Kernel's own code (run by hand, not in CI).

    build/peers/venv/bin/python tests/peers/trl_liger.py      # from the repository root

writes tests/peers/fixtures/trl.json and tests/peers/fixtures/liger.json (format 1, see
tests/peers/README.md). Pinned: trl==1.16.0, liger-kernel==0.8.5, torch 2.15.0 (CPU). Every number in
the fixtures is produced by the peers' own functions; this script only builds inputs, calls the peers
and records what they return. Deterministic: inputs come from random.Random(SEED) (not torch's RNG),
torch runs on 1 thread with float64 as the default dtype.

How the peers are called
------------------------
TRL (GRPOTrainer, RLOOTrainer). A trainer cannot be built on a CPU without a model, tokenizer and
dataset, so each case makes an object with `GRPOTrainer.__new__(GRPOTrainer)` (resp. RLOOTrainer) and
sets the attributes that `__init__` would set from a real `GRPOConfig` (resp. `RLOOConfig`) built with
the case's options (so GRPOConfig.__post_init__ runs: scale_rewards True/False -> "group"/"none",
steps_per_generation, ...): `epsilon_low = args.epsilon`, `epsilon_high = args.epsilon_high or
args.epsilon`, `beta`, `loss_type`, ... copied verbatim from args, `accelerator = accelerate.Accelerator(
cpu=True)` (one process), `model` = a stand-in with `training=True` (mode "train") and
`current_gradient_accumulation_steps = args.gradient_accumulation_steps`.

* policy_loss, "direct" cases: `GRPOTrainer._compute_loss(model, inputs)` is called with
  `_get_per_token_logps_and_entropies` monkeypatched (on the instance) to return the case's `logp`
  (a float64 leaf with requires_grad) and `entropy`. `inputs` holds completion_mask (long, the prefix
  up to the last valid token), `tool_mask` (long, only when the mask has holes; TRL multiplies it in),
  `advantages` [N], `old_per_token_logps` (absent when `old` is null: TRL then uses logp.detach()),
  `ref_per_token_logps` (beta != 0), `num_items_in_batch` (0-dim long tensor; mask.sum() unless the
  case gives one). `dlogp` = autograd of the returned loss w.r.t. logp. `metrics` = every value TRL
  appended to `trainer._metrics["train"]` during the call (one value per name).
* policy_loss, "pipeline" cases (vLLM importance sampling, mask_truncated_completions, NaN sampler
  logps): first `GRPOTrainer._generate_and_score_completions(inputs)` with `_generate` patched to return
  the case's prompt/completion token ids (truncated = last id is not EOS), tool masks and vLLM sampler
  logps (`sampler_logp`), `_calculate_rewards` patched to return the case's `rewards` [N*K], and
  `_get_per_token_logps_and_entropies` patched to return `old` (policy) / `ref` (reference model).
  TRL then computes advantages, the completion mask (truncated rows zeroed), num_items_in_batch and
  the vLLM IS ratio itself; its output dict is passed unchanged to `_compute_loss` as above. The case
  records the advantages TRL computed (`advantages`), the IS ratio (`is_ratio`, [N*T] or [N]), the
  mask after truncation (`mask`), `truncated`, and the metrics of both calls.
* advantage cases: `GRPOTrainer._generate_and_score_completions` as in the pipeline (beta = 0, no
  vLLM, so no log-prob call is made), reading `output["advantages"]`; RLOO cases use
  `RLOOTrainer._generate_and_score_completions` (its `_get_per_token_logps_and_entropies` returns
  `logp_old` / `logp_ref`: the KL penalty sum_t (old - ref) * mask enters the rewards).
* RLOO policy_loss: `RLOOTrainer._compute_loss` with inputs `old_logps = (old * mask).sum(1)` (what
  RLOO's _generate_and_score_completions stores).
TRL keeps reward weights in float32 and casts rewards/clip indicators with `.float()`; the fixtures use
weights exactly representable in float32, and the clip/entropy metrics TRL computes in float32 are
recorded as TRL returns them.

Liger (liger_kernel.chunked_loss.grpo_loss).
* policy_loss "logps" cases: `LigerFusedLinearPPOBase._compute_loss_from_logps(logp, mask, advantages,
  ref_per_token_logps_chunk=ref, old_per_token_logps_chunk=old, vllm_is_ratio_chunk=is_ratio,
  full_attention_mask=mask, ppo_loss_fn=LigerFusedLinearGRPOFunction.ppo_loss_fn, **options)`: the
  exact function LigerFusedLinearGRPOLoss runs on every chunk (compiled or not), called once on the
  whole batch, in float64. It casts old/ref with `.float()`, so `old` and `ref` are multiples of 2^-6
  (exact in float32) and the result is exact float64. Metrics: Liger returns a list `[kl] + [clip]`;
  they are named "kl" (only when beta != 0) and "clip_ratio".
* policy_loss "fused" cases: the module `LigerFusedLinearGRPOLoss(compiled=False, chunk_size=...)`
  on `hidden` [N*T*H] (float32), `weight` [V*H] (float32), `selected_ids` [N*T]; its own float32 path.
  Recorded: `logp` = the per-token log-probs Liger computed (captured by wrapping
  LigerFusedLinearPPOBase.chunk_forward), `dlogp` = the gradient Liger's own autograd.grad sent into
  those log-probs (a tensor hook), `dhidden`, `dweight`, loss and metrics (all float32, "dtype":
  "float32").
* kl cases: `liger_kernel.chunked_loss.grpo_loss.k3_loss_fn(ref, logp)` (TRL has no standalone KL
  function: its k3 is inline in _compute_loss and covered by the policy_loss cases).
"""

import hashlib
import importlib.metadata as md
import inspect
import json
import os
import random
import sys
import types
import warnings
from collections import defaultdict, deque

import torch

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)
warnings.filterwarnings("ignore")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from accelerate import Accelerator  # noqa: E402
from trl import GRPOConfig, RLOOConfig  # noqa: E402
from trl.trainer.grpo_trainer import GRPOTrainer  # noqa: E402
from trl.trainer.rloo_trainer import RLOOTrainer  # noqa: E402
from liger_kernel.chunked_loss import grpo_loss as liger_grpo  # noqa: E402
from liger_kernel.chunked_loss.fused_linear_ppo import LigerFusedLinearPPOBase  # noqa: E402

SEED = 20260117
HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "fixtures")
SCRATCH = "/tmp/peers/trl_out"  # TrainingArguments wants an output_dir; nothing is written there
GENERATOR = "tests/peers/trl_liger.py"

# PyPI wheels (pip download trl==1.16.0 liger-kernel==0.8.5); checked against direct_url.json when present.
KNOWN_WHEELS = {
    "trl": ("trl-1.16.0-py3-none-any.whl", "c4726e139dd40e1a41661511c639c8a68416782b2e3e8c0befebd77bb7ba0396"),
    "liger-kernel": (
        "liger_kernel-0.8.5-py3-none-any.whl",
        "60789cd576af073ab9b192b570d2597fd0cdad489cd62fb44fb16256d43754c9",
    ),
}

R = random.Random(SEED)
EOS, PAD = 2, 0


# ----------------------------------------------------------------------------------------------------
# small helpers (input generation and recording only)


def dy(x, res=64):
    """Round to a multiple of 1/res: short repr, exact in float32."""
    return round(x * res) / res


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def flat_int(t):
    return [int(v) for v in t.detach().reshape(-1).tolist()]


def package_record(dist):
    version = md.version(dist)
    source, sha = KNOWN_WHEELS[dist]
    try:
        d = md.distribution(dist)
        du = json.loads(d.read_text("direct_url.json") or "null")
    except Exception:
        du = None
    if du and "archive_info" in du:
        h = du["archive_info"].get("hashes", {}).get("sha256")
        name = du.get("url", "").rsplit("/", 1)[-1]
        if h and name.endswith(".whl"):
            source, sha = name, h
        path = du.get("url", "")[len("file://"):] if du.get("url", "").startswith("file://") else None
        if path and os.path.exists(path):
            with open(path, "rb") as f:
                sha = hashlib.sha256(f.read()).hexdigest()
    commit = None
    try:
        vcs = (du or {}).get("vcs_info")
        commit = vcs.get("commit_id") if vcs else None
    except Exception:
        commit = None
    return {"name": dist, "version": version, "source": source, "sha256": sha, "commit": commit}


def gen_batch(N, T, *, lengths=None, empty_rows=(), holes=False, spread=0.3, big=False, adv=None,
              full_row=True):
    """Random batch: ragged prefix masks (optionally with holes), dyadic log-probs."""
    if lengths is None:
        lengths = [R.randint(1, T) for _ in range(N)]
        if full_row and N > 0:
            lengths[R.randrange(N)] = T
    lengths = list(lengths)
    for i in empty_rows:
        lengths[i] = 0
    mask = [[1 if t < lengths[i] else 0 for t in range(T)] for i in range(N)]
    if holes:
        for i in range(N):
            if lengths[i] >= 3:
                for t in range(1, lengths[i] - 1):
                    if R.random() < 0.35:
                        mask[i][t] = 0
    logp = [[dy(-R.uniform(0.02, 3.0)) for _ in range(T)] for _ in range(N)]
    if big:
        old = [[dy(logp[i][t] - R.choice((-1, 1)) * R.uniform(15, 25)) for t in range(T)] for i in range(N)]
        ref = [[dy(logp[i][t] + R.choice((-1, 1)) * R.uniform(15, 25)) for t in range(T)] for i in range(N)]
    else:
        old = [[dy(logp[i][t] + R.gauss(0, spread)) for t in range(T)] for i in range(N)]
        ref = [[dy(logp[i][t] + R.gauss(0, 0.25)) for t in range(T)] for i in range(N)]
    entropy = [[dy(R.uniform(0.0, 3.0), 16) for _ in range(T)] for _ in range(N)]
    if adv is None:
        adv = [round(R.gauss(0, 1), 3) for _ in range(N)]
    return {"N": N, "T": T, "lengths": lengths, "mask": mask, "logp": logp, "old": old, "ref": ref,
            "entropy": entropy, "advantages": list(adv)}


def t2(x):
    return torch.tensor(x, dtype=torch.float64)


def tl(x):
    return torch.tensor(x, dtype=torch.long)


def scalar(v):
    v = float(v)
    return v


# ----------------------------------------------------------------------------------------------------
# TRL stand-ins


class _Policy:
    """Stands in for the policy model: only `.training` and `.is_gradient_checkpointing` are read."""

    training = True
    is_gradient_checkpointing = False


class _Ref:
    training = False
    is_gradient_checkpointing = False


GRPO_KEYS = {
    "beta", "loss_type", "epsilon", "epsilon_high", "delta", "importance_sampling_level", "scale_rewards",
    "multi_objective_aggregation", "reward_weights", "mask_truncated_completions", "top_entropy_quantile",
    "entropy_coef", "use_adaptive_entropy", "use_vllm", "vllm_importance_sampling_correction",
    "vllm_importance_sampling_mode", "vllm_importance_sampling_clip_max", "vllm_importance_sampling_clip_min",
    "off_policy_mask_threshold", "use_bias_correction_kl", "max_completion_length", "sapo_temperature_pos",
    "sapo_temperature_neg", "vespo_k_pos", "vespo_lambda_pos", "vespo_k_neg", "vespo_lambda_neg",
    "num_generations", "per_device_train_batch_size", "gradient_accumulation_steps", "steps_per_generation",
    "num_iterations",
}


def make_grpo(opts, num_reward_funcs=1):
    cfg = {k: v for k, v in opts.items() if k in GRPO_KEYS}
    args = GRPOConfig(output_dir=SCRATCH, report_to=[], use_cpu=True, **cfg)
    t = GRPOTrainer.__new__(GRPOTrainer)
    # what GRPOTrainer.__init__ sets from args (trl/trainer/grpo_trainer.py:781-960, 983-990, 1080-1098)
    t.args = args
    t.accelerator = Accelerator(cpu=True)  # after the config: TrainingArguments resets the accelerate state
    t.model = _Policy()
    t.beta = args.beta
    t.ref_model = _Ref() if args.beta != 0.0 else None
    t.max_completion_length = args.max_completion_length
    t.num_generations = args.num_generations
    t.num_generations_eval = args.num_generations_eval or args.num_generations
    t.temperature = args.temperature
    t.pad_to_multiple_of = args.pad_to_multiple_of
    t.use_vllm = args.use_vllm
    t.vllm_importance_sampling_correction = args.vllm_importance_sampling_correction
    t.vllm_importance_sampling_mode = args.vllm_importance_sampling_mode
    t.vllm_importance_sampling_clip_max = args.vllm_importance_sampling_clip_max
    t.vllm_importance_sampling_clip_min = args.vllm_importance_sampling_clip_min
    t.loss_type = args.loss_type
    t.multi_objective_aggregation = args.multi_objective_aggregation
    t.router_aux_loss_coef = 0.0
    t.aux_loss_enabled = False
    t.scale_rewards = args.scale_rewards
    t.importance_sampling_level = args.importance_sampling_level
    t.off_policy_mask_threshold = args.off_policy_mask_threshold
    t.mask_truncated_completions = args.mask_truncated_completions
    t.top_entropy_quantile = args.top_entropy_quantile
    t.entropy_coef = args.entropy_coef
    t.use_adaptive_entropy = args.use_adaptive_entropy
    t._entropy_bonus_enabled = t.entropy_coef != 0.0 or t.use_adaptive_entropy
    t._last_world_entropy = float("inf")
    t._entropy_window_stats = None
    t.num_iterations = args.num_iterations
    t.epsilon_low = args.epsilon
    t.epsilon_high = args.epsilon_high if args.epsilon_high is not None else args.epsilon
    t._step = 0
    t._buffered_inputs = None
    # reward functions: TRL makes the weights float32 (grpo_trainer.py:574); the fixtures' weights are
    # exact in float32, kept float64 here so that rewards stay float64.
    rw = args.reward_weights if args.reward_weights is not None else [1.0] * num_reward_funcs
    assert all(float(torch.tensor(w, dtype=torch.float32)) == w for w in rw)
    t.reward_weights = torch.tensor(rw, dtype=torch.float64)
    t.reward_funcs = [None] * num_reward_funcs
    t.reward_func_names = [f"r{k}" for k in range(num_reward_funcs)]
    t._metrics = {"train": defaultdict(list), "eval": defaultdict(list)}
    t.log_multimodal = args.log_multimodal
    gbs = args.generation_batch_size
    t._logs = {
        "images": deque(maxlen=gbs), "prompt": deque(maxlen=gbs), "completion": deque(maxlen=gbs),
        "rewards": defaultdict(lambda: deque(maxlen=gbs)), "advantages": deque(maxlen=gbs),
        "extra": defaultdict(lambda: deque(maxlen=gbs)),
    }
    t._pending_extra_logs = defaultdict(list)
    t._pending_metrics = defaultdict(list)
    t.environment_factories = None
    t.environments = None
    t.tools = []
    t.eos_token_ids = [EOS]
    t._tokenizer = types.SimpleNamespace(pad_token_id=PAD, eos_token_id=EOS)
    t.chat_template_kwargs = {}
    t.current_gradient_accumulation_steps = args.gradient_accumulation_steps  # set by Trainer's training loop
    return t


RLOO_KEYS = {"beta", "epsilon", "epsilon_high", "normalize_advantages", "reward_clip_range",
             "mask_truncated_completions", "reward_weights", "num_generations", "per_device_train_batch_size",
             "max_completion_length"}


def make_rloo(opts, num_reward_funcs=1):
    cfg = {k: v for k, v in opts.items() if k in RLOO_KEYS}
    args = RLOOConfig(output_dir=SCRATCH, report_to=[], use_cpu=True, **cfg)
    t = RLOOTrainer.__new__(RLOOTrainer)
    # what RLOOTrainer.__init__ sets from args (trl/trainer/rloo_trainer.py:536-743)
    t.args = args
    t.accelerator = Accelerator(cpu=True)  # after the config: TrainingArguments resets the accelerate state
    t.model = _Policy()
    t.beta = args.beta
    t.ref_model = _Ref() if args.beta != 0.0 else None
    t.max_completion_length = args.max_completion_length
    t.num_generations = args.num_generations
    t.num_generations_eval = args.num_generations_eval or args.num_generations
    t.pad_to_multiple_of = args.pad_to_multiple_of
    t.use_vllm = args.use_vllm
    t.normalize_advantages = args.normalize_advantages
    t.mask_truncated_completions = args.mask_truncated_completions
    t.reward_clip_range = args.reward_clip_range
    t.num_iterations = args.num_iterations
    t.epsilon_low = args.epsilon
    t.epsilon_high = args.epsilon_high if args.epsilon_high is not None else args.epsilon
    t.router_aux_loss_coef = 0.0
    t.aux_loss_enabled = False
    rw = args.reward_weights if args.reward_weights is not None else [1.0] * num_reward_funcs
    assert all(float(torch.tensor(w, dtype=torch.float32)) == w for w in rw)
    t.reward_weights = torch.tensor(rw, dtype=torch.float64)
    t.reward_funcs = [None] * num_reward_funcs
    t.reward_func_names = [f"r{k}" for k in range(num_reward_funcs)]
    t._metrics = {"train": defaultdict(list), "eval": defaultdict(list)}
    t.log_multimodal = args.log_multimodal
    gbs = args.generation_batch_size
    t._logs = {
        "images": deque(maxlen=gbs), "prompt": deque(maxlen=gbs), "completion": deque(maxlen=gbs),
        "rewards": defaultdict(lambda: deque(maxlen=gbs)), "advantages": deque(maxlen=gbs),
        "extra": defaultdict(lambda: deque(maxlen=gbs)),
    }
    t._pending_extra_logs = defaultdict(list)
    t._pending_metrics = defaultdict(list)
    t.eos_token_ids = [EOS]
    t._tokenizer = types.SimpleNamespace(pad_token_id=PAD, eos_token_id=EOS)
    t.chat_template_kwargs = {}
    t.current_gradient_accumulation_steps = args.gradient_accumulation_steps
    return t


def read_metrics(t):
    out = {}
    for k, v in t._metrics["train"].items():
        if k == "num_tokens":
            continue
        assert len(v) == 1, (k, v)
        out[k] = float(v[0])
    return out


def patch_logps(t, *, old=None, ref=None, logp=None, entropy=None):
    """Replace the model forward: return the case's tensors (old/ref in generation, logp/entropy in the loss)."""

    def fake(model, input_ids, attention_mask, logits_to_keep, batch_size=None, compute_entropy=False,
             compute_aux_loss=False, **kwargs):
        assert input_ids.shape[1] - logits_to_keep >= 0
        if compute_entropy:
            assert model is t.model and logp is not None
            assert logp.shape[1] == logits_to_keep
            return logp, entropy, None
        if model is t.ref_model and t.ref_model is not None:
            return ref.clone(), None, None
        assert model is t.model and old is not None
        return old.clone(), None, None

    t._get_per_token_logps_and_entropies = fake


def completion_token_lists(lengths, truncated):
    """Completion ids as a generator returns them: random non-special ids, last one EOS unless truncated."""
    out = []
    for L, tr in zip(lengths, truncated):
        ids = [R.randint(3, 99) for _ in range(L)]
        if L > 0 and not tr:
            ids[-1] = EOS
        out.append(ids)
    return out


def patch_generation(t, lengths, truncated, tool_mask_rows=None, sampler=None, rewards=None, K=1, rloo=False):
    comp = completion_token_lists(lengths, truncated)
    N = len(lengths)

    if rloo:
        def fake_generate(prompts):
            return [[5, 6]] * N, comp, ["c"] * N
    else:
        def fake_generate(prompts):
            tm = None if tool_mask_rows is None else [list(r) for r in tool_mask_rows]
            sl = None if sampler is None else [list(r) for r in sampler]
            return [[5, 6]] * N, comp, tm, ["c"] * N, sl, {}, None, []

    def fake_rewards(inputs, prompts, completions, completion_ids_list):
        return t2(rewards).reshape(N, K).clone()

    t._generate = fake_generate
    t._calculate_rewards = fake_rewards
    return comp


# ----------------------------------------------------------------------------------------------------
# TRL cases

TRL_CASES = []


def trl_direct_loss(cid, b, opts, *, old_null=False, num_items=None, entropy_grad=False, note=None):
    """GRPOTrainer._compute_loss on given logp/old/ref/entropy/advantages/mask."""
    N, T = b["N"], b["T"]
    o = dict(opts)
    o.setdefault("num_generations", N if N >= 2 else 2)
    o.setdefault("per_device_train_batch_size", N if N >= 2 else 2)
    t = make_grpo(o)
    mask = tl(b["mask"])
    # completion_mask: prefix up to the last valid token; holes come from tool_mask (TRL multiplies them)
    last = [max([j + 1 for j in range(T) if b["mask"][i][j]] or [0]) for i in range(N)]
    cmask = tl([[1 if j < last[i] else 0 for j in range(T)] for i in range(N)])
    has_holes = bool((cmask != mask).any())
    logp = t2(b["logp"]).requires_grad_(True)
    ent = t2(b["entropy"]).requires_grad_(entropy_grad)
    old = None if old_null else t2(b["old"])
    ref = t2(b["ref"]) if t.beta != 0.0 else None
    patch_logps(t, logp=logp, entropy=ent)
    inputs = {
        "prompt_ids": tl([[5, 6]] * N), "prompt_mask": tl([[1, 1]] * N),
        "completion_ids": torch.where(cmask.bool(), tl([[7] * T] * N), tl([[PAD] * T] * N)),
        "completion_mask": cmask,
        "advantages": t2(b["advantages"]),
        "num_items_in_batch": tl(int(mask.sum()) if num_items is None else num_items),
    }
    if has_holes:
        inputs["tool_mask"] = mask
    if old is not None:
        inputs["old_per_token_logps"] = old
    if ref is not None:
        inputs["ref_per_token_logps"] = ref
    loss = t._compute_loss(t.model, inputs)
    loss.backward()
    case = {
        "kind": "policy_loss", "id": cid, "call": "trl.trainer.grpo_trainer.GRPOTrainer._compute_loss",
        "options": opts_record(t, o), "N": N, "T": T,
        "logp": flat(logp), "old": None if old_null else flat(old),
        "ref": flat(ref) if ref is not None else None, "mask": flat_int(mask),
        "advantages": list(b["advantages"]), "entropy": flat(ent),
        "num_items_in_batch": int(inputs["num_items_in_batch"]),
        "loss": scalar(loss), "dlogp": flat(logp.grad), "metrics": read_metrics(t),
    }
    if entropy_grad:
        case["dentropy"] = flat(ent.grad)
    if note:
        case["note"] = note
    TRL_CASES.append(case)
    return case


CLIP_TYPES = ("grpo", "bnpo", "dr_grpo", "dapo", "luspo")
GENERAL_KEYS = ["gradient_accumulation_steps", "steps_per_generation", "num_iterations", "top_entropy_quantile",
                "off_policy_mask_threshold", "entropy_coef", "use_adaptive_entropy", "mask_truncated_completions",
                "use_vllm", "scale_rewards", "multi_objective_aggregation", "reward_weights"]
_DEFAULT_ARGS = {}


def grpo_defaults():
    if not _DEFAULT_ARGS:
        a = GRPOConfig(output_dir=SCRATCH, report_to=[], use_cpu=True)
        keys = sorted(GRPO_KEYS | set(GENERAL_KEYS))
        _DEFAULT_ARGS.update({k: getattr(a, k) for k in keys if k not in ("per_device_train_batch_size",)})
    return _DEFAULT_ARGS


def opts_record(t, o):
    """The options as TRL used them (GRPOConfig after __post_init__): those of this loss type, plus any other
    option that differs from GRPOConfig's default (file-level option_defaults)."""
    a = t.args
    lt = a.loss_type
    keys = ["loss_type", "beta", "importance_sampling_level"]
    if lt in CLIP_TYPES:
        keys += ["epsilon", "epsilon_high", "delta"]
    if lt == "cispo":
        keys += ["epsilon_high"]
    if lt == "sapo":
        keys += ["sapo_temperature_pos", "sapo_temperature_neg"]
    if lt == "vespo":
        keys += ["vespo_k_pos", "vespo_lambda_pos", "vespo_k_neg", "vespo_lambda_neg"]
    if lt == "dr_grpo":
        keys += ["max_completion_length"]
    if a.beta != 0.0:
        keys += ["use_bias_correction_kl"]
    d = grpo_defaults()
    keys += [k for k in GENERAL_KEYS if getattr(a, k) != d[k]]
    if a.use_vllm:
        keys += ["vllm_importance_sampling_correction", "vllm_importance_sampling_mode",
                 "vllm_importance_sampling_clip_max", "vllm_importance_sampling_clip_min"]
    if "num_generations" in o and o.get("_pipeline"):
        keys += ["num_generations"]
    rec = {k: getattr(a, k) for k in keys}
    if lt in CLIP_TYPES or lt == "cispo":
        rec["epsilon_high_effective"] = t.epsilon_high
    return rec


def trl_pipeline_loss(cid, b, opts, *, truncated=None, sampler=None, rewards=None, G=None, K=1, note=None):
    """_generate_and_score_completions (advantages, truncation mask, vLLM IS ratio) then _compute_loss."""
    N, T = b["N"], b["T"]
    lengths = b["lengths"]
    assert max(lengths) == T
    o = dict(opts)
    G = G or N
    o["_pipeline"] = True
    o.setdefault("num_generations", G)
    o.setdefault("per_device_train_batch_size", N)
    t = make_grpo(o, num_reward_funcs=K)
    truncated = truncated or [0] * N
    prefix = [[1 if j < lengths[i] else 0 for j in range(T)] for i in range(N)]
    has_holes = b["mask"] != prefix
    tool_rows = [b["mask"][i][: lengths[i]] for i in range(N)] if has_holes else None
    samp_rows = None
    if sampler is not None:
        samp_rows = [sampler[i][: lengths[i]] for i in range(N)]
    if rewards is None:
        rewards = [dy(R.uniform(0, 1), 64) for _ in range(N * K)]
    patch_generation(t, lengths, truncated, tool_rows, samp_rows, rewards, K)
    old = t2(b["old"])
    ref = t2(b["ref"])
    patch_logps(t, old=old, ref=ref)
    out = t._generate_and_score_completions([{"prompt": "p"} for _ in range(N)])
    logp = t2(b["logp"]).requires_grad_(True)
    ent = t2(b["entropy"])
    patch_logps(t, old=old, ref=ref, logp=logp, entropy=ent)
    loss = t._compute_loss(t.model, out)
    loss.backward()
    eff_mask = out["completion_mask"] * out["tool_mask"] if "tool_mask" in out else out["completion_mask"]
    old_given = "old_per_token_logps" in out
    case = {
        "kind": "policy_loss", "id": cid,
        "call": "trl.trainer.grpo_trainer.GRPOTrainer._generate_and_score_completions + _compute_loss",
        "options": opts_record(t, o), "N": N, "T": T,
        "logp": flat(logp), "old": flat(old) if old_given else None,
        "ref": flat(ref) if t.beta != 0.0 else None, "mask": flat_int(eff_mask),
        "advantages": flat(out["advantages"]), "entropy": flat(ent),
        "truncated": [int(x) for x in truncated], "lengths": list(lengths),
        "group_size": G, "rewards": [float(x) for x in rewards], "num_rewards": K,
        "num_items_in_batch": int(out["num_items_in_batch"]),
        "loss": scalar(loss), "dlogp": flat(logp.grad), "metrics": read_metrics(t),
    }
    if sampler is not None:
        s = [[sampler[i][j] if j < lengths[i] else 0.0 for j in range(T)] for i in range(N)]
        case["sampler_logp"] = [float(x) for row in s for x in row]
    if "importance_sampling_ratio" in out:
        case["is_ratio"] = flat(out["importance_sampling_ratio"])
    if "mask_before_truncation" not in case and any(truncated):
        case["mask_before_truncation"] = [x for row in b["mask"] for x in row]
    if note:
        case["note"] = note
    TRL_CASES.append(case)
    return case


def trl_advantage(cid, rewards, G, opts, K=1, note=None):
    N = len(rewards) // K
    o = dict(opts)
    o["num_generations"] = G
    o.setdefault("per_device_train_batch_size", N)
    o["beta"] = 0.0
    t = make_grpo(o, num_reward_funcs=K)
    patch_generation(t, [1] * N, [0] * N, None, None, rewards, K)
    patch_logps(t)
    out = t._generate_and_score_completions([{"prompt": "p"} for _ in range(N)])
    a = t.args
    rec = {"scale_rewards": a.scale_rewards, "multi_objective_aggregation": a.multi_objective_aggregation,
           "reward_weights": a.reward_weights, "num_generations": a.num_generations}
    if "scale_rewards" in opts and opts["scale_rewards"] in (True, False):
        rec["scale_rewards_passed"] = opts["scale_rewards"]
    case = {
        "kind": "advantage", "id": cid,
        "call": "trl.trainer.grpo_trainer.GRPOTrainer._generate_and_score_completions",
        "options": rec, "N": N, "group_size": G, "rewards": [float(x) for x in rewards], "num_rewards": K,
        "reward_weights": [float(x) for x in t.reward_weights.tolist()],
        "advantages": flat(out["advantages"]), "metrics": read_metrics(t),
    }
    if note:
        case["note"] = note
    TRL_CASES.append(case)


def rloo_advantage(cid, rewards, G, opts, K=1, b=None, note=None):
    N = len(rewards) // K
    o = dict(opts)
    o["num_generations"] = G
    o.setdefault("per_device_train_batch_size", N)
    o.setdefault("beta", 0.0)
    t = make_rloo(o, num_reward_funcs=K)
    if b is None:
        b = gen_batch(N, 4)
    lengths = b["lengths"]
    patch_generation(t, lengths, [0] * N, None, None, rewards, K, rloo=True)
    old, ref = t2(b["old"]), t2(b["ref"])
    patch_logps(t, old=old, ref=ref)
    out = t._generate_and_score_completions([{"prompt": "p"} for _ in range(N)])
    a = t.args
    rec = {"beta": a.beta, "normalize_advantages": a.normalize_advantages,
           "reward_clip_range": list(a.reward_clip_range) if a.reward_clip_range else None,
           "reward_weights": a.reward_weights, "num_generations": a.num_generations}
    case = {
        "kind": "advantage", "id": cid,
        "call": "trl.trainer.rloo_trainer.RLOOTrainer._generate_and_score_completions",
        "options": rec, "N": N, "group_size": G, "rewards": [float(x) for x in rewards], "num_rewards": K,
        "reward_weights": [float(x) for x in t.reward_weights.tolist()],
        "T": b["T"], "lengths": list(lengths), "mask": flat_int(out["completion_mask"]),
        "logp_old": flat(old), "logp_ref": flat(ref) if a.beta != 0.0 else None,
        "advantages": flat(out["advantages"]), "old_logps_seq": flat(out["old_logps"]),
        "metrics": read_metrics(t),
    }
    if note:
        case["note"] = note
    TRL_CASES.append(case)


def rloo_loss(cid, b, opts):
    N, T = b["N"], b["T"]
    o = dict(opts)
    o.setdefault("num_generations", N)
    o.setdefault("per_device_train_batch_size", N)
    t = make_rloo(o)
    mask = tl(b["mask"])
    logp = t2(b["logp"]).requires_grad_(True)
    ent = t2(b["entropy"])
    old = t2(b["old"])
    patch_logps(t, logp=logp, entropy=ent)
    inputs = {
        "prompt_ids": tl([[5, 6]] * N), "prompt_mask": tl([[1, 1]] * N),
        "completion_ids": torch.where(mask.bool(), tl([[7] * T] * N), tl([[PAD] * T] * N)),
        "completion_mask": mask, "advantages": t2(b["advantages"]),
        "old_logps": (old * mask).sum(1),
    }
    loss = t._compute_loss(t.model, inputs)
    loss.backward()
    a = t.args
    TRL_CASES.append({
        "kind": "policy_loss", "id": cid, "call": "trl.trainer.rloo_trainer.RLOOTrainer._compute_loss",
        "options": {"epsilon": a.epsilon, "epsilon_high": a.epsilon_high, "epsilon_low_effective": t.epsilon_low,
                    "epsilon_high_effective": t.epsilon_high, "beta": a.beta},
        "note": "RLOO: beta enters the rewards (advantage cases), not this loss",
        "N": N, "T": T, "logp": flat(logp), "old": flat(old), "ref": None, "mask": flat_int(mask),
        "advantages": list(b["advantages"]), "entropy": flat(ent),
        "old_logps_seq": flat(inputs["old_logps"]),
        "loss": scalar(loss), "dlogp": flat(logp.grad), "metrics": read_metrics(t),
    })


LOSS_TYPES = ["grpo", "bnpo", "dr_grpo", "dapo", "cispo", "sapo", "luspo", "vespo"]


def eps_variants(lt):
    if lt == "cispo":
        return [None, 5.0]  # TRL: the raw bound is epsilon_high (None -> epsilon = 0.2)
    if lt in ("sapo", "vespo"):
        return [None]
    return [None, 0.28]


def build_trl():
    # 1. sweep: loss_type x beta x importance_sampling_level (+ the other epsilon_high)
    for lt in LOSS_TYPES:
        eh0, eh1 = eps_variants(lt)[0], eps_variants(lt)[-1]
        combos = [(0.0, "token", eh0), (0.04, "token", eh0), (0.0, "sequence", eh0), (0.04, "sequence", eh0)]
        if eh1 != eh0:
            combos += [(0.04, "token", eh1)]
        if lt == "cispo":
            combos += [(0.0, "token", eh1)]
        for beta, lvl, eh in combos:
            b = gen_batch(4, 5, empty_rows=(3,) if lt in ("grpo", "dapo", "luspo") and beta else ())
            opts = {"loss_type": lt, "beta": beta, "importance_sampling_level": lvl, "epsilon": 0.2,
                    "epsilon_high": eh, "max_completion_length": 8}
            trl_direct_loss(f"{lt}/beta{beta}/{lvl}/eh{eh}", b, opts)
    # 2. options
    for lt in CLIP_TYPES:
        b = gen_batch(4, 6, spread=0.5)
        trl_direct_loss(f"{lt}/delta1.5", b, {"loss_type": lt, "beta": 0.04, "delta": 1.5, "epsilon_high": 0.28,
                                              "max_completion_length": 8})
    for lt in ("grpo", "dapo"):
        b = gen_batch(4, 6, spread=0.5)
        trl_direct_loss(f"{lt}/delta1.1", b, {"loss_type": lt, "delta": 1.1},
                        note="delta < 1 + epsilon_high: TRL computes the clip metrics from the delta-clamped ratio")
    for lt in ("grpo", "dapo", "cispo", "sapo", "luspo"):
        b = gen_batch(4, 5)
        trl_direct_loss(f"{lt}/bias_kl_off", b, {"loss_type": lt, "beta": 0.04, "use_bias_correction_kl": False,
                                                 "max_completion_length": 8})
    for lt in ("grpo", "luspo"):
        b = gen_batch(4, 5)
        trl_direct_loss(f"{lt}/sequence/bias_kl_off", b, {"loss_type": lt, "beta": 0.04,
                                                          "importance_sampling_level": "sequence",
                                                          "use_bias_correction_kl": False})
    for lt, q in (("grpo", 0.2), ("dapo", 0.2), ("cispo", 0.5), ("sapo", 0.5), ("luspo", 0.2), ("grpo", 0.0)):
        b = gen_batch(4, 6, empty_rows=(1,))
        trl_direct_loss(f"{lt}/top_entropy{q}", b, {"loss_type": lt, "beta": 0.04 if q else 0.0,
                                                    "top_entropy_quantile": q})
    for lt in LOSS_TYPES:
        b = gen_batch(4, 5)
        trl_direct_loss(f"{lt}/old_null", b, {"loss_type": lt, "beta": 0.04, "max_completion_length": 8},
                        old_null=True)
    for lt in ("grpo", "luspo"):
        b = gen_batch(4, 5)
        trl_direct_loss(f"{lt}/sequence/old_null", b, {"loss_type": lt, "beta": 0.04,
                                                       "importance_sampling_level": "sequence"}, old_null=True)
    for lt in ("grpo", "dapo", "cispo", "luspo"):
        b = gen_batch(4, 6, spread=0.6)
        trl_direct_loss(f"{lt}/off_policy_mask0.1", b, {"loss_type": lt, "off_policy_mask_threshold": 0.1},
                        note="no vLLM: TRL uses old_per_token_logps as the sampling log-probs")
    for lt in ("grpo", "dapo", "dr_grpo"):
        b = gen_batch(4, 5)
        trl_direct_loss(f"{lt}/entropy_coef0.01", b, {"loss_type": lt, "beta": 0.04, "entropy_coef": 0.01,
                                                      "top_entropy_quantile": 0.5 if lt == "dapo" else 1.0,
                                                      "max_completion_length": 8}, entropy_grad=True)
    b = gen_batch(3, 4)
    trl_direct_loss("grpo/adaptive_entropy", b, {"loss_type": "grpo", "entropy_coef": 0.01,
                                                 "use_adaptive_entropy": True},
                    note="first call: _last_world_entropy = inf so the applied coefficient is 0; entropy_coef "
                         "is then updated (+entropy_coef_delta when the entropy <= entropy_target) and logged")
    # normalizers with gradient accumulation / a bigger generation batch
    for lt in ("grpo", "dr_grpo", "dapo", "cispo"):
        b = gen_batch(4, 5)
        n = sum(map(sum, b["mask"]))
        trl_direct_loss(f"{lt}/ga2_spg4", b, {"loss_type": lt, "gradient_accumulation_steps": 2,
                                              "steps_per_generation": 4, "max_completion_length": 8},
                        num_items=3 * n + 5,
                        note="num_items_in_batch spans the generation batch (4 micro-batches), given")
    for mcl in (6, 16, 1):
        b = gen_batch(4, 6)
        trl_direct_loss(f"dr_grpo/max_completion_length{mcl}", b, {"loss_type": "dr_grpo", "beta": 0.04,
                                                                    "max_completion_length": mcl})
    b = gen_batch(4, 5)
    trl_direct_loss("sapo/temperatures", b, {"loss_type": "sapo", "sapo_temperature_pos": 0.5,
                                             "sapo_temperature_neg": 2.0, "beta": 0.04})
    b = gen_batch(4, 5, adv=[0.0, 0.5, 0.0, -0.5])
    trl_direct_loss("sapo/zero_adv", b, {"loss_type": "sapo"})
    b = gen_batch(4, 6, spread=0.1)
    trl_direct_loss("vespo/params", b, {"loss_type": "vespo", "vespo_k_pos": 1.5, "vespo_lambda_pos": 2.5,
                                        "vespo_k_neg": 2.0, "vespo_lambda_neg": 1.0})
    b = gen_batch(4, 5)
    trl_direct_loss("cispo/eh1.5", b, {"loss_type": "cispo", "epsilon_high": 1.5})
    b = gen_batch(4, 5)
    trl_direct_loss("grpo/eps0.1_eh0.4", b, {"loss_type": "grpo", "epsilon": 0.1, "epsilon_high": 0.4})

    # 3. edge cases in every family
    for lt in LOSS_TYPES:
        base = {"loss_type": lt, "beta": 0.04, "epsilon_high": 0.28 if lt != "cispo" else 5.0,
                "max_completion_length": 8}
        trl_direct_loss(f"{lt}/edge/empty_row", gen_batch(4, 4, empty_rows=(0, 2)), base)
        trl_direct_loss(f"{lt}/edge/all_empty", gen_batch(2, 3, empty_rows=(0, 1)), base)
        trl_direct_loss(f"{lt}/edge/T1", gen_batch(4, 1), base)
        if lt in ("grpo", "dapo", "luspo"):
            trl_direct_loss(f"{lt}/edge/N2", gen_batch(2, 4), base)
        if lt in ("grpo", "sapo", "cispo"):
            trl_direct_loss(f"{lt}/edge/equal_adv", gen_batch(3, 4, adv=[0.75] * 3), base)
        trl_direct_loss(f"{lt}/edge/large_logratio", gen_batch(3, 4, big=True), base)
        trl_direct_loss(f"{lt}/edge/large_logratio/sequence", gen_batch(3, 4, big=True),
                        dict(base, importance_sampling_level="sequence"))
        trl_direct_loss(f"{lt}/edge/holes", gen_batch(3, 6, holes=True, lengths=[6, 5, 6]), base)
        trl_direct_loss(f"{lt}/edge/holes/sequence", gen_batch(3, 6, holes=True, lengths=[6, 1, 5]),
                        dict(base, importance_sampling_level="sequence", beta=0.0))

    # 4. pipeline: vLLM importance sampling, truncation, off-policy masking with sampler log-probs
    def sampler_for(b, sd):
        return [[dy(b["old"][i][j] + R.gauss(0, sd)) for j in range(b["T"])] for i in range(b["N"])]

    modes = [("token_truncate", 3.0, None), ("token_truncate", 1.2, 0.8), ("token_mask", 3.0, None),
             ("token_mask", 1.3, 0.7), ("sequence_truncate", 3.0, None), ("sequence_truncate", 1.5, 0.5),
             ("sequence_mask", 3.0, None), ("sequence_mask", 2.0, 0.5), ("token_mask", None, 0.8)]
    for k, (mode, cmax, cmin) in enumerate(modes):
        for lt in ("dapo",) if k == 3 else ("grpo",):
            b = gen_batch(4, 5, spread=0.2)
            opts = {"loss_type": lt, "beta": 0.04, "use_vllm": True, "vllm_importance_sampling_mode": mode,
                    "vllm_importance_sampling_clip_max": cmax, "vllm_importance_sampling_clip_min": cmin}
            trl_pipeline_loss(f"{lt}/vllm/{mode}/max{cmax}/min{cmin}", b, opts, sampler=sampler_for(b, 0.3), G=2)
    for mode in ("token_truncate", "token_mask"):
        b = gen_batch(4, 5, spread=0.1)
        trl_pipeline_loss(f"vespo/vllm/{mode}", b, {"loss_type": "vespo", "use_vllm": True,
                                                     "vllm_importance_sampling_mode": mode,
                                                     "vllm_importance_sampling_clip_max": 1.5,
                                                     "vllm_importance_sampling_clip_min": 0.7},
                          sampler=sampler_for(b, 0.2), G=2)
    for lt in ("grpo", "cispo"):
        b = gen_batch(4, 5, spread=0.2)
        trl_pipeline_loss(f"{lt}/vllm/sequence_mask/off_policy0.2", b,
                          {"loss_type": lt, "use_vllm": True, "off_policy_mask_threshold": 0.2},
                          sampler=sampler_for(b, 0.6), G=2)
    for lt in ("grpo", "luspo"):
        b = gen_batch(4, 5, spread=0.2)
        sampler = sampler_for(b, 0.3)
        sampler[1][0] = float("nan")
        sampler[3][b["lengths"][3] - 1] = float("nan")
        trl_pipeline_loss(f"{lt}/vllm/token_truncate/nan_sampler", b,
                          {"loss_type": lt, "use_vllm": True, "vllm_importance_sampling_mode": "token_truncate",
                           "off_policy_mask_threshold": 0.3},
                          sampler=sampler, G=2, note="NaN sampler log-probs (vLLM returned None)")
    b = gen_batch(4, 6, holes=True, lengths=[6, 5, 6, 4])
    trl_pipeline_loss("grpo/vllm/sequence_truncate/holes", b,
                      {"loss_type": "grpo", "beta": 0.04, "use_vllm": True,
                       "vllm_importance_sampling_mode": "sequence_truncate"}, sampler=sampler_for(b, 0.3), G=2,
                      note="holes via tool_mask (env_mask); the sequence IS ratio sums masked diffs")
    for lt in ("grpo", "dr_grpo", "dapo"):
        b = gen_batch(4, 5, lengths=[5, 3, 2, 5])
        trl_pipeline_loss(f"{lt}/mask_truncated", b,
                          {"loss_type": lt, "beta": 0.04, "mask_truncated_completions": True,
                           "max_completion_length": 8},
                          truncated=[0, 1, 0, 1], G=2,
                          note="truncated = last completion id not in eos+pad; TRL zeroes those mask rows")
    b = gen_batch(4, 5, lengths=[5, 3, 5, 2])
    trl_pipeline_loss("dapo/mask_truncated/vllm/token_mask", b,
                      {"loss_type": "dapo", "mask_truncated_completions": True, "use_vllm": True,
                       "vllm_importance_sampling_mode": "token_mask", "top_entropy_quantile": 0.5},
                      truncated=[1, 0, 0, 1], sampler=sampler_for(b, 0.3), G=2)
    b = gen_batch(6, 4, lengths=[4, 3, 4, 2, 4, 1])
    trl_pipeline_loss("grpo/pipeline/two_rewards", b,
                      {"loss_type": "grpo", "reward_weights": [0.5, 2.0], "scale_rewards": "batch"},
                      K=2, G=3, rewards=[dy(R.uniform(0, 1), 16) for _ in range(12)])

    # 5. advantages (GRPO)
    def rw(n, res=16):
        return [dy(R.uniform(0, 1), res) for _ in range(n)]

    for sr in ("group", "batch", "none"):
        trl_advantage(f"grpo/adv/{sr}/G4x3", rw(12), 4, {"scale_rewards": sr})
        trl_advantage(f"grpo/adv/{sr}/G2x5", rw(10), 2, {"scale_rewards": sr})
        trl_advantage(f"grpo/adv/{sr}/equal_group", [0.5] * 4 + rw(4) + [1.0] * 4, 4, {"scale_rewards": sr})
        trl_advantage(f"grpo/adv/{sr}/G2_equal", [0.25, 0.25, 0.0, 1.0], 2, {"scale_rewards": sr})
        trl_advantage(f"grpo/adv/{sr}/binary", [float(R.random() < 0.5) for _ in range(12)], 6,
                      {"scale_rewards": sr})
        trl_advantage(f"grpo/adv/{sr}/all_equal", [0.75] * 8, 4, {"scale_rewards": sr})
        nanr = rw(8)
        nanr[1] = float("nan")
        nanr[6] = float("nan")
        trl_advantage(f"grpo/adv/{sr}/nan", nanr, 4, {"scale_rewards": sr},
                      note="NaN = every reward function returned None (unscorable)")
        for agg in ("sum_then_normalize", "normalize_then_sum"):
            r2 = rw(16)
            trl_advantage(f"grpo/adv/{sr}/K2/{agg}", r2, 4, {"scale_rewards": sr,
                                                              "multi_objective_aggregation": agg,
                                                              "reward_weights": [1.5, 0.25]}, K=2)
            r3 = rw(18)
            r3[2 * 3 + 1] = float("nan")  # one function did not score sample 2
            r3[5 * 3 + 0] = r3[5 * 3 + 1] = r3[5 * 3 + 2] = float("nan")  # sample 5 unscorable
            trl_advantage(f"grpo/adv/{sr}/K3/{agg}/nan", r3, 3, {"scale_rewards": sr,
                                                                  "multi_objective_aggregation": agg,
                                                                  "reward_weights": [1.0, 0.5, 2.0]}, K=3)
    trl_advantage("grpo/adv/True", rw(8), 4, {"scale_rewards": True})
    trl_advantage("grpo/adv/False", rw(8), 4, {"scale_rewards": False})
    trl_advantage("grpo/adv/group/G8", rw(8, 1024), 8, {"scale_rewards": "group"})
    trl_advantage("grpo/adv/normalize_then_sum/equal_func", [0.5, 0.1, 0.5, 0.9, 0.5, 0.3, 0.5, 0.7], 4,
                  {"multi_objective_aggregation": "normalize_then_sum", "reward_weights": [1.0, 1.0]}, K=2)

    # 6. RLOO
    for beta in (0.0, 0.05):
        for norm in (False, True):
            rloo_advantage(f"rloo/adv/beta{beta}/norm{norm}", rw(12), 4, {"beta": beta,
                                                                          "normalize_advantages": norm})
    rloo_advantage("rloo/adv/G2", rw(6), 2, {"beta": 0.05})
    rloo_advantage("rloo/adv/clip", [dy(R.uniform(-2, 2), 16) for _ in range(8)], 4,
                   {"beta": 0.0, "reward_clip_range": (-1.0, 1.0)})
    nanr = rw(8)
    nanr[0] = float("nan")
    nanr[5] = nanr[6] = nanr[7] = float("nan")
    rloo_advantage("rloo/adv/nan", nanr, 4, {"beta": 0.0, "normalize_advantages": True},
                   note="group 2 has a single scorable completion: its advantage is 0/0 -> 0")
    rloo_advantage("rloo/adv/K2", rw(12), 3, {"beta": 0.05, "reward_weights": [0.5, 1.0]}, K=2)
    for eh in (None, 0.28):
        rloo_loss(f"rloo/loss/eh{eh}", gen_batch(5, 6, spread=0.15), {"epsilon_high": eh})
    rloo_loss("rloo/loss/empty_row", gen_batch(4, 5, empty_rows=(1,), spread=0.1), {})
    rloo_loss("rloo/loss/large", gen_batch(4, 5, big=True), {})


# ----------------------------------------------------------------------------------------------------
# Liger cases

LIGER_CASES = []
LIGER_OPT_KEYS = ["beta", "epsilon_low", "epsilon_high", "loss_type", "max_completion_length",
                  "importance_sampling_level", "sapo_temperature_pos", "sapo_temperature_neg", "delta",
                  "use_bias_correction_kl", "vespo_k_pos", "vespo_lambda_pos", "vespo_k_neg", "vespo_lambda_neg"]
# Liger's own defaults (LigerFusedLinearGRPOLoss.__init__)
LIGER_DEFAULTS = {k: p.default for k, p in inspect.signature(liger_grpo.LigerFusedLinearGRPOLoss.__init__).parameters.items()
                  if k in LIGER_OPT_KEYS}
assert set(LIGER_DEFAULTS) == set(LIGER_OPT_KEYS)


def liger_opts(o, **extra):
    """Options of this loss type (Liger's names), plus any other that differs from Liger's default."""
    lt = o["loss_type"]
    keys = ["loss_type", "beta", "importance_sampling_level"]
    if lt in CLIP_TYPES:
        keys += ["epsilon_low", "epsilon_high", "delta"]
    if lt == "cispo":
        keys += ["epsilon_high"]
    if lt == "sapo":
        keys += ["sapo_temperature_pos", "sapo_temperature_neg"]
    if lt == "vespo":
        keys += ["vespo_k_pos", "vespo_lambda_pos", "vespo_k_neg", "vespo_lambda_neg"]
    if lt == "dr_grpo":
        keys += ["max_completion_length"]
    if o["beta"] != 0.0:
        keys += ["use_bias_correction_kl"]
    keys += [k for k in LIGER_OPT_KEYS if o[k] != LIGER_DEFAULTS[k] and k not in keys]
    rec = {k: o[k] for k in keys}
    if lt in ("dapo", "cispo", "vespo") or extra.get("num_items_in_batch") is not None:
        rec["num_items_in_batch"] = extra.pop("num_items_in_batch", None)
    extra.pop("num_items_in_batch", None)
    rec.update(extra)
    return rec


def liger_metrics(metrics, beta):
    names = (["kl"] if beta != 0.0 else []) + ["clip_ratio"]
    assert len(metrics) == len(names)
    return {n: float(m) for n, m in zip(names, metrics)}


def liger_logps(cid, b, opts, *, old_null=False, ref_null=False, is_ratio=None, num_items=None):
    o = dict(LIGER_DEFAULTS)
    o.update(opts)
    N, T = b["N"], b["T"]
    logp = t2(b["logp"]).requires_grad_(True)
    mask = tl(b["mask"])
    adv = t2(b["advantages"])
    old = None if old_null else t2(b["old"])
    ref = None if ref_null else t2(b["ref"])
    isr = None if is_ratio is None else t2(is_ratio)
    loss, metrics = LigerFusedLinearPPOBase._compute_loss_from_logps(
        logp, mask, adv, ref_per_token_logps_chunk=ref, old_per_token_logps_chunk=old, vllm_is_ratio_chunk=isr,
        full_attention_mask=mask, ppo_loss_fn=liger_grpo.LigerFusedLinearGRPOFunction.ppo_loss_fn,
        num_items_in_batch=num_items, **{k: o[k] for k in LIGER_OPT_KEYS})
    loss.backward()
    case = {
        "kind": "policy_loss", "id": cid,
        "call": "liger_kernel.chunked_loss.fused_linear_ppo.LigerFusedLinearPPOBase._compute_loss_from_logps",
        "options": liger_opts(o, num_items_in_batch=num_items),
        "N": N, "T": T, "logp": flat(logp), "old": None if old_null else flat(old),
        "ref": None if ref_null else flat(ref), "mask": flat_int(mask), "advantages": list(b["advantages"]),
        "loss": scalar(loss),
        "dlogp": flat(logp.grad), "metrics": liger_metrics(metrics, o["beta"]),
    }
    if isr is not None:
        case["is_ratio"] = flat(isr)
        case["is_ratio_shape"] = list(isr.shape)
    LIGER_CASES.append(case)


def liger_fused(cid, N, T, H, V, opts, *, chunk_size=1, temperature=1.0, with_old=True, ref_mode="logps",
                lengths=None, bias=False):
    """LigerFusedLinearGRPOLoss (compiled=False) on hidden states + lm_head weight, float32."""
    o = dict(LIGER_DEFAULTS)
    o.update(opts)
    b = gen_batch(N, T, lengths=lengths)
    hidden = torch.tensor([[[dy(R.uniform(-1, 1), 16) for _ in range(H)] for _ in range(T)] for _ in range(N)],
                          dtype=torch.float32, requires_grad=True)
    weight = torch.tensor([[dy(R.uniform(-1, 1), 16) for _ in range(H)] for _ in range(V)], dtype=torch.float32,
                          requires_grad=True)
    bias_t = (torch.tensor([dy(R.uniform(-0.5, 0.5), 16) for _ in range(V)], dtype=torch.float32,
                           requires_grad=True) if bias else None)
    ids = torch.tensor([[R.randrange(V) for _ in range(T)] for _ in range(N)], dtype=torch.long)
    mask = tl(b["mask"])
    adv = torch.tensor(b["advantages"], dtype=torch.float32)
    captured, grads = [], {}
    orig = LigerFusedLinearPPOBase.chunk_forward

    def spy(input_chunk, w, sel, bias=None, temperature=1.0):
        out = orig(input_chunk, w, sel, bias=bias, temperature=temperature)
        if out.requires_grad:
            k = len(captured)
            captured.append(out.detach().clone())
            out.register_hook(lambda g, k=k: grads.__setitem__(k, g.detach().clone()))
        return out

    LigerFusedLinearPPOBase.chunk_forward = staticmethod(spy)
    torch.set_default_dtype(torch.float32)  # as in training: Liger's metric accumulators follow the default dtype
    try:
        mod = liger_grpo.LigerFusedLinearGRPOLoss(compiled=False, chunk_size=chunk_size, temperature=temperature,
                                                  use_ref_model=o["beta"] != 0.0,
                                                  **{k: o[k] for k in LIGER_OPT_KEYS})
        # old/ref: float32 log-probs (ref_mode "hidden": Liger computes ref from ref_input/ref_weight itself)
        old = torch.tensor(b["old"], dtype=torch.float32) if with_old else None
        ref = torch.tensor(b["ref"], dtype=torch.float32) if o["beta"] != 0.0 and ref_mode == "logps" else None
        ref_input = ref_weight = None
        if o["beta"] != 0.0 and ref_mode == "hidden":
            ref_input = torch.tensor([[[dy(R.uniform(-1, 1), 16) for _ in range(H)] for _ in range(T)]
                                      for _ in range(N)], dtype=torch.float32)
            ref_weight = weight.detach().clone()
        loss, metrics = mod(hidden, weight, ids, mask, adv, bias=bias_t, ref_per_token_logps=ref,
                            old_per_token_logps=old, ref_input=ref_input, ref_weight=ref_weight)
        loss.backward()
    finally:
        LigerFusedLinearPPOBase.chunk_forward = staticmethod(orig)
        torch.set_default_dtype(torch.float64)
    logp = torch.cat(captured, 0)
    dlogp = torch.cat([grads[k] for k in range(len(captured))], 0)
    case = {
        "kind": "policy_loss", "id": cid,
        "call": "liger_kernel.chunked_loss.grpo_loss.LigerFusedLinearGRPOLoss.forward",
        "options": liger_opts(o, compiled=False, chunk_size=chunk_size,
                        temperature=temperature, use_ref_model=o["beta"] != 0.0),
        "dtype": "float32", "N": N, "T": T, "H": H, "V": V, "temperature": temperature,
        "hidden": flat(hidden), "weight": flat(weight), "selected_ids": flat_int(ids),
        "bias": flat(bias_t) if bias else None,
        "logp": flat(logp), "old": flat(old) if with_old else None, "ref": flat(ref) if ref is not None else None,
        "ref_hidden": flat(ref_input) if ref_input is not None else None,
        "mask": flat_int(mask), "advantages": [float(x) for x in adv.tolist()],
        "loss": scalar(loss), "dlogp": flat(dlogp), "dhidden": flat(hidden.grad), "dweight": flat(weight.grad),
        "metrics": liger_metrics(metrics, o["beta"]),
    }
    if bias:
        case["dbias"] = flat(bias_t.grad)
    LIGER_CASES.append(case)


def liger_kl(cid, N, T, big=False):
    b = gen_batch(N, T, big=big)
    logp = t2(b["logp"]).requires_grad_(True)
    ref = t2(b["ref"])
    v = liger_grpo.k3_loss_fn(ref, logp)
    v.sum().backward()
    LIGER_CASES.append({
        "kind": "kl", "id": cid, "call": "liger_kernel.chunked_loss.grpo_loss.k3_loss_fn(ref, logp)",
        "options": {"estimator": "k3", "argument_order": "k3_loss_fn(log_p=ref, log_q=logp)"},
        "N": N, "T": T, "logp": flat(logp), "ref": flat(ref), "value": flat(v), "dvalue": flat(logp.grad),
    })


def build_liger():
    # sweep
    for lt in LOSS_TYPES:
        if lt in CLIP_TYPES:
            combos = [(0.0, "token", 0.2), (0.04, "token", 0.2), (0.04, "token", 0.28), (0.0, "sequence", 0.2),
                      (0.04, "sequence", 0.2)]
        elif lt == "cispo":
            combos = [(0.0, "token", 5.0), (0.04, "token", 5.0), (0.04, "token", 1.5)]
        else:
            combos = [(0.0, "token", 0.2), (0.04, "token", 0.2)]
        for beta, lvl, eh in combos:
            b = gen_batch(4, 5, empty_rows=(2,) if lt in ("grpo", "dapo", "luspo") and beta else ())
            liger_logps(f"{lt}/beta{beta}/{lvl}/eh{eh}", b,
                        {"loss_type": lt, "beta": beta, "importance_sampling_level": lvl,
                         "epsilon_high": eh, "max_completion_length": 8})
    # options
    for lt in ("grpo", "dapo", "bnpo", "luspo", "cispo", "sapo"):
        b = gen_batch(4, 5)
        liger_logps(f"{lt}/bias_kl", b, {"loss_type": lt, "beta": 0.04, "use_bias_correction_kl": True,
                                         "epsilon_high": 5.0 if lt == "cispo" else 0.28})
    for lt in ("grpo", "luspo"):
        b = gen_batch(4, 5)
        liger_logps(f"{lt}/sequence/bias_kl", b, {"loss_type": lt, "beta": 0.04, "use_bias_correction_kl": True,
                                                  "importance_sampling_level": "sequence"})
    for lt, delta in (("grpo", 1.5), ("dapo", 1.5), ("grpo", 1.1)):
        if True:
            b = gen_batch(4, 5, spread=0.5)
            liger_logps(f"{lt}/delta{delta}", b, {"loss_type": lt, "beta": 0.04, "delta": delta,
                                                  "epsilon_high": 0.28})
    for lt in ("grpo", "dapo", "luspo", "cispo", "vespo"):
        for shape in ("token", "seq"):
            b = gen_batch(4, 5)
            if shape == "token":
                isr = [[dy(R.uniform(0.3, 2.0)) for _ in range(5)] for _ in range(4)]
            elif shape == "seq":
                isr = [[dy(R.uniform(0.3, 2.0))] for _ in range(4)]
            if lt == "vespo" and shape != "token":
                continue
            liger_logps(f"{lt}/vllm_is_ratio/{shape}", b, {"loss_type": lt, "beta": 0.04,
                                                            "epsilon_high": 5.0 if lt == "cispo" else 0.2},
                        is_ratio=isr)
    for lt in ("dapo", "cispo", "vespo"):
        b = gen_batch(4, 5)
        liger_logps(f"{lt}/num_items_in_batch", b, {"loss_type": lt, "beta": 0.0,
                                                     "epsilon_high": 5.0 if lt == "cispo" else 0.2},
                    num_items=sum(map(sum, b["mask"])) * 3 + 2)
    for mcl in (6, 16):
        liger_logps(f"dr_grpo/max_completion_length{mcl}", gen_batch(4, 6),
                    {"loss_type": "dr_grpo", "max_completion_length": mcl})
    for lt in LOSS_TYPES:
        liger_logps(f"{lt}/old_null", gen_batch(4, 5), {"loss_type": lt, "beta": 0.04, "max_completion_length": 8,
                                                        "epsilon_high": 5.0 if lt == "cispo" else 0.2},
                    old_null=True)
    liger_logps("grpo/ref_null", gen_batch(4, 5), {"loss_type": "grpo", "beta": 0.04}, ref_null=True)
    liger_logps("sapo/temperatures", gen_batch(4, 6), {"loss_type": "sapo", "sapo_temperature_pos": 0.5,
                                                       "sapo_temperature_neg": 2.0, "beta": 0.04})
    liger_logps("vespo/params", gen_batch(4, 6, spread=0.1),
                {"loss_type": "vespo", "vespo_k_pos": 1.5, "vespo_lambda_pos": 2.5, "vespo_k_neg": 2.0,
                 "vespo_lambda_neg": 1.0, "beta": 0.0})
    # edges
    for lt in LOSS_TYPES:
        base = {"loss_type": lt, "beta": 0.04, "epsilon_high": 5.0 if lt == "cispo" else 0.28,
                "max_completion_length": 8}
        liger_logps(f"{lt}/edge/empty_row", gen_batch(4, 4, empty_rows=(0, 2)), base)
        liger_logps(f"{lt}/edge/all_empty", gen_batch(2, 3, empty_rows=(0, 1)), base)
        liger_logps(f"{lt}/edge/T1", gen_batch(4, 1), base)
        liger_logps(f"{lt}/edge/large_logratio", gen_batch(3, 4, big=True), base)
        liger_logps(f"{lt}/edge/holes", gen_batch(3, 6, holes=True, lengths=[6, 5, 6]), base)
        if lt not in ("cispo", "sapo", "vespo"):
            liger_logps(f"{lt}/edge/holes/sequence", gen_batch(3, 6, holes=True, lengths=[6, 1, 5]),
                        dict(base, importance_sampling_level="sequence"))
            liger_logps(f"{lt}/edge/large_logratio/sequence", gen_batch(3, 4, big=True),
                        dict(base, importance_sampling_level="sequence"))
    # fused module, float32
    liger_fused("fused/dapo/beta0.04/chunk1", 3, 4, 4, 8, {"loss_type": "dapo", "beta": 0.04})
    liger_fused("fused/grpo/beta0/chunk2/T0.7", 4, 3, 4, 8, {"loss_type": "grpo", "beta": 0.0}, chunk_size=2,
                temperature=0.7, lengths=[3, 2, 0, 3])
    liger_fused("fused/bnpo/beta0.04/old_null/chunk4", 3, 4, 5, 7, {"loss_type": "bnpo", "beta": 0.04},
                chunk_size=4, with_old=False)
    liger_fused("fused/grpo/sequence/ref_hidden", 3, 4, 4, 8,
                {"loss_type": "grpo", "beta": 0.04, "importance_sampling_level": "sequence"}, ref_mode="hidden")
    liger_fused("fused/cispo/bias", 3, 4, 4, 8, {"loss_type": "cispo", "beta": 0.0, "epsilon_high": 1.1},
                bias=True)
    liger_fused("fused/dr_grpo/T1.5", 2, 6, 4, 10, {"loss_type": "dr_grpo", "beta": 0.04,
                                                    "max_completion_length": 8}, temperature=1.5)
    # kl
    liger_kl("k3/random", 4, 6)
    liger_kl("k3/large", 3, 5, big=True)


# ----------------------------------------------------------------------------------------------------

TRL_NOTES = [
    "Every number is computed by trl==1.16.0's own methods, in float64 (torch default dtype set to float64, "
    "1 thread, CPU, one process: accelerate.Accelerator(cpu=True)).",
    "The trainer object is GRPOTrainer.__new__(GRPOTrainer) (RLOOTrainer.__new__ for rloo/*) with the attributes "
    "__init__ would set from a real GRPOConfig/RLOOConfig built with the case's options (epsilon_low = epsilon, "
    "epsilon_high = epsilon_high or epsilon, ...); model = a stand-in with training=True (mode 'train'), "
    "current_gradient_accumulation_steps = gradient_accumulation_steps, num_processes = 1. options: the config "
    "values TRL used (after GRPOConfig.__post_init__) that matter for the case's loss_type, plus every other option "
    "that differs from GRPOConfig's default (option_defaults, read from a default GRPOConfig), plus "
    "epsilon_high_effective (= epsilon_high or epsilon; for cispo it is the raw upper bound of the ratio).",
    "policy_loss with call GRPOTrainer._compute_loss: _get_per_token_logps_and_entropies monkeypatched on the "
    "instance to return (logp [a float64 leaf requiring grad], entropy, None). inputs: completion_mask = long prefix "
    "mask up to the last valid token, tool_mask = the mask when it has holes (TRL: mask = completion_mask * "
    "tool_mask), advantages [N], old_per_token_logps = old (absent when old is null: TRL uses logp.detach()), "
    "ref_per_token_logps = ref (beta != 0), num_items_in_batch (0-dim long; = mask.sum() unless the case's "
    "num_items_in_batch says otherwise). loss = the returned tensor (already divided by "
    "current_gradient_accumulation_steps where TRL does so); dlogp = d loss / d logp by autograd.",
    "policy_loss with call '_generate_and_score_completions + _compute_loss' (pipeline): _generate patched to "
    "return completion ids of the given lengths (last id = EOS unless truncated[i]), tool masks for holes and "
    "the vLLM sampler log-probs (sampler_logp, masked positions written 0 as TRL pads), _calculate_rewards "
    "patched to return rewards [N*num_rewards], _get_per_token_logps_and_entropies returning old / ref. TRL "
    "computes advantages (recorded as advantages), the mask (truncated rows zeroed; recorded as mask), "
    "num_items_in_batch, the vLLM IS ratio (recorded as is_ratio, [N*T] for token_* modes, [N] for sequence_*); "
    "its output is then passed unchanged to _compute_loss. mask_before_truncation: the mask before TRL zeroed "
    "truncated rows.",
    "metrics: every value appended to trainer._metrics['train'] during the calls, under TRL's names "
    "('num_tokens' omitted). TRL computes the clip metrics with .float() (float32) and the entropy quantile of "
    "top_entropy_quantile in float32: entropy inputs are multiples of 1/16 and log-probs multiples of 1/64 so "
    "that the float32 casts are exact on inputs.",
    "dentropy (cases with entropy_coef != 0): d loss / d entropy (entropy given as a leaf).",
    "TRL builds the sampler log-probs with torch.tensor (default dtype: float32 in a real run, float64 here) "
    "and keeps rewards_per_func in the default dtype; everything else in the loss follows the log-probs' dtype.",
    "advantage cases: GRPOTrainer._generate_and_score_completions with beta=0 and no vLLM (no log-prob call); "
    "rewards [N*num_rewards] row-major (sample-major), NaN = the reward function returned None; reward_weights "
    "exact in float32 (TRL stores them as float32). metrics: reward, reward_std, frac_reward_zero_std, "
    "rewards/r{k}/mean|std as TRL logs them. options.scale_rewards is the value after GRPOConfig.__post_init__ "
    "(scale_rewards_passed: the bool passed).",
    "rloo advantage cases: RLOOTrainer._generate_and_score_completions; logp_old/logp_ref are what the patched "
    "_get_per_token_logps_and_entropies returned for the policy/reference; mask = completion mask (prefix of "
    "lengths); old_logps_seq = the sum of old over the mask that RLOO stores for its loss.",
    "rloo policy_loss cases: RLOOTrainer._compute_loss with inputs old_logps = (old*mask).sum(1) (old_logps_seq).",
    "No TRL kl cases: TRL has no standalone per-token KL function; its k3 term is inline in _compute_loss.",
    "Extra keys: num_items_in_batch (policy_loss: the value in inputs, dapo/cispo/vespo normalizer), is_ratio, "
    "lengths (completion lengths given to the generator), group_size/rewards/num_rewards (pipeline), "
    "mask_before_truncation, dentropy, old_logps_seq (RLOO), note (free text), metrics on advantage cases, "
    "file-level option_defaults and dependencies (versions of transformers/accelerate/datasets in the venv).",
    "Values at masked positions of logp/old/ref/entropy are random (TRL's own model forward writes 0 there); "
    "TRL masks them everywhere, so they must not change loss, gradient or metrics.",
]

LIGER_NOTES = [
    "Every number is computed by liger-kernel==0.8.5's own code (liger_kernel/chunked_loss/grpo_loss.py, "
    "fused_linear_ppo.py) on CPU with torch 2.15.0, 1 thread.",
    "policy_loss with call LigerFusedLinearPPOBase._compute_loss_from_logps: the function LigerFusedLinearGRPOLoss "
    "runs per chunk, called once on the whole batch (full_attention_mask = mask) with "
    "ppo_loss_fn=LigerFusedLinearGRPOFunction.ppo_loss_fn and the options given; logp is a float64 leaf; "
    "ref/old are cast by Liger with .float() (float32): inputs are multiples of 1/64 so the cast is exact; the "
    "dapo/cispo/vespo normalizer is float32 in Liger (an integer, exact). dlogp = autograd in float64. "
    "ref null = ref_per_token_logps None (Liger then uses logp.detach()); old null = old None (logp.detach()).",
    "is_ratio: vllm_is_ratio passed as given, shape is_ratio_shape ([N,T], [N,1] or [N]); Liger multiplies the "
    "per-token loss by it (vespo: folds it into the gamma weight instead).",
    "options.num_items_in_batch: passed to the loss (dapo/cispo/vespo normalizer = num_items_in_batch / world "
    "size, world size 1); null = Liger uses mask.sum().",
    "metrics: Liger returns a list [kl (only when beta != 0), clip_ratio]; named here 'kl' and 'clip_ratio'. Both "
    "are sums over valid tokens divided by max(full_attention_mask.sum(), 1).",
    "policy_loss with call LigerFusedLinearGRPOLoss.forward (dtype float32): the module built with compiled=False "
    "(torch.compile off; the compiled path runs the same math), chunk_size and temperature as given, on hidden "
    "[N*T*H], weight [V*H] (bias [V] if given), selected_ids [N*T], old/ref float32 logps (or ref_hidden [N*T*H] "
    "with ref_weight = weight when ref is null and beta != 0). logp: per-token log-probs Liger computed "
    "(LigerFusedLinearPPOBase.chunk_forward wrapped to record its output), dlogp: the gradient Liger's own "
    "torch.autograd.grad sent into them (tensor hook), dhidden/dweight/dbias: the gradients Liger returns. All "
    "float32.",
    "kl cases: liger_kernel.chunked_loss.grpo_loss.k3_loss_fn(ref, logp) = exp(ref-logp) - (ref-logp) - 1, "
    "value elementwise, dvalue = d value / d logp elementwise (autograd of the sum).",
    "options: the module/function arguments (Liger's names) that matter for the loss_type, plus any that differ "
    "from Liger's defaults (option_defaults, read from LigerFusedLinearGRPOLoss.__init__'s signature).",
    "Extra keys: is_ratio, is_ratio_shape; fused cases: dtype, H, V, temperature, hidden, weight, bias, "
    "selected_ids, ref_hidden, dhidden, dweight, dbias.",
]


def write(path, peer, dist, notes, cases):
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    head = {"format": 1, "peer": peer, "package": package_record(dist), "torch": torch.__version__.split("+")[0],
            "generator": GENERATOR, "seed": SEED, "notes": notes}
    head["option_defaults"] = grpo_defaults() if peer == "trl" else LIGER_DEFAULTS
    if peer == "trl":
        head["dependencies"] = {d: md.version(d) for d in ("transformers", "accelerate", "datasets")}
    body = json.dumps(head, separators=(", ", ": "))[:-1]
    lines = [json.dumps(c, separators=(",", ":")) for c in cases]
    text = body + ', "cases": [\n' + ",\n".join(lines) + "\n]}\n"
    json.loads(text)  # round-trip check
    with open(path, "w") as f:
        f.write(text)
    print(f"{path}: {len(cases)} cases, {len(text)} bytes")


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    build_trl()
    write(os.path.join(OUT_DIR, "trl.json"), "trl", "trl", TRL_NOTES, TRL_CASES)
    build_liger()
    write(os.path.join(OUT_DIR, "liger.json"), "liger", "liger-kernel", LIGER_NOTES, LIGER_CASES)
    kinds = defaultdict(int)
    for c in TRL_CASES + LIGER_CASES:
        kinds[(c["call"].split(".")[0], c["kind"])] += 1
    print(dict(kinds))


if __name__ == "__main__":
    sys.exit(main())
