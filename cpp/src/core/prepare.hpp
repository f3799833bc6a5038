// Input validation for scalar problems: every check of formulation.md's
// "Tolerated imbalance", with messages that name the problem and the values.
#pragma once

#include <string>
#include <vector>

#include "core/domain.hpp"
#include "omtcore/types.hpp"

namespace omtcore::detail {

struct PreparedScalar {
  Domain domain;
  Norm norm = Norm::isotropic;
  std::vector<double> a, b;  // validated; normalized and rebalanced per part
  double total_mass = 0;     // sum of a (== sum of b)
};

PreparedScalar prepare_scalar(const ScalarProblem& problem);
void check_options(const SolveOptions& options);
std::string cell_string(const Domain& dom, std::int64_t i);
// A number for error messages (10 significant digits).
std::string num(double x);

}  // namespace omtcore::detail
