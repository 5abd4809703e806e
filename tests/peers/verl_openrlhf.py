"""Golden fixtures from verl's and OpenRLHF's own code (run by hand, not in CI).

    build/peers/venv/bin/python tests/peers/verl_openrlhf.py      # from the repository root

writes tests/peers/fixtures/verl.json and tests/peers/fixtures/openrlhf.json (format 1, see
tests/peers/README.md). Pinned: verl==0.9.1, openrlhf==0.11.2 (both installed with --no-deps),
torch 2.15.0 (CPU, 1 thread), tensordict 0.10.0, omegaconf, codetiming. Every number in the fixtures
comes from the peers' own functions; this script only builds inputs (random.Random(SEED), rounded to
4 decimals so they are short and exact), calls the peers and records what they return. float64
everywhere the peer keeps the dtype (OpenRLHF casts some things to float32 itself, see below).

Imports. Neither package can be imported whole without ray/vllm/deepspeed/flash-attn/megatron, so:
* a meta-path finder stubs these top-level modules: ray, deepspeed, vllm, flash_attn, peft,
  transformers, PIL, wandb, accelerate, datasets, bitsandbytes, torchdata, torchvision, liger_kernel,
  megatron, mbridge, qwen_vl_utils, torchcodec, sglang, transfer_queue, tensorboard. Any attribute of
  a stub is a dummy object. None of the functions called below uses them (they are type hints,
  decorators and module-level imports of unrelated code).
* these packages are registered with their real directory as __path__ but WITHOUT running their
  __init__.py (which import the heavy stack): verl, verl.utils.dataset, openrlhf.models,
  openrlhf.utils, openrlhf.trainer.ray. Submodules (core_algos.py, losses.py, loss.py, utils.py,
  ppo_actor.py, experience_maker.py, ...) are the real installed files.
* openrlhf.trainer.ray.launcher, openrlhf.utils.deepspeed(.deepspeed_utils) are replaced by tiny
  modules holding dummies (RayActorGroup, BaseModelActor, DeepspeedStrategy, offload/reload);
  openrlhf.models gets PolicyLoss/aggregate_loss from the real openrlhf/models/loss.py.

How the peers are called (file:line refer to the installed site-packages)
------------------------------------------------------------------------
verl policy_loss: verl.workers.utils.losses.ppo_loss(config, model_output, data) itself (losses.py:57),
the loss function the FSDP/Megatron engines call once per micro-batch (engine/fsdp/transformer_impl.py:
1576). config = verl.workers.config.ActorConfig(strategy="fsdp", rollout_n=1, ppo_mini_batch_size=N,
ppo_micro_batch_size_per_gpu=N, <case options>, policy_loss=PolicyLossConfig(...)). data = a
TensorDict as the engine builds it: prompts [N,1], responses [N,T], attention_mask [N,1+T] (response
part = 1 up to the last valid token of the mask), response_mask, old_log_probs, advantages (token
level [N,T]), ref_log_prob (use_kl_loss), rollout_is_weights (decoupled rollout correction), and the
non-tensor entries the engine assigns for one process / one micro-batch = the whole mini-batch:
dp_size=1, batch_num_tokens=int(response_mask.sum()) (fsdp transformer_impl.py:730-735, loss_mask =
response_mask, padding.py:71), global_batch_size=N (= ppo_mini_batch_size*rollout.n,
ray_trainer.py:1352-1362 / v1/trainer_base.py:1829-1851). model_output["log_probs"] (and "entropy") is the
flat no-padding tensor the model would return: per row [logp[i,:L_i], 0] with L_i = last valid
position + 1, so no_padding_2_padding (padding.py:97) slices exactly logp[i,:L_i] and zero-pads the
rest (as verl does). logp is a float64 leaf; dlogp = autograd of the returned loss. metrics = every
metric ppo_loss returns (Metric objects aggregated: one value each) under the names the trainer logs
after rename_dict(..., "actor/") (ray_trainer.py:1371): "kl_loss" -> "actor/kl_loss", "kl_coef" ->
"actor/kl_coef".
  Decoupled rollout correction (options.rollout_correction, bypass_mode false): the trainer first
calls rollout_corr_helper.compute_rollout_correction_and_add_to_batch(batch, cfg) (v1/trainer_base.py
:1771) on a DataProto holding old_log_probs, rollout_log_probs (= sampler_logp) and response_mask;
the returned response_mask (rejection sampling applied; recorded as mask_after_rs) and
rollout_is_weights go into ppo_loss; its "rollout_corr/..." metrics are merged into metrics.
  Bypass mode (policy_loss.loss_mode = "bypass_mode"): the trainer sets old_log_probs =
rollout_log_probs (rollout_corr_helper.py:1109); the fixture's old and sampler_logp are that array.
verl advantage: ray_trainer.compute_advantage (ray_trainer.py:187) and, for use_kl_in_reward,
ray_trainer.apply_kl_penalty (ray_trainer.py:78) are compiled from the installed file's source with
ast (ray_trainer.py itself cannot be imported without the full stack) and run on a duck-typed
DataProto (batch = dict of tensors, non_tensor_batch = {"uid": object array}). token_level_rewards
= the score placed on the last valid token of each row (the reward managers' placement), zero rows
get no reward. AlgoConfig(...) carries the options. Output token_advantages/returns [N,T].
verl kl: core_algos.kl_penalty(logp, ref, mode) elementwise; dvalue = autograd of value.sum().
OpenRLHF policy_loss: the real ActorPPOTrainer.training_step (trainer/ray/ppo_actor.py:259) on an
object made with ActorPPOTrainer.__new__: actor_loss_fn = PolicyLoss(...) built exactly as __init__
does (ppo_actor.py:76-86: token_level_loss = loss_agg_mode == "token-mean"); self.actor is a stand-in
returning (logp * action_mask.float(), output) as Actor.forward does (models/actor.py:298) with
output.entropy = the case's entropy; strategy.backward = loss.backward(); loss_batch_info from the real
openrlhf.utils.loss_utils.iter_grad_accum_global_norm over this one micro-batch (gas 1, one process:
dp_size=1, batch_num_tokens = mask.sum() and global_batch_size = number of non-empty rows, both
float32 0-dim tensors). kl_ctl = algo.kl.init_coef (FixedKLController.value). Experience.action_mask
is bool; old/ref/sampler arrays are zero at masked positions (they come from Actor.forward too).
metrics = every tensor training_step logs (status["metrics"] minus actor_lr/actor_grad_norm), raw
(before ppo_train's float32 mean).
OpenRLHF advantage: make_experience's KL part (experience_maker.py:205-227: compute_approx_kl on the
rollout-time logp_old vs logp_ref with algo.kl.estimator, only when not algo.kl.use_loss) then the real
RemoteExperienceMaker.compute_advantages_and_returns([experience]) (experience_maker.py:238) on an
object made with __new__ (strategy.args = the options, kl_ctl = FixedKLController(init_coef)). One
Experience with all N samples, index = 0..N-1.
OpenRLHF kl: openrlhf.models.utils.compute_approx_kl(logp, ref, log_probs_old=old, kl_estimator,
unbiased_gradient) elementwise; dvalue = autograd of value.sum(). Computed in float32 by OpenRLHF.
"""

import ast
import hashlib
import json
import os
import random
import sys
import types
import importlib.abc
import importlib.machinery
from importlib import metadata
from types import SimpleNamespace as NS

SEED = 20260301
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")
SP = next(p for p in sys.path if p.endswith("site-packages") and os.path.isdir(os.path.join(p, "verl")))

# ----------------------------------------------------------------------------- import stubs
STUB_ROOTS = {"ray", "deepspeed", "vllm", "flash_attn", "peft", "transformers", "PIL", "wandb", "accelerate",
              "datasets", "bitsandbytes", "torchdata", "torchvision", "liger_kernel", "megatron", "mbridge",
              "qwen_vl_utils", "torchcodec", "sglang", "transfer_queue", "tensorboard"}


class _Meta(type):
    def __getattr__(cls, n):
        if n.startswith("__"):
            raise AttributeError(n)
        return _Dummy()


class _Dummy(metaclass=_Meta):
    def __init__(self, *a, **k):
        pass

    def __call__(self, *a, **k):
        if len(a) == 1 and callable(a[0]) and not k:
            return a[0]
        return _Dummy()

    def __getattr__(self, n):
        if n.startswith("__"):
            raise AttributeError(n)
        return _Dummy()

    def __class_getitem__(cls, item):
        return cls

    def __getitem__(self, item):
        return _Dummy()

    def __iter__(self):
        return iter(())

    def __bool__(self):
        return False


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in STUB_ROOTS:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        m = types.ModuleType(spec.name)
        m.__path__ = []

        def ga(n):
            if n.startswith("__"):
                raise AttributeError(n)
            return _Dummy if n[:1].isupper() else _Dummy()

        m.__getattr__ = ga
        return m

    def exec_module(self, m):
        pass


sys.meta_path.insert(0, _StubFinder())


def _bare_package(name):
    m = types.ModuleType(name)
    m.__path__ = [os.path.join(SP, *name.split("."))]
    sys.modules[name] = m
    return m


def _module(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m


BARE = ["verl", "verl.utils.dataset", "openrlhf.models", "openrlhf.utils", "openrlhf.trainer.ray"]
for _p in BARE:
    _bare_package(_p)
_module("openrlhf.trainer.ray.launcher", RayActorGroup=_Dummy, BaseModelActor=_Dummy)
_module("openrlhf.utils.deepspeed", DeepspeedStrategy=_Dummy).__path__ = []
_module("openrlhf.utils.deepspeed.deepspeed_utils", offload_deepspeed_states=_Dummy(), reload_deepspeed_states=_Dummy())

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)
F64 = torch.float64

# verl
import verl.protocol as verl_protocol  # noqa: E402

sys.modules["verl"].DataProto = verl_protocol.DataProto
import verl.trainer.ppo.core_algos as core_algos  # noqa: E402
import verl.utils.torch_functional as verl_F  # noqa: E402
from verl.trainer.config import AlgoConfig  # noqa: E402
from verl.trainer.config.algorithm import RolloutCorrectionConfig  # noqa: E402
from verl.trainer.ppo import rollout_corr_helper  # noqa: E402
from verl.utils import tensordict_utils as tu  # noqa: E402
from verl.utils.metric import Metric  # noqa: E402
from verl.workers.config.actor import ActorConfig, PolicyLossConfig  # noqa: E402
from verl.workers.utils.losses import ppo_loss  # noqa: E402
from tensordict import TensorDict  # noqa: E402

# OpenRLHF
import openrlhf.models.loss as orl_loss  # noqa: E402
import openrlhf.models.utils as orl_utils  # noqa: E402

sys.modules["openrlhf.models"].PolicyLoss = orl_loss.PolicyLoss
sys.modules["openrlhf.models"].aggregate_loss = orl_loss.aggregate_loss
sys.modules["openrlhf.models"].Actor = _Dummy
sys.modules["openrlhf.utils"].get_tokenizer = _Dummy()
from openrlhf.trainer.ray.ppo_actor import ActorPPOTrainer  # noqa: E402
from openrlhf.trainer.ppo_utils.experience import Experience  # noqa: E402
from openrlhf.trainer.ppo_utils.experience_maker import RemoteExperienceMaker  # noqa: E402
from openrlhf.trainer.ppo_utils.kl_controller import FixedKLController as OrlFixedKL  # noqa: E402
from openrlhf.utils.loss_utils import iter_grad_accum_global_norm  # noqa: E402

# verl trainer functions compiled from the installed ray_trainer.py source (not importable whole).
_RT_PATH = os.path.join(SP, "verl", "trainer", "ppo", "ray_trainer.py")


def _load_functions(path, names, namespace):
    src = open(path).read()
    tree = ast.parse(src)
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in names:
            found[node.name] = node.lineno
            mod = ast.Module(body=[node], type_ignores=[])
            exec(compile(mod, path, "exec"), namespace)
    assert set(found) == set(names), found
    return found


from typing import Optional  # noqa: E402

_RT_NS = {"core_algos": core_algos, "AdvantageEstimator": core_algos.AdvantageEstimator,
          "DataProto": verl_protocol.DataProto, "AlgoConfig": AlgoConfig, "Optional": Optional, "torch": torch,
          "np": np, "masked_mean": verl_F.masked_mean}
RT_LINES = _load_functions(_RT_PATH, ["apply_kl_penalty", "compute_advantage"], _RT_NS)
verl_compute_advantage = _RT_NS["compute_advantage"]
verl_apply_kl_penalty = _RT_NS["apply_kl_penalty"]


# ----------------------------------------------------------------------------- helpers
def fl(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def il(t):
    return [int(x) for x in t.detach().reshape(-1).tolist()]


def num(v):
    if isinstance(v, Metric):
        v = v.aggregate()
    if isinstance(v, torch.Tensor):
        assert v.numel() == 1
        v = v.detach().item()
    if isinstance(v, (np.floating, np.integer)):
        v = v.item()
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v
    return float(v)


def T_(rows, dtype=F64):
    return torch.tensor(rows, dtype=dtype)


def r4(x):
    return round(x, 4)


def last_valid_len(mask_row):
    idx = [j for j, m in enumerate(mask_row) if m]
    return idx[-1] + 1 if idx else 0


class Batch:
    """Plain python lists [N][T] (inputs are rounded to 4 decimals)."""

    def __init__(self, logp, old, ref, sampler, mask, adv_seq, adv_tok, entropy):
        self.logp, self.old, self.ref, self.sampler = logp, old, ref, sampler
        self.mask, self.adv_seq, self.adv_tok, self.entropy = mask, adv_seq, adv_tok, entropy
        self.N, self.T = len(mask), len(mask[0])

    def token_adv(self, token_level=False):
        if token_level:
            return [[a * m for a, m in zip(ra, rm)] for ra, rm in zip(self.adv_tok, self.mask)]
        return [[a * m for m in rm] for a, rm in zip(self.adv_seq, self.mask)]


def gen_mask(rng, N, T, kind, empty_row=None):
    rows = []
    for i in range(N):
        L = T if i == 0 else rng.randint(1, T)
        row = [1] * L + [0] * (T - L)
        if kind == "holes" and L >= 3:
            for _ in range(rng.randint(1, max(1, L // 3))):
                j = rng.randint(1, L - 2)
                row[j] = 0
        if kind == "full":
            row = [1] * T
        rows.append(row)
    if empty_row is not None:
        rows[empty_row] = [0] * T
    return rows


def gen_batch(seed, N, T, kind="ragged", empty_row=None, d=0.15, rd=0.3, sd=0.1):
    rng = random.Random(seed)
    mask = gen_mask(rng, N, T, kind, empty_row)
    logp = [[-r4(rng.uniform(0.02, 2.5)) for _ in range(T)] for _ in range(N)]
    old = [[r4(min(x + rng.gauss(0.0, d), -0.005)) for x in row] for row in logp]
    ref = [[r4(min(x + rng.gauss(0.0, rd), -0.005)) for x in row] for row in logp]
    sampler = [[r4(min(x + rng.gauss(0.0, sd), -0.005)) for x in row] for row in old]
    adv_seq = [r4(rng.gauss(0.0, 1.0)) for _ in range(N)]
    adv_tok = [[r4(rng.gauss(0.0, 1.0)) for _ in range(T)] for _ in range(N)]
    ent = [[r4(rng.uniform(0.0, 2.0)) for _ in range(T)] for _ in range(N)]
    return Batch(logp, old, ref, sampler, mask, adv_seq, adv_tok, ent)


def clamp_batch():
    """log-ratios and KL log-ratios near the clamps (|d| = 19.9 / 20.1, 10, 5); probabilities <= 1."""
    d_pol = [[19.9, 20.1, -19.9, -20.1], [0.3, -0.3, 0.25, -0.25], [5.0, -5.0, 10.0, -10.0], [0.1, 2.0, -2.0, 9.9]]
    d_ref = [[-19.9, -20.1, 19.9, 20.1], [-10.0, 10.0, -2.5, 2.5], [-11.0, 11.0, -0.5, 0.5], [0.05, -25.0, 25.0, 0.0]]
    N, T = 4, 4
    logp, old, ref = [], [], []
    for i in range(N):
        lr, orow, rr = [], [], []
        for j in range(T):
            dp, dr = d_pol[i][j], d_ref[i][j]
            lo = -0.5 - max(0.0, -dp, -dr)  # keep logp, old, ref <= -0.5
            lr.append(r4(lo))
            orow.append(r4(lo - dp))
            rr.append(r4(lo - dr))
        logp.append(lr)
        old.append(orow)
        ref.append(rr)
    mask = [[1] * T for _ in range(N)]
    adv_seq = [1.0, -1.0, 0.8, -0.6]
    rng = random.Random(7)
    adv_tok = [[r4(rng.choice([-1, 1]) * rng.uniform(0.2, 1.5)) for _ in range(T)] for _ in range(N)]
    ent = [[r4(rng.uniform(0.0, 2.0)) for _ in range(T)] for _ in range(N)]
    sampler = [[r4(x - 0.05) for x in row] for row in old]
    return Batch(logp, old, ref, sampler, mask, adv_seq, adv_tok, ent)


def with_adv(b, value):
    return Batch(b.logp, b.old, b.ref, b.sampler, b.mask, [value] * b.N, [[value] * b.T for _ in range(b.N)],
                 b.entropy)


def zero_masked(rows, mask):
    return [[x if m else 0.0 for x, m in zip(r, rm)] for r, rm in zip(rows, mask)]


def orl_view(b):
    """OpenRLHF's Actor.forward returns log-probs multiplied by action_mask (actor.py:298)."""
    return Batch(b.logp, zero_masked(b.old, b.mask), zero_masked(b.ref, b.mask), zero_masked(b.sampler, b.mask),
                 b.mask, b.adv_seq, b.adv_tok, b.entropy)


BATCHES = {
    "A": gen_batch(101, 6, 6, "ragged", empty_row=4),  # ragged prefix masks + one all-zero row
    "B": gen_batch(202, 5, 6, "holes"),  # masks with holes (multi-turn style)
    "C": gen_batch(303, 4, 1, "ragged", empty_row=2),  # T = 1
    "D": gen_batch(404, 2, 5, "full"),  # N = 2 (a G = 2 group)
    "E": clamp_batch(),  # log-ratios near the clamps
    "W": gen_batch(505, 6, 6, "ragged", empty_row=3, d=0.45, sd=0.4),  # wide ratios: dual clip, IS, RS
}
BATCHES["F"] = with_adv(gen_batch(606, 4, 5, "ragged"), 0.7)  # all-equal advantages
BATCHES["Z"] = with_adv(gen_batch(707, 4, 5, "ragged"), 0.0)  # all-zero advantages


# ----------------------------------------------------------------------------- verl policy loss
VERL_ACTOR_KEYS = ["clip_ratio", "clip_ratio_low", "clip_ratio_high", "clip_ratio_c", "loss_agg_mode",
                   "loss_scale_factor", "entropy_coeff", "calculate_entropy", "tau_pos", "tau_neg", "use_kl_loss",
                   "kl_loss_coef", "kl_loss_type"]


def verl_policy_case(cid, bname, actor=None, policy_loss=None, token_level_adv=False, entropy=False,
                     rollout_correction=None):
    b = BATCHES[bname]
    actor = dict(actor or {})
    pl = dict(policy_loss or {})
    loss_mode = pl.get("loss_mode", "vanilla")
    bypass = loss_mode == "bypass_mode"
    if bypass:
        rc = RolloutCorrectionConfig(**pl.pop("rollout_correction"))
        pl["rollout_correction"] = rc
    cfg = ActorConfig(strategy="fsdp", rollout_n=1, ppo_mini_batch_size=b.N, ppo_micro_batch_size_per_gpu=b.N,
                      policy_loss=PolicyLossConfig(**pl), **actor)
    N, T = b.N, b.T
    mask = T_(b.mask, torch.int64)
    logp = T_(b.logp).requires_grad_(True)
    old_rows = b.sampler if bypass else b.old
    old = T_(old_rows)
    adv = T_(b.token_adv(token_level_adv))
    use_kl = bool(actor.get("use_kl_loss", False))
    ref = T_(b.ref) if use_kl else None
    with_entropy = entropy or cfg.calculate_entropy or cfg.entropy_coeff != 0.0
    metrics = {}
    resp_mask = mask
    is_weights = None
    if rollout_correction is not None:
        rcc = RolloutCorrectionConfig(**rollout_correction)
        dp = verl_protocol.DataProto.from_dict(tensors={"old_log_probs": old.clone(), "rollout_log_probs": T_(b.sampler),
                                                        "response_mask": mask.clone()})
        dp, corr_metrics = rollout_corr_helper.compute_rollout_correction_and_add_to_batch(dp, rcc)
        resp_mask = dp.batch["response_mask"]
        if "rollout_is_weights" in dp.batch.keys():
            is_weights = dp.batch["rollout_is_weights"]
        metrics.update({k: num(v) for k, v in corr_metrics.items()})
    # flat no-padding model output (per row: logp[i, :L_i] then one trailing position)
    Ls = [last_valid_len(r) for r in b.mask]
    pieces, epieces = [], []
    ent = T_(b.entropy)
    for i in range(N):
        pieces += [logp[i, : Ls[i]], torch.zeros(1, dtype=F64)]
        epieces += [ent[i, : Ls[i]], torch.zeros(1, dtype=F64)]
    model_output = {"log_probs": torch.cat(pieces)}
    if with_entropy:
        model_output["entropy"] = torch.cat(epieces)
    am = torch.zeros(N, 1 + T, dtype=torch.int64)
    am[:, 0] = 1
    for i in range(N):
        am[i, 1: 1 + Ls[i]] = 1
    fields = {"prompts": torch.ones(N, 1, dtype=torch.int64), "responses": torch.ones(N, T, dtype=torch.int64),
              "attention_mask": am, "response_mask": resp_mask, "old_log_probs": old, "advantages": adv}
    if ref is not None:
        fields["ref_log_prob"] = ref
    if is_weights is not None:
        fields["rollout_is_weights"] = is_weights
    data = TensorDict(fields, batch_size=[N])
    batch_num_tokens = int(resp_mask.sum())
    tu.assign_non_tensor(data, dp_size=1, batch_num_tokens=batch_num_tokens, global_batch_size=N)
    loss, m = ppo_loss(cfg, model_output, data)
    loss.backward()
    for k, v in m.items():
        name = k if k.startswith("actor/") else "actor/" + k
        metrics[name] = num(v)
    keys = list(VERL_ACTOR_KEYS)
    if loss_mode != "sapo":
        keys = [k for k in keys if k not in ("tau_pos", "tau_neg")]
    if not cfg.use_kl_loss:
        keys = [k for k in keys if k not in ("kl_loss_coef", "kl_loss_type")]
    opts = {k: getattr(cfg, k) for k in keys}
    mode_keys = {"clip_cov": ["clip_cov_ratio", "clip_cov_lb", "clip_cov_ub"], "kl_cov": ["kl_cov_ratio", "ppo_kl_coef"],
                 "dro": ["dro_beta"]}.get(loss_mode, [])
    plc = {k: getattr(cfg.policy_loss, k) for k in ["loss_mode"] + mode_keys}
    if bypass:
        plc["rollout_correction"] = {k: getattr(rc, k) for k in ["rollout_is", "rollout_is_threshold",
                                                                 "rollout_is_batch_normalize", "rollout_rs",
                                                                 "rollout_rs_threshold", "loss_type"]}
    opts["policy_loss"] = plc
    if rollout_correction is not None:
        opts["rollout_correction"] = {k: getattr(rcc, k) for k in ["rollout_is", "rollout_is_threshold",
                                                                   "rollout_is_batch_normalize", "rollout_rs",
                                                                   "rollout_rs_threshold", "bypass_mode"]}
    opts["global_batch_info"] = {"dp_size": 1, "batch_num_tokens": batch_num_tokens, "global_batch_size": N,
                                 "loss_scale_factor": cfg.loss_scale_factor}
    case = {"kind": "policy_loss", "id": cid, "call": "verl.workers.utils.losses.ppo_loss", "options": opts,
            "N": N, "T": T, "logp": fl(logp), "old": fl(old), "ref": fl(ref) if ref is not None else None,
            "mask": il(mask), "token_advantages": fl(adv)}
    if with_entropy:
        case["entropy"] = fl(ent)
    if bypass or rollout_correction is not None:
        case["sampler_logp"] = fl(T_(b.sampler))
    if rollout_correction is not None:
        case["call"] = ("verl.trainer.ppo.rollout_corr_helper.compute_rollout_correction_and_add_to_batch + "
                        "verl.workers.utils.losses.ppo_loss")
        case["mask_after_rs"] = il(resp_mask)
        if is_weights is not None:
            case["rollout_is_weights"] = fl(is_weights)
    case["loss"] = num(loss)
    case["dlogp"] = fl(logp.grad)
    case["metrics"] = metrics
    return case


def verl_policy_cases():
    cases = []
    add = lambda *a, **k: cases.append(verl_policy_case(*a, **k))  # noqa: E731
    modes = ["token-mean", "token-sum", "seq-mean-token-sum", "seq-mean-token-mean", "seq-mean-token-sum-norm"]
    # vanilla x every loss_agg_mode, ragged (+ empty row) and holes
    for bn in ["A", "B"]:
        for mode in modes:
            add(f"vanilla/{mode}/{bn}", bn, actor={"loss_agg_mode": mode}, token_level_adv=(bn == "B"))
    add("vanilla/seq-mean-token-sum-norm/lsf16/A", "A", actor={"loss_agg_mode": "seq-mean-token-sum-norm",
                                                             "loss_scale_factor": 16})
    add("vanilla/token-mean/asym0.2-0.28/W", "W", actor={"clip_ratio_low": 0.2, "clip_ratio_high": 0.28})
    add("vanilla/seq-mean-token-mean/asym0.2-0.28/W", "W", actor={"clip_ratio_low": 0.2, "clip_ratio_high": 0.28,
                                                                 "loss_agg_mode": "seq-mean-token-mean"})
    add("vanilla/token-mean/clip_ratio0.3-only/W", "W", actor={"clip_ratio": 0.3, "clip_ratio_low": None,
                                                              "clip_ratio_high": None})
    add("vanilla/token-mean/clip_ratio0.3-ignored/W", "W", actor={"clip_ratio": 0.3})
    add("vanilla/token-mean/c3/E", "E", actor={"clip_ratio_c": 3.0}, token_level_adv=True)
    add("vanilla/token-mean/c10/E", "E", actor={"clip_ratio_c": 10.0}, token_level_adv=True)
    add("vanilla/token-mean/c1.5/W", "W", actor={"clip_ratio_c": 1.5}, token_level_adv=True)
    add("vanilla/seq-mean-token-mean/E", "E", actor={"loss_agg_mode": "seq-mean-token-mean"})
    add("vanilla/token-mean/T1", "C", actor={})
    add("vanilla/seq-mean-token-sum-norm/T1", "C", actor={"loss_agg_mode": "seq-mean-token-sum-norm"})
    add("vanilla/token-mean/G2", "D", actor={})
    add("vanilla/token-mean/equal-adv", "F", actor={})
    add("vanilla/seq-mean-token-mean/equal-adv", "F", actor={"loss_agg_mode": "seq-mean-token-mean"})
    add("vanilla/token-mean/zero-adv", "Z", actor={})
    # entropy
    add("vanilla/token-mean/entropy-coeff0/A", "A", actor={"calculate_entropy": True})
    add("vanilla/seq-mean-token-mean/entropy0.01/A", "A", actor={"entropy_coeff": 0.01,
                                                                "loss_agg_mode": "seq-mean-token-mean"})
    # KL loss
    for kt in ["low_var_kl", "kl", "k1", "abs", "mse", "k2", "k3", "low_var_kl+", "k3+", "kl+", "k1+", "abs+", "mse+",
               "k2+"]:
        add(f"vanilla/token-mean/kl-{kt}/0.001/A", "A", actor={"use_kl_loss": True, "kl_loss_type": kt,
                                                              "kl_loss_coef": 0.001})
    for kt in ["low_var_kl", "k3+", "kl", "mse"]:
        add(f"vanilla/token-mean/kl-{kt}/0.04/W", "W", actor={"use_kl_loss": True, "kl_loss_type": kt,
                                                             "kl_loss_coef": 0.04})
    for kt in ["low_var_kl", "k3+", "kl", "abs", "mse"]:
        add(f"vanilla/token-mean/kl-{kt}/0.04/E", "E", actor={"use_kl_loss": True, "kl_loss_type": kt,
                                                             "kl_loss_coef": 0.04})
    add("vanilla/seq-mean-token-mean/kl-low_var_kl/0.04/B", "B",
        actor={"use_kl_loss": True, "kl_loss_type": "low_var_kl", "kl_loss_coef": 0.04,
               "loss_agg_mode": "seq-mean-token-mean"})
    add("vanilla/seq-mean-token-sum/kl-k3+/0.04/A", "A",
        actor={"use_kl_loss": True, "kl_loss_type": "k3+", "kl_loss_coef": 0.04, "loss_agg_mode": "seq-mean-token-sum"})
    add("vanilla/token-mean/kl-low_var_kl+entropy/A", "A",
        actor={"use_kl_loss": True, "kl_loss_type": "low_var_kl", "kl_loss_coef": 0.04, "entropy_coeff": 0.01,
               "clip_ratio_high": 0.28})
    # other registered policy losses
    add("dppo_tv/token-mean/A", "A", policy_loss={"loss_mode": "dppo_tv"})
    add("dppo_tv/seq-mean-token-mean/W", "W", policy_loss={"loss_mode": "dppo_tv"},
        actor={"loss_agg_mode": "seq-mean-token-mean"}, token_level_adv=True)
    add("dppo_tv/token-mean/c20/E", "E", policy_loss={"loss_mode": "dppo_tv"}, actor={"clip_ratio_c": 20.0})
    add("dppo_kl/token-mean/A", "A", policy_loss={"loss_mode": "dppo_kl"})
    add("dppo_kl/seq-mean-token-sum/B", "B", policy_loss={"loss_mode": "dppo_kl"},
        actor={"loss_agg_mode": "seq-mean-token-sum", "clip_ratio_low": 0.05, "clip_ratio_high": 0.02})
    add("dppo_kl/token-mean/E", "E", policy_loss={"loss_mode": "dppo_kl"}, token_level_adv=True)
    add("gspo/token-mean/A", "A", policy_loss={"loss_mode": "gspo"})
    add("gspo/seq-mean-token-mean/A", "A", policy_loss={"loss_mode": "gspo"}, actor={"loss_agg_mode": "seq-mean-token-mean"})
    add("gspo/seq-mean-token-mean/eps3e-4-4e-4/W", "W", policy_loss={"loss_mode": "gspo"},
        actor={"loss_agg_mode": "seq-mean-token-mean", "clip_ratio_low": 0.0003, "clip_ratio_high": 0.0004})
    add("gspo/seq-mean-token-mean/B", "B", policy_loss={"loss_mode": "gspo"},
        actor={"loss_agg_mode": "seq-mean-token-mean"}, token_level_adv=True)
    add("gspo/token-mean/E", "E", policy_loss={"loss_mode": "gspo"})
    add("gspo/token-mean/T1", "C", policy_loss={"loss_mode": "gspo"})
    add("sapo/A", "A", policy_loss={"loss_mode": "sapo"})
    add("sapo/token-mean-requested/W", "W", policy_loss={"loss_mode": "sapo"}, token_level_adv=True)
    add("sapo/tau2-3/B", "B", policy_loss={"loss_mode": "sapo"}, actor={"tau_pos": 2.0, "tau_neg": 3.0})
    add("sapo/E", "E", policy_loss={"loss_mode": "sapo"}, token_level_adv=True)
    add("gpg/token-mean/A", "A", policy_loss={"loss_mode": "gpg"})
    add("gpg/seq-mean-token-sum/B", "B", policy_loss={"loss_mode": "gpg"}, actor={"loss_agg_mode": "seq-mean-token-sum"})
    add("clip_cov/ratio1/W", "W", policy_loss={"loss_mode": "clip_cov", "clip_cov_ratio": 1.0}, token_level_adv=True)
    add("clip_cov/ratio1-lb0-ub2/W", "W", policy_loss={"loss_mode": "clip_cov", "clip_cov_ratio": 1.0,
                                                      "clip_cov_lb": 0.0, "clip_cov_ub": 2.0}, token_level_adv=True)
    add("clip_cov/default/A", "A", policy_loss={"loss_mode": "clip_cov"}, token_level_adv=True)
    add("kl_cov/default/A", "A", policy_loss={"loss_mode": "kl_cov"})
    add("kl_cov/ratio0.2-coef0.5/W", "W", policy_loss={"loss_mode": "kl_cov", "kl_cov_ratio": 0.2, "ppo_kl_coef": 0.5},
        token_level_adv=True)
    add("geo_mean/A", "A", policy_loss={"loss_mode": "geo_mean"})
    add("geo_mean/asym0.2-0.28/W", "W", policy_loss={"loss_mode": "geo_mean"},
        actor={"clip_ratio_low": 0.2, "clip_ratio_high": 0.28})
    add("geo_mean/E", "E", policy_loss={"loss_mode": "geo_mean"})
    add("dro/beta0.1/token-mean/A", "A", policy_loss={"loss_mode": "dro", "dro_beta": 0.1})
    add("dro/beta1/seq-mean-token-mean/B", "B", policy_loss={"loss_mode": "dro", "dro_beta": 1.0},
        actor={"loss_agg_mode": "seq-mean-token-mean"})
    add("cispo/token-mean/W", "W", policy_loss={"loss_mode": "cispo"})
    add("cispo/token-mean/low10-high0.28/W", "W", policy_loss={"loss_mode": "cispo"},
        actor={"clip_ratio_low": 10.0, "clip_ratio_high": 0.28}, token_level_adv=True)
    add("cispo/token-mean/E", "E", policy_loss={"loss_mode": "cispo"}, token_level_adv=True)
    # bypass mode (old_log_probs = rollout_log_probs)
    add("bypass_mode/ppo_clip/no-is/W", "W", policy_loss={"loss_mode": "bypass_mode", "rollout_correction": {
        "rollout_is": None, "loss_type": "ppo_clip"}})
    add("bypass_mode/ppo_clip/rs-token_k1/W", "W", policy_loss={"loss_mode": "bypass_mode", "rollout_correction": {
        "rollout_is": None, "rollout_rs": "token_k1", "rollout_rs_threshold": "0.7_1.4", "loss_type": "ppo_clip"}})
    add("bypass_mode/reinforce/token-tis2/W", "W", policy_loss={"loss_mode": "bypass_mode", "rollout_correction": {
        "rollout_is": "token", "rollout_is_threshold": 2.0, "loss_type": "reinforce"}})
    add("bypass_mode/reinforce/seq-tis2+rs-seq_mean_k3/seq-mean-token-sum/B", "B",
        policy_loss={"loss_mode": "bypass_mode", "rollout_correction": {
            "rollout_is": "sequence", "rollout_is_threshold": 2.0, "rollout_rs": "seq_mean_k3",
            "rollout_rs_threshold": 0.005, "loss_type": "reinforce"}},
        actor={"loss_agg_mode": "seq-mean-token-sum"})
    add("bypass_mode/reinforce/icepop0.5-1.5+batchnorm/W", "W", policy_loss={
        "loss_mode": "bypass_mode", "rollout_correction": {
            "rollout_is": "token", "rollout_is_threshold": "0.5_1.5", "rollout_is_batch_normalize": True,
            "loss_type": "reinforce"}})
    add("bypass_mode/ppo_clip/rs-seq_max_k2+token_k3/A", "A", policy_loss={"loss_mode": "bypass_mode",
        "rollout_correction": {"rollout_is": None, "rollout_rs": "seq_max_k2,token_k3",
                               "rollout_rs_threshold": "0.02,0.01", "loss_type": "ppo_clip"}})
    # decoupled rollout correction computed by the trainer, then vanilla with rollout_is_weights
    add("rollout_corr/metrics-only/vanilla/W", "W", rollout_correction={"rollout_is": None})
    add("rollout_corr/token-tis2/vanilla/W", "W", rollout_correction={"rollout_is": "token", "rollout_is_threshold": 2.0})
    add("rollout_corr/seq-tis2/vanilla/B", "B", rollout_correction={"rollout_is": "sequence", "rollout_is_threshold": 2.0},
        actor={"loss_agg_mode": "seq-mean-token-mean"})
    add("rollout_corr/seq-is+rs-seq_sum_k1/vanilla/W", "W", rollout_correction={
        "rollout_is": "sequence", "rollout_is_threshold": 2.0, "rollout_rs": "seq_sum_k1", "rollout_rs_threshold": "0.5_2.0"})
    add("rollout_corr/token-icepop0.5-1.5/vanilla/W", "W", rollout_correction={"rollout_is": "token",
                                                                             "rollout_is_threshold": "0.5_1.5"})
    add("rollout_corr/token-tis2/gspo/W", "W", rollout_correction={"rollout_is": "token", "rollout_is_threshold": 2.0},
        policy_loss={"loss_mode": "gspo"}, actor={"loss_agg_mode": "seq-mean-token-mean"})
    return cases


def check_clip_cov_deterministic():
    """clip_cov draws torch.randperm among the candidate tokens; the cases above must not depend on it."""
    for cid, bn, pl, tla in [("clip_cov/ratio1/W", "W", {"loss_mode": "clip_cov", "clip_cov_ratio": 1.0}, True),
                             ("clip_cov/ratio1-lb0-ub2/W", "W", {"loss_mode": "clip_cov", "clip_cov_ratio": 1.0,
                                                               "clip_cov_lb": 0.0, "clip_cov_ub": 2.0}, True),
                             ("clip_cov/default/A", "A", {"loss_mode": "clip_cov"}, True)]:
        outs = []
        for s in (1, 2, 3, 4):
            torch.manual_seed(s)
            c = verl_policy_case(cid, bn, policy_loss=pl, token_level_adv=tla)
            outs.append((c["loss"], tuple(c["dlogp"]), tuple(sorted(c["metrics"].items()))))
        assert all(o == outs[0] for o in outs), f"{cid} depends on torch.randperm"


# ----------------------------------------------------------------------------- verl advantages
class _Batch(dict):
    def __init__(self, *a, n=0, **k):
        super().__init__(*a, **k)
        self.batch_size = [n]


def verl_adv_case(cid, estimator, rewards, groups, mask, opts=None, values=None, baselines=None, logp_old=None,
                  sum_pi_squared=None, logp_ref=None, kl_in_reward=None, multi=None):
    """rewards [N] scores; groups: contiguous group sizes; mask [N][T]."""
    opts = dict(opts or {})
    N, T = len(mask), len(mask[0])
    index = np.array([f"uid{gi}" for gi, g in enumerate(groups) for _ in range(g)], dtype=object)
    assert len(index) == N
    m = T_(mask, torch.int64)
    if rewards is None:  # gdpo: token_level_scores (unused by gdpo when the trainer passes config) = sum of parts
        rewards = [sum(float(v[i]) for v in multi.values()) for i in range(N)]
    scores = torch.zeros(N, T, dtype=F64)
    for i in range(N):
        L = last_valid_len(mask[i])
        if L > 0:
            scores[i, L - 1] = rewards[i]
    algo_kwargs = {k: v for k, v in opts.items() if k in ("gamma", "lam", "norm_adv_by_std_in_grpo",
                                                           "gdpo_reward_keys", "gdpo_reward_weights", "kl_penalty")}
    algo_kwargs["adv_estimator"] = estimator
    if kl_in_reward is not None:
        algo_kwargs["use_kl_in_reward"] = True
        algo_kwargs["kl_penalty"] = kl_in_reward["kl_penalty"]
    config = AlgoConfig(**algo_kwargs)
    batch = _Batch(n=N)
    batch["token_level_scores"] = scores
    batch["response_mask"] = m
    if values is not None:
        batch["values"] = T_(values)
    if baselines is not None:
        batch["reward_baselines"] = T_(baselines)
    if logp_old is not None:
        batch["old_log_probs"] = T_(logp_old)
    if logp_ref is not None:
        batch["ref_log_prob"] = T_(logp_ref)
    if sum_pi_squared is not None:
        batch["sum_pi_squared"] = T_(sum_pi_squared)
    non_tensor = {"uid": index}
    call = "verl.trainer.ppo.ray_trainer.compute_advantage"
    metrics = {}
    if multi is not None:
        P = 2
        batch["prompts"] = torch.ones(N, P, dtype=torch.int64)
        am = torch.zeros(N, P + T, dtype=torch.int64)
        am[:, :P] = 1
        for i in range(N):
            am[i, P: P + last_valid_len(mask[i])] = 1
        batch["attention_mask"] = am
        for k, vals in multi.items():
            non_tensor[k] = np.array(vals, dtype=np.float64)
    data = NS(batch=batch, non_tensor_batch=non_tensor, meta_info={})
    if kl_in_reward is not None:
        kl_ctrl = core_algos.FixedKLController(kl_coef=kl_in_reward["kl_coef"])
        data, kl_metrics = verl_apply_kl_penalty(data, kl_ctrl=kl_ctrl, kl_penalty=kl_in_reward["kl_penalty"])
        metrics.update({k: num(v) for k, v in kl_metrics.items()})
        call = "verl.trainer.ppo.ray_trainer.apply_kl_penalty + verl.trainer.ppo.ray_trainer.compute_advantage"
    else:
        batch["token_level_rewards"] = batch["token_level_scores"]
    data = verl_compute_advantage(data, adv_estimator=estimator, gamma=config.gamma, lam=config.lam, num_repeat=1,
                                  norm_adv_by_std_in_grpo=config.norm_adv_by_std_in_grpo, config=config)
    adv, ret = data.batch["advantages"], data.batch["returns"]
    options = {"adv_estimator": estimator, "gamma": config.gamma, "lam": config.lam,
               "norm_adv_by_std_in_grpo": config.norm_adv_by_std_in_grpo}
    if estimator in ("gdpo",):
        options["gdpo_reward_keys"] = config.gdpo_reward_keys
        options["gdpo_reward_weights"] = config.gdpo_reward_weights
    if kl_in_reward is not None:
        options["use_kl_in_reward"] = True
        options["kl_penalty"] = kl_in_reward["kl_penalty"]
        options["kl_ctrl"] = {"type": "fixed", "kl_coef": kl_in_reward["kl_coef"]}
    case = {"kind": "advantage", "id": cid, "call": call, "options": options, "N": N, "groups": list(groups),
            "T": T, "lengths": [last_valid_len(r) for r in mask], "mask": il(m)}
    if multi is not None:
        keys = list(multi)
        case["num_rewards"] = len(keys)
        case["rewards"] = [float(multi[k][i]) for i in range(N) for k in keys]
        if config.gdpo_reward_weights is not None:
            case["reward_weights"] = [float(w) for w in config.gdpo_reward_weights]
    else:
        case["rewards"] = [float(r) for r in rewards]
    if values is not None:
        case["values"] = fl(T_(values))
    if baselines is not None:
        case["baseline_rewards"] = [float(x) for x in baselines]
    if logp_old is not None:
        case["logp_old"] = fl(T_(logp_old))
    if logp_ref is not None:
        case["logp_ref"] = fl(T_(logp_ref))
    if sum_pi_squared is not None:
        case["sum_pi_squared"] = fl(T_(sum_pi_squared))
    if kl_in_reward is not None:
        case["token_level_rewards"] = fl(data.batch["token_level_rewards"])
    case["token_advantages"] = fl(adv)
    if not torch.equal(adv, ret):
        case["returns"] = fl(ret)
    if metrics:
        case["metrics"] = metrics
    return case


def rand_rewards(rng, N, choices=None):
    if choices:
        return [rng.choice(choices) for _ in range(N)]
    return [r4(rng.uniform(-1.0, 2.0)) for _ in range(N)]


def verl_adv_cases():
    rng = random.Random(SEED + 1)
    cases = []
    add = lambda *a, **k: cases.append(verl_adv_case(*a, **k))  # noqa: E731
    T = 6
    m12 = gen_mask(rng, 12, T, "ragged")
    m12h = gen_mask(rng, 12, T, "holes")
    r12 = rand_rewards(rng, 12)
    r12[4:8] = [0.5, 0.5, 0.5, 0.5]  # one group with all-equal rewards
    bin12 = rand_rewards(rng, 12, [0.0, 1.0])
    bin12[8:12] = [1.0, 1.0, 1.0, 1.0]
    g444 = [4, 4, 4]
    g_single = [3, 1, 2, 4, 2]  # a group of size 1
    for norm in (True, False):
        add(f"grpo/norm{norm}/groups4x3", "grpo", r12, g444, m12, {"norm_adv_by_std_in_grpo": norm})
    add("grpo/normTrue/singleton", "grpo", r12, g_single, m12, {"norm_adv_by_std_in_grpo": True})
    add("grpo/normFalse/singleton", "grpo", r12, g_single, m12, {"norm_adv_by_std_in_grpo": False})
    add("grpo/normTrue/binary", "grpo", bin12, g444, m12, {"norm_adv_by_std_in_grpo": True})
    add("grpo/normTrue/G2", "grpo", r12[:6], [2, 2, 2], m12[:6], {"norm_adv_by_std_in_grpo": True})
    add("grpo_vectorized/normTrue/singleton", "grpo_vectorized", r12, g_single, m12, {"norm_adv_by_std_in_grpo": True})
    add("grpo_vectorized/config-normFalse-ignored", "grpo_vectorized", r12, g444, m12, {"norm_adv_by_std_in_grpo": False})
    k1 = [r4(rng.uniform(0, 1)) for _ in range(12)]
    add("gdpo/one-reward", "gdpo", None, g_single, m12, {"gdpo_reward_keys": ["accuracy_reward"]},
        multi={"accuracy_reward": r12})
    k2 = rand_rewards(rng, 12, [0.0, 1.0])
    add("gdpo/two-rewards-weights1-0.5", "gdpo", None, g444, m12h,
        {"gdpo_reward_keys": ["format_reward", "accuracy_reward"], "gdpo_reward_weights": [1.0, 0.5]},
        multi={"format_reward": k1, "accuracy_reward": k2})
    for norm in (True, False):
        add(f"grpo_passk/norm{norm}", "grpo_passk", r12, g444, m12, {"norm_adv_by_std_in_grpo": norm})
    add("grpo_passk/G2-ties", "grpo_passk", [1.0, 1.0, 0.0, 1.0, 0.3, 0.7], [2, 2, 2], m12[:6])
    add("reinforce_plus_plus_baseline/singleton", "reinforce_plus_plus_baseline", r12, g_single, m12)
    add("reinforce_plus_plus_baseline/holes", "reinforce_plus_plus_baseline", bin12, g444, m12h)
    add("rloo/singleton", "rloo", r12, g_single, m12)
    add("rloo/G2", "rloo", r12[:6], [2, 2, 2], m12[:6])
    add("rloo_vectorized/singleton", "rloo_vectorized", r12, g_single, m12)
    add("opo/ragged", "opo", r12, g444, m12)
    add("opo/singleton", "opo", r12, g_single, m12)
    add("reinforce_plus_plus/gamma1", "reinforce_plus_plus", r12, g444, m12, {"gamma": 1.0})
    add("reinforce_plus_plus/gamma0.95/holes", "reinforce_plus_plus", r12, g444, m12h, {"gamma": 0.95})
    add("reinforce_plus_plus/gamma1/all-equal-returns", "reinforce_plus_plus", [1.0] * 6, [6],
        [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 1, 0], [1, 1, 1, 1, 1]],
        {"gamma": 1.0})
    add("reinforce_plus_plus/gamma0.95/all-equal-rewards", "reinforce_plus_plus", [1.0] * 4, [4],
        [[1, 1, 1, 0], [1, 1, 1, 1], [1, 1, 0, 0], [1, 1, 1, 1]], {"gamma": 0.95})
    add("reinforce_plus_plus/gamma1/near-equal-returns", "reinforce_plus_plus", [1.0, 1.0001, 1.0, 0.9999], [4],
        [[1, 1, 1, 0], [1, 1, 1, 1], [1, 1, 0, 0], [1, 1, 1, 1]], {"gamma": 1.0})
    add("reinforce_plus_plus_baseline/near-equal", "reinforce_plus_plus_baseline", [1.0, 1.0001, 1.0, 0.9999], [4],
        [[1, 1, 1, 0], [1, 1, 1, 1], [1, 1, 0, 0], [1, 1, 1, 1]])
    add("remax/baselines", "remax", r12, g444, m12, baselines=[r4(rng.uniform(-1, 2)) for _ in range(12)])
    gz = list(bin12)
    gz[0:4] = [0.0, 0.0, 0.0, 0.0]
    add("gpg/binary-with-zeros", "gpg", gz, g444, m12)
    add("gpg/singleton", "gpg", r12, g_single, m12)
    lo12 = [[-r4(rng.uniform(0.01, 3.0)) for _ in range(T)] for _ in range(12)]
    sp12 = [[r4(rng.uniform(0.05, 0.9)) for _ in range(T)] for _ in range(12)]
    add("optimal_token_baseline/ragged", "optimal_token_baseline", r12, g444, m12, logp_old=lo12, sum_pi_squared=sp12)
    add("optimal_token_baseline/singleton", "optimal_token_baseline", r12, g_single, m12, logp_old=lo12,
        sum_pi_squared=sp12)
    add("tir_optimal_token_baseline/holes", "tir_optimal_token_baseline", r12, g444, m12h, logp_old=lo12,
        sum_pi_squared=sp12)
    vals = [[r4(rng.uniform(-1, 1)) for _ in range(T)] for _ in range(12)]
    add("gae/gamma1-lam1", "gae", r12, g444, m12, {"gamma": 1.0, "lam": 1.0}, values=vals)
    add("gae/gamma0.99-lam0.95/holes", "gae", r12, g444, m12h, {"gamma": 0.99, "lam": 0.95}, values=vals)
    ref12 = [[r4(min(x + rng.gauss(0, 0.3), -0.005)) for x in row] for row in lo12]
    add("kl_in_reward-kl/reinforce_plus_plus/gamma1", "reinforce_plus_plus", r12, g444, m12, {"gamma": 1.0},
        logp_old=lo12, logp_ref=ref12, kl_in_reward={"kl_penalty": "kl", "kl_coef": 0.05})
    add("kl_in_reward-low_var_kl/grpo", "grpo", r12, g444, m12, {"norm_adv_by_std_in_grpo": True},
        logp_old=lo12, logp_ref=ref12, kl_in_reward={"kl_penalty": "low_var_kl", "kl_coef": 0.001})
    return cases


# ----------------------------------------------------------------------------- kl grids
KL_GRID = [-25.0, -20.1, -20.0, -19.9, -15.0, -11.0, -10.0, -5.0, -2.5, -1.0, -0.1, -0.001,
           0.0, 0.001, 0.1, 1.0, 2.5, 5.0, 10.0, 11.0, 15.0, 19.9, 20.0, 20.1]


def kl_inputs():
    rng = random.Random(SEED + 2)
    N, T = 4, 8
    d = KL_GRID + [r4(rng.gauss(0, 0.5)) for _ in range(N * T - len(KL_GRID))]
    ref = [r4(-rng.uniform(0.5, 3.0)) for _ in range(N * T)]
    logp = [r4(r + x) for r, x in zip(ref, d)]
    old = [r4(lp - rng.uniform(-3.0, 3.0)) for lp in logp]  # logp - old in [-3, 3]: IS weight exp() crosses 10
    return N, T, logp, ref, old


def verl_kl_cases():
    N, T, logp, ref, _ = kl_inputs()
    cases = []
    for mode in ["kl", "k1", "abs", "mse", "k2", "low_var_kl", "k3", "kl+", "k1+", "abs+", "mse+", "k2+",
                 "low_var_kl+", "k3+"]:
        lp = torch.tensor(logp, dtype=F64).reshape(N, T).requires_grad_(True)
        rf = torch.tensor(ref, dtype=F64).reshape(N, T)
        v = core_algos.kl_penalty(lp, rf, kl_penalty=mode)
        v.sum().backward()
        cases.append({"kind": "kl", "id": f"kl_penalty/{mode}", "call": "verl.trainer.ppo.core_algos.kl_penalty",
                      "options": {"kl_penalty": mode}, "N": N, "T": T, "logp": fl(lp), "ref": fl(rf),
                      "value": fl(v), "dvalue": fl(lp.grad)})
    return cases


def orl_kl_cases():
    N, T, logp, ref, old = kl_inputs()
    cases = []
    for est in ["k1", "k2", "k3"]:
        for unb in (False, True):
            lp = torch.tensor(logp, dtype=F64).reshape(N, T).requires_grad_(True)
            rf = torch.tensor(ref, dtype=F64).reshape(N, T)
            od = torch.tensor(old, dtype=F64).reshape(N, T)
            v = orl_utils.compute_approx_kl(lp, rf, log_probs_old=od, kl_estimator=est, unbiased_gradient=unb)
            v.sum().backward()
            c = {"kind": "kl", "id": f"compute_approx_kl/{est}/unbiased_gradient{unb}",
                 "call": "openrlhf.models.utils.compute_approx_kl",
                 "options": {"kl_estimator": est, "unbiased_gradient": unb, "value_dtype": str(v.dtype)},
                 "N": N, "T": T, "logp": fl(lp), "ref": fl(rf)}
            if unb:
                c["old"] = fl(od)
            c["value"] = fl(v)
            c["dvalue"] = fl(lp.grad)
            cases.append(c)
    return cases


# ----------------------------------------------------------------------------- OpenRLHF policy loss
class _FakeActor:
    def __init__(self, logp, entropy):
        self.logp, self.entropy = logp, entropy

    def train(self):
        pass

    def __call__(self, sequences, action_mask, attention_mask=None, return_output=False, ring_attn_group=None,
                 packed_seq_lens=None, return_entropy=False, **kw):
        action_log_probs = self.logp * action_mask.float()  # openrlhf/models/actor.py:298
        out = NS(entropy=self.entropy if return_entropy else None, aux_loss=None)
        return action_log_probs, out


class _FakeStrategy:
    ring_attn_group = None

    def __init__(self, args):
        self.args = args
        self.loss = None

    def backward(self, loss, model, optim):
        self.loss = loss
        loss.backward()

    def optimizer_step(self, *a, **k):
        pass

    def get_grad_norm(self, model):
        return 0.0


def orl_policy_case(cid, bname, actor=None, kl=None, isc=None, token_level_adv=False):
    b = orl_view(BATCHES[bname])
    a = {"eps_clip_low_high": (0.2, 0.2), "dual_clip": None, "loss_agg_mode": "token-mean", "policy_loss_type": "ppo",
         "entropy_coef": None, "aux_loss_coef": 0}
    a.update(actor or {})
    k = {"use_loss": False, "init_coef": 0.01, "estimator": "k1", "unbiased_gradient": False}
    k.update(kl or {})
    ic = {"is_correction_level": "off", "is_correction_mode": "mask", "is_correction_gating": "ratio",
          "is_correction_threshold": [0.5, 5.0]}
    ic.update(isc or {})
    args = NS(actor=NS(**a), algo=NS(kl=NS(**k), advantage=NS(**ic)), train=NS(dynamic_batch_enable=False))
    N, T = b.N, b.T
    mask = T_(b.mask, torch.bool)
    logp = T_(b.logp).requires_grad_(True)
    ent = T_(b.entropy)
    tr = ActorPPOTrainer.__new__(ActorPPOTrainer)
    tr.args = args
    tr.strategy = _FakeStrategy(args)
    tr.actor = _FakeActor(logp, ent)
    tr.ema_model = None
    tr.actor_optim = None
    tr.actor_scheduler = NS(get_last_lr=lambda: [0.0])
    tr.replay_buffer = None
    tr.aux_loss = args.actor.aux_loss_coef > 1e-8
    tr.actor_loss_fn = orl_loss.PolicyLoss(  # as ActorPPOTrainer.__init__, ppo_actor.py:76-86
        clip_eps_low=args.actor.eps_clip_low_high[0],
        clip_eps_high=args.actor.eps_clip_low_high[1],
        dual_clip=args.actor.dual_clip,
        token_level_loss=args.actor.loss_agg_mode == "token-mean",
        policy_loss_type=args.actor.policy_loss_type,
        is_correction_level=args.algo.advantage.is_correction_level,
        is_correction_mode=args.algo.advantage.is_correction_mode,
        is_correction_gating=args.algo.advantage.is_correction_gating,
        is_correction_threshold=args.algo.advantage.is_correction_threshold,
    )
    use_rollout = ic["is_correction_level"] != "off"
    adv = T_(b.token_adv(token_level_adv))
    exp = Experience(sequences=torch.ones(N, T + 1, dtype=torch.int64), attention_mask=torch.ones(N, T + 1),
                     action_mask=mask, action_log_probs=T_(b.old), base_action_log_probs=T_(b.ref) if k["use_loss"] else None,
                     rollout_log_probs=T_(b.sampler) if use_rollout else None, advantages=adv, info={})
    (exp_, loss_batch_info), = list(iter_grad_accum_global_norm([exp], tr.strategy, 1, lambda e: e.action_mask))
    kl_ctl = OrlFixedKL(args.algo.kl.init_coef).value
    status = tr.training_step(exp_, kl_ctl, 0, loss_batch_info)
    metrics = {kk: num(v) for kk, v in status["metrics"].items() if kk not in ("actor_lr", "actor_grad_norm")}
    if not k["use_loss"]:
        k = {"use_loss": False, "init_coef": k["init_coef"]}
    if ic["is_correction_level"] == "off":
        ic = {"is_correction_level": "off"}
    opts = {"actor": {kk: (list(v) if isinstance(v, tuple) else v) for kk, v in a.items() if kk != "aux_loss_coef"},
            "algo.kl": dict(k), "algo.advantage": dict(ic), "kl_ctl": kl_ctl,
            "token_level_loss": tr.actor_loss_fn.token_level_loss,
            "loss_batch_info": {kk: num(v) for kk, v in loss_batch_info.items()}}
    case = {"kind": "policy_loss", "id": cid, "call": "openrlhf.trainer.ray.ppo_actor.ActorPPOTrainer.training_step",
            "options": opts, "N": N, "T": T, "logp": fl(logp), "old": fl(T_(b.old)),
            "ref": fl(T_(b.ref)) if k["use_loss"] else None, "mask": il(mask), "token_advantages": fl(adv)}
    if a["entropy_coef"] is not None:
        case["entropy"] = fl(ent)
    if use_rollout:
        case["sampler_logp"] = fl(T_(b.sampler))
    case["loss"] = num(tr.strategy.loss)
    case["dlogp"] = fl(logp.grad)
    case["metrics"] = metrics
    return case


def orl_policy_cases():
    cases = []
    add = lambda *a, **k: cases.append(orl_policy_case(*a, **k))  # noqa: E731
    seq = {"loss_agg_mode": "seq-mean-token-mean"}
    for bn in ["A", "B"]:
        add(f"ppo/token-mean/{bn}", bn, token_level_adv=(bn == "B"))
        add(f"ppo/seq-mean-token-mean/{bn}", bn, dict(seq), token_level_adv=(bn == "B"))
    add("ppo/token-mean/asym0.2-0.28/W", "W", {"eps_clip_low_high": (0.2, 0.28)})
    add("ppo/seq-mean-token-mean/asym0.2-0.28/W", "W", {"eps_clip_low_high": (0.2, 0.28), **seq})
    add("ppo/token-mean/dual_clip3/W", "W", {"dual_clip": 3.0}, token_level_adv=True)
    add("ppo/token-mean/dual_clip1.5/W", "W", {"dual_clip": 1.5}, token_level_adv=True)
    add("ppo/token-mean/dual_clip3/E", "E", {"dual_clip": 3.0}, token_level_adv=True)
    add("ppo/token-mean/E", "E", token_level_adv=True)
    add("ppo/token-mean/T1", "C")
    add("ppo/seq-mean-token-mean/T1", "C", dict(seq))
    add("ppo/token-mean/G2", "D")
    add("ppo/token-mean/equal-adv", "F")
    add("ppo/seq-mean-token-mean/equal-adv", "F", dict(seq))
    add("ppo/token-mean/zero-adv", "Z")
    add("gspo/A", "A", {"policy_loss_type": "gspo"})
    add("gspo/B", "B", {"policy_loss_type": "gspo"}, token_level_adv=True)
    add("gspo/eps3e-4-4e-4/W", "W", {"policy_loss_type": "gspo", "eps_clip_low_high": (0.0003, 0.0004)})
    add("gspo/E", "E", {"policy_loss_type": "gspo"})
    add("gspo/T1", "C", {"policy_loss_type": "gspo"})
    for est in ["k1", "k2", "k3"]:
        add(f"ppo/token-mean/kl-loss-{est}/0.01/A", "A", kl={"use_loss": True, "estimator": est})
        add(f"ppo/token-mean/kl-loss-{est}/unbiased/0.01/W", "W", kl={"use_loss": True, "estimator": est,
                                                                      "unbiased_gradient": True})
        add(f"ppo/token-mean/kl-loss-{est}/0.04/E", "E", kl={"use_loss": True, "estimator": est, "init_coef": 0.04})
    add("ppo/token-mean/kl-loss-k3/0.04/W", "W", kl={"use_loss": True, "estimator": "k3", "init_coef": 0.04})
    add("ppo/seq-mean-token-mean/kl-loss-k3/0.04/A", "A", dict(seq), kl={"use_loss": True, "estimator": "k3",
                                                                          "init_coef": 0.04})
    add("ppo/token-mean/kl-loss-k3/init_coef0/A", "A", kl={"use_loss": True, "estimator": "k3", "init_coef": 0.0})
    add("ppo/token-mean/entropy-coef0/A", "A", {"entropy_coef": 0.0})
    add("ppo/seq-mean-token-mean/entropy0.01+kl-k3/A", "A", {"entropy_coef": 0.01, **seq},
        kl={"use_loss": True, "estimator": "k3", "init_coef": 0.04})
    # train/rollout mismatch IS corrections (rollout_log_probs = sampler_logp)
    add("ppo/is-token-clip(TIS)/W", "W", isc={"is_correction_level": "token", "is_correction_mode": "clip",
                                             "is_correction_threshold": [0.8, 1.25]})
    add("ppo/is-token-mask(ICEPOP)/W", "W", isc={"is_correction_level": "token", "is_correction_mode": "mask",
                                                "is_correction_threshold": [0.8, 1.25]})
    add("ppo/is-token-mask-default0.5-5/W", "W", isc={"is_correction_level": "token"})
    add("ppo/is-seq-mask-ratio/W", "W", isc={"is_correction_level": "seq", "is_correction_threshold": [0.9, 1.1]})
    add("ppo/is-seq-mask-ratio/seq-mean-token-mean/A", "A", dict(seq),
        isc={"is_correction_level": "seq", "is_correction_threshold": [0.97, 1.03]})
    add("ppo/is-seq-mask-binary_kl/W", "W", isc={"is_correction_level": "seq", "is_correction_gating": "binary_kl",
                                                "is_correction_threshold": [0.0, 0.01]})
    add("ppo/is-token-mask-tv/W", "W", isc={"is_correction_level": "token", "is_correction_gating": "tv",
                                           "is_correction_threshold": [0.0, 0.05]})
    add("ppo/is-token-mask-binary_kl/B", "B", isc={"is_correction_level": "token", "is_correction_gating": "binary_kl",
                                                  "is_correction_threshold": [0.0, 0.002]})
    add("gspo/is-token-mask/W", "W", {"policy_loss_type": "gspo"}, isc={"is_correction_level": "token"})
    return cases


# ----------------------------------------------------------------------------- OpenRLHF advantages
def orl_adv_case(cid, estimator, rewards, n, mask, gamma=1.0, lambd=1.0, no_std_norm=False, init_coef=0.01,
                 kl_estimator="k1", use_loss=False, logp_old=None, logp_ref=None, values=None, clip_range=(-10, 10),
                 overlong=None, stop_properly=None, truncated=None, response_length=None):
    N, T = len(mask), len(mask[0])
    args = NS(rollout=NS(n_samples_per_prompt=n, max_new_tokens=(overlong or {}).get("max_new_tokens")),
              data=NS(max_len=None),
              algo=NS(advantage=NS(estimator=estimator, gamma=gamma, lambd=lambd, no_std_norm=no_std_norm),
                      kl=NS(use_loss=use_loss, init_coef=init_coef, estimator=kl_estimator)),
              reward=NS(clip_range=clip_range,
                        overlong_buffer_len=(overlong or {}).get("overlong_buffer_len"),
                        overlong_penalty_factor=(overlong or {}).get("overlong_penalty_factor", 1.0),
                        stop_properly_penalty_coef=stop_properly))
    am = T_(mask, torch.bool)
    exp = Experience(action_mask=am, rewards=T_(rewards), index=list(range(N)), info={})
    if values is not None:
        exp.values = T_(values)
    if truncated is not None:
        exp.truncated = T_(truncated, torch.bool)
    if response_length is not None:
        exp.response_length = T_(response_length)
    # make_experience (experience_maker.py:205-227): kl per token, only when a reference exists and KL is not a loss
    if logp_ref is not None and not use_loss:
        alp = T_(logp_old)
        kl = orl_utils.compute_approx_kl(alp, T_(logp_ref), kl_estimator=kl_estimator)
        exp.action_log_probs = alp
    else:
        kl = torch.zeros(N, T, dtype=F64)
    exp.kl = kl
    exp.info["kl"] = orl_utils.masked_mean(kl, am, dim=-1)
    mk = RemoteExperienceMaker.__new__(RemoteExperienceMaker)
    mk.strategy = NS(args=args)
    mk.args = args
    mk.advantage_estimator = estimator
    mk.kl_ctl = OrlFixedKL(init_coef)
    exps = mk.compute_advantages_and_returns([exp])
    e = exps[0]
    opts = {"algo.advantage.estimator": estimator, "algo.advantage.gamma": gamma,
            "algo.advantage.gamma_used": args.algo.advantage.gamma, "algo.advantage.lambd": lambd,
            "algo.advantage.no_std_norm": no_std_norm, "rollout.n_samples_per_prompt": n,
            "algo.kl.init_coef": init_coef, "algo.kl.estimator": kl_estimator, "algo.kl.use_loss": use_loss,
            "kl_in_reward": logp_ref is not None and not use_loss, "reward.clip_range": list(clip_range)}
    if overlong:
        opts.update({f"reward.{kk}" if kk != "max_new_tokens" else "rollout.max_new_tokens": v
                     for kk, v in overlong.items()})
    if stop_properly is not None:
        opts["reward.stop_properly_penalty_coef"] = stop_properly
    case = {"kind": "advantage", "id": cid,
            "call": "openrlhf.trainer.ppo_utils.experience_maker.RemoteExperienceMaker.compute_advantages_and_returns",
            "options": opts, "N": N, "group_size": n, "T": T, "lengths": [last_valid_len(r) for r in mask],
            "mask": il(am), "rewards": [float(r) for r in rewards]}
    if logp_ref is not None:
        case["logp_old"] = fl(T_(logp_old))
        case["logp_ref"] = fl(T_(logp_ref))
    if values is not None:
        case["values"] = fl(T_(values))
    if truncated is not None:
        case["truncated"] = [int(x) for x in truncated]
    if response_length is not None:
        case["response_length"] = [float(x) for x in response_length]
    case["token_advantages"] = fl(e.advantages)
    if not torch.equal(e.advantages, e.returns):
        case["returns"] = fl(e.returns)
    met = {"return": fl(e.info["return"]), "kl": fl(e.info["kl"])}
    if "group_reward_std" in e.info:
        met["group_reward_std"] = fl(e.info["group_reward_std"])
    case["metrics"] = met
    return case


def orl_adv_cases():
    rng = random.Random(SEED + 3)
    cases = []
    add = lambda *a, **k: cases.append(orl_adv_case(*a, **k))  # noqa: E731
    T = 6
    m12 = gen_mask(rng, 12, T, "ragged")
    m12h = gen_mask(rng, 12, T, "holes")
    r12 = rand_rewards(rng, 12)
    r12[4:8] = [0.5, 0.5, 0.5, 0.5]
    lo = [[-r4(rng.uniform(0.01, 3.0)) if m else 0.0 for m in row] for row in m12]
    rf = [[r4(min(x + rng.gauss(0, 0.4), -0.005)) if m else 0.0 for x, m in zip(row, mrow)]
          for row, mrow in zip(lo, m12)]
    loh = [[-r4(rng.uniform(0.01, 3.0)) if m else 0.0 for m in row] for row in m12h]
    rfh = [[r4(min(x + rng.gauss(0, 0.4), -0.005)) if m else 0.0 for x, m in zip(row, mrow)]
           for row, mrow in zip(loh, m12h)]
    add("group_norm/n4", "group_norm", r12, 4, m12)
    add("group_norm/n2", "group_norm", r12, 2, m12)
    add("group_norm/n4/kl-in-reward-k1", "group_norm", r12, 4, m12, logp_old=lo, logp_ref=rf)
    add("group_norm/n4/reward-clip", "group_norm", [15.0, -12.0, 3.0, 0.0] + r12[4:], 4, m12)
    add("dr_grpo/n4", "dr_grpo", r12, 4, m12)
    add("rloo/n4", "rloo", r12, 4, m12)
    add("rloo/n2", "rloo", r12, 2, m12)
    add("reinforce_baseline/n4", "reinforce_baseline", r12, 4, m12)
    add("reinforce_baseline/n4/no_std_norm", "reinforce_baseline", r12, 4, m12, no_std_norm=True)
    add("reinforce/gamma1", "reinforce", r12, 1, m12)
    add("reinforce/gamma0.95/kl-in-reward-k1/holes", "reinforce", r12, 1, m12h, gamma=0.95, logp_old=loh,
        logp_ref=rfh)
    add("reinforce/gamma1/kl-in-reward-k3-coef0.05", "reinforce", r12, 1, m12, kl_estimator="k3", init_coef=0.05,
        logp_old=lo, logp_ref=rf)
    add("reinforce/gamma1/reward-clip", "reinforce", [15.0, -12.0] + r12[2:], 1, m12)
    add("reinforce/gamma1/all-equal-returns", "reinforce", [1.0] * 6, 1,
        [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 1, 0], [1, 1, 1, 1, 1]])
    add("reinforce/gamma1/near-equal-returns", "reinforce", [1.0, 1.0001, 1.0, 0.9999], 1,
        [[1, 1, 1, 0], [1, 1, 1, 1], [1, 1, 0, 0], [1, 1, 1, 1]])
    add("reinforce_baseline/gamma0.95-forced-to-1", "reinforce_baseline", r12, 4, m12, gamma=0.95)
    add("flash_reinforce/n1", "flash_reinforce", r12, 1, m12)
    vals = [[r4(rng.uniform(-1, 1)) for _ in range(T)] for _ in range(12)]
    add("gae/gamma1-lambd0.95", "gae", r12, 1, m12, lambd=0.95, values=vals)
    add("gae/gamma0.99-lambd0.95/kl-in-reward/holes", "gae", r12, 1, m12h, gamma=0.99, lambd=0.95, values=vals,
        logp_old=loh, logp_ref=rfh)
    lens = [float(last_valid_len(r)) for r in m12]
    add("group_norm/overlong-penalty", "group_norm", r12, 4, m12,
        overlong={"max_new_tokens": 6, "overlong_buffer_len": 3.0, "overlong_penalty_factor": 1.0},
        response_length=lens)
    trunc = [1 if last_valid_len(r) == T else 0 for r in m12]
    add("group_norm/stop-properly-0.5", "group_norm", r12, 4, m12, stop_properly=0.5, truncated=trunc)
    add("group_norm/stop-properly--0.5", "group_norm", r12, 4, m12, stop_properly=-0.5, truncated=trunc)
    return cases


# ----------------------------------------------------------------------------- writing
def package_record(dist, wheel_dir=os.environ.get("WHEELS", "build/peers/wheels")):
    version = metadata.version(dist)
    d = metadata.distribution(dist)
    source, sha = None, None
    try:
        du = json.loads(d.read_text("direct_url.json") or "{}")
        if du:
            source = os.path.basename(du.get("url", ""))
            sha = du.get("archive_info", {}).get("hashes", {}).get("sha256")
    except Exception:
        pass
    if source and os.path.exists(os.path.join(wheel_dir, source)):
        with open(os.path.join(wheel_dir, source), "rb") as f:
            sha = hashlib.sha256(f.read()).hexdigest()
    return {"name": dist, "version": version, "source": source, "sha256": sha, "commit": None}


def environment():
    env = {}
    for dist in ["torch", "numpy", "tensordict", "omegaconf", "codetiming", "PyYAML", "packaging", "cloudpickle",
                 "orjson", "pyvers", "importlib_metadata"]:
        try:
            env[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            env[dist] = None
    return env


COMMON_NOTES = [
    "Inputs are drawn with random.Random(seed) and rounded to 4 decimals; every output is the peer's own arithmetic "
    "on float64 tensors (torch 1 thread, CPU, one process). Arrays are row-major [N,T]; mask is 0/1.",
    "torch's default dtype is left at float32, as in the peers' trainers. This is visible in the outputs: "
    "(bool|int).float() is float32, an integer count + 1e-8 is a float32 tensor (so the 1e-8 vanishes for counts "
    ">= 1 and is float32(1e-8) for 0), int/int tensor division is float32, torch.tensor(0.0) is float32. Hence e.g. "
    "verl's actor/pg_clipfrac, OpenRLHF's ppo_clip_ratio/is_filter_ratio are float32 values; verl masked_var's "
    "Bessel factor n/(n-1) is float32-rounded; OpenRLHF's compute_approx_kl and its whitening statistics are "
    "float32.",
    "Import stubs (meta-path finder, dummy modules, not used by the called code): " + ", ".join(sorted(STUB_ROOTS)) +
    ". Packages registered without running their __init__.py: " + ", ".join(BARE) + ". Dummy modules: "
    "openrlhf.trainer.ray.launcher, openrlhf.utils.deepspeed, openrlhf.utils.deepspeed.deepspeed_utils.",
    "options hold the peer's option names and values as used (defaults included where they matter for the case; "
    "options that the case's loss does not read are left out). advantage 'returns' is omitted when the peer "
    "returns the advantages themselves as returns (identical tensors).",
    "Top-level 'environment': versions of the other packages the script imports (torch, numpy, tensordict, ...).",
    "Extra keys (beyond tests/peers/README.md): policy_loss 'mask_after_rs' (verl: response_mask after the "
    "trainer's rejection sampling, used by the loss), 'rollout_is_weights' (verl: weights the trainer passed in); "
    "advantage 'returns', 'values' [N*T] (GAE critic values), 'logp_old'/'logp_ref' [N*T] (KL in reward, or "
    "verl OTB's old_log_probs), 'sum_pi_squared' [N*T] (verl OTB), 'token_level_rewards' (verl after "
    "apply_kl_penalty), 'truncated' [N], 'response_length' [N] (OpenRLHF length penalties), 'metrics' (values the "
    "peer logs from the same step); kl 'old' [N*T] (OpenRLHF unbiased_gradient IS weight).",
]

VERL_NOTES = COMMON_NOTES + [
    "policy_loss: verl.workers.utils.losses.ppo_loss(config, model_output, data) (losses.py:57) is called as the "
    "FSDP engine calls it for one micro-batch on one process (engine/fsdp/transformer_impl.py:1576). config = "
    "ActorConfig(strategy='fsdp', rollout_n=1, ppo_mini_batch_size=N, ppo_micro_batch_size_per_gpu=N, <options>). "
    "data: TensorDict with prompts [N,1], responses [N,T], attention_mask [N,1+T] (response part 1 up to the last "
    "valid token), response_mask (= mask; ppo_loss casts it to bool), old_log_probs (= old), advantages "
    "(= token_advantages), ref_log_prob (= ref, when use_kl_loss), rollout_is_weights (decoupled rollout "
    "correction) and non-tensor dp_size=1, batch_num_tokens=int(mask.sum()) (transformer_impl.py:730-735: "
    "loss_mask = response_mask, padding.py:71), global_batch_size=N (= ppo_mini_batch_size*rollout.n, "
    "ray_trainer.py:1352-1362). options.global_batch_info records these. model_output['log_probs'] (and "
    "'entropy' when calculate_entropy or entropy_coeff != 0) = flat no-padding tensor, per row [logp[i,:L_i], 0] "
    "with L_i = last valid position + 1, so padding.no_padding_2_padding returns logp[i,:L_i] zero-padded to T "
    "(positions after the last valid token reach the loss as log_prob = 0 and get dlogp = 0).",
    "policy_loss composition inside ppo_loss (losses.py:99-144): pg_loss = POLICY_LOSS_REGISTRY[loss_mode]("
    "old, logp, adv, mask_bool, loss_agg_mode, config, rollout_is_weights); loss = pg_loss; "
    "if entropy: loss -= entropy_coeff * agg_loss(entropy, mask, loss_agg_mode, **global_batch_info); "
    "if use_kl_loss: loss += kl_loss_coef * agg_loss(kl_penalty(logp, ref, kl_loss_type), mask, loss_agg_mode, "
    "**global_batch_info). Metrics named as logged after rename_dict(metrics, 'actor/') "
    "(ray_trainer.py:1371): actor/pg_loss, actor/entropy_loss, actor/kl_loss, actor/kl_coef plus what the loss "
    "returns (actor/pg_clipfrac, actor/ppo_kl, actor/pg_clipfrac_lower, rollout_corr/* in bypass mode).",
    "Decoupled rollout correction cases (options.rollout_correction, call starts with compute_rollout_correction_"
    "and_add_to_batch): the trainer's step (v1/trainer_base.py:1764-1772) runs first on a DataProto with "
    "old_log_probs=old, rollout_log_probs=sampler_logp, response_mask=mask; its response_mask (mask_after_rs) "
    "and rollout_is_weights are what ppo_loss gets (batch_num_tokens = mask_after_rs.sum()); its "
    "rollout_corr/* metrics are included.",
    "Bypass-mode cases (policy_loss.loss_mode='bypass_mode'): the trainer sets old_log_probs = rollout_log_probs "
    "(rollout_corr_helper.apply_bypass_mode), so old == sampler_logp in these cases.",
    "clip_cov chooses among candidate tokens with torch.randperm; the script checks that every clip_cov case "
    "gives the same result under 4 different torch seeds (clip_cov_ratio=1 clips all candidates; the default "
    "case has at most clip_num candidates).",
    "advantage: ray_trainer.compute_advantage (ray_trainer.py:%d) and apply_kl_penalty (ray_trainer.py:%d) are "
    "compiled at run time from the installed ray_trainer.py with ast (the module needs the whole "
    "ray/megatron stack) and run on a duck-typed DataProto: batch = dict (token_level_scores = rewards placed on "
    "the last valid token of each row, response_mask, values, reward_baselines, old_log_probs, ref_log_prob, "
    "sum_pi_squared as given), non_tensor_batch = {'uid': one id per group (groups contiguous)}, config = "
    "AlgoConfig(adv_estimator, gamma, lam, norm_adv_by_std_in_grpo, gdpo_reward_*). Without use_kl_in_reward "
    "token_level_rewards = token_level_scores (v1/trainer_base.py:1761). gdpo with two rewards: "
    "non_tensor_batch[key] = the per-sample component scores, batch prompts [N,2] and attention_mask [N,2+T] "
    "(GDPO places each component on attention_mask[:, 2:].sum()-1). rewards is [N*K] row-major (K = num_rewards)." % (
        RT_LINES["compute_advantage"], RT_LINES["apply_kl_penalty"]),
    "kl: verl.trainer.ppo.core_algos.kl_penalty(logp, ref, kl_penalty=mode) on a [4,8] grid of d = logp - ref "
    "(24 fixed values near and beyond the clamps, then random); dvalue = d value / d logp by autograd of value.sum().",
]

ORL_NOTES = COMMON_NOTES + [
    "policy_loss: the real ActorPPOTrainer.training_step(experience, kl_ctl, 0, loss_batch_info) "
    "(trainer/ray/ppo_actor.py:259-407) on ActorPPOTrainer.__new__(ActorPPOTrainer) with: actor_loss_fn = "
    "PolicyLoss(clip_eps_low, clip_eps_high = actor.eps_clip_low_high, dual_clip, token_level_loss = "
    "(actor.loss_agg_mode == 'token-mean'), policy_loss_type, is_correction_*) as __init__ builds it "
    "(ppo_actor.py:76-86); actor = stand-in returning (logp * action_mask.float(), output) like Actor.forward "
    "(models/actor.py:298) with output.entropy = entropy; strategy.backward(loss) = loss.backward(); "
    "kl_ctl = FixedKLController(algo.kl.init_coef).value; loss_batch_info from the real "
    "utils/loss_utils.iter_grad_accum_global_norm([experience], strategy, 1, lambda e: e.action_mask) "
    "(one micro-batch, gas 1, no torch.distributed): dp_size 1, batch_num_tokens = mask.sum(), "
    "global_batch_size = number of rows with at least one valid token (float32 0-dim tensors), recorded in "
    "options.loss_batch_info. Experience: action_mask bool, action_log_probs = old, base_action_log_probs = ref "
    "(algo.kl.use_loss), rollout_log_probs = sampler_logp (is_correction_level != off), advantages = "
    "token_advantages, info = {}. old/ref/sampler_logp are 0 at masked positions (Actor.forward output).",
    "policy_loss composition in training_step (ppo_actor.py:304-353): actor_loss = PolicyLoss(...)(logp*mask, old, "
    "adv, mask, rollout_log_probs, **loss_batch_info); if algo.kl.use_loss and init_coef > 0: kl = "
    "compute_approx_kl(logp*mask, ref, log_probs_old=old, kl_estimator, unbiased_gradient) (float32), kl_loss = "
    "aggregate_loss(kl, mask, **loss_batch_info) (always token level: token_level_loss defaults True); "
    "loss = actor_loss + kl_loss * kl_ctl; if entropy_coef is not None: entropy_loss = aggregate_loss(entropy, "
    "mask, **loss_batch_info) (token level), loss -= entropy_coef * entropy_loss when coef != 0. metrics = "
    "status['metrics'] except actor_lr/actor_grad_norm: policy_loss, entropy_loss, ppo_clip_ratio, ppo_kl, "
    "vllm_kl, is_filter_ratio, kl (= kl_loss), logprobs_diff (masked mean of float32 logp - ref), raw tensors "
    "(ppo_train later logs value.float().mean()).",
    "advantage: make_experience's KL step (experience_maker.py:205-227) with the real compute_approx_kl/"
    "masked_mean on logp_old (the rollout-time actor logp) vs logp_ref when kl_in_reward, then the real "
    "RemoteExperienceMaker.compute_advantages_and_returns([experience]) (experience_maker.py:238-340) on "
    "RemoteExperienceMaker.__new__ with strategy.args/args = options, advantage_estimator, kl_ctl = "
    "FixedKLController(algo.kl.init_coef). One Experience: action_mask bool, rewards [N] float64, index = "
    "0..N-1 (groups of n_samples_per_prompt consecutive rows), kl, values (gae), truncated/response_length "
    "(length penalties). token_advantages = experience.advantages, returns = experience.returns; metrics = "
    "info['return'], info['kl'], info['group_reward_std'] as computed there. algo.advantage.gamma_used = the "
    "gamma after compute_advantages_and_returns (it forces 1.0 for every estimator but reinforce and gae).",
    "kl: openrlhf.models.utils.compute_approx_kl(logp, ref, log_probs_old=old, kl_estimator, unbiased_gradient) on "
    "the same grid as verl's kl cases. OpenRLHF computes it in float32 (log_probs.float() - "
    "log_probs_base.float()): value is float32 (written as float64), dvalue is autograd of value.sum() w.r.t. "
    "the float64 leaf (float32 arithmetic inside).",
]


def write(path, peer, dist, notes, cases):
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    head = {"format": 1, "peer": peer, "package": package_record(dist), "torch": torch.__version__.split("+")[0],
            "generator": "tests/peers/verl_openrlhf.py", "seed": SEED, "environment": environment(), "notes": notes}
    body = json.dumps(head, separators=(", ", ": "))[:-1]
    lines = [json.dumps(c, separators=(",", ":")) for c in cases]
    with open(path, "w") as f:
        f.write(body + ', "cases": [\n' + ",\n".join(lines) + "\n]}\n")
    json.load(open(path))  # round-trip check


def main():
    os.makedirs(OUT, exist_ok=True)
    check_clip_cov_deterministic()
    torch.manual_seed(SEED)
    verl_cases = verl_policy_cases() + verl_adv_cases() + verl_kl_cases()
    write(os.path.join(OUT, "verl.json"), "verl", "verl", VERL_NOTES, verl_cases)
    orl_cases = orl_policy_cases() + orl_adv_cases() + orl_kl_cases()
    write(os.path.join(OUT, "openrlhf.json"), "openrlhf", "openrlhf", ORL_NOTES, orl_cases)
    for name, cs in (("verl", verl_cases), ("openrlhf", orl_cases)):
        kinds = {}
        for c in cs:
            kinds[c["kind"]] = kinds.get(c["kind"], 0) + 1
        print(name, kinds, os.path.getsize(os.path.join(OUT, name + ".json")), "bytes")


if __name__ == "__main__":
    main()
