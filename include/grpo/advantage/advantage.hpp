#pragma once
// Everything of the advantage layer (host side): the estimators, the entry point
// compute_advantages, several rewards, KL in the reward, and the Hana reflection for printing.
#include <grpo/advantage/compute.hpp>
#include <grpo/advantage/estimators.hpp>
#include <grpo/advantage/inputs.hpp>
#include <grpo/advantage/kl_reward.hpp>
#include <grpo/advantage/multi_reward.hpp>
#include <grpo/advantage/reflect.hpp>
