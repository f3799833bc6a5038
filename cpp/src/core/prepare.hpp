// Input validation for scalar problems: every check of formulation.md's
// "Tolerated imbalance", with messages that name the problem and the values.
#pragma once

#include <string>
#include <vector>

#include "core/domain.hpp"
#include "omtcore/types.hpp"

namespace omtcore::detail {

// a - b is not stored (8 bytes per cell): net(i) reads the caller's arrays,
// which outlive the solve call, with the normalisation and per-part
// rebalancing applied.
struct PreparedScalar {
  Domain domain;
  Norm norm = Norm::isotropic;
  const double* a = nullptr;
  const double* b = nullptr;
  double scale_a = 1;            // 1 / sum(a) with normalize, else 1
  std::vector<double> scale_b;   // per part: b's normalisation times the rebalancing
  double total_mass = 0;         // sum of a over the domain (== sum of b)

  // (a - b)(i): validated, normalized and rebalanced per part; 0 outside the domain.
  double net(std::int64_t i) const {
    const int q = domain.part_of(i);
    return q < 0 ? 0.0 : a[i] * scale_a - b[i] * scale_b[q];
  }
};

PreparedScalar prepare_scalar(const ScalarProblem& problem);
void check_options(const SolveOptions& options);
std::string cell_string(const Domain& dom, std::int64_t i);
// A number for error messages (10 significant digits).
std::string num(double x);

}  // namespace omtcore::detail
