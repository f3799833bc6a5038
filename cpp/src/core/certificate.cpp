// Certificates, the scalar ones here (the vector and matrix ones in
// certificate_fields.cpp), computed on the host in double precision.
#include "core/certificate.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <utility>

namespace omtcore::detail {

namespace {

// The full rectangle's tree: every cell's parent is its neighbour one step
// towards the root along the fastest axis on which they differ. Routing is
// then a sweep per axis, fastest first: along each line through the cells
// already aligned with the root on the faster axes, carry the excess inwards
// from both ends to the root's coordinate.
void route_along_axes(const Domain& dom, double* e, double* flux) {
  const std::int64_t n = dom.cells;
  for (int s = dom.d - 1; s >= 0; --s) {
    const std::int64_t len = dom.n[s], stride = dom.stride[s];
    std::int64_t fixed = 0;  // the root's coordinates on the faster axes
    for (int t = s + 1; t < dom.d; ++t) fixed += (dom.root / dom.stride[t] % dom.n[t]) * dom.stride[t];
    const std::int64_t centre = dom.root / stride % len, lines = n / (len * stride);
    for (std::int64_t o = 0; o < lines; ++o) {
      const std::int64_t base = o * len * stride + fixed;
      for (std::int64_t k = 0; k < centre; ++k) {  // forward, towards the centre
        const std::int64_t x = base + k * stride;
        flux[s * n + x] += e[x];
        e[x + stride] += e[x];
        e[x] = 0;
      }
      for (std::int64_t k = len - 1; k > centre; --k) {  // backward, through the parent's face
        const std::int64_t x = base + k * stride;
        flux[s * n + x - stride] -= e[x];
        e[x - stride] += e[x];
        e[x] = 0;
      }
    }
  }
}

}  // namespace

void route_to_roots(const Domain& dom, double* e, double* flux) {
  if (dom.parent.empty()) return route_along_axes(dom, e, flux);
  const std::int64_t n = dom.cells;
  for (auto it = dom.order.rbegin(); it != dom.order.rend(); ++it) {
    const std::int64_t x = *it, par = dom.parent[x];
    if (par < 0) continue;
    for (int s = 0; s < dom.d; ++s) {
      if ((dom.bits[x] & (1u << s)) && par == x + dom.stride[s]) {
        flux[s * n + x] += e[x];  // push the excess forward, to the parent
        break;
      }
      if ((dom.bits[x] & (16u << s)) && par == x - dom.stride[s]) {
        flux[s * n + par] -= e[x];  // push it backward through the parent's face
        break;
      }
    }
    e[par] += e[x];
    e[x] = 0;
  }
}

namespace {

// Route the violation e = (a - b) - div F from every cell to its parent in the
// BFS forest, leaves first; each root ends with its part's total, which is 0.
void repair(const Problem& p, std::vector<double>& flux) {
  const Domain& dom = p.domain;
  const std::int64_t n = dom.cells;
  std::vector<double> e(n, 0);
  for (std::int64_t i = 0; i < n; ++i) {
    if (!dom.inside[i]) continue;
    double div = 0;
    for (int s = 0; s < dom.d; ++s) {
      div += flux[s * n + i];
      if (dom.bits[i] & (16u << s)) div -= flux[s * n + i - dom.stride[s]];
    }
    e[i] = p.net(0, i) - div;
  }
  route_to_roots(dom, e.data(), flux.data());
}

double dual_objective(const Problem& p, const std::vector<double>& phi) {
  double acc = 0;
  for (std::int64_t i = 0; i < p.domain.cells; ++i)
    if (p.domain.inside[i]) acc -= phi[i] * p.net(0, i);
  return acc;
}

// Largest dual-norm ratio N*(grad phi)(i) over the cells.
double dual_ratio(const Problem& p, const std::vector<double>& phi) {
  const Domain& dom = p.domain;
  const bool iso = p.spatial == SpatialProx::group_per_plane;
  double worst = 0;
  for (std::int64_t i = 0; i < dom.cells; ++i) {
    double acc = 0;
    for (int s = 0; s < dom.d; ++s) {
      if (!(dom.bits[i] & (1u << s))) continue;
      double g = (phi[i + dom.stride[s]] - phi[i]) / dom.h[s];
      acc = iso ? acc + g * g : std::max(acc, std::fabs(g));
    }
    worst = std::max(worst, iso ? std::sqrt(acc) : acc);
  }
  return worst;
}

void scale_to_feasible(const Problem& p, std::vector<double>& phi) {
  double ratio = dual_ratio(p, phi);
  if (ratio > 1)
    for (double& x : phi) x /= ratio;
}

}  // namespace

// Anisotropic: psi(x) = min_y phi(y) + d(x, y), d the weighted L1 path metric
// of the domain, is 1-Lipschitz for d, hence dual feasible, and the largest
// such function below phi. On the full rectangle d is the weighted L1 distance,
// separable: one forward and one backward sweep per axis, O(N d). With a mask
// d is geodesic: Dijkstra.
std::int64_t inf_convolution(const Domain& dom, double* psi) {
  if (dom.domain_cells == dom.cells) {
    for (int s = 0; s < dom.d; ++s) {
      const std::int64_t n = dom.n[s], inner = dom.stride[s], outer = dom.cells / (n * inner);
      const double h = dom.h[s];
      for (std::int64_t o = 0; o < outer; ++o) {
        double* slab = psi + o * n * inner;  // rows along axis s, side by side
        for (std::int64_t k = 1; k < n; ++k)
          for (std::int64_t j = 0; j < inner; ++j)
            slab[k * inner + j] = std::min(slab[k * inner + j], slab[(k - 1) * inner + j] + h);
        for (std::int64_t k = n - 2; k >= 0; --k)
          for (std::int64_t j = 0; j < inner; ++j)
            slab[k * inner + j] = std::min(slab[k * inner + j], slab[(k + 1) * inner + j] + h);
      }
    }
    return 0;
  }
  return lower_to_lipschitz(dom.cells, psi, [&](std::int64_t i, auto&& edge) {
    if (dom.inside[i]) dom.for_each_neighbour(i, [&](std::int64_t j, int s, bool) { edge(j, dom.h[s]); });
  });
}

// The values t of cell i with sum_s ((p_s - t) / h_s)^2 <= 1 over its
// forward neighbours' values p_s: [lo, hi] (the whole line without forward
// faces), or the constraint's best value alone where no t meets it.
void isotropic_interval(const Domain& dom, const double* psi, std::int64_t i, double& lo, double& hi) {
  double w = 0, wp = 0, wpp = 0;  // sum w_s, sum w_s p_s, sum w_s p_s^2 with w_s = 1/h_s^2
  for (int s = 0; s < dom.d; ++s) {
    if (!(dom.bits[i] & (1u << s))) continue;
    double ws = 1.0 / (dom.h[s] * dom.h[s]), ps = psi[i + dom.stride[s]];
    w += ws;
    wp += ws * ps;
    wpp += ws * ps * ps;
  }
  if (w == 0) {
    lo = -INFINITY;
    hi = INFINITY;
    return;
  }
  // w t^2 - 2 wp t + wpp - 1 <= 0
  const double centre = wp / w, disc = wp * wp - w * (wpp - 1);
  const double half = disc < 0 ? 0.0 : std::sqrt(disc) / w;
  lo = centre - half;
  hi = centre + half;
}

// Isotropic: a reverse sweep (forward neighbours already final) moves each
// cell's value into the interval where its own constraint holds, or to the
// constraint's best value when that interval is empty; scaling fixes the rest.
void isotropic_sweep(const Domain& dom, double* psi) {
  for (std::int64_t i = dom.cells - 1; i >= 0; --i) {
    if (!dom.inside[i]) continue;
    double lo, hi;
    isotropic_interval(dom, psi, i, lo, hi);
    psi[i] = std::clamp(psi[i], lo, hi);
  }
}

// Isotropic: a path metric fitted to phi under which every 1-Lipschitz
// function is dual feasible, then the inf-convolution with it. Cell i's
// constraint sum_s g_s(i)^2 <= 1 involves its forward faces only, so giving
// face (i, i + e_s) the length c_s(i) h_s with sum_s c_s(i)^2 = 1 makes it
// hold. c is phi's own gradient at i, padded to a
// unit vector where |g(i)| < 1 (c_s^2 = g_s^2 + (1 - |g|^2) / k over the k
// forward faces) and scaled down where |g(i)| > 1: psi = phi wherever phi
// already fits, and only the violations and what they reach move.
double isotropic_face_length(const Domain& dom, const double* phi, std::int64_t o, int axis) {
  double g[3] = {0, 0, 0}, sq = 0;
  int k = 0;
  for (int s = 0; s < dom.d; ++s) {
    if (!(dom.bits[o] & (1u << s))) continue;
    g[s] = (phi[o + dom.stride[s]] - phi[o]) / dom.h[s];
    sq += g[s] * g[s];
    ++k;
  }
  const double c2 = sq <= 1 ? g[axis] * g[axis] + (1 - sq) / k : g[axis] * g[axis] / sq;
  return std::sqrt(c2) * dom.h[axis];
}

std::int64_t isotropic_inf_convolution(const Domain& dom, const double* phi, double* psi) {
  return lower_to_lipschitz(dom.cells, psi, [&](std::int64_t i, auto&& edge) {
    if (!dom.inside[i]) return;
    dom.for_each_neighbour(i, [&](std::int64_t j, int s, bool forward) {
      edge(j, isotropic_face_length(dom, phi, forward ? i : j, s));
    });
  });
}

namespace {

void centre(const Problem& p, std::vector<double>& phi) {
  const Domain& dom = p.domain;
  std::vector<double> sum(dom.parts, 0), count(dom.parts, 0);
  for (std::int64_t i = 0; i < dom.cells; ++i) {
    const int q = dom.part_of(i);
    if (q < 0) continue;
    sum[q] += phi[i];
    count[q] += 1;
  }
  for (std::int64_t i = 0; i < dom.cells; ++i) {
    const int q = dom.part_of(i);
    phi[i] = q < 0 ? 0.0 : phi[i] - sum[q] / count[q];
  }
}

}  // namespace

double flux_cost(const Problem& p, const std::vector<double>& flux) {
  const Domain& dom = p.domain;
  const std::int64_t n = dom.cells;
  const bool iso = p.spatial == SpatialProx::group_per_plane;
  double total = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    double acc = 0;
    for (int s = 0; s < dom.d; ++s) {
      double x = dom.h[s] * flux[s * n + i];
      acc += iso ? x * x : std::fabs(x);
    }
    total += iso ? std::sqrt(acc) : acc;
  }
  return total;
}

bool certify_scalar_flux(const Problem& p, std::vector<double>& flux, Bounds& bounds) {
  repair(p, flux);
  bounds.work += double(p.domain.cells) * (p.domain.d + 3);  // divergence, routing, cost
  return bounds.offer_upper(flux_cost(p, flux), flux);
}

bool certify_scalar_potential(const Problem& p, std::vector<double>& phi, std::vector<double>& psi,
                              Bounds& bounds) {
  for (std::int64_t i = 0; i < p.domain.cells; ++i)
    if (!p.domain.inside[i]) phi[i] = 0;
  centre(p, phi);
  // Several dual-feasible potentials made from phi; the best objective wins.
  // Each candidate is made in psi and scored, and the winner is made again
  // unless it was the last one made, so two grid-sized potentials (phi and
  // psi) are all it needs.
  enum Candidate { inf_conv, sup_conv, iso_sweep, iso_inf_conv, iso_sup_conv };
  const double n = double(p.domain.cells), d = p.domain.d;
  bounds.work += n * (d + 5);  // centring, the ratio and the objective of phi
  auto make = [&](Candidate kind) {
    bounds.work += n * (2 * d + 3);  // the copy, the sweeps or Dijkstra's seeds, the objective
    psi.assign(phi.begin(), phi.end());
    if (kind == sup_conv) {  // sup-convolution: -inf_convolution(-phi)
      for (double& x : psi) x = -x;
      bounds.work += kSettleWork * double(inf_convolution(p.domain, psi.data()));
      for (double& x : psi) x = -x;
    } else if (kind == inf_conv) {
      bounds.work += kSettleWork * double(inf_convolution(p.domain, psi.data()));
    } else if (kind == iso_inf_conv) {
      bounds.work += kSettleWork * double(isotropic_inf_convolution(p.domain, phi.data(), psi.data()));
    } else if (kind == iso_sup_conv) {  // -isotropic_inf_convolution(-phi); -phi's metric is phi's
      for (double& x : psi) x = -x;
      bounds.work += kSettleWork * double(isotropic_inf_convolution(p.domain, phi.data(), psi.data()));
      for (double& x : psi) x = -x;
    } else {
      isotropic_sweep(p.domain, psi.data());
      scale_to_feasible(p, psi);
    }
  };
  const std::vector<Candidate> kinds = p.spatial == SpatialProx::soft
                                           ? std::vector<Candidate>{inf_conv, sup_conv}
                                           : std::vector<Candidate>{iso_sweep, iso_inf_conv, iso_sup_conv};
  // phi itself, scaled to feasibility: its objective scales with it.
  const double ratio = dual_ratio(p, phi);
  double best_value = dual_objective(p, phi) / std::max(ratio, 1.0);
  int best = -1, made = -1;
  for (std::size_t k = 0; k < kinds.size(); ++k) {
    const bool costly = kinds[k] == iso_inf_conv || kinds[k] == iso_sup_conv;  // Dijkstra each
    const double lower = std::max(best_value, bounds.lower_bound);
    if (costly && bounds.distance - lower <= bounds.target_gap * bounds.distance) break;
    make(kinds[k]);
    made = int(k);
    const double value = dual_objective(p, psi);
    if (value > best_value) {
      best_value = value;
      best = int(k);
    }
  }
  if (best < 0) {
    if (ratio > 1)
      for (double& x : phi) x /= ratio;
    centre(p, phi);
    return bounds.offer_lower(dual_objective(p, phi), phi);
  }
  if (best != made) make(kinds[std::size_t(best)]);
  centre(p, psi);
  return bounds.offer_lower(dual_objective(p, psi), psi);
}

bool certify_flux(const Problem& problem, std::vector<double>& flux, std::vector<double>& exchange, Bounds& best) {
  return problem.kind == Kind::scalar && problem.blocks == 0 ? certify_scalar_flux(problem, flux, best)
                                      : certify_field_flux(problem, flux, exchange, best);
}

bool certify_potential(const Problem& problem, std::vector<double>& potential, std::vector<double>& scratch,
                       Bounds& best) {
  return problem.kind == Kind::scalar && problem.blocks == 0 ? certify_scalar_potential(problem, potential, scratch, best)
                                      : certify_field_potential(problem, potential, best);
}

}  // namespace omtcore::detail
