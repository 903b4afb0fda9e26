// cma/device/vmstat.hpp — the CMA counters of /proc/vmstat (mm/vmstat.c vmstat_show:
// "<name> <value>\n", the value in decimal).
//
//   nr_free_cma        zone item NR_FREE_CMA_PAGES summed over zones, in pages: the same
//                      number /proc/meminfo's CmaFree prints in kB (meminfo.hpp; the real
//                      6.1/6.12 recordings' vmstat_cma.txt and meminfo.txt agree exactly).
//                      Present in every modelled version with CONFIG_CMA.
//   cma_alloc_success  vm event CMA_ALLOC_SUCCESS: accounted cma_alloc calls that returned
//   cma_alloc_fail     pages / NULL — one per call, not per page
//                      (cma_alloc_accounting.hpp: 5.13+, and which calls count).
// In /proc/vmstat the events sit after the compaction events (compact_daemon_free_scanned)
// and before balloon_migrate; nr_free_cma closes the zone items.  This header prints the
// lines, not the whole file.
//
// Invariant: the event counters only grow.
#pragma once

#include "../alloc_result.hpp"
#include "../profile.hpp"
#include "../types.hpp"
#include "cma_alloc_accounting.hpp"
#include "file_result.hpp"
#include "meminfo.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace cma::device {

/// One /proc/vmstat line.
inline std::string vmstat_line(std::string_view name, std::uint64_t value) {
  return std::string(name) + " " + std::to_string(value) + "\n";
}

/// "nr_free_cma N\n".
inline std::string vmstat_nr_free_cma(const nr_free_cma& f) { return vmstat_line("nr_free_cma", f.pages()); }

/// CMA_ALLOC_SUCCESS / CMA_ALLOC_FAIL.
class cma_vm_events {
public:
  explicit cma_vm_events(profile p) : prof_(p) {}

  /// Does this version's /proc/vmstat have cma_alloc_success / cma_alloc_fail?
  static bool present(const profile& p) noexcept { return has_cma_alloc_counters(p); }

  /// count_vm_event for one accounted cma_alloc call.
  void on_alloc(bool ok) noexcept {
    if (!present(prof_)) return;
    ++(ok ? success_ : fail_);
  }
  /// The same for a modelled call: nothing when this version does not reach the accounting.
  void on_cma_alloc(const alloc_result& r) noexcept {
    if (cma_alloc_accounted(prof_, r.exit)) on_alloc(r.ok());
  }

  std::uint64_t cma_alloc_success() const noexcept { return success_; }
  std::uint64_t cma_alloc_fail() const noexcept { return fail_; }
  const profile& prof() const noexcept { return prof_; }

  /// The two lines as /proc/vmstat prints them ("" before 5.13).
  std::string lines() const {
    if (!present(prof_)) return {};
    return vmstat_line("cma_alloc_success", success_) + vmstat_line("cma_alloc_fail", fail_);
  }

  friend bool operator==(const cma_vm_events& a, const cma_vm_events& b) noexcept {
    return a.success_ == b.success_ && a.fail_ == b.fail_;
  }

private:
  profile prof_;
  std::uint64_t success_ = 0; ///< calls
  std::uint64_t fail_ = 0;    ///< calls
};

} // namespace cma::device
