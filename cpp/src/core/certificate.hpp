// Certificates of a scalar solve, computed on the host in double precision:
// an exactly feasible flux (the iterate's violation routed along the domain's
// spanning forest) whose cost is an upper bound, and a dual-feasible potential
// whose objective is a rigorous lower bound (formulation.md, "What a solve returns").
#pragma once

#include <vector>

#include "core/prepare.hpp"

namespace omtcore::detail {

struct Certificate {
  double distance = 0;
  double lower_bound = 0;
  double gap = 0;
  std::vector<double> flux;       // (d, cells), user units, exactly feasible
  std::vector<double> exchange;   // fields only: the in-cell flux, exactly feasible with `flux`
  std::vector<double> potential;  // cells, dual feasible, centred, 0 outside the domain
};

// `flux` (d, cells) and `phi` (cells) in user units; both are consumed.
Certificate certify(const PreparedScalar& problem, std::vector<double> flux, std::vector<double> phi);

// Plane-level pieces, shared with the vector and matrix certificates:
// Routes the violation e (cells) along the domain's BFS forest into flux
// (d, cells), leaves first; each part's total ends at its root, e is 0 elsewhere.
void route_to_roots(const Domain& dom, double* e, double* flux);
// psi <- min_y psi(y) + d(x, y), d the domain's weighted L1 path metric, in place.
void inf_convolution(const Domain& dom, double* psi);
// Reverse sweep towards the isotropic constraint (not yet feasible: scale after).
void isotropic_sweep(const Domain& dom, double* psi);

// Cost sum_i N(F(i)) of a flux under the problem's norm.
double flux_cost(const PreparedScalar& problem, const std::vector<double>& flux);

}  // namespace omtcore::detail
