// Certificates of a scalar solve, computed on the host in double precision:
// an exactly feasible flux (the iterate's violation routed along the domain's
// spanning forest) whose cost is an upper bound, and a dual-feasible potential
// whose objective is a rigorous lower bound (formulation.md, "What a solve returns").
#pragma once

#include <cmath>
#include <utility>
#include <vector>

#include "core/prepare.hpp"

namespace omtcore::detail {

// The best bounds of a solve so far and what attains them (formulation.md
// allows "the largest of several such bounds"). Each certificate updates it in
// place; the loser's arrays (the old best when beaten, else the offered ones)
// are handed back in the arguments, so that a scalar solve reuses them for its
// next certificate instead of allocating grid-sized arrays again.
struct Bounds {
  double distance = INFINITY;     // cost of `flux`
  double lower_bound = -INFINITY; // dual objective of `potential`
  std::vector<double> flux;       // (d, cells), user units, exactly feasible
  std::vector<double> exchange;   // fields only: the in-cell flux, exactly feasible with `flux`
  std::vector<double> potential;  // cells, dual feasible, centred, 0 outside the domain
  // The solve's tol: a certificate skips its costlier lower-bound candidates
  // once the bracket already meets it (0: always tries them all).
  double target_gap = 0;

  // Keeps a new upper bound and its flux (and exchange) if it beats the
  // current one; the loser's arrays end in the arguments. True if kept.
  bool offer_upper(double value, std::vector<double>& new_flux, std::vector<double>* new_exchange = nullptr) {
    const bool better = value < distance;
    if (better) {
      distance = value;
      flux.swap(new_flux);
      if (new_exchange) exchange.swap(*new_exchange);
    }
    return better;
  }
  // The same for a lower bound and its potential.
  bool offer_lower(double value, std::vector<double>& new_potential) {
    const bool better = value > lower_bound;
    if (better) {
      lower_bound = value;
      potential.swap(new_potential);
    }
    return better;
  }
};

// What one certificate improved.
struct Improved {
  bool upper = false;  // distance and flux replaced
  bool lower = false;  // lower_bound and potential replaced
};

// Certifies an iterate's flux (d, cells), and then its potential (cells), in
// user units; `best` keeps the better bounds, and the arguments end holding
// arrays of the same sizes for the next certificate to reuse (`scratch` is
// the candidates' workspace). The potential's certificate reads
// best.distance to decide how hard to try.
bool certify_flux(const PreparedScalar& problem, std::vector<double>& flux, Bounds& best);
bool certify_potential(const PreparedScalar& problem, std::vector<double>& phi, std::vector<double>& scratch,
                       Bounds& best);

// Plane-level pieces, shared with the vector and matrix certificates:
// Routes the violation e (cells) along the domain's BFS forest into flux
// (d, cells), leaves first; each part's total ends at its root, e is 0 elsewhere.
void route_to_roots(const Domain& dom, double* e, double* flux);
// psi <- min_y psi(y) + d(x, y), d the domain's weighted L1 path metric, in place.
void inf_convolution(const Domain& dom, double* psi);
// Reverse sweep towards the isotropic constraint (not yet feasible: scale after).
void isotropic_sweep(const Domain& dom, double* psi);
// psi <- min_y psi(y) + d(x, y), d the path metric fitted to phi under which
// every 1-Lipschitz function meets the isotropic constraint (dual feasible).
// phi and psi may not be the same array.
void isotropic_inf_convolution(const Domain& dom, const double* phi, double* psi);

// Cost sum_i N(F(i)) of a flux under the problem's norm.
double flux_cost(const PreparedScalar& problem, const std::vector<double>& flux);

}  // namespace omtcore::detail
