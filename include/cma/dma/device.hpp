// cma/dma/device.hpp — the part of struct device (include/linux/device.h) the DMA layer reads.
//
// Models the fields dma_alloc_coherent()/dma_alloc_pages() consult on their way to CMA:
//   * dev->dma_mask — a *pointer* in the kernel.  A device made by device_create() (every
//     misc device's this_device) has it NULL; 4.15 x86 then refuses every coherent
//     allocation (is_device_dma_capable, arch/x86/kernel/pci-dma.c), and dma_set_mask()
//     fails with -EIO.  Modelled as `has_dma_mask` + `dma_mask`.
//   * dev->coherent_dma_mask — 0 until a driver or bus sets it; dma_set_coherent_mask()
//     sets it even when dma_mask is NULL (it only asks dma_supported()).
//   * dev->bus_dma_limit (5.x+) — the interconnect's limit, 0 for none.
//   * dev->cma_area — a per-device area (a DT `memory-region` of a shared-dma-pool);
//     nullptr means dev_get_cma_area() answers the default area.
// Bus addresses equal physical addresses (phys_to_dma is the identity: x86 without an
// offset, the QEMU virt board); no DMA offset or IOMMU is modelled.
//
// Invariant: none beyond the kernel's (a mask may be anything; 0 means "not set").
#pragma once

#include "../allocator.hpp"

#include <cstdint>
#include <string>

namespace cma::dma {

/// DMA_BIT_MASK(n) of include/linux/dma-mapping.h (n = 64 is all ones).
constexpr std::uint64_t dma_bit_mask(unsigned n) noexcept {
  return n >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << n) - 1;
}

/// The gfp_t bits the DMA layer looks at.  Default: GFP_KERNEL.
struct gfp_flags {
  bool blocking = true; ///< gfpflags_allow_blocking(): __GFP_DIRECT_RECLAIM (GFP_KERNEL yes, GFP_ATOMIC no)
  bool nowarn = false;  ///< __GFP_NOWARN: no "alloc failed" line from mm/cma.c, no page allocator warning
};
inline constexpr gfp_flags gfp_kernel{};
inline constexpr gfp_flags gfp_atomic{false, false};

struct device {
  std::string name = "device";           ///< dev_name(), for messages
  bool has_dma_mask = true;              ///< dev->dma_mask != NULL
  std::uint64_t dma_mask = ~std::uint64_t{0};          ///< *dev->dma_mask (when has_dma_mask)
  std::uint64_t coherent_dma_mask = ~std::uint64_t{0}; ///< dev->coherent_dma_mask (0: never set)
  std::uint64_t bus_dma_limit = 0;       ///< dev->bus_dma_limit, 5.x+ (0: none)
  allocator* cma_area = nullptr;         ///< dev->cma_area (per-device); nullptr: the default area

  /// A platform device after dma_set_mask_and_coherent(dev, DMA_BIT_MASK(bits)) — kmod/cma_test.c
  /// uses 64 bits.
  static device platform(unsigned bits = 64, std::string name = "cma_test") {
    device d;
    d.name = std::move(name);
    d.dma_mask = d.coherent_dma_mask = dma_bit_mask(bits);
    return d;
  }

  /// The field notes' device: a misc device's this_device (dev->dma_mask NULL), on which the
  /// module (Barry Song's cma_test) sets coherent_dma_mask = ~0, then dma_set_mask(32) fails
  /// (-EIO, no "dma_set_mask ret" line in the notes) and dma_set_coherent_mask(32) succeeds
  /// ("dma_set_coherent_mask ret: 0", "System supports 32-bit DMA").
  static device misc_without_dma_mask(std::string name = "cma_test") {
    device d;
    d.name = std::move(name);
    d.has_dma_mask = false;
    d.dma_mask = 0;
    d.coherent_dma_mask = dma_bit_mask(32);
    return d;
  }

  /// 4.15 x86's x86_dma_fallback_dev, used for a NULL device: coherent_dma_mask =
  /// ISA_DMA_BIT_MASK, which is DMA_BIT_MASK(32) on x86_64 (CONFIG_ISA is 32-bit only), and
  /// dma_mask pointing at it (arch/x86/kernel/pci-dma.c, arch/x86/include/asm/dma-mapping.h).
  static device x86_dma_fallback_dev() {
    device d;
    d.name = "fallback device";
    d.dma_mask = d.coherent_dma_mask = dma_bit_mask(32);
    return d;
  }
};

} // namespace cma::dma
