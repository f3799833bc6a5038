// Validation of scalar and vector problems (one path: a scalar problem is one
// channel with no edges) and of the solve options; matrix problems are in
// prepare_matrix.cpp.
#include "core/problem.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "omtcore/errors.hpp"

namespace omtcore::detail {

namespace {

// Masses, k channels last: finite, non-negative, nothing outside the mask.
void check_masses(const char* name, Values x, const Domain& dom, int k) {
  if (x.empty()) throw InvalidInputError(std::string(name) + " is missing (null pointer)");
  for (std::int64_t i = 0; i < dom.cells; ++i)
    for (int c = 0; c < k; ++c) {
      const double m = x[i * k + c];
      if (std::isfinite(m) && m >= 0 && (m == 0 || dom.inside[i])) continue;
      const std::string where = " at cell " + cell_string(dom, i) + (k > 1 ? ", channel " + std::to_string(c) : "");
      if (!std::isfinite(m))
        throw InvalidInputError(std::string(name) + " has a non-finite value (" + num(m) + ")" + where);
      if (m < 0) throw InvalidInputError(std::string(name) + " has negative mass " + num(m) + where);
      throw InvalidInputError(std::string(name) + " puts mass " + num(m) + " outside the mask" + where);
    }
}

// The channel graph of a vector problem: edges, costs, coupling columns,
// shortest-path distances and components (a scalar problem: one channel, no edges).
void channel_graph(Problem& f, const std::optional<std::vector<std::array<int, 2>>>& edges,
                   const std::vector<double>& given_weights, double alpha) {
  const int k = f.k;
  if (edges) {
    f.edges = *edges;
  } else {
    for (int s = 0; s < k; ++s)
      for (int t = s + 1; t < k; ++t) f.edges.push_back({s, t});
  }
  const int E = static_cast<int>(f.edges.size());
  for (int e = 0; e < E; ++e) {
    auto [s, t] = f.edges[e];
    if (s < 0 || s >= k || t < 0 || t >= k)
      throw InvalidInputError("edge " + std::to_string(e) + " (" + std::to_string(s) + ", " + std::to_string(t) +
                              ") names a channel outside 0.." + std::to_string(k - 1));
    if (s == t)
      throw InvalidInputError("edge " + std::to_string(e) + " is a self loop on channel " + std::to_string(s));
  }
  std::vector<double> weights = given_weights;
  if (weights.empty()) weights.assign(E, 1.0);
  if (static_cast<int>(weights.size()) != E)
    throw InvalidInputError("weights must have one value per edge (" + std::to_string(E) + "); got " +
                            std::to_string(weights.size()));
  for (int e = 0; e < E; ++e)
    if (!(std::isfinite(weights[e]) && weights[e] > 0))
      throw InvalidInputError("weights must be finite and positive; weight " + std::to_string(e) + " is " +
                              num(weights[e]));
  f.blocks = E;
  f.block_size = 1;
  f.coupling.assign(std::size_t(k) * E, 0.0);
  f.cost.resize(E);
  for (int e = 0; e < E; ++e) {
    f.coupling[f.edges[e][0] * E + e] = 1;   // G_e leaves channel s_e ...
    f.coupling[f.edges[e][1] * E + e] = -1;  // ... and arrives in t_e
    f.cost[e] = alpha * weights[e];
  }
  // Channel distances (Floyd-Warshall on k <= 64 nodes) and components.
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double>& dist = f.channel_distance;
  dist.assign(std::size_t(k) * k, inf);
  for (int c = 0; c < k; ++c) dist[c * k + c] = 0;
  for (int e = 0; e < E; ++e) {
    auto [s, t] = f.edges[e];
    dist[s * k + t] = dist[t * k + s] = std::min(dist[s * k + t], f.cost[e]);
  }
  for (int m = 0; m < k; ++m)
    for (int s = 0; s < k; ++s)
      for (int t = 0; t < k; ++t) dist[s * k + t] = std::min(dist[s * k + t], dist[s * k + m] + dist[m * k + t]);
  // Components from reachability (alpha = 0 gives distance 0, still finite).
  f.component.assign(k, -1);
  f.components = 0;
  for (int c = 0; c < k; ++c) {
    if (f.component[c] >= 0) continue;
    for (int t = 0; t < k; ++t)
      if (std::isfinite(dist[c * k + t])) f.component[t] = f.components;
    ++f.components;
  }
  // Conserved directions: the indicator of each channel component.
  f.conserved = f.components;
  f.conserved_basis.assign(std::size_t(f.components) * k, 0.0);
  for (int g = 0; g < f.components; ++g) {
    int size = 0;
    for (int c = 0; c < k; ++c) size += f.component[c] == g;
    for (int c = 0; c < k; ++c)
      if (f.component[c] == g) f.conserved_basis[g * k + c] = 1 / std::sqrt(double(size));
  }
  coupling_modes(f.planes, f.columns(), f.coupling, f.mode_eigenvalues, f.modes);
}

// Scalar and vector problems: the masses checked and their balance per
// (part, channel component); small differences rebalanced by scaling b.
// a - b is not stored: Problem::net reads the caller's arrays.
Problem prepare_channels(Kind kind, const Grid& grid, const std::uint8_t* mask, int k, Values a, Values b, const std::optional<std::vector<std::array<int, 2>>>& edges,
                         const std::vector<double>& weights, double alpha, Norm norm, bool normalize,
                         const std::optional<double>& unbalanced) {
  Problem f;
  f.kind = kind;
  f.domain = Domain::build(grid, mask);
  const Domain& dom = f.domain;
  if (k < 1 || k > kMaxPlanes)
    throw InvalidInputError("the number of channels must be between 1 and " + std::to_string(kMaxPlanes) +
                            " (fixed-size per-cell arrays in the kernels); got " + std::to_string(k));
  check_alpha(alpha);
  f.k = f.planes = k;
  f.spatial = norm == Norm::isotropic ? SpatialProx::group_per_plane : SpatialProx::soft;
  f.exchange = ExchangeProx::soft;
  channel_graph(f, edges, weights, alpha);
  add_source(f, check_unbalanced(unbalanced));
  check_masses("a", a, dom, k);
  check_masses("b", b, dom, k);
  f.a = a;
  f.b = b;
  const std::int64_t n = dom.cells;
  // The unit of mass (Problem::unit); with normalize each input's own, so
  // that inputs of very different scales both stay in range.
  double largest_a = 0, largest_b = 0;
  for (std::int64_t e = 0; e < n * k; ++e) {
    largest_a = std::max(largest_a, a[e]);
    largest_b = std::max(largest_b, b[e]);
  }
  f.unit = mass_unit(std::max(largest_a, largest_b));
  f.scale_a = 1 / f.unit;
  double scale_b = f.scale_a;
  if (normalize) {
    for (int which = 0; which < 2; ++which) {
      const Values x = which == 0 ? a : b;
      const double per_unit = 1 / mass_unit(which == 0 ? largest_a : largest_b);
      double total = 0;
      for (std::int64_t e = 0; e < n * k; ++e) total += x[e] * per_unit;
      if (!(total > 0))
        throw InvalidInputError(std::string("normalize=True needs positive total mass; ") + (which == 0 ? "a" : "b") +
                                " sums to 0");
      (which == 0 ? f.scale_a : scale_b) = per_unit / total;
    }
    f.unit = 1;  // the answer is the normalized problem's
  }
  const int G = f.components;
  std::vector<double> ta(std::size_t(dom.parts) * G, 0), tb(ta.size(), 0);
  std::vector<std::int64_t> first(dom.parts, -1);
  for (std::int64_t i = 0; i < n; ++i) {
    const int q = dom.part_of(i);
    if (q < 0) continue;
    if (first[q] < 0) first[q] = i;
    for (int c = 0; c < k; ++c) {
      ta[q * G + f.component[c]] += a[i * k + c] * f.scale_a;
      tb[q * G + f.component[c]] += b[i * k + c] * scale_b;
    }
  }
  f.scale_b.resize(ta.size());
  double total_a = 0, total_b = 0;
  for (int q = 0; q < dom.parts; ++q)
    for (int g = 0; g < G; ++g) {
      const double x = ta[q * G + g], y = tb[q * G + g];
      const double diff = std::fabs(x - y), scale = std::max(x, y);
      if (f.unbalanced()) {  // no balance to keep: b as given
        f.scale_b[q * G + g] = scale_b;
        total_a += x;
        total_b += y;
        continue;
      }
      if (diff > kRebalanceTolerance * scale) {
        std::string what = "unequal total mass";
        if (G > 1) {
          std::string channels;
          for (int c = 0; c < k; ++c)
            if (f.component[c] == g) channels += (channels.empty() ? "" : ", ") + std::to_string(c);
          what = "unbalanced channel component {" + channels + "}";
        }
        if (dom.parts > 1)
          what += " on part " + std::to_string(q) + " of the mask (the part containing cell " +
                  cell_string(dom, first[q]) + ")";
        throw InvalidInputError(what + ": a sums to " + num(x * f.unit) + ", b sums to " + num(y * f.unit) +
                                " (relative difference " + num(diff / scale) + " > " + num(kRebalanceTolerance) +
                                ")" + (G > 1 ? "; mass moves between channels only along edges" : "") +
                                (normalize ? "" : "; pass normalize=True to compare shapes only"));
      }
      f.scale_b[q * G + g] = y > 0 && x != y ? scale_b * (x / y) : scale_b;
      f.total_mass += x;
    }
  if (f.unbalanced()) f.total_mass = std::max(total_a, total_b);  // the larger total scales the residual
  return f;
}

}  // namespace

double mass_unit(double largest) {
  if (!(largest > 0) || !std::isfinite(largest)) return 1;
  return std::ldexp(1.0, std::clamp(std::ilogb(largest), -1000, 1000));
}

double check_unbalanced(const std::optional<double>& unbalanced) {
  if (!unbalanced) return 0;
  if (!(std::isfinite(*unbalanced) && *unbalanced > 0))
    throw InvalidInputError("unbalanced must be a finite price > 0 per unit of mass created or destroyed "
                            "(unset for balanced transport); got " + num(*unbalanced));
  return *unbalanced;
}

void add_source(Problem& f, double lam) {
  if (!(lam > 0)) return;
  const int P = f.planes;
  const bool matrix = f.kind == Kind::matrix;
  const int m = matrix ? P : 1;  // block size: the matrix problems' is k^2 already
  const int old_cols = f.columns(), added = matrix ? 1 : P, cols = old_cols + added * m;
  std::vector<double> coupling(std::size_t(P) * cols, 0.0);
  for (int p = 0; p < P; ++p) {
    for (int q = 0; q < old_cols; ++q) coupling[std::size_t(p) * cols + q] = f.coupling[std::size_t(p) * old_cols + q];
    coupling[std::size_t(p) * cols + old_cols + p] = 1;  // s(i, p) enters plane p
  }
  f.coupling = std::move(coupling);
  f.block_size = m;
  f.blocks += added;
  f.cost.resize(f.blocks, lam);
  f.lam = lam;
  f.source_blocks = added;
  coupling_modes(f.planes, f.columns(), f.coupling, f.mode_eigenvalues, f.modes);
}

void check_alpha(double alpha) {
  if (!(std::isfinite(alpha) && alpha >= 0))
    throw InvalidInputError("alpha must be a finite number >= 0; got " + num(alpha));
}

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
  if (o.threads < 0)
    throw InvalidInputError("threads must be a positive number (or 0 for all); got " + std::to_string(o.threads));
}

Problem prepare(const ScalarProblem& p) {
  return prepare_channels(Kind::scalar, p.grid, p.mask, 1, p.a, p.b, std::vector<std::array<int, 2>>{}, {}, 0.0,
                          p.norm, p.normalize, p.unbalanced);
}

Problem prepare(const VectorProblem& p) {
  return prepare_channels(Kind::vector, p.grid, p.mask, p.channels, p.a, p.b, p.edges, p.weights, p.alpha, p.norm,
                          p.normalize, p.unbalanced);
}

}  // namespace omtcore::detail
