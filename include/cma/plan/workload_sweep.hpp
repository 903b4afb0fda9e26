// cma/plan/workload_sweep.hpp — a workload (the recorder's format) under one configuration.
//
// A workload says what a driver asked for in bytes (`alloc 4M`, `free 3`, …), not which
// CMA requests the kernel made: the count and align of each request depend on the
// version's DMA layer (single pages go to the page allocator, the CMA_ALIGNMENT cap, …).
// So a workload is not turned into an op_list: each configuration boots its own
// cma::device::emulated_kernel (the machine `cmasim emulate` runs: the boot model places
// the default area from the command line, the boot-time DMA atomic pools take their
// share, /dev/cma_test runs the steps through the DMA layer) with `cma=<size>`, and the
// steps are written to its dev/cma_test in order.  Chosen over driving a dma_layer by
// hand because it is the one path already checked against real kernels (`cmasim record`)
// and fast enough (10k steps ≈ 75 ms a configuration).
// A failure is a step during which the kernel's cma_alloc_fail counter grew (a CMA
// allocation failed; the page allocator's own are not CMA's).  Peaks are read after each
// step.  The area's order_per_bit is the default area's (0); base_pfn is where the boot
// put it.  Pure: no I/O.
#pragma once

#include "../device/emulated_kernel.hpp"
#include "sweep.hpp"

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace cma::plan {

struct workload_step {
  std::uint64_t line = 0; ///< 1-based line in the workload file
  std::string cmd;        ///< one device command, or `read`
};

/// Boots `kc` (its cmdline already holding the cma= of the configuration) and runs the
/// steps; `placed` receives the area's base_pfn and pages.  A boot that cannot give the
/// module an area is `refused`.
inline plan_result run_workload(const std::vector<workload_step>& steps, const device::emulated_kernel_config& kc,
                                pfn_t& placed_base, page_count& placed_count) {
  plan_result res;
  auto booted = device::emulated_kernel::boot(kc);
  if (auto* why = std::get_if<std::string>(&booted)) {
    res.refused = *why;
    return res;
  }
  auto& E = *std::get<std::unique_ptr<device::emulated_kernel>>(booted);
  placed_base = E.area().base_pfn();
  placed_count = E.area().count();
  const device::trace_task rig{"rig", 100, 0};
  std::uint64_t now = device::emulated_kernel::insmod_at_ns;
  for (const auto& s : steps) {
    now += 10'000'000ULL;
    const auto fails = E.vm_events().cma_alloc_fail();
    const auto ok = E.vm_events().cma_alloc_success();
    if (s.cmd == "read") (void)E.read("dev/cma_test", 64, 0, now, rig);
    else (void)E.write("dev/cma_test", s.cmd, now, rig);
    res.allocs += (E.vm_events().cma_alloc_fail() - fails) + (E.vm_events().cma_alloc_success() - ok);
    if (E.vm_events().cma_alloc_fail() > fails) {
      if (res.failures == 0) {
        res.first_failure_file = 0;
        res.first_failure_line = s.line;
      }
      res.failures += E.vm_events().cma_alloc_fail() - fails;
    }
    const auto& a = E.area();
    res.peak_used = std::max(res.peak_used, a.used_bits_pages());
    const page_count free = a.free_pages();
    res.peak_frag = std::max(res.peak_frag, free - std::min(free, a.maxchunk()));
  }
  return res;
}

} // namespace cma::plan
