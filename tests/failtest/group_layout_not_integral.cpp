// A placeholder that proves the failtest harness itself: the objective failtests are added by
// the objective work. Assigning a group layout from a float must not compile.
// expect: conversion from
#include <grpo/core/groups.hpp>
int main() {
#ifdef GRPO_FAILTEST_CONTROL
  grpo::group_layout l = grpo::group_layout::fixed(4, 2);
#else
  grpo::group_layout l = 3.5f;
#endif
  return static_cast<int>(l.num_groups);
}
