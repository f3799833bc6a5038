// omtcore: W1 optimal mass transport on grids, with certified bounds.
#pragma once

#include "omtcore/errors.hpp"
#include "omtcore/solve.hpp"
#include "omtcore/types.hpp"

