#pragma once
// The umbrella header: everything grpo offers on the host, lowest layer first. CUDA code
// includes <grpo/exec/cuda.cuh> (and the .cuh headers of grpo/logprob) instead: this header
// pulls in Boost.Hana, which device code must not see.

// core: placement macro, errors, group layouts, the reduction hook, vectorised exp, bf16
#include <grpo/core/bf16.hpp>
#include <grpo/core/error.hpp>
#include <grpo/core/groups.hpp>
#include <grpo/core/macros.hpp>
#include <grpo/core/reduce.hpp>
#include <grpo/core/sgemm.hpp>
#include <grpo/core/vexp.hpp>

// advantages from rewards
#include <grpo/advantage/advantage.hpp>

// the objective family, its presets, and the CPU backends of the fused pass
#include <grpo/exec/cpu.hpp>
#include <grpo/objective/objective.hpp>
#include <grpo/objective/presets.hpp>
#include <grpo/objective/reflect.hpp>

// log-probabilities from logits or hidden states
#include <grpo/logprob/fused_linear.hpp>
#include <grpo/logprob/naive.hpp>
#include <grpo/logprob/selective_log_softmax.hpp>

// models, sampling, optimisers
#include <grpo/model/adapter.hpp>
#include <grpo/model/policy.hpp>
#include <grpo/model/reference.hpp>
#include <grpo/model/sampler.hpp>
#include <grpo/model/tabular.hpp>
#include <grpo/model/transformer.hpp>
#include <grpo/optim/adamw.hpp>
#include <grpo/optim/clip.hpp>
#include <grpo/optim/schedule.hpp>

// text: tokenizer and tasks, rewards, evaluation
#include <grpo/eval/answer.hpp>
#include <grpo/eval/metrics.hpp>
#include <grpo/eval/score.hpp>
#include <grpo/reward/rewards.hpp>
#include <grpo/task/tasks.hpp>

// training: the trainer, pre-training, checkpoints, metrics, progress, plots
#include <grpo/train/checkpoint.hpp>
#include <grpo/train/config.hpp>
#include <grpo/train/metrics.hpp>
#include <grpo/train/plot.hpp>
#include <grpo/train/pretrain.hpp>
#include <grpo/train/progress.hpp>
#include <grpo/train/run.hpp>
#include <grpo/train/task_env.hpp>
#include <grpo/train/trainer.hpp>
