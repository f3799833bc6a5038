#include "core/domain.hpp"

#include <cmath>
#include <sstream>

#include "omtcore/errors.hpp"

namespace omtcore::detail {

namespace {

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::ostringstream os;
  os << "(";
  for (std::size_t s = 0; s < shape.size(); ++s) os << (s ? ", " : "") << shape[s];
  os << (shape.size() == 1 ? ",)" : ")");
  return os.str();
}

}  // namespace

Domain Domain::build(const Grid& grid, const std::uint8_t* mask) {
  Domain dom;
  const auto& shape = grid.shape;
  if (shape.empty() || shape.size() > 3)
    throw InvalidInputError("grids must have 1 to 3 axes; got " + std::to_string(shape.size()) +
                            " axes, shape " + shape_string(shape));
  dom.d = static_cast<int>(shape.size());
  dom.cells = 1;
  for (int s = 0; s < dom.d; ++s) {
    if (shape[s] < 1)
      throw InvalidInputError("grid is empty: shape " + shape_string(shape));
    dom.n[s] = shape[s];
    dom.cells *= shape[s];
  }
  dom.stride[dom.d - 1] = 1;
  for (int s = dom.d - 2; s >= 0; --s) dom.stride[s] = dom.stride[s + 1] * dom.n[s + 1];

  const auto& h = grid.spacing;
  if (h.size() != 1 && h.size() != static_cast<std::size_t>(dom.d))
    throw InvalidInputError("spacing h must be one number or one per axis (" +
                            std::to_string(dom.d) + "); got " + std::to_string(h.size()) +
                            " values");
  for (int s = 0; s < dom.d; ++s) {
    double hs = h.size() == 1 ? h[0] : h[s];
    if (!(std::isfinite(hs) && hs > 0)) {
      std::ostringstream os;
      os << "spacing h must be finite and positive; got h[" << s << "] = " << hs;
      throw InvalidInputError(os.str());
    }
    dom.h[s] = hs;
  }

  dom.inside.assign(dom.cells, 1);
  if (mask)
    for (std::int64_t i = 0; i < dom.cells; ++i) dom.inside[i] = mask[i] ? 1 : 0;

  // Face bits: a face carries flux only when both its cells are in the domain.
  dom.bits.assign(dom.cells, 0);
  dom.domain_cells = 0;
  for (std::int64_t i = 0; i < dom.cells; ++i) {
    if (!dom.inside[i]) continue;
    ++dom.domain_cells;
    for (int s = 0; s < dom.d; ++s) {
      std::int64_t coord = (i / dom.stride[s]) % dom.n[s];
      if (coord + 1 < dom.n[s] && dom.inside[i + dom.stride[s]]) dom.bits[i] |= 1u << s;
      if (coord > 0 && dom.inside[i - dom.stride[s]]) dom.bits[i] |= 16u << s;
    }
  }
  if (dom.domain_cells == 0) throw InvalidInputError("the mask selects no cell");

  // The full rectangle is one part and stores neither labels nor a forest
  // (20 bytes per cell): part_of() is 0, and route_to_roots sweeps each axis
  // towards the middle cell (a shortest-path tree, like the BFS below).
  if (dom.domain_cells == dom.cells) {
    dom.parts = 1;
    dom.root = 0;
    for (int s = 0; s < dom.d; ++s) dom.root += (dom.n[s] - 1) / 2 * dom.stride[s];
    return dom;
  }

  // Connected parts, labelled by BFS in scan order.
  dom.part.assign(dom.cells, -1);
  std::vector<std::int64_t> queue;
  queue.reserve(dom.domain_cells);
  for (std::int64_t start = 0; start < dom.cells; ++start) {
    if (!dom.inside[start] || dom.part[start] >= 0) continue;
    const int label = dom.parts++;
    dom.part[start] = label;
    queue.clear();
    queue.push_back(start);
    for (std::size_t q = 0; q < queue.size(); ++q)
      dom.for_each_neighbour(queue[q], [&](std::int64_t j, int, bool) {
        if (dom.part[j] < 0) {
          dom.part[j] = label;
          queue.push_back(j);
        }
      });
  }

  // Root each part at its cell nearest to the part's centroid (short tree paths
  // keep the repaired flux cheap), then grow a BFS forest from the roots.
  std::vector<std::array<double, 4>> centroid(dom.parts, {0, 0, 0, 0});
  auto coords = [&](std::int64_t i, int s) { return double((i / dom.stride[s]) % dom.n[s]); };
  for (std::int64_t i = 0; i < dom.cells; ++i) {
    if (dom.part[i] < 0) continue;
    auto& c = centroid[dom.part[i]];
    for (int s = 0; s < dom.d; ++s) c[s] += coords(i, s);
    c[3] += 1;
  }
  std::vector<std::int64_t> root(dom.parts, -1);
  std::vector<double> best(dom.parts, 0);
  for (std::int64_t i = 0; i < dom.cells; ++i) {
    int p = dom.part[i];
    if (p < 0) continue;
    double dist = 0;
    for (int s = 0; s < dom.d; ++s) dist += std::fabs(coords(i, s) - centroid[p][s] / centroid[p][3]);
    if (root[p] < 0 || dist < best[p]) {
      root[p] = i;
      best[p] = dist;
    }
  }
  dom.parent.assign(dom.cells, -1);
  dom.order.clear();
  dom.order.reserve(dom.domain_cells);
  std::vector<std::uint8_t> seen(dom.cells, 0);
  for (int p = 0; p < dom.parts; ++p) {
    std::size_t head = dom.order.size();
    dom.order.push_back(root[p]);
    seen[root[p]] = 1;
    for (; head < dom.order.size(); ++head) {
      std::int64_t i = dom.order[head];
      dom.for_each_neighbour(i, [&](std::int64_t j, int, bool) {
        if (!seen[j]) {
          seen[j] = 1;
          dom.parent[j] = i;
          dom.order.push_back(j);
        }
      });
    }
  }
  return dom;
}

}  // namespace omtcore::detail
