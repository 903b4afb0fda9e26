// cma/cma.hpp — umbrella header: the model, the formats and the replay.
#pragma once

#include "allocator.hpp"
