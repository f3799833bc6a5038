// Certificates of vector and matrix solves (formulation.md, "What a solve
// returns"), in the plane layout of fields.hpp and user units.
#pragma once

#include <vector>

#include "core/certificate.hpp"
#include "core/fields.hpp"

namespace omtcore::detail {

// flux (planes * d, cells) with plane p, axis s at (p * d + s); exchange
// (blocks * block_size, cells); phi (planes, cells). All three are consumed;
// `best` keeps the better of its bounds and the new ones (certificate.hpp).
Improved certify_field(const PreparedField& problem, std::vector<double> flux, std::vector<double> exchange,
                       std::vector<double> phi, Bounds& best);

// The objective of (flux, exchange): spatial cost plus in-cell cost.
double field_flux_cost(const PreparedField& problem, const std::vector<double>& flux,
                       const std::vector<double>& exchange);

}  // namespace omtcore::detail
