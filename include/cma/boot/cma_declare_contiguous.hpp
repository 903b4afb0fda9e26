// cma/boot/cma_declare_contiguous.hpp — reserving one CMA area in memblock at boot.
//
// Models mm/cma.c cma_declare_contiguous() (4.15) / cma_declare_contiguous_nid()
// (5.7+; read in 6.1.192 and 6.12.117) plus cma_init_reserved_mem(), following
// KERNEL-FACTS §6.1–§6.2:
//  1. slot table full → -ENOSPC; size 0 or a non-power-of-two alignment → -EINVAL
//     (silently: no "Failed" line);
//  2. alignment = max(alignment, minimum): 4 MiB up to 5.18, one pageblock (2 MiB
//     with 4 KiB pages and HUGETLB) from 5.19;
//  3. a fixed base that is not aligned: 4.15 silently rounds it up, 5.10+ fails
//     "Region at %pa must be aligned to %pa bytes";
//  4. base and size are rounded up, limit down, to the alignment; base 0 → not fixed;
//  5. limit 0 or beyond the end of DRAM → end of DRAM; 5.10+: base+size > limit →
//     "Size (%pa) of region at %pa exceeds limit (%pa)", -EINVAL;
//  6. fixed: -EBUSY when any byte is already reserved, else memblock_reserve
//     (memory need not exist there: 6.1 reserves 64M@0x10000000 below RAM);
//  7. not fixed: the "≥ 4 GiB bottom-up" attempt when memblock is top-down and
//     (≤ 6.14) end of DRAM ≥ 4 GiB + size / (6.15+) limit ≥ 4 GiB + size — 5.12
//     → 6.2 after the highmem attempt, 6.3+ before it; then the highmem attempt;
//     then top-down in [base, limit), else -ENOMEM;
//  7b. a size that ALIGN() wrapped to 0 passes every check and fails in
//     cma_init_reserved_mem(): "Failed to reserve 0 MiB", -EINVAL;
//  8. success "cma: Reserved %ld MiB at %pa" (4.15 → 6.3, 6.15+) or "… on node %d"
//     (6.4 → 6.14); failure "cma: Failed to reserve %ld MiB" / "… on node %d".
//  9. 6.15+ cma_declare_contiguous_multi() (read in 7.3.4, the only caller is
//     hugetlb_cma): the single-range declaration above without its own message;
//     on -ENOMEM only, the free memblock ranges starting at or above 4 GiB of the
//     node, aligned inward, the CMA_MAX_RANGES (8) "largest" kept in the kernel's
//     own insertion order (list_insert_sorted inserts before the first entry the
//     comparator accepts, else before the last one — not a true sort, and the
//     model keeps that quirk), taken until the total is covered, re-inserted by
//     base the same way and reserved in that order, the last one partly; then
//     "cma: Reserved %lu MiB in %d range%s" (no address) or "cma: Failed to
//     reserve %lu MiB" with the size as passed.
// Knowingly different: the "on node" form is verified in 6.6/6.12 only (absent in
// 6.3.8), 6.4/6.5 are assumed to have it; the debug line's function name for
// 6.15+ is assumed unchanged; a multi-range cma_new_area() failing on a full
// slot table is reported like the single-range one.
// %pa prints as 0x + 16 hex digits (64-bit phys_addr_t).
//
// Invariant: on success the area's [base, base+size) is reserved in the memblock
// state, base and size are multiples of the applied alignment, and the area
// count went up by one; on failure the memblock state is unchanged.
#pragma once

#include "../cma_memrange.hpp"
#include "../errno.hpp"
#include "../kernel_version.hpp"
#include "memblock.hpp"
#include "../types.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <utility>
#include <optional>
#include <string>
#include <vector>

namespace cma {

inline constexpr int enospc = -28; ///< -ENOSPC: the cma_areas[] table is full

/// Build-time facts a declaration depends on.
struct cma_declare_config {
  unsigned pageblock_order = 9; ///< 9 with HUGETLB_PAGE (4 KiB pages); 10 without (≥ 6.4)
  unsigned max_order = 11;      ///< MAX_ORDER as ≤ 6.3 counts it (exclusive)
  bool numa = true;             ///< CONFIG_NUMA (6.6+ forces nid = NUMA_NO_NODE without it)
  unsigned max_areas = 8;       ///< MAX_CMA_AREAS: 1 + CMA_AREAS (7) ≤ 6.11; CMA_AREAS (8) 6.12+
};

struct cma_declare_request {
  phys_addr_t base = 0;
  phys_addr_t size = 0;
  phys_addr_t limit = 0;
  phys_addr_t alignment = 0;
  unsigned order_per_bit = 0;
  bool fixed = false;
  std::string name = "reserved";
  int nid = numa_no_node;
};

/// How the placement was decided, for the report.
enum class cma_placement { none, fixed, bottom_up_4g, highmem, top_down };

struct cma_declare_outcome {
  int ret = 0;                        ///< 0 or a negative errno
  std::string name;
  phys_addr_t base = 0;               ///< final base (bytes) when ret == 0
  phys_addr_t size = 0;               ///< size after rounding to the alignment
  phys_addr_t requested_size = 0;
  phys_addr_t requested_base = 0;
  phys_addr_t alignment = 0;          ///< alignment applied
  phys_addr_t limit = 0;              ///< limit after rounding and clamping
  bool fixed = false;                 ///< as used (base 0 makes it false)
  int nid = numa_no_node;
  unsigned order_per_bit = 0;         ///< pages per bitmap bit = 2^order_per_bit
  /// The memory ranges of the area, {base, size} in bytes: one for a single-range
  /// declaration, up to 8 for a 6.15+ multi-range one (base/size above are then
  /// the first range's base and the total size).
  std::vector<std::pair<phys_addr_t, phys_addr_t>> ranges;
  cma_placement placement = cma_placement::none;
  std::vector<std::string> lines;     ///< kernel log lines, "cma: " prefix included
  std::vector<std::string> debug_lines; ///< pr_debug lines (CONFIG_CMA_DEBUG / dyndbg)
  std::vector<std::string> notes;     ///< model remarks (rounding, ignored base, …)

  pfn_t base_pfn() const noexcept { return base >> page_shift; }
  page_count count() const noexcept { return size >> page_shift; }
  bool ok() const noexcept { return ret == 0; }
};

namespace detail {

inline std::string pa(phys_addr_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

inline std::string mib(phys_addr_t v) { return std::to_string(v / sz_1m); }

constexpr bool is_power_of_2(phys_addr_t x) noexcept { return x && !(x & (x - 1)); }

} // namespace detail

/// The minimum area alignment of a version (KERNEL-FACTS §6.1).
constexpr phys_addr_t cma_min_alignment(const kernel_version& kv, const cma_declare_config& c) {
  const unsigned max_order_m1 = c.max_order - 1;
  if (kv <= kernel_version{5, 18}) {
    const unsigned order = c.pageblock_order > max_order_m1 ? c.pageblock_order : max_order_m1;
    return page_size << order;
  }
  return page_size << c.pageblock_order; // CMA_MIN_ALIGNMENT_BYTES
}

/// Does this version print "… on node %d" in its Reserved/Failed lines?
constexpr bool cma_messages_name_node(const kernel_version& kv) noexcept {
  return kv >= kernel_version{6, 4} && kv <= kernel_version{6, 14};
}

constexpr const char* cma_declare_func(const kernel_version& kv) noexcept {
  return kv < kernel_version{5, 7} ? "cma_declare_contiguous" : "cma_declare_contiguous_nid";
}

namespace detail {

/// Step 7: the non-fixed search, in the version's order.  Returns 0 on failure.
inline phys_addr_t cma_find_place(memblock& mb, const kernel_version& kv, phys_addr_t size,
                                  phys_addr_t align, phys_addr_t base, phys_addr_t& limit,
                                  phys_addr_t memblock_end, phys_addr_t highmem_start, int nid,
                                  cma_placement& how, const std::string& what) {
  phys_addr_t addr = 0;
  const bool bottom_up_rule = kv >= kernel_version{5, 12};
  const bool bottom_up_first = kv >= kernel_version{6, 3};
  const phys_addr_t gate = kv >= kernel_version{6, 15} ? limit : memblock_end;
  auto try_bottom_up = [&] {
    if (!bottom_up_rule || mb.bottom_up || gate < sz_4g + size) return;
    mb.bottom_up = true;
    const phys_addr_t a = mb.alloc_range_nid(size, align, sz_4g, limit, nid, true, what);
    mb.bottom_up = false;
    if (a) { addr = a; how = cma_placement::bottom_up_4g; }
  };
  auto try_highmem = [&] {
    if (base < highmem_start && limit > highmem_start) {
      const phys_addr_t a = mb.alloc_range_nid(size, align, highmem_start, limit, nid, true, what);
      if (a) { addr = a; how = cma_placement::highmem; }
      limit = highmem_start;
    }
  };
  if (bottom_up_first) {
    try_bottom_up();
    if (!addr) try_highmem();
  } else {
    try_highmem();
    try_bottom_up(); // 5.12–6.2 run it even after a highmem success (overwrites addr)
  }
  if (!addr) {
    addr = mb.alloc_range_nid(size, align, base, limit, nid, true, what);
    if (addr) how = cma_placement::top_down;
  }
  return addr;
}

inline void cma_declare_fail(cma_declare_outcome& o, const kernel_version& kv, int ret) {
  o.ret = ret;
  std::string line = "cma: Failed to reserve " + mib(o.size) + " MiB";
  if (cma_messages_name_node(kv)) line += " on node " + std::to_string(o.nid);
  o.lines.push_back(std::move(line));
}

} // namespace detail

/// cma_declare_contiguous_nid() against a memblock state; `areas_declared` is
/// cma_area_count before the call.  highmem_start 0 means "end of DRAM" (64-bit).
inline cma_declare_outcome cma_declare_contiguous_nid(memblock& mb, const cma_declare_request& rq,
                                                      const kernel_version& kv,
                                                      const cma_declare_config& cfg = {},
                                                      unsigned areas_declared = 0,
                                                      phys_addr_t highmem_start = 0) {
  cma_declare_outcome o;
  o.name = rq.name;
  o.requested_size = rq.size;
  o.requested_base = rq.base;
  o.size = rq.size;
  o.order_per_bit = rq.order_per_bit;
  o.nid = (kv >= kernel_version{6, 6} && !cfg.numa) ? numa_no_node : rq.nid;
  const phys_addr_t memblock_end = mb.end_of_dram();
  if (highmem_start == 0) highmem_start = memblock_end;
  o.debug_lines.push_back(std::string("cma: ") + cma_declare_func(kv) + "(size " +
                          detail::pa(rq.size) + ", base " + detail::pa(rq.base) + ", limit " +
                          detail::pa(rq.limit) + " alignment " + detail::pa(rq.alignment) + ")");
  if (areas_declared >= cfg.max_areas) {
    o.ret = enospc;
    o.lines.push_back("cma: Not enough slots for CMA reserved regions!");
    return o;
  }
  if (rq.size == 0 || (rq.alignment && !detail::is_power_of_2(rq.alignment))) {
    o.ret = einval;
    return o;
  }
  const phys_addr_t align = std::max(rq.alignment, cma_min_alignment(kv, cfg));
  o.alignment = align;
  phys_addr_t base = rq.base;
  bool fixed = rq.fixed;
  if (fixed && (base & (align - 1))) {
    if (kv >= kernel_version{5, 10}) {
      o.lines.push_back("cma: Region at " + detail::pa(base) + " must be aligned to " +
                        detail::pa(align) + " bytes");
      detail::cma_declare_fail(o, kv, einval);
      return o;
    }
    o.notes.push_back("4.15 rounds the unaligned fixed base " + detail::pa(base) + " up to " +
                      detail::pa(round_up(base, align)) + " without a message");
  }
  base = round_up(base, align);
  o.size = round_up(rq.size, align);
  phys_addr_t limit = rq.limit & ~(align - 1);
  if (base == 0) fixed = false;
  o.fixed = fixed;
  if ((o.size >> page_shift) & ((phys_addr_t{1} << rq.order_per_bit) - 1)) {
    o.ret = einval;
    return o;
  }
  if (fixed && base < highmem_start && base + o.size > highmem_start) {
    o.lines.push_back("cma: Region at " + detail::pa(base) +
                      " defined on low/high memory boundary (" + detail::pa(highmem_start) + ")");
    detail::cma_declare_fail(o, kv, einval);
    return o;
  }
  if (limit == 0 || limit > memblock_end) limit = memblock_end;
  o.limit = limit;
  if (kv >= kernel_version{5, 10} && base + o.size > limit) {
    o.lines.push_back("cma: Size (" + detail::pa(o.size) + ") of region at " + detail::pa(base) +
                      " exceeds limit (" + detail::pa(limit) + ")");
    detail::cma_declare_fail(o, kv, einval);
    return o;
  }
  if (o.size == 0) {
    // ALIGN() wrapped a size within one alignment of 2^64 (cma=18446744073709551614,
    // cma=17179869183G) to 0, and nothing after it re-checks the size (4.15 → 6.18):
    // memblock finds and "reserves" 0 bytes, then cma_init_reserved_mem() refuses
    // size 0 with -EINVAL and the kernel prints "Failed to reserve 0 MiB".  A fixed
    // base strictly inside a reserved region already fails memblock's overlap test
    // (base < r.end && r.base < base + 0): -EBUSY.  (A non-fixed search that finds
    // no aligned free byte below the limit would be -ENOMEM: not modelled.)
    int ret = einval;
    if (fixed)
      for (const auto& r : mb.reserved())
        if (r.base < base && base < r.end()) ret = ebusy;
    o.notes.push_back("size " + detail::pa(rq.size) + " rounded up to the " +
                      detail::mib(align) + " MiB alignment wraps to 0: the kernel reserves nothing "
                      "and cma_init_reserved_mem() rejects size 0");
    detail::cma_declare_fail(o, kv, ret);
    return o;
  }
  const std::string what = "CMA area " + rq.name;
  if (fixed) {
    if (mb.is_region_reserved(base, o.size)) {
      detail::cma_declare_fail(o, kv, ebusy);
      return o;
    }
    mb.reserve(base, o.size, what);
    o.placement = cma_placement::fixed;
  } else {
    base = detail::cma_find_place(mb, kv, o.size, align, base, limit, memblock_end, highmem_start,
                                  o.nid, o.placement, what);
    if (!base) {
      detail::cma_declare_fail(o, kv, enomem);
      return o;
    }
  }
  o.base = base;
  o.ranges = {{base, o.size}};
  std::string line = "cma: Reserved " + detail::mib(o.size) + " MiB at " + detail::pa(base);
  if (cma_messages_name_node(kv)) line += " on node " + std::to_string(o.nid);
  o.lines.push_back(std::move(line));
  return o;
}


namespace detail {

/// mm/cma.c list_insert_sorted() on a vector standing for the list: insert before
/// the first entry e with cmp(e, x), or — when there is none — before the last one.
template <class T, class Cmp>
void cma_list_insert_sorted(std::vector<T>& list, T x, Cmp cmp) {
  if (list.empty()) {
    list.push_back(std::move(x));
    return;
  }
  std::size_t at = list.size() - 1;
  for (std::size_t i = 0; i < list.size(); ++i)
    if (cmp(list[i], x)) {
      at = i;
      break;
    }
  list.insert(list.begin() + static_cast<std::ptrdiff_t>(at), std::move(x));
}

} // namespace detail

/// 6.15+ cma_declare_contiguous_multi(total_size, align, order_per_bit, name, nid)
/// against a memblock state (mm/cma.c, read in 7.3.4).
inline cma_declare_outcome cma_declare_contiguous_multi(memblock& mb, phys_addr_t total_size,
                                                        phys_addr_t align, unsigned order_per_bit,
                                                        const std::string& name, int nid,
                                                        const kernel_version& kv,
                                                        const cma_declare_config& cfg = {},
                                                        unsigned areas_declared = 0) {
  cma_declare_request rq;
  rq.size = total_size;
  rq.alignment = align;
  rq.order_per_bit = order_per_bit;
  rq.name = name;
  rq.nid = nid;
  cma_declare_outcome o = cma_declare_contiguous_nid(mb, rq, kv, cfg, areas_declared);
  // __cma_declare_contiguous_nid prints no Reserved/Failed line of its own here.
  std::erase_if(o.lines, [](const std::string& l) {
    return l.rfind("cma: Reserved ", 0) == 0 || l.rfind("cma: Failed to reserve ", 0) == 0;
  });
  const std::string total_mib = detail::mib(total_size);
  if (o.ret != enomem) {
    o.lines.push_back(o.ok() ? "cma: Reserved " + total_mib + " MiB in 1 range"
                             : "cma: Failed to reserve " + total_mib + " MiB");
    return o;
  }
  struct memrange {
    phys_addr_t base = 0, size = 0;
  };
  const phys_addr_t a = std::max(align, cma_min_alignment(kv, cfg));
  const phys_addr_t unit = page_size << order_per_bit;
  std::vector<memrange> ranges;
  phys_addr_t sizesum = 0;
  for (const auto& fr : mb.free_ranges(nid)) {
    if ((fr.start >> 32) == 0) continue; // upper_32_bits(start) == 0
    const phys_addr_t start = round_up(fr.start, a);
    if (start >= fr.end) continue;
    const phys_addr_t end = round_down(fr.end, a);
    if (end <= start) continue;
    const phys_addr_t size = round_down(end - start, unit);
    if (!size) continue;
    sizesum += size;
    if (ranges.size() == cma_max_ranges) {
      if (size < ranges.back().size) continue;
      sizesum -= ranges.back().size;
      ranges.pop_back();
    }
    detail::cma_list_insert_sorted(ranges, memrange{start, size},
                                   [](const memrange& l, const memrange& r) { return l.size > r.size; });
  }
  if (sizesum < total_size) {
    o.notes.push_back("no single " + total_mib + " MiB block; the free ranges at or above 4 GiB hold " +
                      detail::mib(sizesum) + " MiB: -ENOMEM");
    o.lines.push_back("cma: Failed to reserve " + total_mib + " MiB");
    return o;
  }
  std::vector<memrange> chosen;
  sizesum = 0;
  for (const auto& r : ranges) {
    detail::cma_list_insert_sorted(chosen, r,
                                   [](const memrange& l, const memrange& x) { return l.base < x.base; });
    sizesum += r.size;
    if (sizesum >= total_size) break;
  }
  o.ret = 0;
  o.size = total_size;
  o.ranges.clear();
  phys_addr_t left = total_size;
  for (const auto& r : chosen) {
    const phys_addr_t size = std::min(left, r.size);
    mb.reserve(r.base, size, "CMA area " + name);
    o.ranges.push_back({r.base, size});
    left -= size;
    if (!left) break;
  }
  o.base = o.ranges.front().first;
  o.placement = cma_placement::bottom_up_4g;
  const std::size_t n = o.ranges.size();
  o.lines.push_back("cma: Reserved " + total_mib + " MiB in " + std::to_string(n) + " range" +
                    (n == 1 ? "" : "s"));
  return o;
}

} // namespace cma
