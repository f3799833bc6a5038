// The CPU backend: the readable reference and the oracle of the GPU backends.
// Runs on all cores through OpenMP; allocates only in its constructor.
#pragma once

#include "core/backend.hpp"

namespace omtcore::detail {

BackendEntry cpu_backend_entry();

}  // namespace omtcore::detail
