#include "core/certificate.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <queue>
#include <utility>

namespace omtcore::detail {

void route_to_roots(const Domain& dom, double* e, double* flux) {
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
void repair(const PreparedScalar& p, std::vector<double>& flux) {
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
    e[i] = p.a[i] - p.b[i] - div;
  }
  route_to_roots(dom, e.data(), flux.data());
}

double dual_objective(const PreparedScalar& p, const std::vector<double>& phi) {
  double acc = 0;
  for (std::int64_t i = 0; i < p.domain.cells; ++i)
    if (p.domain.inside[i]) acc += phi[i] * (p.b[i] - p.a[i]);
  return acc;
}

// Largest dual-norm ratio N*(grad phi)(i) over the cells.
double dual_ratio(const PreparedScalar& p, const std::vector<double>& phi) {
  const Domain& dom = p.domain;
  const bool iso = p.norm == Norm::isotropic;
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

void scale_to_feasible(const PreparedScalar& p, std::vector<double>& phi) {
  double ratio = dual_ratio(p, phi);
  if (ratio > 1)
    for (double& x : phi) x /= ratio;
}

}  // namespace

// Anisotropic: psi(x) = min_y phi(y) + d(x, y), d the weighted L1 path metric
// of the domain, is 1-Lipschitz for d, hence dual feasible, and the largest
// such function below phi. On the full rectangle d is the weighted L1 distance,
// separable: one forward and one backward sweep per axis, O(N d). With a mask
// d is geodesic: Dijkstra with every cell as a source.
void inf_convolution(const Domain& dom, double* psi) {
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
    return;
  }
  using Item = std::pair<double, std::int64_t>;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> heap;
  for (std::int64_t i = 0; i < dom.cells; ++i)
    if (dom.inside[i]) heap.emplace(psi[i], i);
  while (!heap.empty()) {
    auto [value, i] = heap.top();
    heap.pop();
    if (value > psi[i]) continue;
    dom.for_each_neighbour(i, [&](std::int64_t j, int s, bool) {
      double cand = value + dom.h[s];
      if (cand < psi[j]) {
        psi[j] = cand;
        heap.emplace(cand, j);
      }
    });
  }
}

// Isotropic: a reverse sweep (forward neighbours already final) moves each
// cell's value into the interval where its own constraint holds, or to the
// constraint's best value when that interval is empty; scaling fixes the rest.
void isotropic_sweep(const Domain& dom, double* psi) {
  for (std::int64_t i = dom.cells - 1; i >= 0; --i) {
    if (!dom.inside[i]) continue;
    double w = 0, wp = 0, wpp = 0;  // sum w_s, sum w_s p_s, sum w_s p_s^2 with w_s = 1/h_s^2
    for (int s = 0; s < dom.d; ++s) {
      if (!(dom.bits[i] & (1u << s))) continue;
      double ws = 1.0 / (dom.h[s] * dom.h[s]), ps = psi[i + dom.stride[s]];
      w += ws;
      wp += ws * ps;
      wpp += ws * ps * ps;
    }
    if (w == 0) continue;
    // sum_s w_s (p_s - t)^2 <= 1  <=>  w t^2 - 2 wp t + wpp - 1 <= 0
    double centre = wp / w, disc = wp * wp - w * (wpp - 1);
    if (disc < 0) {
      psi[i] = centre;
    } else {
      double half = std::sqrt(disc) / w;
      psi[i] = std::clamp(psi[i], centre - half, centre + half);
    }
  }
}

namespace {

void centre(const PreparedScalar& p, std::vector<double>& phi) {
  const Domain& dom = p.domain;
  std::vector<double> sum(dom.parts, 0), count(dom.parts, 0);
  for (std::int64_t i = 0; i < dom.cells; ++i) {
    if (dom.part[i] < 0) continue;
    sum[dom.part[i]] += phi[i];
    count[dom.part[i]] += 1;
  }
  for (std::int64_t i = 0; i < dom.cells; ++i)
    phi[i] = dom.part[i] < 0 ? 0.0 : phi[i] - sum[dom.part[i]] / count[dom.part[i]];
}

}  // namespace

double flux_cost(const PreparedScalar& p, const std::vector<double>& flux) {
  const Domain& dom = p.domain;
  const std::int64_t n = dom.cells;
  const bool iso = p.norm == Norm::isotropic;
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

Certificate certify(const PreparedScalar& p, std::vector<double> flux, std::vector<double> phi) {
  Certificate c;
  repair(p, flux);
  c.distance = flux_cost(p, flux);
  c.flux = std::move(flux);

  for (std::int64_t i = 0; i < p.domain.cells; ++i)
    if (!p.domain.inside[i]) phi[i] = 0;
  centre(p, phi);
  // Several dual-feasible potentials, made one at a time; the best objective
  // is kept (at most three potentials are alive at once).
  double best_value = -INFINITY;
  auto consider = [&](std::vector<double>&& candidate) {
    const double value = dual_objective(p, candidate);
    if (value > best_value) {
      best_value = value;
      c.potential = std::move(candidate);
    }
  };
  if (p.norm == Norm::anisotropic) {
    std::vector<double> inf(phi);
    inf_convolution(p.domain, inf.data());
    consider(std::move(inf));
    std::vector<double> sup(phi);  // sup-convolution: -inf_convolution(-phi)
    for (double& x : sup) x = -x;
    inf_convolution(p.domain, sup.data());
    for (double& x : sup) x = -x;
    consider(std::move(sup));
  } else {
    std::vector<double> swept(phi);
    isotropic_sweep(p.domain, swept.data());
    scale_to_feasible(p, swept);
    consider(std::move(swept));
  }
  scale_to_feasible(p, phi);
  consider(std::move(phi));
  centre(p, c.potential);
  c.lower_bound = dual_objective(p, c.potential);
  c.gap = c.distance > 0 ? (c.distance - c.lower_bound) / c.distance : 0.0;
  return c;
}

}  // namespace omtcore::detail
