// cma/plan/sweep.hpp — one what-if configuration of an area, run over an op_list.
//
// What it models: the original's CMA requests, in the original order, made of an area
// of another size / base / kernel version / order_per_bit (cma::allocator with that
// version's profile: first fit from bit 0, alignment relative to the absolute pfn).
// The what-if semantics, stated in every report:
//   * a release follows its allocation, not the pfn: it frees, with its own count,
//     where that allocation landed in this configuration (nothing if it failed here);
//   * an allocation that failed in the original but succeeds here is held to the end
//     (failed_policy::hold: nobody released it in the original) or released at once
//     (failed_policy::drop);
//   * no page is busy, unless busy_from_trace: then, for each request, a window is busy
//     when it starts at a pfn where the original saw that same request's window busy
//     (the same absolute pfns — under the original configuration this is the replay's
//     own oracle, so the original's outcomes are reproduced exactly).
// A configuration whose area no kernel could have (area_refusal) is `refused`, not run.
// Pure functions over results: smallest() (per kernel and order_per_bit, the smallest
// size that serves everything) and non_monotonic() (a larger area that fails where a
// smaller one of the same kernel served everything: first fit with absolute-pfn
// alignment is not monotonic in size, so sizes are never binary-searched).
// Workloads (recorder format) run on cma::device::emulated_kernel, see workload_sweep.hpp.
// Pure: no I/O, no threads, no clocks.
#pragma once

#include "../allocator.hpp"
#include "op_list.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace cma::plan {

struct plan_config {
  kernel_version kernel{6, 1, 0};
  std::uint64_t size = 0;     ///< bytes
  pfn_t base_pfn = 0;
  unsigned order_per_bit = 0;
  std::optional<std::string> refused; ///< why this area cannot exist (the boot's or area_refusal's words)
};

enum class failed_policy { hold, drop };

struct plan_options {
  failed_policy failed = failed_policy::hold;
  bool busy_from_trace = false;
};

struct plan_result {
  std::optional<std::string> refused;     ///< not run: why
  std::uint64_t failures = 0;             ///< allocations that failed here
  std::optional<std::uint32_t> first_failure_file;
  std::uint64_t first_failure_line = 0;   ///< 1-based, with first_failure_file
  std::uint64_t allocs = 0;
  std::uint64_t newly_served = 0;         ///< allocations that failed in the original but not here
  page_count peak_used = 0;               ///< pages under set bits, at their highest
  page_count peak_frag = 0;               ///< free pages minus the largest free run, at its highest
  bool serves_all() const noexcept { return !refused && failures == 0; }
};

/// Runs every operation of `list` on an area of configuration `c`.  `scratch` (where each
/// allocation landed) is reused across calls by a caller that runs many.
inline plan_result run_config(const op_list& list, const plan_config& c, const plan_options& o,
                              std::vector<pfn_t>& scratch) {
  plan_result res;
  if (c.refused) {
    res.refused = c.refused;
    return res;
  }
  if (auto why = area_refusal(c.base_pfn << page_shift, c.size, c.order_per_bit)) {
    res.refused = *why;
    return res;
  }
  allocator a("reserved", memrange_spec{c.base_pfn, c.size >> page_shift}, c.order_per_bit, profile::for_version(c.kernel));
  std::vector<pfn_t>& landed = scratch;
  landed.assign(list.ops.size(), no_pfn);
  const pfn_t* busy_begin = nullptr;
  const pfn_t* busy_end = nullptr;
  const busy_oracle oracle = [&](pfn_t pfn, page_count) { return std::find(busy_begin, busy_end, pfn) != busy_end ? ebusy : 0; };
  // peak_frag without walking every free run after every operation: `run_floor` is a lower
  // bound of the largest free run.  A release never shrinks the largest run; an allocation
  // of w pages (its bits) splits at most one run, so the largest is then at least
  // (floor - w) / 2.  While free - floor <= peak_frag no new peak is possible; otherwise
  // the largest run is read (maxchunk) and the bound is exact again.
  page_count run_floor = 0;
  const auto note_frag = [&] {
    const page_count free = a.free_pages();
    if (free <= res.peak_frag + std::min(free, run_floor)) return;
    const page_count run = a.maxchunk();
    run_floor = run;
    res.peak_frag = std::max(res.peak_frag, free - std::min(free, run));
  };
  const auto after_alloc = [&](page_count count) {
    const page_count w = cma_bitmap_pages_to_bits(c.order_per_bit, count) << c.order_per_bit;
    run_floor = run_floor > w ? (run_floor - w) / 2 : 0;
  };
  for (std::size_t i = 0; i < list.ops.size(); ++i) {
    const plan_op& p = list.ops[i];
    if (p.kind == plan_op_kind::release) {
      pfn_t& at = landed[p.ref];
      if (at == no_pfn) continue; // its allocation failed here: nothing to free
      a.release(at, p.count);
      at = no_pfn;
      note_frag();
      continue;
    }
    ++res.allocs;
    const bool with_busy = o.busy_from_trace && p.nbusy > 0;
    if (with_busy) {
      busy_begin = list.busy.data() + p.ref;
      busy_end = busy_begin + p.nbusy;
    }
    const auto r = a.alloc(p.count, p.align, with_busy ? oracle : busy_oracle{});
    if (!r.ok()) {
      if (res.failures++ == 0) {
        res.first_failure_file = p.file;
        res.first_failure_line = p.line;
      }
      continue;
    }
    res.peak_used = std::max(res.peak_used, a.used_bits_pages());
    after_alloc(p.count);
    if (!p.original_ok()) {
      ++res.newly_served;
      if (o.failed == failed_policy::drop) {
        note_frag();
        a.release(r.pfn, p.count);
        continue;
      }
    }
    landed[i] = r.pfn;
    note_frag();
  }
  return res;
}

inline plan_result run_config(const op_list& list, const plan_config& c, const plan_options& o) {
  std::vector<pfn_t> scratch;
  return run_config(list, c, o, scratch);
}

/// One configuration and what it gave.
struct plan_point {
  plan_config config;
  plan_result result;
};

/// Per kernel and order_per_bit, the smallest size that served everything.
struct smallest_size {
  kernel_version kernel;
  unsigned order_per_bit = 0;
  std::uint64_t size = 0; ///< bytes
};

inline std::vector<smallest_size> smallest(const std::vector<plan_point>& points) {
  std::map<std::tuple<kernel_version, unsigned>, std::uint64_t> best;
  for (const auto& p : points) {
    if (!p.result.serves_all()) continue;
    const auto key = std::tuple{p.config.kernel, p.config.order_per_bit};
    const auto it = best.find(key);
    if (it == best.end() || p.config.size < it->second) best[key] = p.config.size;
  }
  std::vector<smallest_size> out;
  for (const auto& [k, size] : best) out.push_back({std::get<0>(k), std::get<1>(k), size});
  return out;
}

/// A larger area that fails where a smaller one (same kernel, order_per_bit) served everything.
struct non_monotonic_point {
  std::size_t larger = 0;   ///< index into points: the one that fails
  std::size_t smaller = 0;  ///< index into points: the largest smaller size that served everything
};

inline std::vector<non_monotonic_point> non_monotonic(const std::vector<plan_point>& points) {
  std::vector<non_monotonic_point> out;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const auto& big = points[i];
    if (big.result.refused || big.result.failures == 0) continue;
    std::optional<std::size_t> best;
    for (std::size_t j = 0; j < points.size(); ++j) {
      const auto& small = points[j];
      if (small.config.kernel != big.config.kernel || small.config.order_per_bit != big.config.order_per_bit) continue;
      if (small.config.size >= big.config.size || !small.result.serves_all()) continue;
      if (!best || points[*best].config.size < small.config.size) best = j;
    }
    if (best) out.push_back({i, *best});
  }
  return out;
}

} // namespace cma::plan
