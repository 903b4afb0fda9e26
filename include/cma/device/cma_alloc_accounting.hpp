// cma/device/cma_alloc_accounting.hpp — which cma_alloc() calls reach the accounting at
// the end of mm/cma.c's cma_alloc (the `out:` block): count_vm_event(CMA_ALLOC_SUCCESS /
// CMA_ALLOC_FAIL) and cma_sysfs_account_success_pages / _fail_pages(cma, count).
//
// Both counters are bumped side by side, so /proc/vmstat (vmstat.hpp) and sysfs
// (cma_sysfs.hpp) share this rule (KERNEL-FACTS §1.5, read against mm/cma.c):
//   ≤ 5.12        no such counters.  They arrived together ("mm: vmstat: add cma
//                 statistics", "mm: cma: support sysfs", Minchan Kim, 2021): absent in
//                 5.12.9, present in 5.14-rc5 — 5.13 assumed, no 5.13 tree read.
//   5.13 – 6.11   every early exit jumps to `out:`: a NULL/empty area, count == 0 and a
//                 request larger than the bitmap are all counted as failures (the sysfs
//                 fail counter adds `count`, 0 for count == 0).
//   6.12 – 6.14   the early exits `return page` before the accounting: only a call that
//                 searched the bitmap is counted.
//   6.15+         a NULL/empty area and count == 0 return at once (not counted); a
//                 request larger than every range goes through the range loop and is
//                 counted as a failure like any other.
// The vm event counts calls (one per cma_alloc), the sysfs counters count pages; the
// real 6.1 and 6.12 recordings (tests/data/recorded/*/steps.txt: cma_alloc_success goes
// 3 → 4 on a 256-page allocation) confirm per-call vm events.
#pragma once

#include "../alloc_result.hpp"
#include "../kernel_version.hpp"
#include "../profile.hpp"

namespace cma::device {

/// Does this version have CMA_ALLOC_SUCCESS / CMA_ALLOC_FAIL and the sysfs counters?
inline bool has_cma_alloc_counters(const profile& p) noexcept { return p.version >= kernel_version{5, 13, 0}; }

/// Does a cma_alloc call that ended with `exit` reach the accounting block?
inline bool cma_alloc_accounted(const profile& p, alloc_exit exit) noexcept {
  if (!has_cma_alloc_counters(p)) return false;
  if (exit == alloc_exit::searched) return true;
  if (p.version < kernel_version{6, 12, 0}) return true;        // goto out
  if (p.version < kernel_version{6, 15, 0}) return false;       // return page
  return exit == alloc_exit::too_large;                         // 6.15+: only the range loop's refusal
}

} // namespace cma::device
