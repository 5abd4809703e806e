# grpo-eval's command line: run by CTest as `cmake -DEXE=... -DWORK=... -P cli_test.cmake`.
# Each case runs the program and checks its exit status and a piece of its output.
file(MAKE_DIRECTORY ${WORK})

function(expect name rc pattern)
  execute_process(COMMAND ${EXE} ${ARGN} RESULT_VARIABLE got OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT got STREQUAL "${rc}")
    message(FATAL_ERROR "${name}: exit status ${got}, expected ${rc}\nstdout: ${out}\nstderr: ${err}")
  endif()
  if(NOT "${out}${err}" MATCHES "${pattern}")
    message(FATAL_ERROR "${name}: output does not match `${pattern}`\nstdout: ${out}\nstderr: ${err}")
  endif()
  message(STATUS "${name}: ok")
endfunction()

file(WRITE ${WORK}/ok.jsonl
"{\"id\": \"p1\", \"answer\": \"\\\\frac12\", \"level\": 1, \"completion\": \"so \\\\boxed{0.5}\"}
{\"id\": \"p1\", \"answer\": \"\\\\frac12\", \"level\": 1, \"completion\": \"so \\\\boxed{3}\"}
{\"id\": \"p2\", \"answer\": \"8000\", \"level\": 2, \"completion\": [\"<answer>8,000</answer>\", \"\\\\boxed{8\\\\,000}\"]}
")
file(WRITE ${WORK}/bad.jsonl
"{\"id\": \"p1\", \"answer\": \"1\", \"completion\": \"\\\\boxed{1}\"}
{\"id\": \"p1\", \"answer\": \"1\"
")
file(WRITE ${WORK}/gold.jsonl "{\"id\": \"p1\", \"answer\": \"\\\\boxed{7}\"}\n")
file(WRITE ${WORK}/nogold.jsonl "{\"id\": \"p1\", \"completion\": \"\\\\boxed{7.0}\"}\n")

expect(help 0 "usage: grpo-eval" --help)
expect(version 0 "grpo-eval [0-9]" --version)
expect(no_input 2 "no input file")
expect(unknown_option 2 "unknown option `--bogus`" --bogus ok.jsonl)
expect(bad_k 2 "--k: `0` is not a positive integer" --k 0 ok.jsonl)
expect(missing_file 1 "cannot open" ${WORK}/absent.jsonl)
# p1: one of two right (pass@1 0.5), p2: both right; cons@n: p1's tie goes to the first answer
expect(table 0 "pass@1[ ]+0.7500.*cons@n[ ]+1.0000" --no-progress ${WORK}/ok.jsonl)
expect(by_subset 0 "by level:.*\n1 [ ]+1[ ]+0.5000.*\n2 [ ]+1[ ]+1.0000" --by level ${WORK}/ok.jsonl)
expect(k_too_large 1 "problem `p1` \\(line 1\\) has n = 2 samples, fewer than k = 3" --k 3 ${WORK}/ok.jsonl)
expect(allow_missing 0 "pass@3.*\\(2 with n < k left out\\)" --k 3 --allow-missing ${WORK}/ok.jsonl)
expect(bad_line 1 "bad.jsonl: line 2: not valid JSON" ${WORK}/bad.jsonl)
expect(skip_bad 0 "1 bad lines skipped" --skip-bad ${WORK}/bad.jsonl)
expect(gold_file 0 "pass@1[ ]+1.0000" --gold ${WORK}/gold.jsonl ${WORK}/nogold.jsonl)
expect(outputs 0 "pass@1" --json ${WORK}/summary.json --csv ${WORK}/problems.csv ${WORK}/ok.jsonl)
# standard input
execute_process(COMMAND ${EXE} --bootstrap 0 - INPUT_FILE ${WORK}/ok.jsonl RESULT_VARIABLE got OUTPUT_VARIABLE out)
if(NOT got EQUAL 0 OR NOT out MATCHES "pass@1[ ]+0.7500")
  message(FATAL_ERROR "stdin: exit status ${got}\n${out}")
endif()
message(STATUS "stdin: ok")
file(READ ${WORK}/summary.json summary)
string(JSON pass1 GET "${summary}" all metrics pass@1 value)
string(JSON extract GET "${summary}" options extract)
if(NOT pass1 EQUAL 0.75 OR NOT extract STREQUAL "r1")
  message(FATAL_ERROR "summary.json: pass@1 = ${pass1}, extract = ${extract}; expected 0.75, r1")
endif()
file(STRINGS ${WORK}/problems.csv rows)
list(GET rows 0 head)
list(GET rows 2 p2)
if(NOT head STREQUAL "id,subset,n,c,majority_answer,pass@1,cons@n" OR NOT p2 STREQUAL "p2,,2,2,\"8,000\",1,1")
  message(FATAL_ERROR "problems.csv: ${rows}")
endif()
message(STATUS "json and csv: ok")
