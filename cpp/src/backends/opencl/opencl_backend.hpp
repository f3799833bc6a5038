// The OpenCL backend: every problem kind on any OpenCL 1.2 device, with the
// OpenCL library loaded at run time (cl_api.hpp) and the kernels (kernels.cl
// plus the shared per-cell math) compiled for each problem shape.
#pragma once

#include "core/backend.hpp"

namespace omtcore::detail {

BackendEntry opencl_backend_entry();

}  // namespace omtcore::detail
