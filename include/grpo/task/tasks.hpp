#pragma once
// Everything of the task layer: tokenizer, problem interface, tasks and templates.
#include <grpo/task/arithmetic.hpp>
#include <grpo/task/countdown.hpp>
#include <grpo/task/expression.hpp>
#include <grpo/task/problem.hpp>
#include <grpo/task/random.hpp>
#include <grpo/task/script.hpp>
#include <grpo/task/template.hpp>
#include <grpo/task/tokenizer.hpp>
