# Finds the third-party headers grpo builds on. Every miss stops configuration with the Debian
# package that provides it (`make deps` installs them all).

function(grpo_require_header var header hint_paths package)
  find_path(${var} NAMES ${header} HINTS ${hint_paths})
  if(NOT ${var})
    message(FATAL_ERROR
      "grpo: cannot find <${header}>. Install it with: sudo apt-get install ${package}  "
      "(or run `make deps`).")
  endif()
endfunction()

# Eigen 3.4 (host math, models)
find_package(Eigen3 3.4 QUIET NO_MODULE)
if(NOT TARGET Eigen3::Eigen)
  message(FATAL_ERROR "grpo: Eigen 3.4 not found. Install it with: sudo apt-get install libeigen3-dev")
endif()

# Boost.Hana (header-only, host side only)
grpo_require_header(GRPO_HANA_INCLUDE_DIR boost/hana.hpp "/usr/include" libboost-dev)

# CCCL: Thrust, CUB and libcu++, optional. Only grpo/exec/thrust.hpp and the CUDA headers use
# them; the CPU backends need neither the CUDA toolkit nor Thrust. Prefer the CUDA toolkit's copy
# (CUDA 13 keeps it under include/cccl), fall back to Debian's libthrust-dev + libcub-dev.
set(_grpo_cccl_hints /usr/local/cuda/include/cccl /usr/local/cuda/include)
if(DEFINED ENV{CUDA_HOME})
  list(PREPEND _grpo_cccl_hints $ENV{CUDA_HOME}/include/cccl $ENV{CUDA_HOME}/include)
endif()
find_path(GRPO_CCCL_INCLUDE_DIR NAMES thrust/version.h cuda/std/tuple
  HINTS ${_grpo_cccl_hints} NO_DEFAULT_PATH)
if(NOT GRPO_CCCL_INCLUDE_DIR)
  find_path(GRPO_CCCL_INCLUDE_DIR NAMES thrust/version.h)
endif()
set(GRPO_HAVE_THRUST OFF)
set(GRPO_THRUST_HOST_ONLY OFF)
if(GRPO_CCCL_INCLUDE_DIR)
  set(GRPO_HAVE_THRUST ON)
  # Thrust's default device system is CUDA, whose headers need the toolkit's cuda_runtime_api.h.
  # Without the toolkit (Debian's Thrust on a CPU-only machine) the device system becomes CPP,
  # so that <thrust/...> compiles with any host compiler; thrust::cpp and thrust::omp are
  # unaffected.
  find_path(GRPO_CUDART_INCLUDE_DIR NAMES cuda_runtime_api.h
    HINTS ${_grpo_cccl_hints} ${GRPO_CCCL_INCLUDE_DIR} ${GRPO_CCCL_INCLUDE_DIR}/..)
  if(NOT GRPO_CUDART_INCLUDE_DIR)
    set(GRPO_THRUST_HOST_ONLY ON)
  endif()
else()
  set(GRPO_CCCL_INCLUDE_DIR "")
  if(NOT grpo_FIND_QUIETLY)
    message(STATUS "grpo: Thrust/CUB (CCCL) not found: the Thrust backend (grpo/exec/thrust.hpp) "
      "is unavailable; the CPU backends do not need it. For it, install the CUDA toolkit or: "
      "sudo apt-get install libthrust-dev libcub-dev")
  endif()
endif()

# OpenMP for the parallel CPU path (optional: without it the parallel path runs serially).
find_package(OpenMP QUIET COMPONENTS CXX)
