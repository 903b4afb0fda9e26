// tests/test_dma.cpp — the DMA layer around CMA (cma/dma/): size → (count, align), the
// CONFIG_CMA_ALIGNMENT cap, the single-page rule, per-device versus default area, the
// coherent-mask check, the frees, the field notes' "no mem in CMA area" — per version — and,
// last, every allocation and free of every recording in tests/data/recorded replayed through
// the DMA layer and compared with what the real 6.1 / 6.12 kernels did and printed.
#include "helpers.hpp"

#include <cma/dma/dma.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>
#include <sstream>

using namespace cma::dma;
using cma::kernel_version;
using cma::pfn_t;

namespace {

std::string normalise(const std::string& l);

dma_rules rules(const char* v, dma_config cfg = {}) { return dma_rules::for_version(*kernel_version::parse(v), cfg); }
dma_config x86() { return {dma_arch::x86_64, 8, true, std::nullopt}; }
dma_config arm64() { return {dma_arch::arm64, 8, true, std::nullopt}; }

using cmatest::KiB;
using cmatest::MiB;

} // namespace

// ------------------------------------------------------------------------ size → (count, align)

//  size      PAGE_ALIGN   count  get_order  align (CONFIG_CMA_ALIGNMENT 8)
//  1 B       4 KiB        1      0          0
//  4 KiB     4 KiB        1      0          0
//  5000 B    8 KiB        2      1          1      (kmod smoke: bytes=5000 pages=2 align=1)
//  12 KiB    12 KiB       3      2          2
//  1 MiB     1 MiB        256    8          8      ← the last size whose order is not capped
//  1 MiB+1   1 MiB+4K     257    9          8      ← the first capped one
//  128 MiB   128 MiB      32768  15         8      (field notes: count 32768, align 8)
//  512 MiB                131072 17         8      (field notes: count 131072, align 8)
TEST_CASE("dma size to cma count and align: PAGE_ALIGN pages and get_order capped at CONFIG_CMA_ALIGNMENT", "[dma]") {
  const char* v = GENERATE("4.15", "5.10", "6.1", "6.12");
  const auto r = rules(v);
  CHECK(dma_cma_request(r, 1) == cma_request{1, 0});
  CHECK(dma_cma_request(r, 4 * KiB) == cma_request{1, 0});
  CHECK(dma_cma_request(r, 4 * KiB + 1) == cma_request{2, 1});
  CHECK(dma_cma_request(r, 5000) == cma_request{2, 1});
  CHECK(dma_cma_request(r, 12 * KiB) == cma_request{3, 2});
  CHECK(dma_cma_request(r, 12 * KiB + 1) == cma_request{4, 2});
  CHECK(dma_cma_request(r, MiB) == cma_request{256, 8});
  CHECK(dma_cma_request(r, MiB + 1) == cma_request{257, 8});
  CHECK(dma_cma_request(r, 128 * MiB) == cma_request{32768, 8});
  CHECK(dma_cma_request(r, 512 * MiB) == cma_request{131072, 8});
}

TEST_CASE("get_order follows include/asm-generic/getorder.h, including size 0", "[dma]") {
  CHECK(get_order(1) == 0);
  CHECK(get_order(4096) == 0);
  CHECK(get_order(4097) == 1);
  CHECK(get_order(8192) == 1);
  CHECK(get_order(4 * MiB) == 10);
  CHECK(get_order(4 * MiB + 1) == 11);
  CHECK(get_order(0) == 52); // (0 - 1) >> PAGE_SHIFT has 52 bits, as fls64 in the kernel
}

//  CONFIG_CMA_ALIGNMENT at its boundary: the cap is min(order, N), so order N passes unchanged
//  and order N+1 is cut to N.  N = 4 (4.15's minimum), 12 (the maximum), 2 (5.10's minimum).
TEST_CASE("the CONFIG_CMA_ALIGNMENT cap bites from order N+1, for every N the Kconfig range allows", "[dma]") {
  for (unsigned n : {2u, 4u, 8u, 12u}) {
    dma_config cfg;
    cfg.cma_alignment = n;
    const auto r = rules("6.1", cfg);
    REQUIRE_FALSE(r.config_refusal());
    const std::uint64_t at = cma::page_size << n; // get_order == n
    CHECK(dma_cma_request(r, at).align == n);
    CHECK(dma_cma_request(r, at + 1).align == n);
    CHECK(dma_cma_request(r, at / 2 + 1).align == n); // order n as well
    CHECK(dma_cma_request(r, at / 2).align == n - 1);
  }
}

TEST_CASE("CONFIG_CMA_ALIGNMENT outside the version's Kconfig range is refused: 4..12 in 4.15, 2..12 from 5.10", "[dma]") {
  dma_config cfg;
  cfg.cma_alignment = 2;
  CHECK(rules("4.15", cfg).config_refusal());
  CHECK_FALSE(rules("5.10", cfg).config_refusal());
  cfg.cma_alignment = 13;
  CHECK(rules("6.12", cfg).config_refusal());
  cfg.cma_alignment = 8;
  CHECK_FALSE(rules("4.15", cfg).config_refusal());
}

TEST_CASE("dma_alloc_from_contiguous caps align at CONFIG_CMA_ALIGNMENT and uses the default area", "[dma]") {
  auto area = cmatest::area(0x40000, 4096, 0, "6.1");
  const auto r = rules("6.1");
  const auto dev = device::platform();
  auto c = dma_alloc_from_contiguous(r, dev, &area, 1024, 10, false);
  REQUIRE(c);
  CHECK(c->align == 8);
  CHECK(c->count == 1024);
  CHECK(c->area == "test");
  CHECK_FALSE(c->per_device);
  CHECK(c->result.pfn == 0x40000);
  CHECK_FALSE(dma_alloc_from_contiguous(r, dev, nullptr, 1, 0, false)); // no area: cma_alloc(NULL) → NULL
}

// ------------------------------------------------------------------------ the single-page rule

//  alloc 4096 bytes through dma_alloc_coherent, area empty:
//  Expect 5.10 / 6.1 / 6.12: no cma_alloc call (dma_alloc_contiguous skips size <= PAGE_SIZE),
//         the page allocator serves, pfn unknown, the area untouched;
//         4.15 x86 and arm64: cma_alloc(count 1, align 0) → the area's first page.
TEST_CASE("one page goes to the page allocator from 5.10 but to CMA in 4.15", "[dma]") {
  for (const char* v : {"5.10", "6.1", "6.6", "6.12", "6.18"}) {
    auto area = cmatest::area(0x76c00, 32768, 0, v);
    dma_layer L(rules(v), area);
    auto dev = device::platform();
    auto res = dma_alloc_coherent(L, dev, 4096);
    CHECK(res.path == dma_path::page_allocator);
    CHECK_FALSE(res.cma);
    CHECK_FALSE(res.pfn);
    CHECK(res.err == 0);
    CHECK(area.used_bits_pages() == 0);
    auto pages = dma_alloc_pages(L, dev, 100); // rounds to one page as well
    CHECK(pages.path == dma_path::page_allocator);
    CHECK(area.used_bits_pages() == 0);
  }
  for (auto cfg : {x86(), arm64()}) {
    auto area = cmatest::area(0x40000, 262144, 0, "4.15");
    dma_layer L(rules("4.15", cfg), area);
    auto dev = device::platform(32);
    auto res = dma_alloc_coherent(L, dev, 4096);
    REQUIRE(res.path == dma_path::cma);
    CHECK(res.cma->count == 1);
    CHECK(res.cma->align == 0);
    CHECK(res.pfn == pfn_t{0x40000});
    CHECK(area.used_bits_pages() == 1);
  }
}

// ------------------------------------------------------------------------ per-device area

//  default area "test" at 0x76c00, per-device area "dev" at 0x50000 (DT memory-region):
//  Expect a per-device area serves even one page; the default area is never touched; a failure
//  in the device's area is not retried in the default area (5.x: the page allocator follows).
TEST_CASE("a per-device area serves every size, even one page, and a failure there skips the default area", "[dma]") {
  for (const char* v : {"5.10", "6.1", "6.12"}) {
    auto def = cmatest::area(0x76c00, 32768, 0, v);
    auto own = cma::allocator("dev", cma::memrange_spec{0x50000, 16}, 0, cmatest::prof(v));
    dma_layer L(rules(v), def);
    auto dev = device::platform();
    dev.cma_area = &own;
    auto one = dma_alloc_coherent(L, dev, 4096);
    REQUIRE(one.path == dma_path::cma);
    CHECK(one.cma->per_device);
    CHECK(one.cma->area == "dev");
    CHECK(one.pfn == pfn_t{0x50000});
    auto big = dma_alloc_coherent(L, dev, 64 * KiB); // 16 pages: 15 left in "dev"
    CHECK(big.cma);
    CHECK_FALSE(big.cma->ok());
    CHECK(big.path == dma_path::page_allocator);
    CHECK(def.used_bits_pages() == 0);
    auto f = dma_free(L, dev, one);
    CHECK(f.path == free_path::cma);
    CHECK(f.area == "dev");
    CHECK(own.used_bits_pages() == 0);
  }
}

// ------------------------------------------------------------------------ the coherent-mask check

//  the area lies above 4 GiB (base_pfn 0x100000, 64 MiB); the device has a 32-bit coherent mask.
//  Expect 5.10+: cma_alloc succeeds, dma_coherent_ok refuses it, dma_free_contiguous gives the
//  pages back (bitmap as before, both the alloc and the release in the log), the page allocator
//  serves (order ≤ 10) or the call fails (order > 10: above 4 MiB).
TEST_CASE("pages CMA gives beyond the coherent mask are released and the page allocator serves instead", "[dma]") {
  for (const char* v : {"5.10", "6.1", "6.12"}) {
    auto area = cmatest::area(0x100000, 16384, 0, v);
    log_options lo;
    lo.dyndbg = true;
    dma_layer L(rules(v), area, lo);
    auto dev = device::platform(32);
    auto res = dma_alloc_coherent(L, dev, MiB);
    REQUIRE(res.cma);
    CHECK(res.cma->ok());
    CHECK(res.cma->released);
    CHECK(res.path == dma_path::page_allocator);
    CHECK_FALSE(res.pfn);
    CHECK(area.used_bits_pages() == 0);
    const std::string func = std::string(area.prof().alloc_func);
    REQUIRE(res.log.size() == 3);
    CHECK(res.log[0].rfind("cma: " + func + "(cma ", 0) == 0);
    CHECK(res.log[1].rfind("cma: " + func + "(): returned ", 0) == 0);
    CHECK(res.log[2].rfind("cma: cma_release(page ", 0) == 0);
    auto big = dma_alloc_coherent(L, dev, 8 * MiB); // order 11
    CHECK(big.path == dma_path::failed);
    CHECK(big.err == cma::enomem);
    CHECK(big.page_allocator_warning);
    CHECK(area.used_bits_pages() == 0);
    auto quiet = dma_alloc_coherent(L, dev, 8 * MiB, gfp_flags{true, true});
    CHECK_FALSE(quiet.page_allocator_warning);
  }
}

//  bus_dma_limit (5.x) narrows a 64-bit mask: min_not_zero(coherent_dma_mask, bus_dma_limit).
TEST_CASE("bus_dma_limit narrows a 64-bit coherent mask in dma-direct", "[dma]") {
  auto area = cmatest::area(0x100000, 16384, 0, "6.1");
  dma_layer L(rules("6.1"), area);
  auto dev = device::platform(64);
  CHECK(dma_alloc_coherent(L, dev, MiB).path == dma_path::cma);
  dev.bus_dma_limit = dma_bit_mask(32);
  auto res = dma_alloc_coherent(L, dev, MiB);
  CHECK(res.path == dma_path::page_allocator);
  CHECK(res.cma->released);
}

//  A buffer that ends exactly at 4 GiB: area [0xfff00, 0x100000) = the last MiB below 4 GiB.
//    4.15 x86: addr + size = 0x100000000 > 0xffffffff → released (the off-by-one)
//    5.x:      addr + size - 1 = 0xffffffff <= 0xffffffff → kept
TEST_CASE("a buffer ending exactly at the mask is refused by 4.15 x86 and accepted by dma-direct", "[dma]") {
  {
    auto area = cmatest::area(0xfff00, 256, 0, "4.15");
    dma_layer L(rules("4.15", x86()), area);
    auto dev = device::platform(32);
    auto res = dma_alloc_coherent(L, dev, MiB);
    REQUIRE(res.cma);
    CHECK(res.cma->released);
    CHECK(res.path == dma_path::page_allocator);
    CHECK(area.used_bits_pages() == 0);
    auto less = dma_alloc_coherent(L, dev, MiB - 1); // addr + size = 0xffffffff: not beyond
    CHECK(less.path == dma_path::cma);
  }
  for (const char* v : {"5.10", "6.1", "6.12"}) {
    auto area = cmatest::area(0xfff00, 256, 0, v);
    dma_layer L(rules(v), area);
    auto dev = device::platform(32);
    auto res = dma_alloc_coherent(L, dev, MiB);
    CHECK(res.path == dma_path::cma);
    CHECK(res.pfn == pfn_t{0xfff00});
  }
}

//  4.15 arm64 has neither the check nor a fallback: a CMA failure is NULL, whatever the size.
TEST_CASE("4.15 arm64 returns NULL when CMA fails, 4.15 x86 and dma-direct fall back to the page allocator", "[dma]") {
  //  512 pages, used at bits 100 and 300: no 256-page window aligned to 256 pages is free.
  auto small = [](const char* v) {
    auto a = cmatest::area(0x48000, 512, 0, v);
    a.mark_allocated(0x48000 + 100, 1);
    a.mark_allocated(0x48000 + 300, 1);
    return a;
  };
  {
    auto area = small("4.15");
    dma_layer L(rules("4.15", arm64()), area);
    auto dev = device::platform(64);
    auto res = dma_alloc_coherent(L, dev, MiB); // 256 pages > 64
    CHECK(res.path == dma_path::failed);
    CHECK(res.cma);
  }
  {
    auto area = small("4.15");
    dma_layer L(rules("4.15", x86()), area);
    auto dev = device::platform(64);
    auto res = dma_alloc_coherent(L, dev, MiB);
    CHECK(res.path == dma_path::page_allocator);
    CHECK(res.cma->no_warn); // swiotlb ORs in __GFP_NOWARN
  }
  {
    auto area = small("6.1");
    dma_layer L(rules("6.1"), area);
    auto dev = device::platform(64);
    auto res = dma_alloc_coherent(L, dev, MiB);
    CHECK(res.path == dma_path::page_allocator);
    CHECK_FALSE(res.cma->no_warn);
    REQUIRE(res.log.size() == 1); // no dyndbg: only the failure line
    CHECK(res.log[0] == "cma: cma_alloc: test: alloc failed, req-size: 256 pages, ret: -12");
  }
}

TEST_CASE("the failure line follows the version: no name in 4.15/5.10, __cma_alloc from 6.12, silent with __GFP_NOWARN", "[dma]") {
  auto line = [](const char* v, dma_config cfg, gfp_flags gfp) {
    auto area = cmatest::area(0x48000, 512, 0, v); // as above: no aligned 256-page window
    area.mark_allocated(0x48000 + 100, 1);
    area.mark_allocated(0x48000 + 300, 1);
    dma_layer L(rules(v, cfg), area);
    auto dev = device::platform(64);
    auto res = dma_alloc_coherent(L, dev, MiB, gfp);
    return res.log.empty() ? std::string() : res.log.front();
  };
  CHECK(line("5.10", {}, gfp_kernel) == "cma: cma_alloc: alloc failed, req-size: 256 pages, ret: -12");
  CHECK(line("6.1", {}, gfp_kernel) == "cma: cma_alloc: test: alloc failed, req-size: 256 pages, ret: -12");
  CHECK(line("6.12", {}, gfp_kernel) == "cma: __cma_alloc: test: alloc failed, req-size: 256 pages, ret: -12");
  CHECK(line("6.1", {}, gfp_flags{true, true}).empty());
  dma_config nommu = x86();
  nommu.x86_swiotlb = false;
  CHECK(line("4.15", nommu, gfp_kernel) == "cma: cma_alloc: alloc failed, req-size: 256 pages, ret: -12");
  CHECK(line("4.15", x86(), gfp_kernel).empty()); // swiotlb's __GFP_NOWARN
}

TEST_CASE("a gfp that cannot block never reaches CMA", "[dma]") {
  for (const char* v : {"6.1", "6.12"}) {
    auto area = cmatest::area(0x76c00, 32768, 0, v);
    dma_layer L(rules(v), area);
    auto dev = device::platform(64);
    auto res = dma_alloc_coherent(L, dev, MiB, gfp_atomic);
    CHECK_FALSE(res.cma);
    CHECK(res.path == dma_path::page_allocator);
  }
  auto area = cmatest::area(0x40000, 4096, 0, "4.15");
  dma_layer L(rules("4.15", x86()), area);
  auto dev = device::platform(32);
  CHECK_FALSE(dma_alloc_coherent(L, dev, MiB, gfp_atomic).cma);
}

TEST_CASE("a device without a usable coherent mask: 4.15 x86 uses 24 bits, dma-direct can address nothing", "[dma]") {
  auto area = cmatest::area(0x40000, 4096, 0, "6.1");
  dma_layer L(rules("6.1"), area);
  auto dev = device::platform(64);
  dev.coherent_dma_mask = 0;
  auto res = dma_alloc_coherent(L, dev, 64 * KiB);
  CHECK(res.coherent_mask_warning);
  CHECK(res.cma->released); // min_not_zero(0, 0) = 0: no page fits
  CHECK(res.path == dma_path::failed);
  CHECK(area.used_bits_pages() == 0);

  auto a415 = cmatest::area(0x40000, 4096, 0, "4.15"); // at 1 GiB: beyond 16 MiB
  dma_layer L415(rules("4.15", x86()), a415);
  auto isa = dma_alloc_coherent(L415, dev, 64 * KiB);
  CHECK(isa.cma->released);
  CHECK(isa.path == dma_path::page_allocator);
}

TEST_CASE("dma_alloc_pages does not exist before 5.10", "[dma]") {
  auto area = cmatest::area(0x40000, 4096, 0, "4.15");
  dma_layer L(rules("4.15", x86()), area);
  auto dev = device::platform(64);
  CHECK(dma_alloc_pages(L, dev, MiB).path == dma_path::failed);
  CHECK(area.used_bits_pages() == 0);
}

//  request larger than the area (bitmap_count > maxno): ≤6.14 returns before printing anything.
TEST_CASE("a request larger than the area fails silently up to 6.14", "[dma]") {
  auto area = cmatest::area(0x48000, 64, 0, "6.1");
  log_options lo;
  lo.dyndbg = true;
  dma_layer L(rules("6.1"), area, lo);
  auto dev = device::platform(64);
  auto res = dma_alloc_coherent(L, dev, MiB);
  CHECK(res.path == dma_path::page_allocator);
  REQUIRE(res.log.size() == 1); // the call line only: no failure line, no "returned"
  CHECK(res.log[0].rfind("cma: cma_alloc(cma ", 0) == 0);
}

//  pr_err_ratelimited (5.14+): 10 lines per 5 s, then silence; the next line after the interval
//  is preceded by "cma_alloc: N callbacks suppressed".
TEST_CASE("the failure line is rate-limited from 5.14 when the caller keeps the ratelimit state", "[dma]") {
  auto area = cmatest::area(0x48000, 512, 0, "6.1");
  area.mark_allocated(0x48000 + 100, 1);
  area.mark_allocated(0x48000 + 300, 1);
  printk_ratelimit rl;
  log_options lo;
  lo.failure_ratelimit = &rl;
  dma_layer L(rules("6.1"), area, lo);
  auto dev = device::platform(64);
  std::size_t printed = 0;
  for (int i = 0; i < 12; ++i) {
    L.log.now_ns = 1'000'000'000ULL + i * 1'000'000ULL;
    printed += dma_alloc_coherent(L, dev, MiB).log.size();
  }
  CHECK(printed == 10);
  L.log.now_ns = 7'000'000'000ULL;
  auto res = dma_alloc_coherent(L, dev, MiB);
  REQUIRE(res.log.size() == 2);
  CHECK(res.log[0] == "cma_alloc: 2 callbacks suppressed");
  auto a415 = cmatest::area(0x48000, 512, 0, "4.15"); // 4.15 and 5.10 print every failure
  a415.mark_allocated(0x48000 + 100, 1);
  a415.mark_allocated(0x48000 + 300, 1);
  dma_config nommu = x86();
  nommu.x86_swiotlb = false;
  dma_layer L415(rules("4.15", nommu), a415, lo);
  for (int i = 0; i < 12; ++i) CHECK(dma_alloc_coherent(L415, dev, MiB).log.size() == 1);
}

// ------------------------------------------------------------------------ frees

//  free of a page the page allocator served, and of a CMA buffer, with dyndbg on.
//  Expect 4.15/5.10: "cma_release(page P)" for both (printed before the range check);
//         6.1/6.12: "cma_pages_valid(page P, count 1)" for the outside page, "cma_release(page P, count N)" inside;
//         6.15+: "cma_release(…)" then "cma_pages_valid(…)" for the outside page.
TEST_CASE("a free goes back to CMA when the page is in the area, to the page allocator otherwise, logged per version", "[dma]") {
  struct row { const char* v; std::size_t outside_lines; const char* outside_first; const char* inside; };
  for (const row& w : {row{"4.15", 1, "cma: cma_release(page ", "cma: cma_release(page "},
                       row{"5.10", 1, "cma: cma_release(page ", "cma: cma_release(page "},
                       row{"6.1", 1, "cma: cma_pages_valid(page ", "cma: cma_release(page "},
                       row{"6.12", 1, "cma: cma_pages_valid(page ", "cma: cma_release(page "},
                       row{"6.15", 2, "cma: cma_release(page ", "cma: cma_release(page "}}) {
    CAPTURE(w.v);
    auto area = cmatest::area(0x76c00, 32768, 0, w.v);
    log_options lo;
    lo.dyndbg = true;
    dma_layer L(rules(w.v, x86()), area, lo);
    auto dev = device::platform(64);
    auto buf = dma_alloc_coherent(L, dev, 2 * MiB);
    REQUIRE(buf.from_cma());
    auto in = dma_free(L, dev, buf);
    CHECK(in.path == free_path::cma);
    CHECK(in.count == 512);
    REQUIRE(in.log.size() == 1);
    CHECK(in.log[0].rfind(w.inside, 0) == 0);
    CHECK((in.log[0].find("count 512") != std::string::npos) == (std::string(w.v) != "4.15" && std::string(w.v) != "5.10"));
    CHECK(area.used_bits_pages() == 0);
    auto out = dma_free_coherent(L, dev, 4096, pfn_t{0x44250});
    CHECK(out.path == free_path::page_allocator);
    REQUIRE(out.log.size() == w.outside_lines);
    CHECK(out.log[0].rfind(w.outside_first, 0) == 0);
  }
}

TEST_CASE("the page pointer cma_release prints is the one cma_alloc returned", "[dma]") {
  auto area = cmatest::area(0x76c00, 32768, 0, "6.1");
  log_options lo;
  lo.dyndbg = true;
  dma_layer L(rules("6.1"), area, lo);
  auto dev = device::platform(64);
  auto buf = dma_alloc_pages(L, dev, 12 * KiB);
  REQUIRE(buf.log.size() == 2);
  const std::string ptr = buf.log[1].substr(buf.log[1].size() - 16);
  auto f = dma_free(L, dev, buf);
  CHECK(f.log.at(0) == "cma: cma_release(page " + ptr + ", count 3)");
  CHECK(ptr.substr(0, 8) == "00000000");
}

// ------------------------------------------------------------------------ the field notes (4.15 x86)

//  ../shared/reference: 4.15 x86_64, cma=1G@1-2G → "Reserved 1024 MiB at 0x40000000", CONFIG_CMA_DEBUG=y.
//  The module (Barry Song's cma_test) registers a misc device: dev->dma_mask NULL, coherent mask 32 bits.
//    echo 8 > /dev/cma_test    → "misc cma_test: no mem in CMA area for size: 0x800000 Bytes"
//                                 and no "cma: cma_alloc(…)" line before it
//  With a NULL device (the notes' workaround: x86_dma_fallback_dev, 32-bit masks):
//    echo 128 → "cma: cma_alloc(cma …, count 32768, align 8)", echo 512 → "count 131072, align 8",
//    CmaFree drops by 131072 kB then 524288 kB; cat frees the 128 MiB buffer first.
TEST_CASE("field notes: a misc device without dev->dma_mask gets no memory on 4.15 x86, and no CMA call", "[dma]") {
  auto area = cmatest::area(0x40000, 262144, 0, "4.15");
  log_options lo;
  lo.config_cma_debug = true;
  dma_layer L(rules("4.15", x86()), area, lo);
  auto misc = device::misc_without_dma_mask();
  auto res = dma_alloc_coherent(L, misc, 8 * MiB);
  CHECK(res.path == dma_path::failed);
  CHECK(res.err == cma::enomem);
  CHECK_FALSE(res.cma);
  CHECK(res.log.empty());
  CHECK(area.used_bits_pages() == 0);
  CHECK(module_no_mem_line(res.size) == "misc cma_test: no mem in CMA area for size: 0x800000 Bytes");

  // The notes' fix: a NULL device → x86_dma_fallback_dev.
  auto a128 = dma_alloc_coherent(L, nullptr, 128 * MiB);
  REQUIRE(a128.from_cma());
  CHECK(a128.cma->count == 32768);
  CHECK(a128.cma->align == 8);
  REQUIRE(a128.log.size() == 2);
  CHECK(std::regex_match(a128.log[0], std::regex(R"(cma: cma_alloc\(cma [0-9a-f]{16}, count 32768, align 8\))")));
  CHECK(std::regex_match(a128.log[1], std::regex(R"(cma: cma_alloc\(\): returned [0-9a-f]{16})")));
  CHECK(area.free_pages() * 4 == 1048576 - 131072);
  auto a512 = dma_alloc_coherent(L, nullptr, 512 * MiB);
  REQUIRE(a512.from_cma());
  CHECK(a512.cma->count == 131072);
  CHECK(a512.cma->align == 8);
  CHECK(area.free_pages() * 4 == 1048576 - 131072 - 524288);
  auto f = dma_free_coherent(L, nullptr, 128 * MiB, a128.pfn);
  CHECK(f.path == free_path::cma);
  REQUIRE(f.log.size() == 1);
  CHECK(f.log[0] == "cma: cma_release(page " + a128.log[1].substr(a128.log[1].size() - 16) + ")"); // 4.15: no count
}

//  The notes' own log, tests/data/field-notes-4.15.md, replayed: every "user_copy size in Byte: N"
//  is one dma_alloc_coherent of N bytes — through the misc device before the notes' "Simply pass
//  NULL dev" fix, through a NULL device after it — and every `cat /dev/cma_test` frees the oldest
//  buffer.  Expect the "cma: " lines and the module's "no mem" line, in order, as the notes show
//  them (hashed pointers aside, but the pointer a release prints is the one its alloc returned),
//  and CmaFree dropping by 131072 kB and 524288 kB.
TEST_CASE("field notes: the 4.15 session's DMA lines are reproduced in order", "[dma]") {
  std::istringstream in(cmatest::read_fixture("field-notes-4.15.md"));
  auto area = cmatest::area(0x40000, 262144, 0, "4.15"); // Reserved 1024 MiB at 0x40000000
  log_options lo;
  lo.config_cma_debug = true; // CONFIG_CMA_DEBUG=y in the notes' .config
  dma_layer L(rules("4.15", x86()), area, lo);
  auto misc = device::misc_without_dma_mask();
  bool null_dev = false, in_session = false;
  std::vector<dma_alloc_result> live;
  std::vector<std::string> real, model;
  std::map<std::string, std::string> real_ptr_of_model; // model pointer → notes' pointer
  std::string l;
  while (std::getline(in, l)) {
    if (l.find("Simply pass NULL dev") != std::string::npos) null_dev = true;
    if (l.find("## Error") == 0) in_session = true;
    if (!in_session) continue;
    const std::string m = cmatest::strip_ts(l);
    if (m.rfind("cma: ", 0) == 0 || m.rfind("misc cma_test: no mem", 0) == 0) real.push_back(m);
    if (m.rfind("user_copy size in Byte: ", 0) == 0) {
      auto res = dma_alloc_coherent(L, null_dev ? nullptr : &misc, std::stoull(m.substr(24)));
      model.insert(model.end(), res.log.begin(), res.log.end());
      if (!res.ok()) model.push_back(module_no_mem_line(res.size));
      else live.push_back(res);
    }
    if (l.rfind("# cat /dev/cma_test", 0) == 0 && !live.empty()) {
      auto f = dma_free_coherent(L, nullptr, live.front().size, live.front().pfn);
      model.insert(model.end(), f.log.begin(), f.log.end());
      live.erase(live.begin());
    }
    if (l.rfind("CmaFree:", 0) == 0 && null_dev && !live.empty()) {
      std::uint64_t used_kb = 0;
      for (const auto& b : live) used_kb += b.pages * 4;
      CHECK(used_kb == (live.size() == 1 ? 131072u : 131072u + 524288u));
    }
  }
  REQUIRE(real.size() == model.size());
  for (std::size_t i = 0; i < real.size(); ++i) {
    CAPTURE(real[i], model[i]);
    CHECK(normalise(real[i]) == normalise(model[i]));
    static const std::regex ptr(R"([0-9a-f]{16})");
    std::smatch a, b;
    if (std::regex_search(model[i], b, ptr) && std::regex_search(real[i], a, ptr) &&
        model[i].find("(cma ") == std::string::npos) {
      auto [it, fresh] = real_ptr_of_model.emplace(b.str(), a.str());
      CHECK(it->second == a.str()); // a page pointer means the same page in both logs
    }
  }
  CHECK(real.size() == 7); // no mem; 2 × (call, returned); 2 × release
}

TEST_CASE("field notes: the same misc device is served on dma-direct kernels, which read only coherent_dma_mask", "[dma]") {
  for (const char* v : {"5.10", "6.1", "6.12"}) {
    auto area = cmatest::area(0x40000, 262144, 0, v);
    dma_layer L(rules(v, x86()), area);
    auto misc = device::misc_without_dma_mask();
    auto res = dma_alloc_coherent(L, misc, 8 * MiB);
    CHECK(res.from_cma());
    CHECK(res.cma->count == 2048);
    CHECK(res.cma->align == 8);
  }
}

TEST_CASE("a NULL device: 4.15 arm64 warns and refuses, dma-direct kernels are not modelled (they dereference it)", "[dma]") {
  auto area = cmatest::area(0x40000, 4096, 0, "4.15");
  dma_layer L(rules("4.15", arm64()), area);
  auto res = dma_alloc_coherent(L, nullptr, MiB);
  CHECK(res.path == dma_path::failed);
  CHECK(res.log == std::vector<std::string>{"Use an actual device structure for DMA allocation"});
  auto a61 = cmatest::area(0x40000, 4096, 0, "6.1");
  dma_layer L61(rules("6.1"), a61);
  CHECK(dma_alloc_coherent(L61, nullptr, MiB).path == dma_path::failed);
}

// ------------------------------------------------------------------------ the real kernels

namespace {

using cmatest::call_debug;
using cmatest::kernel_call;

/// "[   12.345678] …" → nanoseconds (0 without a timestamp).
std::uint64_t ts_ns(const std::string& line) {
  if (line.size() < 3 || line[0] != '[') return 0;
  const auto e = line.find(']');
  const std::string t = line.substr(1, e - 1);
  const auto dot = t.find('.');
  return std::stoull(t.substr(0, dot)) * 1'000'000'000ULL + std::stoull(t.substr(dot + 1)) * 1'000ULL;
}


/// Hashed pointers differ per boot: compare lines with every 16-hex-digit run as <ptr>.
std::string normalise(const std::string& l) {
  static const std::regex ptr(R"(\b[0-9a-f]{16}\b|\(____ptrval____\))");
  return std::regex_replace(l, ptr, "<ptr>");
}

std::map<std::string, std::string> fields(const std::string& l) {
  std::map<std::string, std::string> f;
  std::istringstream in(l);
  std::string w;
  while (in >> w)
    if (auto eq = w.find('='); eq != std::string::npos) f[w.substr(0, eq)] = w.substr(eq + 1);
  return f;
}

struct recording_tally {
  std::size_t allocs = 0, frees = 0, cma_calls = 0, single_pages = 0, fallbacks = 0, failures = 0, log_lines = 0;
  std::size_t warnings = 0; // page allocator WARNINGs seen where the model predicted them
  std::vector<std::string> mismatches;
};

//  Replays one recording: the area from "cma: Reserved N MiB at 0x…", the boot-time allocations
//  (the DMA atomic pools) as the kernel logged them, then every op=alloc / op=free of the module
//  through dma_alloc_coherent / dma_alloc_pages / dma_free, the hogged pages as the busy oracle.
//  For each operation it checks, against the real kernel:
//    * the size → (count, align) mapping and whether CMA was asked at all, against the kernel's
//      own "cma_alloc(cma …, count C, align A)" line (dyndbg is on in every recording);
//    * the outcome: cma=1 ⇔ from CMA at the same pfn; cma=0 err=0 ⇔ the page allocator; err=-12 ⇔ NULL;
//    * every "cma: " line the kernel printed for it (pointers aside), and the page allocator's
//      warning (the first order > 10 fallback without nowarn).
recording_tally replay_dma_recording(const std::filesystem::path& dir) {
  recording_tally t;
  std::ifstream in(dir / "dmesg.txt");
  REQUIRE(in);
  std::optional<kernel_version> version;
  std::optional<cma::allocator> area;
  std::optional<dma_layer> L;
  device dev = device::platform(64);
  cma::unmovable_pages hogs;
  std::map<std::uint64_t, std::uint64_t> bytes_of; // id → bytes
  bool loaded = false, warned = false, nowarn = false;
  printk_ratelimit ratelimit;                       // pr_err_ratelimited's state for this boot
  std::uint64_t pending_ns = 0;                     // time of the first pending line
  std::vector<std::string> pending;                 // kernel "cma: " lines since the last module line
  bool pending_warning = false;
  std::string raw;
  const auto where = [&](const std::string& l) { return dir.filename().string() + ": " + l; };
  while (std::getline(in, raw)) {
    const std::string l = cmatest::strip_ts(raw);
    if (l.rfind("Linux version ", 0) == 0) version = kernel_version::parse(l.substr(14));
    if (l.rfind("cma: Reserved ", 0) == 0 && !area) {
      REQUIRE(version);
      area = cmatest::reserved_area(l, *version);
      REQUIRE(area);
      log_options lo;
      lo.dyndbg = true;
      lo.failure_ratelimit = &ratelimit;
      L.emplace(dma_rules::for_version(*version, dma_config{dma_arch::arm64, 8, true, std::nullopt}), &*area, lo);
      continue;
    }
    if (!loaded) {
      if (auto c = call_debug(l); c && area) area->alloc(c->count, c->align); // boot-time atomic pools
      if (l.rfind("cma_test: loaded:", 0) == 0) {
        loaded = true;
        REQUIRE(fields(l)["cma_alignment"] == "8");
      }
      continue;
    }
    // 6.15+ show_areas ends with a pr_cont line of its own, without the prefix: "=> F free of T total pages"
    if (l.rfind("cma: ", 0) == 0 || l.rfind("=> ", 0) == 0 || l.find(" callbacks suppressed") != std::string::npos) {
      if (pending.empty()) pending_ns = ts_ns(raw);
      pending.push_back(l);
      continue;
    }
    if (cmatest::page_allocator_warning(l)) pending_warning = true;
    if (l.rfind("cma_test: v1 ", 0) != 0) continue;
    auto f = fields(l);
    const std::string op = f["op"];
    std::vector<std::string> predicted_log;
    if (op == "alloc") {
      ++t.allocs;
      const std::uint64_t bytes = std::stoull(f["bytes"]);
      bytes_of[std::stoull(f["id"])] = bytes;
      const auto gfp = gfp_flags{true, nowarn};
      L->log.now_ns = pending.empty() ? ts_ns(raw) : pending_ns;
      auto res = f["mode"] == "pages" ? dma_alloc_pages(*L, dev, bytes, gfp, hogs.oracle())
                                      : dma_alloc_coherent(*L, dev, bytes, gfp, hogs.oracle());
      // 1. the mapping and the CMA call, against the kernel's own call line
      std::vector<kernel_call> calls;
      for (const auto& p : pending)
        if (auto c = call_debug(p)) calls.push_back(*c);
      const auto want = dma_cma_request(L->rules, bytes);
      if (res.cma) {
        ++t.cma_calls;
        if (calls.size() != 1 || calls[0].count != res.cma->count || calls[0].align != res.cma->align ||
            res.cma->count != want.count || res.cma->align != want.align)
          t.mismatches.push_back(where(l) + " — kernel's cma_alloc calls do not match count " +
                                 std::to_string(res.cma->count) + " align " + std::to_string(res.cma->align));
      } else {
        ++t.single_pages;
        if (!calls.empty()) t.mismatches.push_back(where(l) + " — the kernel called cma_alloc, the model did not");
      }
      if (std::stoull(f["pages"]) != want.count || std::stoul(f["align"]) != want.align)
        t.mismatches.push_back(where(l) + " — module's pages/align differ from the model's mapping");
      // 2. the outcome
      const bool real_cma = f["cma"] == "1";
      const int real_err = std::stoi(f["err"]);
      if (res.path == dma_path::page_allocator && res.cma) ++t.fallbacks;
      if (res.path == dma_path::failed) ++t.failures;
      const bool same = real_err != 0 ? res.path == dma_path::failed && res.err == real_err
                        : real_cma    ? res.path == dma_path::cma && res.pfn == std::stoull(f["pfn"], nullptr, 16)
                                      : res.path == dma_path::page_allocator;
      if (!same) t.mismatches.push_back(where(l) + " — model: " + std::string(to_string(res.path)) + " " + res.why);
      // 3. the page allocator's WARN_ON_ONCE
      const bool predicted_warning = res.page_allocator_warning && !warned;
      warned = warned || res.page_allocator_warning;
      t.warnings += predicted_warning && pending_warning;
      if (predicted_warning != pending_warning)
        t.mismatches.push_back(where(l) + " — page allocator warning: model " + std::to_string(predicted_warning));
      predicted_log = res.log;
    } else if (op == "free") {
      ++t.frees;
      const std::uint64_t bytes = bytes_of.at(std::stoull(f["id"]));
      auto fr = dma_free_coherent(*L, dev, bytes, std::stoull(f["pfn"], nullptr, 16)); // same path for pages
      if ((fr.path == free_path::cma) != (f["cma"] == "1"))
        t.mismatches.push_back(where(l) + " — free went to the other allocator");
      predicted_log = fr.log;
    } else if (op == "hog") {
      hogs.add(std::stoull(f["pfn"], nullptr, 16));
    } else if (op == "unhog") {
      hogs = cma::unmovable_pages{};
    } else if (op == "nowarn") {
      nowarn = f["value"] == "1";
    }
    // 4. every "cma: " line the kernel printed for this operation
    if (op == "alloc" || op == "free") {
      std::vector<std::string> a, b;
      for (const auto& p : pending) a.push_back(normalise(p));
      for (const auto& p : predicted_log) b.push_back(normalise(p));
      t.log_lines += a.size();
      if (a != b) {
        std::string msg = where(l) + " — log differs:";
        for (const auto& x : a) msg += "\n  kernel: " + x;
        for (const auto& x : b) msg += "\n  model:  " + x;
        t.mismatches.push_back(msg);
      }
    }
    pending.clear();
    pending_warning = false;
  }
  REQUIRE(area);
  return t;
}

} // namespace

//  Coverage, pinned (update when a recording is added): 14 recordings (smoke, busy, legacy on 6.1
//  and 6.12, exhaust-6.12, toolarge on 6.12 and 7.3, toolarge-6.12-cma16M-insmod32M, rand on 6.1,
//  6.12 and 7.3, regress-6.12-nowarn-failure-order; not the hugetlb ones: helpers.hpp); 1841
//  op=alloc lines — 1543 with a cma_alloc call whose count/align the kernel's own line confirms,
//  298 single pages the kernel sent to the page allocator, 13 CMA failures the page allocator
//  served, 104 NULLs (CMA failed above 4 MiB) — 1671 op=free lines, 5803 "cma: " kernel lines
//  (7.3: find_cma_memrange twice per free, the NULL per-node area's lookup first), 8 page
//  allocator WARNINGs; every one agrees.
TEST_CASE("every allocation and free of every real 6.1 / 6.12 / 7.3 recording goes the way the DMA layer model says", "[dma]") {
  std::size_t recordings = 0, allocs = 0, frees = 0, calls = 0, singles = 0, fallbacks = 0, failures = 0, lines = 0,
              warnings = 0;
  std::vector<std::filesystem::path> dirs;
  for (const auto& e : std::filesystem::directory_iterator(cmatest::data_path("recorded")))
    if (e.is_directory() && std::filesystem::exists(e.path() / "dmesg.txt") && cmatest::device_emulation_covers(e.path()))
      dirs.push_back(e.path()); // recordings with hugetlb steps: helpers.hpp says why they are not here
  std::sort(dirs.begin(), dirs.end());
  for (const auto& d : dirs) {
    CAPTURE(d.filename().string());
    auto t = replay_dma_recording(d);
    for (const auto& m : t.mismatches) FAIL_CHECK(m);
    ++recordings;
    allocs += t.allocs, frees += t.frees, calls += t.cma_calls, singles += t.single_pages;
    fallbacks += t.fallbacks, failures += t.failures, lines += t.log_lines, warnings += t.warnings;
  }
  INFO("recordings " << recordings << ", op=alloc " << allocs << " (CMA called " << calls << ", one page "
                     << singles << ", page-allocator fallback after CMA " << fallbacks << ", NULL " << failures
                     << "), op=free " << frees << ", kernel cma: lines compared " << lines << ", warnings "
                     << warnings);
  CHECK(recordings == 14);
  CHECK(allocs == 1841);
  CHECK(calls == 1543);
  CHECK(singles == 298);
  CHECK(fallbacks == 13);
  CHECK(failures == 104);
  CHECK(frees == 1671);
  CHECK(lines == 5803);
  CHECK(warnings == 8);
}
