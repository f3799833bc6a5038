// The iteration loop shared by every problem kind: preconditioned PDHG with
// adaptive primal weight, Halpern restarts for LPs, periodic certificates.
// It drives a Backend through its fused steps and never asks which problem
// or which backend it is talking to.
#pragma once

#include <functional>
#include <vector>

#include "core/backend.hpp"
#include "core/certificate.hpp"
#include "omtcore/types.hpp"

namespace omtcore::detail {

// One problem's description for the loop; lp, norm_bound and weight_range
// are the same for every problem of a batch (the first one's are used).
struct LoopSpec {
  bool lp = false;            // piecewise-linear cost (anisotropic): Halpern restarts
  double norm_bound = 1;      // a bound on ||K||^2 in solver units (plain PDHG steps)
  double weight_range = 0;    // primal weight bounds [1/r, r]; 0: by `lp` (solve_loop.cpp)
  double residual_scale = 1;  // backend->residual_l1() * residual_scale = relative residual
  bool trivial = false;       // a == b: certify the zero iterate and stop
  bool certify_start = false;  // a given start (SolveOptions::initial): certified first, returned if it meets tol
  bool stopped_before_start = false;  // the callback stopped the warm start: certify the start and stop
  std::int64_t problem = 0;   // Progress::problem in the callback's reports
  std::function<Improved(Bounds&)> certify;  // reads the backend's iterate, certifies it into the bounds
  std::function<void()> finished;            // called once the problem is done, if set
};

// Runs the loop for every problem of the backend (ProblemSetup::problems,
// one spec each, all stepped together) and fills the bounds, flux,
// exchange, potential, iterations, converged and stopped_by_callback fields
// of each result. A callback that returns false stops them all.
void run_loop(Backend& backend, const std::vector<LoopSpec>& specs, const SolveOptions& options,
              std::int64_t max_iter, std::vector<Result>& results);

// The grid part of a backend's setup in solver units: spacing scaled so that
// the largest is 1 (h_ref, the problem is homogeneous in h), K K^T's
// eigenvalues along each axis, and ||div||^2 <= sum_s 4 / h_s^2 (norm_bound).
GridSetup grid_setup(const Domain& dom, double& h_ref, double& norm_bound);

// The backend entry for options.backend ("auto": the first available).
const BackendEntry& pick_backend(const std::string& name);
std::string device_name(const BackendEntry& entry, const SolveOptions& options);

}  // namespace omtcore::detail
