// cma/device/cma_sysfs.hpp — /sys/kernel/mm/cma/<name>/ (mm/cma_sysfs.c,
// Documentation/ABI/testing/sysfs-kernel-mm-cma), under CONFIG_CMA_SYSFS.
//
// Files per version, each a sysfs_emit() of one number:
//   alloc_pages_success    "%llu\n"  pages handed out by successful cma_alloc calls   5.13+
//   alloc_pages_fail       "%llu\n"  pages asked for by failed cma_alloc calls        5.13+
//   release_pages_success  "%llu\n"  pages given back by successful cma_release calls 6.9+
//   total_pages            "%lu\n"   cma->count                                         6.15+
//   available_pages        "%lu\n"   cma->available_count                               6.15+
// Dating: the directory came with "mm: cma: support sysfs" (absent 5.12.9, present
// 5.14-rc5: 5.13).  release_pages_success: absent in 6.6, present in 6.12 (KERNEL-FACTS
// §3); the patch was posted 2024-02-06 (lkml 20240206045731), so 6.9 — not checked against
// a 6.9 tree.  total_pages/available_pages: "[PATCH v5 01/27] mm/cma: export total and
// free number of pages for CMA areas" (F. van der Linden, 2025-02-28), the same patch that
// turned debugfs `used` into count - available_count, and the series that brought
// multi-range areas: 6.15, with profile.hpp's used_semantics.  (KERNEL-FACTS §3 says 6.19:
// it compared 6.12 with 6.19 and saw them appear in between.)
//
// When the counters move (cma_alloc_accounting.hpp for cma_alloc; mm/cma.c cma_release):
// alloc_pages_* by `count` on each accounted cma_alloc; release_pages_success by `count`
// after a cma_release that passed cma_pages_valid (6.9+; earlier kernels count nothing).
// The counters are atomic64_t and never wrap in practice; here they are u64.
//
// The directory exists only with CONFIG_CMA_SYSFS=y: Debian's arm64 config-6.1.0 and
// config-6.12 leave it unset, 7.3.4 sets it.  Checked on 7.3.4 (tests/data/recorded/*-7.3-*/
// cma_sysfs.txt): the five files above, equal to `cmasim emulate`'s for the same workload
// (tests/cli/emulate-compare.sh).  Invariant: a counter only grows.
#pragma once

#include "../alloc_result.hpp"
#include "../kernel_version.hpp"
#include "../profile.hpp"
#include "../types.hpp"
#include "cma_alloc_accounting.hpp"
#include "file_result.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cma::device {

class cma_sysfs {
public:
  explicit cma_sysfs(profile p) : prof_(p) {}

  /// Does /sys/kernel/mm/cma/ exist in this version?
  static bool present(const profile& p) noexcept { return has_cma_alloc_counters(p); }
  static bool has_release_pages_success(const profile& p) noexcept { return p.version >= kernel_version{6, 9, 0}; }
  static bool has_total_and_available(const profile& p) noexcept { return p.version >= kernel_version{6, 15, 0}; }

  /// The files of one area's directory, in the kernel's attribute order (cma_attrs[]).
  static std::vector<std::string> files(const profile& p) {
    std::vector<std::string> f;
    if (!present(p)) return f;
    f = {"alloc_pages_success", "alloc_pages_fail"};
    if (has_release_pages_success(p)) f.emplace_back("release_pages_success");
    if (has_total_and_available(p)) {
      f.emplace_back("total_pages");
      f.emplace_back("available_pages");
    }
    return f;
  }
  /// The directory name: the area's name as it is (kobject "%s", cma->name).
  static std::string dir_name(const std::string& area_name) { return area_name; }

  // -------------------------------------------------------------- counters
  /// cma_sysfs_account_success_pages / _fail_pages: one accounted cma_alloc of `count` pages.
  void on_alloc(page_count count, bool ok) noexcept {
    if (!present(prof_)) return;
    (ok ? nr_pages_succeeded_ : nr_pages_failed_) += count;
  }
  /// The same for a modelled call: nothing when this version does not reach the accounting.
  void on_cma_alloc(const alloc_result& r) noexcept {
    if (cma_alloc_accounted(prof_, r.exit)) on_alloc(r.count, r.ok());
  }
  /// cma_sysfs_account_release_pages: a cma_release of `count` pages that succeeded.
  void on_release(page_count count) noexcept {
    if (has_release_pages_success(prof_)) nr_pages_released_ += count;
  }
  /// The same for a modelled call: counted only when the release succeeded.
  void on_cma_release(const release_result& r, page_count count) noexcept {
    if (r.ok) on_release(count);
  }

  std::uint64_t nr_pages_succeeded() const noexcept { return nr_pages_succeeded_; }
  std::uint64_t nr_pages_failed() const noexcept { return nr_pages_failed_; }
  std::uint64_t nr_pages_released() const noexcept { return nr_pages_released_; }
  const profile& prof() const noexcept { return prof_; }

  // ----------------------------------------------------------------- reads
  /// The text `cat /sys/kernel/mm/cma/<name>/<file>` prints; -ENOENT for a file this
  /// version does not have.  `area` supplies count and available_count (6.15+ files).
  template <class Area> read_result read(const Area& area, std::string_view file) const {
    const auto has = [&](std::string_view f) {
      for (const auto& x : files(prof_))
        if (x == f) return true;
      return false;
    };
    if (!has(file)) return {enoent, {}};
    const auto emit = [](std::uint64_t v) { return read_result{0, std::to_string(v) + "\n"}; }; // %llu\n and %lu\n alike on 64-bit
    if (file == "alloc_pages_success") return emit(nr_pages_succeeded_);
    if (file == "alloc_pages_fail") return emit(nr_pages_failed_);
    if (file == "release_pages_success") return emit(nr_pages_released_);
    if (file == "total_pages") return emit(area.count());
    return emit(area.available_count()); // available_pages
  }
  /// Every file is 0444 with no store(): kernfs refuses the open for writing, even to root.
  write_result write(std::string_view file) const {
    for (const auto& x : files(prof_))
      if (x == file) return {eacces, 0};
    return {enoent, 0};
  }

  friend bool operator==(const cma_sysfs& a, const cma_sysfs& b) noexcept {
    return a.nr_pages_succeeded_ == b.nr_pages_succeeded_ && a.nr_pages_failed_ == b.nr_pages_failed_ &&
           a.nr_pages_released_ == b.nr_pages_released_;
  }

private:
  profile prof_;
  std::uint64_t nr_pages_succeeded_ = 0; ///< pages
  std::uint64_t nr_pages_failed_ = 0;    ///< pages
  std::uint64_t nr_pages_released_ = 0;  ///< pages
};

} // namespace cma::device
