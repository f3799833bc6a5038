// The CPU backend: the readable reference and the oracle of the GPU backends.
// Runs on all cores through OpenMP; allocates only in its constructor.
#pragma once

#include "core/backend.hpp"

namespace omtcore::detail {

BackendEntry cpu_backend_entry();
// The vector/matrix iteration (cpu_field_backend.cpp).
std::unique_ptr<Backend> make_cpu_field_backend(const FieldSetup& setup, Dtype dtype);

}  // namespace omtcore::detail
