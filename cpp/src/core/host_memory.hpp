// Host memory: the peak a solve will take, estimated from the problem's size
// before anything grid-sized is allocated, against what the process may
// still allocate (the least of the system's available memory, the
// address-space limit and the cgroup limit). Too little is a
// DeviceMemoryError that names both, and the process goes on.
#pragma once

#include <cstdint>
#include <string>

#include "omtcore/types.hpp"

namespace omtcore::detail {

// What sets a solve's memory: cells, axes, real planes per cell, exchange
// (and source) columns, whether a mask (its BFS forest) and a stored
// right-hand side (matrix problems) are kept.
struct ProblemSize {
  double cells = 0;
  int d = 1, planes = 1, columns = 0;
  bool masked = false, stored_rhs = false;
  bool complex_result = false;  // matrix problems: results as interleaved complex matrices
};

ProblemSize problem_size(const ScalarProblem& p);
ProblemSize problem_size(const VectorProblem& p);
ProblemSize problem_size(const MatrixProblem& p);

// The estimated peak of a solve's own host allocations, in bytes (the
// inputs, which the caller holds, excluded); `host_iterate`: the iterate
// lives on the host (the CPU backend), not on a device.
double host_peak_bytes(const ProblemSize& size, Dtype dtype, bool host_iterate);

// The bytes of a Result's flux, exchange, potential and source in the
// user's layouts (what a batch keeps per problem).
double result_bytes(const ProblemSize& size);

// Below this estimate the limits are not read (a few file reads per solve).
constexpr double kUncheckedBytes = 16.0 * 1048576;

// What the process may still allocate, in bytes, and which limit that is
// ("available memory", "the address-space limit", "the cgroup limit");
// infinity where none can be read.
struct HostRoom {
  double bytes;
  std::string limit;
};
HostRoom host_room();

// Throws DeviceMemoryError when the estimate exceeds the room.
void check_host_memory(const ProblemSize& size, Dtype dtype, bool host_iterate);

// "123 MiB", for the messages of DeviceMemoryError.
std::string mib(double bytes);

}  // namespace omtcore::detail
