#pragma once
// Every reward functor and their combination by name.
#include <grpo/reward/accuracy.hpp>
#include <grpo/reward/combine.hpp>
#include <grpo/reward/completion.hpp>
#include <grpo/reward/format.hpp>
#include <grpo/reward/language.hpp>
#include <grpo/reward/length.hpp>
#include <grpo/reward/reasoning_steps.hpp>
#include <grpo/reward/repetition.hpp>
