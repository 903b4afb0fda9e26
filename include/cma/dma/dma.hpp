// cma/dma/dma.hpp — the DMA wing in one include: #include <cma/dma/dma.hpp>.
//
//   dma_rules.hpp       what differs per version (one table), CONFIG_CMA_ALIGNMENT, arch
//   device.hpp          struct device: dma_mask (a pointer), coherent_dma_mask, bus_dma_limit, cma_area
//   cma_log.hpp         mm/cma.c's lines for the DMA layer's cma_alloc / cma_release calls
//   dma_contiguous.hpp  size → (count, align), dma_alloc_from_contiguous, dma_alloc_contiguous,
//                       dma_free_contiguous
//   dma_direct.hpp      dma_alloc_coherent / dma_alloc_pages and their frees (4.15 arch code, 5.x+ dma-direct)
//
//   auto area = cma::make_allocator("reserved", {0x76c00, 32768}, 0, "6.1");
//   cma::dma::dma_layer L(cma::dma::dma_rules::for_version({6, 1, 0}), area);
//   auto dev = cma::dma::device::platform(64);
//   auto r = cma::dma::dma_alloc_coherent(L, dev, 1 << 20); // r.path == dma_path::cma, r.cma->count 256, align 8
//   cma::dma::dma_free(L, dev, r);
#pragma once

#include "cma_log.hpp"
#include "device.hpp"
#include "dma_contiguous.hpp"
#include "dma_direct.hpp"
#include "dma_rules.hpp"
