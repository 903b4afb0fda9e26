// cma/allocator.hpp — the entry point: #include <cma/allocator.hpp>.
//
//   cma::allocator            the fast model (bitmap + free-run index), for real use
//   cma::reference_allocator  the reference (plain bitmap, the kernel's search)
// Both are cma::basic_area<Store> (cma_area.hpp): one allocator core, two stores,
// identical answers.  A version profile (profile.hpp) picks each kernel's rules.
//
//   auto a = cma::make_allocator("reserved", {0x76c00, 32768}, 0, "6.1");
//   auto r = a.alloc(2048, 8);          // r.pfn == 0x76c00, r.err == 0
//   a.release(r.pfn, 2048);
#pragma once

#include "alloc_result.hpp"
#include "bitmap_store.hpp"
#include "busy.hpp"
#include "cma_area.hpp"
#include "cma_init_reserved_mem.hpp"
#include "cma_debug.hpp"
#include "cma_debug_show_areas.hpp"
#include "errno.hpp"
#include "kernel_version.hpp"
#include "profile.hpp"
#include "types.hpp"

#include <stdexcept>
#include <string>
#include <string_view>

namespace cma {

using allocator = basic_area<free_run_index>;
using reference_allocator = basic_area<bit_vector_store>;

/// One-range area for a kernel version given as text ("6.1").  Throws
/// std::invalid_argument for an unparsable version, and — before allocating anything —
/// for an area no kernel could have, with area_refusal's sentence
/// (cma_init_reserved_mem.hpp; check it first to report the reason your own way).
template <class Area = allocator>
Area make_allocator(std::string name, memrange_spec range, unsigned order_per_bit, std::string_view version) {
  const auto v = kernel_version::parse(version);
  if (!v) throw std::invalid_argument("make_allocator: \"" + std::string(version) + "\" is not a kernel version");
  return Area(std::move(name), range, order_per_bit, profile::for_version(*v));
}

} // namespace cma
