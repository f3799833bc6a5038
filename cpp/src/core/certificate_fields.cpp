// Certificates of vector and matrix solves, on the host in double (as
// certificate.cpp for scalars): the iterate's violation routed along the
// domain's spanning forest plane by plane, each part's remainder resolved in
// its root cell by the least-norm exchange; and dual-feasible potentials made
// from the iterate's, of which the best objective is kept.
#include "core/certificate.hpp"

#include <algorithm>
#include <cmath>


namespace omtcore::detail {

namespace {

// ||X||_* or ||X||_op of the Hermitian matrix with coordinates x.
double coords_norm(int k, const double* x, bool nuclear) {
  double m[2 * kMaxMatrixSize * kMaxMatrixSize], re[kMaxMatrixSize * kMaxMatrixSize],
      im[kMaxMatrixSize * kMaxMatrixSize];
  coords_to_matrix(k, x, m);
  for (int e = 0; e < k * k; ++e) {
    re[e] = m[2 * e];
    im[e] = m[2 * e + 1];
  }
  return hermitian_norm(k, re, im, nuclear);
}

double norm2(const double* x, int n) {
  double acc = 0;
  for (int q = 0; q < n; ++q) acc += x[q] * x[q];
  return std::sqrt(acc);
}

// The exchange columns' action on one cell: out_p = sum_q C[p][q] g_q.
void apply_coupling(const Problem& f, const double* g, double* out) {
  const int cols = f.columns();
  for (int p = 0; p < f.planes; ++p) {
    double acc = 0;
    for (int q = 0; q < cols; ++q) acc += f.coupling[p * cols + q] * g[q];
    out[p] = acc;
  }
}

// Least-norm g with C g = e: g = C^T (C C^T)^+ e through the modes.
void least_norm_exchange(const Problem& f, const double* e, double* g) {
  const int P = f.planes, cols = f.columns();
  const double top = f.mode_eigenvalues.empty() ? 0 : f.mode_eigenvalues.back();
  std::vector<double> y(P, 0.0);
  for (int m = 0; m < P; ++m) {
    const double lam = f.mode_eigenvalues[m];
    if (!(lam > 1e-12 * top)) continue;
    double proj = 0;
    for (int p = 0; p < P; ++p) proj += f.modes[p * P + m] * e[p];
    for (int p = 0; p < P; ++p) y[p] += f.modes[p * P + m] * proj / lam;
  }
  for (int q = 0; q < cols; ++q) {
    double acc = 0;
    for (int p = 0; p < P; ++p) acc += f.coupling[p * cols + q] * y[p];
    g[q] = acc;
  }
}

void repair(const Problem& f, std::vector<double>& flux, std::vector<double>& exchange) {
  const Domain& dom = f.domain;
  const std::int64_t n = dom.cells;
  const int P = f.planes, d = dom.d, cols = f.columns();
  for (int p = 0; p < P; ++p)
    for (int s = 0; s < d; ++s)
      for (std::int64_t i = 0; i < n; ++i)
        if (!(dom.bits[i] & (1u << s))) flux[(p * d + s) * n + i] = 0;
  for (int q = 0; q < cols; ++q)
    for (std::int64_t i = 0; i < n; ++i)
      if (!dom.inside[i]) exchange[q * n + i] = 0;
  // e = rhs - div F - C g, then routed plane by plane to the roots.
  std::vector<double> e(std::size_t(P) * n, 0.0), g(cols), cg(P);
  for (std::int64_t i = 0; i < n; ++i) {
    if (!dom.inside[i]) continue;
    for (int q = 0; q < cols; ++q) g[q] = exchange[q * n + i];
    apply_coupling(f, g.data(), cg.data());
    for (int p = 0; p < P; ++p) {
      double div = 0;
      for (int s = 0; s < d; ++s) {
        div += flux[(p * d + s) * n + i];
        if (dom.bits[i] & (16u << s)) div -= flux[(p * d + s) * n + i - dom.stride[s]];
      }
      e[p * n + i] = f.net(p, i) - div - cg[p];
    }
  }
  if (f.unbalanced()) {
    // The source absorbs what is left, in the cell where it is: cost lam |e|,
    // which vanishes with the violation (the identity couples s to the planes).
    const int first = f.source_column();
    for (std::int64_t i = 0; i < n; ++i)
      if (dom.inside[i])
        for (int p = 0; p < P; ++p) exchange[std::size_t(first + p) * n + i] += e[p * n + i];
    return;
  }
  for (int p = 0; p < P; ++p) route_to_roots(dom, e.data() + p * n, flux.data() + std::size_t(p) * d * n);
  // Each root holds its part's totals, which balance: resolve them in-cell.
  std::vector<double> root_e(P);
  for (std::int64_t i = 0; i < n; ++i) {
    if (!dom.inside[i] || !dom.is_root(i) || cols == 0) continue;
    for (int p = 0; p < P; ++p) root_e[p] = e[p * n + i];
    least_norm_exchange(f, root_e.data(), g.data());
    for (int q = 0; q < cols; ++q) exchange[q * n + i] += g[q];
  }
}

double dual_objective(const Problem& f, const std::vector<double>& phi) {
  double acc = 0;
  const std::int64_t n = f.domain.cells;
  for (int p = 0; p < f.planes; ++p)
    for (std::int64_t i = 0; i < n; ++i) acc -= phi[p * n + i] * f.net(p, i);  // sum phi (b - a)
  return acc;
}

// Largest spatial dual-norm ratio over the cells.
double spatial_ratio(const Problem& f, const std::vector<double>& phi) {
  const Domain& dom = f.domain;
  const std::int64_t n = dom.cells;
  const int P = f.planes, d = dom.d;
  double worst = 0;
  std::vector<double> grad(std::size_t(P) * 3, 0.0), x(P);
  for (std::int64_t i = 0; i < n; ++i) {
    for (int p = 0; p < P; ++p)
      for (int s = 0; s < d; ++s)
        grad[p * d + s] = (dom.bits[i] & (1u << s))
                              ? (phi[p * n + i + dom.stride[s]] - phi[p * n + i]) / dom.h[s] : 0.0;
    double r = 0;
    switch (f.spatial) {
      case SpatialProx::group_per_plane:
        for (int p = 0; p < P; ++p) r = std::max(r, norm2(&grad[p * d], d));
        break;
      case SpatialProx::soft:
        for (int q = 0; q < P * d; ++q) r = std::max(r, std::fabs(grad[q]));
        break;
      case SpatialProx::group_all:
        r = norm2(grad.data(), P * d);
        break;
      case SpatialProx::nuclear:
        for (int s = 0; s < d; ++s) {
          for (int p = 0; p < P; ++p) x[p] = grad[p * d + s];
          r = std::max(r, coords_norm(f.k, x.data(), false));
        }
        break;
    }
    worst = std::max(worst, r);
  }
  return worst;
}

// Largest exchange ratio ||C_b^T phi(i)||_dual / cost_b; blocks of cost 0
// need C_b^T phi = 0 (potentials projected onto the conserved directions),
// checked to rounding, else the ratio is infinite.
double exchange_ratio(const Problem& f, const std::vector<double>& phi) {
  const Domain& dom = f.domain;
  const std::int64_t n = dom.cells;
  const int P = f.planes, m = f.block_size, cols = f.columns();
  double worst = 0, scale = 0;
  for (double x : phi) scale = std::max(scale, std::fabs(x));
  std::vector<double> here(P), y(m);
  for (std::int64_t i = 0; i < n; ++i) {
    if (!dom.inside[i]) continue;
    for (int p = 0; p < P; ++p) here[p] = phi[p * n + i];
    for (int b = 0; b < f.blocks; ++b) {
      for (int j = 0; j < m; ++j) {
        double acc = 0;
        for (int p = 0; p < P; ++p) acc += f.coupling[p * cols + b * m + j] * here[p];
        y[j] = acc;
      }
      double dual = 0;
      switch (f.exchange) {
        case ExchangeProx::soft: dual = std::fabs(y[0]); break;
        case ExchangeProx::group: dual = norm2(y.data(), m); break;
        case ExchangeProx::nuclear: dual = coords_norm(f.k, y.data(), false); break;
      }
      if (f.cost[b] > 0)
        worst = std::max(worst, dual / f.cost[b]);
      else if (dual > 1e-12 * scale)
        return INFINITY;
    }
  }
  return worst;
}

// Every exchange block (the source aside) costs nothing: alpha = 0.
bool all_free(const Problem& f) {
  const int exchange_blocks = f.blocks - f.source_blocks;
  for (int b = 0; b < exchange_blocks; ++b)
    if (f.cost[b] > 0) return false;
  return exchange_blocks > 0;
}

// Removes, per part, the mean of each conserved direction (objective and
// constraints unchanged); 0 outside the domain.
void centre(const Problem& f, std::vector<double>& phi) {
  const Domain& dom = f.domain;
  const std::int64_t n = dom.cells;
  const int P = f.planes;
  for (std::int64_t i = 0; i < n; ++i)
    if (!dom.inside[i])
      for (int p = 0; p < P; ++p) phi[p * n + i] = 0;
  if (f.unbalanced()) return;  // the bound |phi| <= lam fixes the constants
  std::vector<double> count(dom.parts, 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    if (const int q = dom.part_of(i); q >= 0) count[q] += 1;
  for (int c = 0; c < f.conserved; ++c) {
    const double* u = &f.conserved_basis[std::size_t(c) * P];
    std::vector<double> mean(dom.parts, 0.0);
    for (std::int64_t i = 0; i < n; ++i) {
      const int q = dom.part_of(i);
      if (q < 0) continue;
      double z = 0;
      for (int p = 0; p < P; ++p) z += u[p] * phi[p * n + i];
      mean[q] += z / count[q];
    }
    for (std::int64_t i = 0; i < n; ++i)
      if (const int q = dom.part_of(i); q >= 0)
        for (int p = 0; p < P; ++p) phi[p * n + i] -= mean[q] * u[p];
  }
}

// With alpha = 0 the exchange constraints force C^T phi(i) = 0: phi(i) is
// projected onto the conserved directions (the channel average of each graph
// component, or the commutant of L). Vector components get one value
// assigned to all their channels, so equality is exact.
void project_conserved(const Problem& f, std::vector<double>& phi) {
  const std::int64_t n = f.domain.cells;
  const int P = f.planes;
  std::vector<double> out(P);
  for (std::int64_t i = 0; i < n; ++i) {
    std::fill(out.begin(), out.end(), 0.0);
    for (int c = 0; c < f.conserved; ++c) {
      const double* u = &f.conserved_basis[std::size_t(c) * P];
      double z = 0;
      for (int p = 0; p < P; ++p) z += u[p] * phi[p * n + i];
      for (int p = 0; p < P; ++p)
        if (u[p] != 0) out[p] = f.kind == Kind::matrix ? out[p] + z * u[p] : z * u[p];
    }
    for (int p = 0; p < P; ++p) phi[p * n + i] = out[p];
  }
}

// Unbalanced problems: phi(i) clipped into the source's dual ball of radius
// lam (entrywise; radially in the Frobenius norm for matrices). A 1-Lipschitz
// map of each value, so the spatial and channel constraints stay met; the
// nuclear norm's operator-norm ball is left to the scaling (clipping
// eigenvalues can raise the operator norm of differences).
void clip_to_source_bound(const Problem& f, std::vector<double>& phi) {
  if (!f.unbalanced() || f.exchange == ExchangeProx::nuclear) return;
  const std::int64_t n = f.domain.cells;
  const int P = f.planes;
  const double lam = f.lam;
  if (f.kind != Kind::matrix) {
    for (double& x : phi) x = std::clamp(x, -lam, lam);
    return;
  }
  for (std::int64_t i = 0; i < n; ++i) {
    double norm = 0;
    for (int p = 0; p < P; ++p) norm += phi[p * n + i] * phi[p * n + i];
    norm = std::sqrt(norm);
    if (norm > lam)
      for (int p = 0; p < P; ++p) phi[p * n + i] *= lam / norm;
  }
}

void scale_to_feasible(const Problem& f, std::vector<double>& phi) {
  clip_to_source_bound(f, phi);
  const double ratio = std::max(spatial_ratio(f, phi), exchange_ratio(f, phi));
  if (!std::isfinite(ratio)) {
    std::fill(phi.begin(), phi.end(), 0.0);  // the zero potential: feasible, bound 0
  } else if (ratio > 1) {
    for (double& x : phi) x /= ratio;
  }
}

// Vector, in-cell: phi(i, c) <- min_c' phi(i, c') + alpha d_G(c, c'), which
// makes every channel difference feasible; after the per-plane spatial
// inf-convolution it keeps the spatial constraints (a minimum of functions
// that satisfy them, anisotropic).
void channel_inf_convolution(const Problem& f, std::vector<double>& phi) {
  const std::int64_t n = f.domain.cells;
  const int k = f.k;
  std::vector<double> here(k);
  for (std::int64_t i = 0; i < n; ++i) {
    for (int c = 0; c < k; ++c) here[c] = phi[c * n + i];
    for (int c = 0; c < k; ++c) {
      double best = here[c];
      for (int t = 0; t < k; ++t) best = std::min(best, here[t] + f.channel_distance[c * k + t]);
      phi[c * n + i] = best;
    }
  }
}

// Vector, isotropic: one reverse sweep over the cells for all channels at
// once. Cell i's constraints involve its forward neighbours (final by then)
// and its own channels, so each channel c has an interval [lo_c, hi_c] from
// its spatial constraint; y = phi clamped into the intervals, then
// z = max(min_c' y_c' + D(c, c'), max_c' lo_c' - D(c, c')) with D the
// channel metric: both terms are D-Lipschitz in c, so z meets every exchange
// constraint, z >= lo, and z <= hi whenever any point does. Channels swept
// one by one and scaled afterwards lose a whole factor to the worst cell.
void joint_isotropic_sweep(const Problem& f, std::vector<double>& phi) {
  const Domain& dom = f.domain;
  const std::int64_t n = dom.cells;
  const int k = f.k;
  const double* D = f.channel_distance.data();
  std::vector<double> lo(k), hi(k), y(k);
  for (std::int64_t i = n - 1; i >= 0; --i) {
    if (!dom.inside[i]) continue;
    for (int c = 0; c < k; ++c) {
      isotropic_interval(dom, phi.data() + c * n, i, lo[c], hi[c]);
      y[c] = std::clamp(phi[c * n + i], lo[c], hi[c]);
    }
    for (int c = 0; c < k; ++c) {
      double below = y[c], above = lo[c];
      for (int t = 0; t < k; ++t) {
        below = std::min(below, y[t] + D[c * k + t]);
        above = std::max(above, lo[t] - D[c * k + t]);
      }
      phi[c * n + i] = std::max(below, above);
    }
  }
}

// Vector, isotropic: the inf-convolution on the graph of (cell, channel)
// nodes, where channel c's face (i, i + e_s) has the length of c's own
// fitted metric (isotropic_face_length) and the channels of a cell lie
// D(c, c') apart. A 1-Lipschitz function for that graph meets every spatial
// and exchange constraint; phi is kept wherever it already fits.
std::int64_t joint_isotropic_inf_convolution(const Problem& f, const std::vector<double>& phi,
                                             std::vector<double>& psi) {
  const Domain& dom = f.domain;
  const std::int64_t n = dom.cells;
  const int k = f.k;
  const double* D = f.channel_distance.data();
  return lower_to_lipschitz(std::int64_t(k) * n, psi.data(), [&](std::int64_t node, auto&& edge) {
    const int c = int(node / n);
    const std::int64_t i = node - std::int64_t(c) * n;
    if (!dom.inside[i]) return;
    const double* plane = phi.data() + std::int64_t(c) * n;
    dom.for_each_neighbour(i, [&](std::int64_t j, int s, bool forward) {
      edge(std::int64_t(c) * n + j, isotropic_face_length(dom, plane, forward ? i : j, s));
    });
    for (int t = 0; t < k; ++t)
      if (t != c && std::isfinite(D[c * k + t])) edge(std::int64_t(t) * n + i, D[c * k + t]);
  });
}

}  // namespace

double field_flux_cost(const Problem& f, const std::vector<double>& flux,
                       const std::vector<double>& exchange) {
  const Domain& dom = f.domain;
  const std::int64_t n = dom.cells;
  const int P = f.planes, d = dom.d, m = f.block_size;
  double total = 0;
  std::vector<double> w(std::size_t(P) * 3), x(std::max(P, m));
  for (std::int64_t i = 0; i < n; ++i) {
    for (int p = 0; p < P; ++p)
      for (int s = 0; s < d; ++s) w[p * d + s] = dom.h[s] * flux[(p * d + s) * n + i];
    switch (f.spatial) {
      case SpatialProx::group_per_plane:
        for (int p = 0; p < P; ++p) total += norm2(&w[p * d], d);
        break;
      case SpatialProx::soft:
        for (int q = 0; q < P * d; ++q) total += std::fabs(w[q]);
        break;
      case SpatialProx::group_all:
        total += norm2(w.data(), P * d);
        break;
      case SpatialProx::nuclear:
        for (int s = 0; s < d; ++s) {
          for (int p = 0; p < P; ++p) x[p] = w[p * d + s];
          total += coords_norm(f.k, x.data(), true);
        }
        break;
    }
    for (int b = 0; b < f.blocks; ++b) {
      if (f.cost[b] == 0) continue;
      for (int j = 0; j < m; ++j) x[j] = exchange[std::size_t(b * m + j) * n + i];
      double norm = 0;
      switch (f.exchange) {
        case ExchangeProx::soft: norm = std::fabs(x[0]); break;
        case ExchangeProx::group: norm = norm2(x.data(), m); break;
        case ExchangeProx::nuclear: norm = coords_norm(f.k, x.data(), true); break;
      }
      total += f.cost[b] * norm;
    }
  }
  return total;
}

bool certify_field_flux(const Problem& f, std::vector<double>& flux, std::vector<double>& exchange,
                        Bounds& bounds) {
  bounds.work += double(f.domain.cells) * (f.planes * (2.0 * f.domain.d + 3) + 2.0 * f.columns());  // repair, cost
  repair(f, flux, exchange);
  return bounds.offer_upper(field_flux_cost(f, flux, exchange), flux, &exchange);
}

bool certify_field_potential(const Problem& f, std::vector<double>& phi, Bounds& bounds) {
  const Domain& dom = f.domain;
  const std::int64_t n = dom.cells;
  // Centring, two candidates and their ratios and objectives.
  bounds.work += double(n) * (f.planes * (4.0 * dom.d + 9) + f.columns());
  centre(f, phi);
  if (all_free(f)) project_conserved(f, phi);
  double best_value = -INFINITY;
  std::vector<double> winner;
  auto consider = [&](std::vector<double>&& candidate) {
    const double value = dual_objective(f, candidate);
    if (value > best_value) {
      best_value = value;
      winner = std::move(candidate);
    }
  };
  const bool vector = f.kind != Kind::matrix;
  if (vector && f.spatial == SpatialProx::soft) {
    // Exact for the product metric L1 + alpha d_G: inf- and sup-convolution.
    for (int sign : {1, -1}) {
      std::vector<double> psi(phi);
      if (sign < 0)
        for (double& x : psi) x = -x;
      for (int p = 0; p < f.planes; ++p) bounds.work += kSettleWork * double(inf_convolution(dom, psi.data() + p * n));
      channel_inf_convolution(f, psi);
      if (sign < 0)
        for (double& x : psi) x = -x;
      for (std::int64_t i = 0; i < n; ++i)
        if (!dom.inside[i])
          for (int p = 0; p < f.planes; ++p) psi[p * n + i] = 0;
      scale_to_feasible(f, psi);  // a no-op up to rounding
      consider(std::move(psi));
    }
  } else if (vector) {
    // Isotropic: the joint sweep, then the joint inf- and sup-convolutions
    // (a Dijkstra each, skipped once the bracket already meets the target).
    std::vector<double> psi(phi);
    joint_isotropic_sweep(f, psi);
    scale_to_feasible(f, psi);
    consider(std::move(psi));
    for (int sign : {1, -1}) {
      const double lower = std::max(best_value, bounds.lower_bound);
      if (bounds.distance - lower <= bounds.target_gap * bounds.distance) break;
      std::vector<double> from(phi);
      if (sign < 0)
        for (double& x : from) x = -x;
      std::vector<double> lowered(from);
      bounds.work += kSettleWork * double(joint_isotropic_inf_convolution(f, from, lowered));
      if (sign < 0)
        for (double& x : lowered) x = -x;
      scale_to_feasible(f, lowered);
      consider(std::move(lowered));
    }
  }
  scale_to_feasible(f, phi);
  consider(std::move(phi));
  centre(f, winner);
  const bool better = bounds.offer_lower(dual_objective(f, winner), winner);
  phi.swap(winner);  // the loser, for the next certificate to reuse
  return better;
}

}  // namespace omtcore::detail
