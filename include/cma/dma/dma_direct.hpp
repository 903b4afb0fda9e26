// cma/dma/dma_direct.hpp — dma_alloc_coherent / dma_alloc_pages and their frees, around CMA.
//
// Models, per dma_rules (KERNEL-FACTS §5.3/§5.4):
//   5.x+  kernel/dma/mapping.c dma_alloc_attrs → kernel/dma/direct.c dma_direct_alloc /
//         dma_direct_alloc_pages → __dma_direct_alloc_pages (5.10, 6.1, 6.6, 6.12):
//           1. size = PAGE_ALIGN(size); dma_alloc_contiguous(dev, size, gfp) (dma_contiguous.hpp);
//           2. pages from CMA that the device cannot address — dma_coherent_ok():
//              addr + size - 1 <= min_not_zero(coherent_dma_mask, bus_dma_limit) is false — are
//              given back with dma_free_contiguous() (alloc and release both happen: the bitmap
//              ends as it was, the log shows both);
//           3. otherwise, and when CMA said no, alloc_pages_node(node, gfp, get_order(size)), retried
//              in ZONE_DMA32 / ZONE_DMA while the page is out of reach.  CMA is never retried.
//         dma_alloc_attrs warns once (WARN_ON_ONCE) when coherent_dma_mask is 0; it does not look
//         at dev->dma_mask.  A NULL device is not allowed (dereferenced).
//   4.15 x86_64  include/linux/dma-mapping.h dma_alloc_attrs → arch/x86/kernel/pci-dma.c:
//           arch_dma_alloc_attrs() swaps a NULL device for x86_dma_fallback_dev and refuses a device
//           that is not is_device_dma_capable() — dev->dma_mask NULL or 0 — before anything else:
//           NULL, no CMA call, no kernel line.  Then dma_generic_alloc_coherent (first try of
//           x86_swiotlb_alloc_coherent, which ORs in __GFP_NOWARN): dma_alloc_from_contiguous(count,
//           get_order(size)) when gfp may block; pages with addr + size > mask (size as asked: an
//           off-by-one against 5.x) are released and the page allocator serves instead.  The mask is
//           coherent_dma_mask, or DMA_BIT_MASK(24) when it is 0 (GFP_DMA is then forced).
//   4.15 arm64  arch/arm64/mm/dma-mapping.c __dma_alloc_coherent: a NULL device is refused with
//           WARN_ONCE("Use an actual device structure for DMA allocation"); with an area and a
//           blocking gfp, dma_alloc_from_contiguous(size >> PAGE_SHIFT, get_order(size)) and its
//           answer is final (no check of the mask, no fallback); without an area, swiotlb.
//
// The field notes' "misc cma_test: no mem in CMA area for size: 0x800000 Bytes" is not a kernel
// line: it is the dev_err() of the notes' module (Barry Song's cma_test.c) when
// dma_alloc_coherent() returned NULL, printed through the misc device ("misc" class, "cma_test"
// name).  On 4.15 x86 that device has dev->dma_mask NULL (device_create never sets it): the
// module's dma_set_mask(32) fails with -EIO (hence no "dma_set_mask ret" line in the notes),
// dma_set_coherent_mask(32) succeeds ("dma_set_coherent_mask ret: 0"), and every
// dma_alloc_coherent() is refused by is_device_dma_capable() before CMA — which is why no
// "cma: cma_alloc(…)" line precedes it even with CONFIG_CMA_DEBUG=y.  Passing a NULL device, the
// notes' workaround, selects x86_dma_fallback_dev (32-bit masks on x86_64), and the 128 MiB
// request then reaches CMA as count 32768, align 8.  On 5.x+ the same misc device is served
// (dma-direct reads only coherent_dma_mask).  device::misc_without_dma_mask() is that device;
// module_no_mem_line() prints the module's line.
//
// The page allocator is not modelled: its pages have no known pfn (std::nullopt) and it is
// assumed to succeed, except where the outcome is certain — an order above the largest the buddy
// allocator serves (max_page_order, 10 with 4 KiB pages: every request above 4 MiB) always fails,
// with alloc_pages' WARN_ON_ONCE unless __GFP_NOWARN (kmod/'s recordings show it); a device whose
// limit is 0 can address no page.  Not modelled either: the atomic pools (non-blocking gfp on a
// non-coherent device), swiotlb's own bounce-buffer attempt on 4.15 x86 (≤ 256 KiB) and its
// warning, the restricted-DMA pools (6.1+ swiotlb-for-alloc), IOMMUs, the NUMA areas.
//
// Invariants: path == cma ⇔ pfn has a value; err == 0 unless path == failed (then -ENOMEM);
// a cma_call with released == true left the area's bitmap as it was before the call.
#pragma once

#include "../allocator.hpp"
#include "../busy.hpp"
#include "cma_log.hpp"
#include "device.hpp"
#include "dma_contiguous.hpp"
#include "dma_rules.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cma::dma {

/// The DMA layer of one booted kernel: its rules, its default CMA area, what its log shows.
struct dma_layer {
  dma_rules rules;
  allocator* default_area = nullptr; ///< dma_contiguous_default_area (nullptr: no area, cma=0)
  log_options log;

  dma_layer(dma_rules r, allocator& area, log_options lo = {}) : rules(r), default_area(&area), log(lo) {}
  dma_layer(dma_rules r, allocator* area, log_options lo = {}) : rules(r), default_area(area), log(lo) {}
};

enum class dma_path {
  cma,            ///< the buffer is CMA's pages (pfn known)
  page_allocator, ///< alloc_pages served it (pfn unknown, not modelled)
  failed,         ///< NULL: the caller sees -ENOMEM
};

constexpr std::string_view to_string(dma_path p) noexcept {
  switch (p) {
  case dma_path::cma: return "CMA";
  case dma_path::page_allocator: return "page allocator";
  case dma_path::failed: return "failed";
  }
  return "";
}

struct dma_alloc_result {
  dma_path path = dma_path::failed;
  std::uint64_t size = 0;      ///< bytes asked
  page_count pages = 0;        ///< PAGE_ALIGN(size) >> PAGE_SHIFT
  std::optional<cma_call> cma; ///< the cma_alloc() made on the way (count/align as sent), if any
  std::optional<pfn_t> pfn;    ///< first page when path == cma; nullopt otherwise
  int err = 0;                 ///< 0, or -ENOMEM when the DMA API returned NULL
  bool page_allocator_warning = false; ///< alloc_pages' WARN_ON_ONCE (order too large, no __GFP_NOWARN)
  bool coherent_mask_warning = false;  ///< dma_alloc_attrs' WARN_ON_ONCE(!dev->coherent_dma_mask)
  std::vector<std::string> log;        ///< kernel lines, in order, without timestamps
  std::string why;                     ///< one sentence: why this path

  bool ok() const noexcept { return path != dma_path::failed; }
  bool from_cma() const noexcept { return path == dma_path::cma; }
};

/// The module line the field notes show when dma_alloc_coherent returned NULL (their module's
/// dev_err through the misc device; `size` in bytes, printed with %x).
inline std::string module_no_mem_line(std::uint64_t size, std::string_view dev_name = "cma_test") {
  return "misc " + std::string(dev_name) + ": no mem in CMA area for size: 0x" +
         detail::hex_lower(size & 0xffffffffULL) + " Bytes";
}

namespace detail {

inline void append(std::vector<std::string>& to, const std::vector<std::string>& from) {
  to.insert(to.end(), from.begin(), from.end());
}

/// min_not_zero(a, b).
constexpr std::uint64_t min_not_zero(std::uint64_t a, std::uint64_t b) noexcept {
  return a == 0 ? b : b == 0 ? a : std::min(a, b);
}

/// addr + len - 1 <= limit, without wrapping (len >= 1).
constexpr bool fits_inclusive(std::uint64_t addr, std::uint64_t len, std::uint64_t limit) noexcept {
  return addr <= limit && len - 1 <= limit - addr;
}

/// The page allocator's fallback: certain failure above max_page_order or with nothing
/// addressable, otherwise served (pfn unknown).
inline void page_allocator_fallback(dma_alloc_result& res, const dma_rules& r, std::uint64_t aligned_size,
                                    std::uint64_t limit, gfp_flags gfp, std::string why) {
  const unsigned order = get_order(aligned_size);
  if (order > r.max_page_order) {
    res.path = dma_path::failed;
    res.err = enomem;
    res.page_allocator_warning = !gfp.nowarn;
    res.why = why + "; the page allocator cannot serve order " + std::to_string(order) + " (largest " +
              std::to_string(r.max_page_order) + "): NULL";
    return;
  }
  if (limit == 0) {
    res.path = dma_path::failed;
    res.err = enomem;
    res.why = why + "; no page is addressable with a DMA limit of 0: NULL";
    return;
  }
  res.path = dma_path::page_allocator;
  res.why = why + "; the page allocator serves order " + std::to_string(order);
}

inline dma_alloc_result begin(std::uint64_t size) {
  dma_alloc_result res;
  res.size = size;
  res.pages = size_to_pages(size);
  return res;
}

inline void take_cma(dma_alloc_result& res, cma_call call) {
  res.path = dma_path::cma;
  res.pfn = call.result.pfn;
  append(res.log, call.log);
  res.cma = std::move(call);
}

// 5.x+: __dma_direct_alloc_pages (dma_alloc_pages: allow_highmem false — no highmem on 64-bit).
inline dma_alloc_result direct_alloc(const dma_layer& L, device& dev, std::uint64_t size, gfp_flags gfp,
                                     const busy_oracle& busy) {
  const dma_rules& r = L.rules;
  auto res = begin(size);
  res.coherent_mask_warning = dev.coherent_dma_mask == 0;
  const std::uint64_t aligned = page_align(size);
  const std::uint64_t limit = min_not_zero(dev.coherent_dma_mask, r.has_bus_dma_limit ? dev.bus_dma_limit : 0);
  auto a = dma_alloc_contiguous(r, dev, L.default_area, aligned, gfp, busy, L.log);
  std::string why;
  switch (a.skip) {
  case contiguous_skip::cannot_block: why = "gfp does not allow blocking: CMA not tried"; break;
  case contiguous_skip::single_page: why = "one page: dma_alloc_contiguous skips the default area"; break;
  case contiguous_skip::no_area: why = "no CMA area"; break;
  case contiguous_skip::none: break;
  }
  if (a.call) {
    cma_call call = std::move(*a.call);
    if (!call.ok()) {
      why = "cma_alloc failed (" + std::string(errno_name(call.result.err)) + ")";
      append(res.log, call.log);
      res.cma = std::move(call);
    } else if (!fits_inclusive(call.result.pfn << page_shift, aligned, limit)) {
      // dma_coherent_ok() refused the pages: dma_free_contiguous gives them back.
      append(res.log, call.log);
      auto f = dma_free_contiguous(r, dev, L.default_area, call.result.pfn, aligned, L.log);
      append(res.log, f.log);
      call.released = f.path == free_path::cma;
      why = "CMA's pages at pfn 0x" + hex_lower(call.result.pfn) + " are beyond the device's DMA limit 0x" +
            hex_lower(limit) + ": given back to CMA";
      res.cma = std::move(call);
    } else {
      take_cma(res, std::move(call));
      res.why = "from CMA area " + res.cma->area;
      return res;
    }
  }
  page_allocator_fallback(res, r, aligned, limit, gfp, why);
  return res;
}

// 4.15 x86: arch_dma_alloc_attrs + dma_generic_alloc_coherent (+ swiotlb's __GFP_NOWARN).
inline dma_alloc_result x86_v4_15_alloc(const dma_layer& L, device* devp, std::uint64_t size, gfp_flags gfp,
                                        const busy_oracle& busy) {
  const dma_rules& r = L.rules;
  auto res = begin(size);
  device fallback = device::x86_dma_fallback_dev();
  device& dev = devp ? *devp : fallback;
  res.coherent_mask_warning = dev.coherent_dma_mask == 0;
  if (!dev.has_dma_mask || dev.dma_mask == 0) { // is_device_dma_capable
    res.err = enomem;
    res.why = dev.has_dma_mask ? "*dev->dma_mask is 0: arch_dma_alloc_attrs refuses the device before CMA: NULL"
                               : "dev->dma_mask is NULL: arch_dma_alloc_attrs refuses the device before CMA: NULL";
    return res;
  }
  const std::uint64_t mask = dev.coherent_dma_mask ? dev.coherent_dma_mask : dma_bit_mask(24);
  if (r.nowarn_forced) gfp.nowarn = true;
  std::string why;
  if (!gfp.blocking) why = "gfp does not allow blocking: CMA not tried";
  else if (!dev_get_cma_area(dev, L.default_area)) why = "no CMA area";
  else {
    auto call = *dma_alloc_from_contiguous(r, dev, L.default_area, size_to_pages(size), get_order(size), gfp.nowarn,
                                           busy, L.log);
    const std::uint64_t addr = call.result.pfn << page_shift;
    if (call.ok() && size <= ~addr && addr + size <= mask) {
      take_cma(res, std::move(call));
      res.why = "from CMA area " + res.cma->area;
      return res;
    }
    append(res.log, call.log);
    if (!call.ok()) {
      why = "cma_alloc failed (" + std::string(errno_name(call.result.err)) + ")";
    } else { // `addr + size > dma_mask`: dma_release_from_contiguous
      call.released = dma_release_from_contiguous(r, dev, L.default_area, call.result.pfn, call.count, res.log, L.log).ok;
      why = "CMA's pages at pfn 0x" + hex_lower(call.result.pfn) + " end beyond the coherent mask 0x" + hex_lower(mask) +
            " (addr + size > mask): released";
    }
    res.cma = std::move(call);
  }
  page_allocator_fallback(res, r, page_align(size), mask, gfp, why);
  return res;
}

// 4.15 arm64: __dma_alloc → __dma_alloc_coherent.
inline dma_alloc_result arm64_v4_15_alloc(const dma_layer& L, device* devp, std::uint64_t size, gfp_flags gfp,
                                          const busy_oracle& busy) {
  const dma_rules& r = L.rules;
  auto res = begin(size);
  if (!devp) {
    res.err = enomem;
    res.log.push_back("Use an actual device structure for DMA allocation"); // WARN_ONCE's text
    res.why = "NULL device: __dma_alloc_coherent refuses it (WARN_ONCE): NULL";
    return res;
  }
  device& dev = *devp;
  res.coherent_mask_warning = dev.coherent_dma_mask == 0;
  const std::uint64_t aligned = page_align(size);
  if (dev_get_cma_area(dev, L.default_area) && gfp.blocking) {
    auto call = *dma_alloc_from_contiguous(r, dev, L.default_area, aligned >> page_shift, get_order(aligned),
                                           gfp.nowarn, busy, L.log);
    if (call.ok()) {
      take_cma(res, std::move(call));
      res.why = "from CMA area " + res.cma->area;
      return res;
    }
    append(res.log, call.log);
    res.why = "cma_alloc failed (" + std::string(errno_name(call.result.err)) + "); 4.15 arm64 has no fallback: NULL";
    res.cma = std::move(call);
    res.err = enomem;
    return res;
  }
  const std::uint64_t limit = dev.coherent_dma_mask ? dev.coherent_dma_mask : dma_bit_mask(32);
  page_allocator_fallback(res, r, aligned, limit, gfp,
                          gfp.blocking ? "no CMA area: swiotlb_alloc_coherent" : "gfp does not allow blocking: swiotlb_alloc_coherent");
  return res;
}

} // namespace detail

/// dma_alloc_coherent(dev, size, &handle, gfp).  `dev` nullptr: a NULL device (4.15 only).
inline dma_alloc_result dma_alloc_coherent(const dma_layer& L, device* dev, std::uint64_t size,
                                           gfp_flags gfp = gfp_kernel, const busy_oracle& busy = {}) {
  if (!L.rules.dma_direct)
    return L.rules.config.arch == dma_arch::x86_64 ? detail::x86_v4_15_alloc(L, dev, size, gfp, busy)
                                                    : detail::arm64_v4_15_alloc(L, dev, size, gfp, busy);
  if (!dev) {
    auto res = detail::begin(size);
    res.err = enomem;
    res.why = "NULL device: dma_alloc_attrs dereferences it from 5.0 on (not modelled): NULL";
    return res;
  }
  return detail::direct_alloc(L, *dev, size, gfp, busy);
}
inline dma_alloc_result dma_alloc_coherent(const dma_layer& L, device& dev, std::uint64_t size,
                                           gfp_flags gfp = gfp_kernel, const busy_oracle& busy = {}) {
  return dma_alloc_coherent(L, &dev, size, gfp, busy);
}

/// dma_alloc_pages(dev, size, &handle, dir, gfp) (5.10+): the same CMA path as coherent memory
/// (__dma_direct_alloc_pages without highmem).  Before 5.10 it does not exist: failed.
inline dma_alloc_result dma_alloc_pages(const dma_layer& L, device& dev, std::uint64_t size, gfp_flags gfp = gfp_kernel,
                                        const busy_oracle& busy = {}) {
  if (!L.rules.has_dma_alloc_pages) {
    auto res = detail::begin(size);
    res.err = enomem;
    res.why = "dma_alloc_pages does not exist before 5.10";
    return res;
  }
  return detail::direct_alloc(L, dev, size, gfp, busy);
}

/// dma_free_coherent(dev, size, cpu_addr, handle) of a buffer that began at `pfn` (nullopt: one
/// the page allocator served).  A NULL device (4.15) frees into the default area:
/// dev_get_cma_area(NULL) is dma_contiguous_default_area.
inline dma_free_result dma_free_coherent(const dma_layer& L, device* dev, std::uint64_t size, std::optional<pfn_t> pfn) {
  device fallback = device::x86_dma_fallback_dev();
  return dma_free_contiguous(L.rules, dev ? *dev : fallback, L.default_area, pfn, size, L.log);
}
inline dma_free_result dma_free_coherent(const dma_layer& L, device& dev, std::uint64_t size, std::optional<pfn_t> pfn) {
  return dma_free_coherent(L, &dev, size, pfn);
}

/// dma_free_pages(dev, size, page, handle, dir) (5.10+).
inline dma_free_result dma_free_pages(const dma_layer& L, device& dev, std::uint64_t size, std::optional<pfn_t> pfn) {
  return dma_free_contiguous(L.rules, dev, L.default_area, pfn, size, L.log);
}

/// Frees what `a` allocated (coherent or pages: the same path back).
inline dma_free_result dma_free(const dma_layer& L, device& dev, const dma_alloc_result& a) {
  return dma_free_contiguous(L.rules, dev, L.default_area, a.pfn, a.size, L.log);
}

} // namespace cma::dma
