// Certificates of a solve, computed on the host in double precision: an
// exactly feasible flux (the iterate's violation routed along the domain's
// spanning forest, the remainder resolved in-cell) whose cost is an upper
// bound, and a dual-feasible potential made from the iterate's whose
// objective is a rigorous lower bound.
#pragma once

#include <cmath>
#include <functional>
#include <queue>
#include <utility>
#include <vector>

#include "core/problem.hpp"

namespace omtcore::detail {

// The best bounds of a solve so far and what attains them (the lower bound
// may be the largest of several rigorous ones). Each certificate updates it in
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
  // The certificates' work so far in cell visits (a pass over the cells
  // counts one per cell and plane; a label settled by Dijkstra a few). The
  // loop schedules certificates by it: unlike their time, it is the same
  // from run to run.
  double work = 0;

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

// A label settled by Dijkstra (its neighbours relaxed, heap updates) in
// cell visits, the unit of Bounds::work.
constexpr double kSettleWork = 32;

// What one certificate improved.
struct Improved {
  bool upper = false;  // distance and flux replaced
  bool lower = false;  // lower_bound and potential replaced
};

// A certificate in two halves, so that it never holds the whole iterate
// twice: the flux (planes * d, cells; plane p, axis s at p * d + s) with the
// exchange (columns, cells), then the potential (planes, cells), in user
// units; `best` keeps the better bounds (true: this one improved). The
// arrays are workspace: they end holding arrays that the next certificate
// reuses (`scratch`: the scalar candidates', cells long). The potential's
// half reads best.distance to decide how hard to try.
bool certify_flux(const Problem& problem, std::vector<double>& flux, std::vector<double>& exchange, Bounds& best);
bool certify_potential(const Problem& problem, std::vector<double>& potential, std::vector<double>& scratch,
                       Bounds& best);

// The halves per kind: scalar (certificate.cpp), vector and matrix
// (certificate_fields.cpp).
bool certify_scalar_flux(const Problem& problem, std::vector<double>& flux, Bounds& best);
bool certify_scalar_potential(const Problem& problem, std::vector<double>& phi, std::vector<double>& scratch,
                              Bounds& best);
bool certify_field_flux(const Problem& problem, std::vector<double>& flux, std::vector<double>& exchange,
                        Bounds& best);
bool certify_field_potential(const Problem& problem, std::vector<double>& phi, Bounds& best);

// Plane-level pieces, shared with the vector and matrix certificates:
// Routes the violation e (cells) along the domain's BFS forest into flux
// (d, cells), leaves first; each part's total ends at its root, e is 0 elsewhere.
void route_to_roots(const Domain& dom, double* e, double* flux);
// psi <- min_y psi(y) + d(x, y), d the domain's weighted L1 path metric, in
// place. Returns the labels it settled by Dijkstra (0 on the full rectangle,
// which takes two sweeps per axis), for the certificate's work count.
std::int64_t inf_convolution(const Domain& dom, double* psi);
// Reverse sweep towards the isotropic constraint (not yet feasible: scale after).
void isotropic_sweep(const Domain& dom, double* psi);
// The interval of cell i's values that meets its isotropic constraint given
// its forward neighbours' (a point where none does; the line without any).
void isotropic_interval(const Domain& dom, const double* psi, std::int64_t i, double& lo, double& hi);
// psi <- min_y psi(y) + d(x, y), d the path metric fitted to phi under which
// every 1-Lipschitz function meets the isotropic constraint (dual feasible).
// phi and psi may not be the same array. Returns the labels it settled.
std::int64_t isotropic_inf_convolution(const Domain& dom, const double* phi, double* psi);
// The length of the face from cell o along `axis` in that fitted metric.
double isotropic_face_length(const Domain& dom, const double* phi, std::int64_t o, int axis);

// psi <- min_y psi(y) + d(x, y) over a graph of `nodes` nodes whose edges
// from node i are those edges(i, edge) reports as edge(j, length): the
// largest function below psi that is 1-Lipschitz for the path metric d.
// Dijkstra seeded by the nodes that lower a neighbour: labels only fall, so
// a node that lowers none at the start never will (near convergence these
// are few, and the heap small). Returns the labels it settled.
template <class Edges>
std::int64_t lower_to_lipschitz(std::int64_t nodes, double* psi, Edges&& edges) {
  using Item = std::pair<double, std::int64_t>;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> heap;
  for (std::int64_t i = 0; i < nodes; ++i) {
    bool lowers = false;
    edges(i, [&](std::int64_t j, double length) { lowers = lowers || psi[i] + length < psi[j]; });
    if (lowers) heap.emplace(psi[i], i);
  }
  std::int64_t pops = 0;
  while (!heap.empty()) {
    auto [value, i] = heap.top();
    heap.pop();
    ++pops;
    if (value > psi[i]) continue;
    edges(i, [&, value = value](std::int64_t j, double length) {
      const double cand = value + length;
      if (cand < psi[j]) {
        psi[j] = cand;
        heap.emplace(cand, j);
      }
    });
  }
  return pops;
}

// Cost sum_i N(F(i)) of a flux under the problem's norm.
double flux_cost(const Problem& problem, const std::vector<double>& flux);

}  // namespace omtcore::detail
