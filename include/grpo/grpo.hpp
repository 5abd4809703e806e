#pragma once
// The umbrella header: everything grpo offers on the host. CUDA users include
// <grpo/exec/cuda.cuh> in their .cu files in addition.
#include <grpo/core/error.hpp>
#include <grpo/core/groups.hpp>
#include <grpo/core/macros.hpp>
#include <grpo/core/reduce.hpp>
#include <grpo/eval/answer.hpp>
#include <grpo/eval/metrics.hpp>
#include <grpo/reward/rewards.hpp>
#include <grpo/task/tasks.hpp>
#include <grpo/eval/score.hpp>
#include <grpo/model/adapter.hpp>
#include <grpo/model/policy.hpp>
#include <grpo/model/reference.hpp>
#include <grpo/model/sampler.hpp>
#include <grpo/model/tabular.hpp>
#include <grpo/model/transformer.hpp>
#include <grpo/optim/adamw.hpp>
#include <grpo/optim/clip.hpp>
#include <grpo/optim/schedule.hpp>
#include <grpo/train/checkpoint.hpp>
#include <grpo/objective/objective.hpp>
#include <grpo/objective/presets.hpp>
#include <grpo/objective/reflect.hpp>
#include <grpo/exec/cpu.hpp>
#include <grpo/advantage/advantage.hpp>
