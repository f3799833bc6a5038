#include "core/prepare.hpp"

#include <cmath>
#include <sstream>

#include "omtcore/errors.hpp"

namespace omtcore::detail {

namespace {

constexpr double kRebalanceTolerance = 1e-6;  // formulation.md, "Tolerated imbalance"

void check_masses(const char* name, const double* x, const Domain& dom) {
  if (!x) throw InvalidInputError(std::string(name) + " is missing (null pointer)");
  for (std::int64_t i = 0; i < dom.cells; ++i) {
    if (!std::isfinite(x[i]))
      throw InvalidInputError(std::string(name) + " has a non-finite value (" + num(x[i]) +
                              ") at cell " + cell_string(dom, i));
    if (x[i] < 0)
      throw InvalidInputError(std::string(name) + " has negative mass " + num(x[i]) + " at cell " +
                              cell_string(dom, i));
    if (x[i] != 0 && !dom.inside[i])
      throw InvalidInputError(std::string(name) + " puts mass " + num(x[i]) +
                              " outside the mask, at cell " + cell_string(dom, i));
  }
}

}  // namespace

std::string num(double x) {
  std::ostringstream os;
  os.precision(10);
  os << x;
  return os.str();
}

std::string cell_string(const Domain& dom, std::int64_t i) {
  std::ostringstream os;
  os << "(";
  for (int s = 0; s < dom.d; ++s) os << (s ? ", " : "") << (i / dom.stride[s]) % dom.n[s];
  os << (dom.d == 1 ? ",)" : ")");
  return os.str();
}

void check_options(const SolveOptions& o) {
  if (!(std::isfinite(o.tol) && o.tol > 0 && o.tol < 1))
    throw InvalidInputError("tol must be a number in (0, 1); got " + num(o.tol));
  if (o.max_iter < 0)
    throw InvalidInputError("max_iter must be positive; got " + std::to_string(o.max_iter));
  if (o.check_every < 0)
    throw InvalidInputError("check_every must be positive; got " + std::to_string(o.check_every));
}

PreparedScalar prepare_scalar(const ScalarProblem& problem) {
  PreparedScalar p;
  p.domain = Domain::build(problem.grid, problem.mask);
  p.norm = problem.norm;
  const Domain& dom = p.domain;
  check_masses("a", problem.a, dom);
  check_masses("b", problem.b, dom);
  // Only a - b is needed (the loop and the certificates use nothing else),
  // read from the caller's arrays with the scalings applied (net()).
  p.a = problem.a;
  p.b = problem.b;
  double scale_b = 1;
  if (problem.normalize) {
    for (const double* x : {problem.a, problem.b}) {
      double total = 0;
      for (std::int64_t i = 0; i < dom.cells; ++i) total += x[i];
      if (!(total > 0))
        throw InvalidInputError(std::string("normalize=True needs positive total mass; ") +
                                (x == problem.a ? "a" : "b") + " sums to 0");
      (x == problem.a ? p.scale_a : scale_b) = 1.0 / total;
    }
  }

  // Balance per connected part; small differences are rebalanced by scaling b.
  std::vector<double> ta(dom.parts, 0), tb(dom.parts, 0);
  std::vector<std::int64_t> first(dom.parts, -1);
  for (std::int64_t i = 0; i < dom.cells; ++i) {
    int q = dom.part_of(i);
    if (q < 0) continue;
    ta[q] += problem.a[i] * p.scale_a;
    tb[q] += problem.b[i] * scale_b;
    if (first[q] < 0) first[q] = i;
  }
  for (int q = 0; q < dom.parts; ++q) {
    double diff = std::fabs(ta[q] - tb[q]), scale = std::max(ta[q], tb[q]);
    if (diff > kRebalanceTolerance * scale) {
      std::string where = dom.parts == 1 ? std::string("unequal total mass")
                                         : "unbalanced part " + std::to_string(q) +
                                               " of the mask (the part containing cell " +
                                               cell_string(dom, first[q]) + ")";
      throw InvalidInputError(where + ": a sums to " + num(ta[q]) + ", b sums to " + num(tb[q]) +
                              " (relative difference " + num(diff / scale) + " > " +
                              num(kRebalanceTolerance) +
                              "); pass normalize=True to compare shapes only");
    }
  }
  p.scale_b.resize(dom.parts);
  for (int q = 0; q < dom.parts; ++q)
    p.scale_b[q] = tb[q] > 0 && ta[q] != tb[q] ? scale_b * (ta[q] / tb[q]) : scale_b;
  for (int q = 0; q < dom.parts; ++q) p.total_mass += ta[q];
  return p;
}

}  // namespace omtcore::detail
