// cma/cma_init_reserved_mem.hpp — could a kernel have this area?  (mm/cma.c)
//
// An area reaches the allocator through cma_init_reserved_mem() (mm/cma.c, which
// checks its base and size) and is made usable later by cma_activate_area() (which
// allocates its bitmap).  area_refusal() answers, for a base, a size and an
// order_per_bit, which of those steps — or which bound of the physical address
// space — rules it out, as a full sentence, or nullopt when a kernel could have it.
// basic_area's constructor (cma_memrange.hpp) throws std::invalid_argument with the
// same sentence, so no caller can make the model allocate memory proportional to a
// number it read from an input: the largest bitmap the model ever holds per range is
// the kernel's own limit, 4 MiB.
//
// The rules, checked in this order (the first that fails is reported):
//   1. order_per_bit <= 40: one bit covers 2^order_per_bit pages, and 2^41 pages
//      (8 PiB) exceed the 52-bit physical address space of rule 6.  (6.1 also
//      requires it to divide the pageblock: IS_ALIGNED(CMA_MIN_ALIGNMENT_PAGES,
//      1 << order_per_bit); that check was dropped in 6.9 as redundant.)
//   2. size != 0: cma_init_reserved_mem returns -EINVAL for a zero size (4.15 – 6.18).
//   3. base and size are whole 4 KiB pages (the kernel stores PFN_DOWN(base) and
//      size >> PAGE_SHIFT; the callers align both far more coarsely, see below).
//   4. base and size are whole multiples of 2^order_per_bit pages, so every bit of
//      the bitmap covers pages of the area (no partial last chunk).
//   5. base + size does not overflow 64 bits (phys_addr_t).
//   6. the bitmap fits kmalloc: cma_activate_area() allocates
//      BITS_TO_LONGS(count >> order_per_bit) longs with bitmap_zalloc() (kzalloc in
//      4.15), i.e. kmalloc.  Above 8 KiB kmalloc takes whole pages from the buddy
//      allocator, whose largest block is 2^(MAX_ORDER - 1) pages in 4.15 – 6.3
//      (MAX_ORDER 11), 2^MAX_ORDER from 6.4 (redefined as inclusive, 10) and
//      2^MAX_PAGE_ORDER from 6.8 (10): 4 MiB with 4 KiB pages in every modelled
//      version — KMALLOC_MAX_SIZE (include/linux/slab.h) in 6.1 and 6.12.  A bigger
//      request gets NULL, the kernel prints "CMA area %s could not be activated" and
//      leaves the area with count 0.  4 MiB is 2^25 bits: 128 GiB at order_per_bit 0.
//      From 6.15 each memrange has its own bitmap: the rule is per range.  (The bit
//      count is an unsigned int for bitmap_zalloc; an area of 2^32 bits would be
//      truncated, not refused, by the kernel — far past this rule anyway.)
//   7. the area ends within the 52-bit physical address space: the widest either
//      modelled architecture supports (arm64 ARM64_PA_BITS_52 / FEAT_LPA(2),
//      arch/arm64/Kconfig; x86_64 MAX_PHYSMEM_BITS 52 with 5-level paging,
//      arch/x86/include/asm/sparsemem.h).  48 bits would refuse real LPA machines.
//
// Not checked: the pageblock alignment the kernel also demands (CMA_MIN_ALIGNMENT_BYTES
// in 5.18+, PAGE_SIZE << max(MAX_ORDER - 1, pageblock_order) before): it depends on
// Kconfig (pageblock_order, MAX_ORDER), the boot model applies it where it places an
// area (cma_declare_contiguous.hpp), and the model also serves smaller what-if areas.
// Not checked either: whether the memory exists or is reserved (memblock).
//
// Pure: no I/O, no globals; a few divisions, called once per area (never per operation).
#pragma once

#include "types.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace cma {

/// The bounds area_refusal() applies (see the header comment for their sources).
namespace init_limits {
inline constexpr unsigned phys_addr_bits = 52;                      ///< rule 7
inline constexpr pfn_t max_end_pfn = pfn_t{1} << (phys_addr_bits - page_shift);
inline constexpr unsigned max_order_per_bit = phys_addr_bits - page_shift; ///< rule 1: 40
inline constexpr std::uint64_t kmalloc_max_size = std::uint64_t{4} << 20;   ///< rule 6: KMALLOC_MAX_SIZE
inline constexpr bitmap_no_t max_bitmap_bits = kmalloc_max_size * 8;       ///< 2^25
} // namespace init_limits

namespace detail {

// "N unit" for the largest binary unit that divides n exactly (bytes otherwise).
inline std::string exact_size(std::uint64_t n) {
  static constexpr const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  unsigned u = 0;
  while (u < 6 && n != 0 && n % 1024 == 0) n /= 1024, ++u;
  return std::to_string(n) + " " + units[u];
}
// "N unit" when exact, else "N bytes, about M unit" (M rounded, in the largest unit not above n).
inline std::string rough_size(std::uint64_t n) {
  if (exact_size(n).find("bytes") == std::string::npos || n < 1024) return exact_size(n);
  static constexpr const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  unsigned u = 0;
  std::uint64_t unit = 1;
  while (u < 6 && n / unit >= 1024) unit *= 1024, ++u;
  const std::uint64_t whole = n / unit, rest = n % unit;
  const std::uint64_t rounded = whole + (rest >= unit / 2 && unit > 1 ? 1 : 0);
  return std::to_string(n) + " bytes, about " + std::to_string(rounded) + " " + units[u];
}
inline std::string hex(std::uint64_t v) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  do s.insert(s.begin(), digits[v & 15]); while (v >>= 4);
  return "0x" + s;
}

// "0x7cc01000 (pfn 0x7cc01)", or the pfn alone when its address does not fit 64 bits.
inline std::string pfn_text(pfn_t pfn) {
  return pfn >> (64 - page_shift) ? "pfn " + hex(pfn) : hex(pfn << page_shift) + " (pfn " + hex(pfn) + ")";
}

// Rules 1, 2, 4, 5 (in pages), 6 and 7 for a range in pages.  area_refusal() checks
// rules 3 and 5 in bytes first, so for any byte input both give the same sentence.
inline std::optional<std::string> range_refusal(pfn_t base_pfn, page_count count, unsigned order_per_bit) {
  using namespace init_limits;
  if (order_per_bit > max_order_per_bit)
    return "order_per_bit " + std::to_string(order_per_bit) + " would make one bitmap bit cover 2^" +
           std::to_string(order_per_bit) + " pages, more than a " + std::to_string(phys_addr_bits) +
           "-bit physical address space holds (order_per_bit is at most " + std::to_string(max_order_per_bit) + ")";
  if (count == 0) return std::string("an area of 0 bytes: cma_init_reserved_mem (mm/cma.c) refuses a zero size");
  const page_count unit = page_count{1} << order_per_bit;
  if (base_pfn % unit != 0)
    return "base " + pfn_text(base_pfn) + " is not a multiple of 2^" + std::to_string(order_per_bit) +
           " pages: with order_per_bit " + std::to_string(order_per_bit) +
           " each bitmap bit covers an aligned block of that many pages";
  if (count % unit != 0)
    return "a size of " + std::to_string(count) + " pages is not a whole number of 2^" +
           std::to_string(order_per_bit) + "-page blocks: with order_per_bit " + std::to_string(order_per_bit) +
           " each bitmap bit covers that many pages, and a partial last block would have no bit";
  // base + size must stay <= 2^64 - 1 bytes: in pages, base_pfn + count < 2^52.
  if (base_pfn >= max_end_pfn << page_shift || count >= (max_end_pfn << page_shift) - base_pfn)
    return "base " + pfn_text(base_pfn) + " + " + std::to_string(count) +
           " pages overflows a 64-bit physical address (phys_addr_t base + size)";
  // From here base_pfn + count < 2^52: every byte value below is representable.
  const bitmap_no_t bits = count >> order_per_bit;
  if (bits > max_bitmap_bits) {
    const std::uint64_t bytes = (bits + 63) / 64 * 8; // BITS_TO_LONGS(bits) * sizeof(long)
    return "an area of " + exact_size(count << page_shift) + " needs a bitmap of " + std::to_string(bits) +
           " bits (" + rough_size(bytes) + ") at order_per_bit " + std::to_string(order_per_bit) +
           "; cma_activate_area (mm/cma.c) allocates it with bitmap_zalloc, i.e. kmalloc, whose limit is " +
           exact_size(kmalloc_max_size) + " with 4 KiB pages (4.15 - 6.18), so the kernel " +
           "could not activate it (\"CMA area ... could not be activated\"); at most " +
           exact_size((max_bitmap_bits << order_per_bit) << page_shift) + " at this order_per_bit";
  }
  if (base_pfn + count > max_end_pfn)
    return "an area of " + exact_size(count << page_shift) + " at " + hex(base_pfn << page_shift) + " ends at " +
           hex((base_pfn + count) << page_shift) + ", past the " + std::to_string(phys_addr_bits) +
           "-bit physical address space (" + hex(max_end_pfn << page_shift) +
           ") of the widest arm64 (ARM64_PA_BITS_52) or x86_64 (5-level paging) machine";
  return std::nullopt;
}

} // namespace detail

/// Why the kernel would not have this area (bytes; order_per_bit), or nullopt when it could.
/// The message is a full sentence naming the rule and the numbers, e.g.
/// "an area of 4294967295 MiB needs a bitmap of 1099511627520 bits (about 128 GiB) at
/// order_per_bit 0; cma_activate_area (mm/cma.c) allocates it with bitmap_zalloc, i.e.
/// kmalloc, whose limit is 4 MiB …".
inline std::optional<std::string> area_refusal(std::uint64_t base, std::uint64_t size, unsigned order_per_bit) {
  using namespace init_limits;
  if (order_per_bit > max_order_per_bit || size == 0) return detail::range_refusal(0, size, order_per_bit);
  if (base % page_size != 0)
    return "base " + detail::hex(base) + " is not page aligned: an area starts on a 4 KiB page boundary";
  if (size % page_size != 0)
    return "a size of " + std::to_string(size) + " bytes is not a whole number of 4 KiB pages";
  if (size > ~std::uint64_t{0} - base)
    return "base " + detail::hex(base) + " + size " + std::to_string(size) +
           " bytes overflows a 64-bit physical address (phys_addr_t base + size)";
  return detail::range_refusal(base >> page_shift, size >> page_shift, order_per_bit);
}

} // namespace cma
