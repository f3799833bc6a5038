// The grid and its domain: face activity bits, connected parts, and a spanning
// forest used to route the last iterate's violation (the feasibility repair).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "omtcore/types.hpp"

namespace omtcore::detail {

struct Domain {
  int d = 0;
  std::array<std::int64_t, 3> n{1, 1, 1};       // shape, padded with 1
  std::array<std::int64_t, 3> stride{0, 0, 0};  // C-order strides
  std::array<double, 3> h{1, 1, 1};             // spacing per axis (user units)
  std::int64_t cells = 0;
  std::int64_t domain_cells = 0;
  std::vector<std::uint8_t> inside;  // 1 for cells of the domain
  std::vector<std::uint8_t> bits;    // OMT_FWD / OMT_BWD face bits (cell_math.h)
  std::vector<std::int32_t> part;    // with a mask: part of each cell, -1 outside; see part_of
  int parts = 0;
  // With a mask: domain cells in BFS order from each part's root, and each
  // cell's BFS parent (-1 for roots and cells outside). The full rectangle
  // stores neither: its tree is implicit (route_to_roots), rooted at `root`.
  std::vector<std::int64_t> order;
  std::vector<std::int64_t> parent;
  std::int64_t root = -1;  // the full rectangle's root (its middle cell), else -1

  // The connected part of cell i, -1 outside the domain.
  int part_of(std::int64_t i) const { return part.empty() ? 0 : part[i]; }
  bool is_root(std::int64_t i) const { return parent.empty() ? i == root : parent[i] < 0; }

  // Validates shape, spacing and mask (throws InvalidInputError) and builds the rest.
  static Domain build(const Grid& grid, const std::uint8_t* mask);

  // Calls f(j, s, forward) for each active face neighbour j of cell i along axis s.
  template <class F>
  void for_each_neighbour(std::int64_t i, F&& f) const {
    const unsigned b = bits[i];
    for (int s = 0; s < d; ++s) {
      if (b & (1u << s)) f(i + stride[s], s, true);
      if (b & (16u << s)) f(i - stride[s], s, false);
    }
  }
};

}  // namespace omtcore::detail
