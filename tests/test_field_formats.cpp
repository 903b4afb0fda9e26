// tests/test_field_formats.cpp — the kmsg parser against the CMA-related lines users paste
// from the field (../shared/LOGS-IN-THE-WILD.md), in every wrapper listed there, and the
// format strings of KERNEL-FACTS §1.7–1.8.  Malformed variants must come out as
// "not understood" (reported), never as a wrong event, and never crash.
#include <cma/formats/kmsg.hpp>
#include <cma/formats/log_reader.hpp>
#include <cma/replay/field_log.hpp>
#include <cma/replay/replay.hpp>

#include "helpers.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace f = cma::formats;
namespace ev = cma::ev;

namespace {
template <class T> T field_event(const std::string& line) {
  auto r = f::read_log(line);
  INFO(line);
  REQUIRE(r.unrecognised.empty());
  REQUIRE(r.events.size() == 1);
  REQUIRE(std::holds_alternative<T>(r.events[0].what));
  return std::get<T>(r.events[0].what);
}
// A line read_log reports as not understood (malformed, or foreign but mentioning CMA).
void rejected(const std::string& line) {
  INFO(line);
  auto r = f::read_log(line);
  CHECK(r.events.empty());
  CHECK(r.unrecognised.size() == 1);
}
// A line that must produce no event (foreign or skipped), whether or not it is reported.
void no_event(const std::string& line) {
  INFO(line);
  auto r = f::read_log(line);
  CHECK(r.events.empty());
}
// Understood, carries nothing.
void skipped(const std::string& line) {
  INFO(line);
  auto r = f::read_log(line);
  CHECK(r.events.empty());
  CHECK(r.unrecognised.empty());
}
} // namespace

// ------------------------------------------------------------ existing kinds, exact field forms
TEST_CASE("field: the failure line with and without an area name, comma names, 1 pages") {
  auto a = field_event<ev::alloc_failed>("[ 1234.567890] cma: cma_alloc: alloc failed, req-size: 2025 pages, ret: -12");
  CHECK(a.func == "cma_alloc");
  CHECK_FALSE(a.name);
  CHECK(a.count == 2025);
  CHECK(a.ret == -12);
  auto b = field_event<ev::alloc_failed>("[  100.000000] cma: cma_alloc: linux,cma: alloc failed, req-size: 1 pages, ret: -16");
  CHECK(b.name == "linux,cma");
  CHECK(b.count == 1);
  CHECK(b.ret == -16);
  auto c = field_event<ev::alloc_failed>("cma: __cma_alloc: reserved: alloc failed, req-size: 5 pages, ret: -12");
  CHECK(c.func == "__cma_alloc");
  CHECK(c.name == "reserved");
  auto d = field_event<ev::alloc_failed>("cma: cma_alloc: cma: alloc failed, req-size: 2048 pages, ret: -12");
  CHECK(d.name == "cma");
  rejected("cma: cma_alloc: alloc failed, req-size: pages, ret: -12");
  rejected("cma: cma_alloc: linux,cma: alloc failed, req-size: 12 pages, ret:");
}

TEST_CASE("field: one-line show_areas incl. the empty run list") {
  auto e = field_event<ev::show_areas>("cma: number of available pages: => 0 free of 8192 total pages");
  CHECK(e.runs.empty());
  CHECK(e.free == 0);
  CHECK(e.total == 8192);
  auto g = field_event<ev::show_areas>("[  9.1] cma: number of available pages: 3@5+166@300=> 169 free of 2048 total pages");
  REQUIRE(g.runs.size() == 2);
  CHECK(g.runs[1].len == 166);
  CHECK(g.runs[1].at == 300);
  CHECK(g.free == 169);
  rejected("cma: number of available pages: 3@=> 3 free of 2048 total pages");
  rejected("cma: number of available pages: 3@5=> 3 free of");
  rejected("cma: number of available pages: 3@5+16");
}

TEST_CASE("field: Reserved with 8 and 16 hex digits, on node, 3.x form, Failed to reserve") {
  auto a = field_event<ev::reserved>("[    0.000000] cma: Reserved 64 MiB at 0x3b400000");
  CHECK(a.mib == 64);
  CHECK(a.base == 0x3b400000);
  CHECK_FALSE(a.node);
  auto b = field_event<ev::reserved>("[    0.000000] cma: Reserved 256 MiB at 0x00000000e8000000");
  CHECK(b.base == 0xe8000000);
  auto c = field_event<ev::reserved>("cma: Reserved 32 MiB at 0x0000000100000000 on node 1");
  CHECK(c.node == 1);
  auto d = field_event<ev::reserved>("<6>[    0.000000] cma: CMA: reserved 256 MiB at 2e000000");
  CHECK(d.mib == 256);
  CHECK(d.base == 0x2e000000);
  auto e = field_event<ev::reserve_failed>("cma: Failed to reserve 512 MiB on node 0");
  CHECK(e.mib == 512);
  CHECK(e.node == 0);
  rejected("cma: Reserved 64 MiB at ");
  rejected("cma: Reserved MiB at 0x3b400000");
}

TEST_CASE("field: pfns busy, callbacks suppressed, rmem pool, Memory line, meminfo") {
  auto p = field_event<ev::pfns_busy>("[ 50.1] alloc_contig_range: [7ce00, 7cf00) PFNs busy");
  CHECK(p.start == 0x7ce00);
  CHECK(p.end == 0x7cf00);
  auto s = field_event<ev::callbacks_suppressed>("[ 50.2] alloc_contig_range: 17 callbacks suppressed");
  CHECK(s.func == "alloc_contig_range");
  CHECK(s.n == 17);
  auto pool = field_event<ev::rmem_pool>("Reserved memory: created CMA memory pool at 0x0000000037400000, size 64 MiB");
  CHECK(pool.base == 0x37400000);
  CHECK(pool.mib == 64);
  auto m = field_event<ev::memory_line>(
      "Memory: 948080K/1048576K available (8704K kernel code, 629K rwdata, 2196K rodata, 1024K init, 698K bss, 34960K reserved, 65536K cma-reserved)");
  CHECK(m.cma_reserved_kb == 65536);
  CHECK(m.total_kb == 1048576);
  auto t = field_event<ev::meminfo>("CmaTotal:         262144 kB");
  CHECK(t.total);
  CHECK(t.kb == 262144);
  auto s2 = field_event<ev::callbacks_suppressed>("[ 50.3] cma_alloc: 4 callbacks suppressed");
  CHECK(s2.func == "cma_alloc");
  CHECK(s2.n == 4);
  rejected("alloc_contig_range: [7ce00, ) PFNs busy");
}

// ------------------------------------------------------------ new kinds
TEST_CASE("field: 6.x OF reserved mem map reusable → rmem_reusable") {
  auto e = field_event<ev::rmem_reusable>(
      "[    0.000000] OF: reserved mem: 0x0000000078000000..0x000000007fffffff (131072 KiB) map reusable linux,cma");
  CHECK(e.base == 0x78000000);
  CHECK(e.last == 0x7fffffff);
  CHECK(e.kib == 131072);
  CHECK(e.name == "linux,cma");
  skipped("OF: reserved mem: 0x0000000040000000..0x00000000400fffff (1024 KiB) nomap non-reusable secmon@40000000");
  rejected("OF: reserved mem: 0x0000000078000000..0x000000007fffffff (131072 KiB) map reusable");
  rejected("OF: reserved mem: 0x0000000078000000.. (131072 KiB) map reusable linux,cma");
  rejected("OF: reserved mem: 0x0000000078000000..0x000000007fffffff ( KiB) map reusable linux,cma");
}

TEST_CASE("field: OF reserved mem initialized node → rmem_initialized") {
  auto e = field_event<ev::rmem_initialized>("OF: reserved mem: initialized node linux,cma, compatible id shared-dma-pool");
  CHECK(e.name == "linux,cma");
  CHECK(e.compatible == "shared-dma-pool");
  auto old = field_event<ev::rmem_initialized>("Reserved memory: initialized node cma, compatible id shared-dma-pool");
  CHECK(old.name == "cma");
  rejected("OF: reserved mem: initialized node linux,cma");
  rejected("OF: reserved mem: initialized node linux,cma, compatible id ");
}

TEST_CASE("field: rmem notes — bypass, incorrect alignment, matching fail, node alloc failed, DMA pool") {
  using K = ev::rmem_note::kind;
  auto a = field_event<ev::rmem_note>("Reserved memory: bypass linux,cma node, using cmdline CMA params instead");
  CHECK(a.what == K::bypass_dt);
  CHECK(a.name == "linux,cma");
  auto b = field_event<ev::rmem_note>("[    0.000000] Reserved memory: incorrect alignment of CMA region");
  CHECK(b.what == K::incorrect_alignment);
  CHECK(b.name.empty());
  auto c = field_event<ev::rmem_note>("OF: reserved mem: node linux,cma compatible matching fail");
  CHECK(c.what == K::matching_fail);
  CHECK(c.name == "linux,cma");
  auto d = field_event<ev::rmem_note>("OF: reserved mem: failed to allocate memory for node 'linux,cma'");
  CHECK(d.what == K::node_alloc_failed);
  CHECK(d.name == "linux,cma");
  auto d6 = field_event<ev::rmem_note>("OF: reserved mem: failed to allocate memory for node 'linux,cma': size 512MiB");
  CHECK(d6.name == "linux,cma");
  auto p = field_event<ev::rmem_note>("Reserved memory: created DMA memory pool at 0x4b000000, size 16 MiB");
  CHECK(p.what == K::dma_pool);
  // a DMA pool is never an area
  auto r = f::read_log("Reserved memory: created DMA memory pool at 0x000000004b000000, size 16 MiB\n");
  REQUIRE(r.events.size() == 1);
  CHECK_FALSE(std::holds_alternative<ev::rmem_pool>(r.events[0].what));
  rejected("Reserved memory: created DMA memory pool at 0x4b000000, size MiB");
  rejected("Reserved memory: bypass linux,cma node");
  rejected("OF: reserved mem: failed to allocate memory for node ''");
  rejected("OF: reserved mem: failed to allocate memory for node 'linux,cma");
}

TEST_CASE("field: Region on the low/high memory boundary → reserve_boundary") {
  auto e = field_event<ev::reserve_boundary>("[    0.000000] cma: Region at 0x2f000000 defined on low/high memory boundary (0x30000000)");
  CHECK(e.base == 0x2f000000);
  CHECK(e.boundary == 0x30000000);
  auto w = field_event<ev::reserve_boundary>(
      "cma: Region at 0x000000002f000000 defined on low/high memory boundary (0x0000000030000000)");
  CHECK(w.boundary == 0x30000000);
  auto old = field_event<ev::reserve_boundary>("cma: Region at 2f000000 defined on low/high memory boundary (30000000)");
  CHECK(old.base == 0x2f000000);
  rejected("cma: Region at 0x2f000000 defined on low/high memory boundary (0x30000000");
  rejected("cma: Region at  defined on low/high memory boundary (0x30000000)");
  // the other "Region at" line stays a boot debug line
  field_event<ev::boot_debug>("cma: Region at 0x0000000050100000 must be aligned to 0x0000000000200000 bytes");
}

TEST_CASE("field: 3.x test_pages_isolated → isolation_failed") {
  auto e = field_event<ev::isolation_failed>("[  312.123456] alloc_contig_range test_pages_isolated(6b600, 6b700) failed");
  CHECK(e.start == 0x6b600);
  CHECK(e.end == 0x6b700);
  rejected("alloc_contig_range test_pages_isolated(6b600, ) failed");
  rejected("alloc_contig_range test_pages_isolated(6b700, 6b600) failed");
  rejected("alloc_contig_range test_pages_isolated(6b600, 6b700");
}

TEST_CASE("field: 6.15 skipping incompatible area → incompatible_area") {
  auto e = field_event<ev::incompatible_area>("cma: __cma_alloc: reserved: skipping incompatible area [0x80000-0x8ffff]");
  CHECK(e.func == "__cma_alloc");
  CHECK(e.name == "reserved");
  CHECK(e.start == 0x80000);
  CHECK(e.end == 0x8ffff);
  auto c = field_event<ev::incompatible_area>("cma: __cma_alloc: linux,cma: skipping incompatible area [0x1000-0x2000]");
  CHECK(c.name == "linux,cma");
  rejected("cma: __cma_alloc: reserved: skipping incompatible area [0x80000-");
  rejected("cma: __cma_alloc: reserved: skipping incompatible area [0x80000]");
  rejected("cma: __cma_alloc: : skipping incompatible area [0x1-0x2]");
}

TEST_CASE("field: 6.15 show_areas per-range form → show_areas_range + show_areas_total") {
  // exactly what cma_debug_show_areas prints for 6.15 (see test_cma_area.cpp)
  auto r = f::read_log("[  5.000001] cma: number of available pages: \n"
                       "[  5.000002] cma: range 0: 100@0+20@200\n"
                       "[  5.000003] cma: range 1: +14@1\n"
                       "[  5.000004] cma: range 2: \n"
                       "[  5.000005] cma: \n"
                       "[  5.000006] => 134 free of 8192 total pages\n");
  CHECK(r.unrecognised.empty());
  REQUIRE(r.events.size() == 4);
  auto r0 = std::get<ev::show_areas_range>(r.events[0].what);
  CHECK(r0.range == 0);
  REQUIRE(r0.runs.size() == 2);
  CHECK(r0.runs[0].len == 100);
  CHECK(r0.runs[0].at == 0);
  CHECK(r0.runs[1].len == 20);
  CHECK(r0.runs[1].at == 200);
  auto r1 = std::get<ev::show_areas_range>(r.events[1].what);
  CHECK(r1.range == 1);
  REQUIRE(r1.runs.size() == 1);
  CHECK(r1.runs[0].at == 1);
  CHECK(std::get<ev::show_areas_range>(r.events[2].what).runs.empty());
  auto t = std::get<ev::show_areas_total>(r.events[3].what);
  CHECK(t.free == 134);
  CHECK(t.total == 8192);
  // other plausible splits: the continuation with the prefix kept, bare lines
  CHECK(field_event<ev::show_areas_total>("cma: => 0 free of 4096 total pages").total == 4096);
  CHECK(field_event<ev::show_areas_total>("=> 7 free of 16 total pages").free == 7);
  skipped("cma:");
  skipped("cma: number of available pages:");
  // the one-line form stays show_areas
  field_event<ev::show_areas>("cma: number of available pages: 14@1=> 14 free of 16 total pages");
  rejected("cma: range 0: 100@+20@200");
  rejected("cma: => 7 free of total pages");
  rejected("=> 7 free of 16 total");
  no_event("=> some other arrow line");
}

TEST_CASE("field: vc4 driver lines → driver_failure") {
  auto a = field_event<ev::driver_failure>("[ 1234.5] vc4-drm soc:gpu: failed to allocate buffer with size 8294400");
  CHECK(a.driver == "vc4");
  CHECK(a.bytes == 8294400);
  CHECK_FALSE(a.stats);
  auto b = field_event<ev::driver_failure>("[ 1234.6] [drm:vc4_bo_create [vc4]] *ERROR* Failed to allocate from CMA:");
  CHECK(b.driver == "vc4");
  CHECK_FALSE(b.bytes);
  CHECK_FALSE(b.stats);
  auto c = field_event<ev::driver_failure>("[ 1234.7] [drm] num bos allocated: 120");
  CHECK(c.driver == "vc4");
  CHECK(c.stats);
  CHECK_FALSE(c.bytes);
  CHECK(field_event<ev::driver_failure>("[drm] size bos cached: 8100kb").stats);
  CHECK(field_event<ev::driver_failure>("[drm] size bos used: 65536kb").stats);
  auto d = field_event<ev::driver_failure>("[ 77.1] vc4-drm gpu: [drm]                           dumb:   8100kb BOs (1)");
  CHECK(d.driver == "vc4");
  CHECK(d.stats);
  CHECK(field_event<ev::driver_failure>("vc4-drm gpu: [drm]   dumb: 8100kb BOs (1)").stats);
  CHECK(field_event<ev::driver_failure>("vc4-drm gpu: [drm]             V3D shader:     12kb BOs (3)").stats);
  rejected("vc4-drm soc:gpu: failed to allocate buffer with size ");
  rejected("vc4-drm soc:gpu: failed to allocate buffer with size 82x");
  rejected("[drm] num bos allocated: ");
  rejected("vc4-drm gpu: [drm]   dumb: kb BOs (1)");
  rejected("vc4-drm gpu: [drm]   dumb: 8100kb BOs (");
  no_event("[drm] Initialized vc4 0.0.0 20140616 for soc:gpu on minor 0");
}

TEST_CASE("field: nvgpu and videobuf2 driver lines → driver_failure") {
  auto a = field_event<ev::driver_failure>(
      "[  88.1] nvgpu: 17000000.gv11b nvgpu_dma_alloc_flags_sys:217 [ERR]  DMA alloc FAILED: [sysmem] size=33554432");
  CHECK(a.driver == "nvgpu");
  CHECK(a.bytes == 33554432);
  CHECK(field_event<ev::driver_failure>("DMA alloc FAILED: [sysmem] size=4096").bytes == 4096);
  auto b = field_event<ev::driver_failure>("[  90.2] sun6i-csi 1cb0000.csi: dma_alloc_coherent of size 3133440 failed");
  CHECK(b.driver == "dma_alloc_coherent");
  CHECK(b.bytes == 3133440);
  rejected("DMA alloc FAILED: [sysmem] size=");
  rejected("DMA alloc FAILED: [sysmem");
  rejected("sun6i-csi 1cb0000.csi: dma_alloc_coherent of size  failed");
  rejected("sun6i-csi 1cb0000.csi: dma_alloc_coherent of size 3133440");
}

TEST_CASE("field: page allocation failure and page_alloc WARNING → page_alloc_warning") {
  auto a = field_event<ev::page_alloc_warning>(
      "[  100.1] kworker/0:1: page allocation failure: order:11, mode:0xcc0(GFP_KERNEL), nodemask=(null)");
  CHECK(a.order == 11u);
  auto b = field_event<ev::page_alloc_warning>("Xorg: page allocation failure: order:10, mode:0x24040c0");
  CHECK(b.order == 10u);
  auto c = field_event<ev::page_alloc_warning>("[  100.2] WARNING: CPU: 0 PID: 123 at mm/page_alloc.c:4567 __alloc_pages+0x2a0/0x2f0");
  CHECK_FALSE(c.order);
  auto d = field_event<ev::page_alloc_warning>("WARNING: at mm/page_alloc.c:2342 __alloc_pages_nodemask+0x1d4/0x6f4()");
  CHECK_FALSE(d.order);
  rejected("kworker/0:1: page allocation failure: order:, mode:0xcc0(GFP_KERNEL)");
  rejected("kworker/0:1: page allocation failure: order:99, mode:0xcc0");
  rejected("WARNING: CPU: 0 PID: 123 at mm/page_alloc.c: __alloc_pages+0x2a0/0x2f0");
  no_event("WARNING: CPU: 1 PID: 7 at drivers/gpu/drm/vc4/vc4_crtc.c:123 vc4_crtc_atomic_flush+0x1/0x2");
}

// ------------------------------------------------------------ wrappers
TEST_CASE("field wrappers: plain timestamp and syslog with timestamp") {
  auto r = f::read_log("[  123.456789] OF: reserved mem: node linux,cma compatible matching fail");
  REQUIRE(r.events.size() == 1);
  CHECK(std::get<ev::rmem_note>(r.events[0].what).name == "linux,cma");
  CHECK(r.events[0].where.time == Approx(123.456789));
  auto s = f::read_log("Aug  1 15:03:02 raspberrypi kernel: [ 1234.567890] vc4-drm soc:gpu: failed to allocate buffer with size 8294400");
  REQUIRE(s.events.size() == 1);
  CHECK(std::get<ev::driver_failure>(s.events[0].what).bytes == 8294400);
  CHECK(s.events[0].where.time == Approx(1234.56789));
}

TEST_CASE("field wrappers: journal without timestamp, kernel[pid]:, kernel: only, bare") {
  CHECK(field_event<ev::isolation_failed>("Oct 23 15:35:01 myhost kernel: alloc_contig_range test_pages_isolated(6b600, 6b700) failed").end ==
        0x6b700);
  CHECK(field_event<ev::rmem_initialized>("Oct 23 15:35:01 myhost kernel[1]: OF: reserved mem: initialized node linux,cma, compatible id shared-dma-pool")
            .compatible == "shared-dma-pool");
  CHECK(field_event<ev::reserve_boundary>("kernel: cma: Region at 0x2f000000 defined on low/high memory boundary (0x30000000)").base ==
        0x2f000000);
  CHECK(field_event<ev::page_alloc_warning>("Xorg: page allocation failure: order:11, mode:0xcc0(GFP_KERNEL), nodemask=(null)").order == 11u);
}

TEST_CASE("field wrappers: dmesg -T and dmesg -H") {
  CHECK(field_event<ev::show_areas_total>("[Sun Aug  1 15:03:02 2021] => 0 free of 8192 total pages").total == 8192);
  CHECK(field_event<ev::driver_failure>("[Oct23 15:35] [drm:vc4_bo_create [vc4]] *ERROR* Failed to allocate from CMA:").driver == "vc4");
  CHECK(field_event<ev::driver_failure>("[  +0.000009] [drm] num bos cached: 3").stats);
  CHECK(field_event<ev::rmem_note>("[  +0.000009] Reserved memory: incorrect alignment of CMA region").what ==
        ev::rmem_note::kind::incorrect_alignment);
}

TEST_CASE("field wrappers: PRINTK_CALLER, Android, MediaTek") {
  auto c = field_event<ev::incompatible_area>("[    0.512345][    T1] cma: __cma_alloc: reserved: skipping incompatible area [0x80000-0x8ffff]");
  CHECK(c.name == "reserved");
  CHECK(field_event<ev::rmem_reusable>("[    0.000000][    C0] OF: reserved mem: 0x0000000078000000..0x000000007fffffff (131072 KiB) map reusable linux,cma")
            .kib == 131072);
  auto a = field_event<ev::driver_failure>("<3>[  345.678901] [1:  kworker/u8:2:  123] DMA alloc FAILED: [sysmem] size=8388608");
  CHECK(a.bytes == 8388608);
  auto m = field_event<ev::show_areas_range>("[   12.345678] .(1)[123:kworker/1:2]cma: range 0: 5@3");
  REQUIRE(m.runs.size() == 1);
  CHECK(m.runs[0].len == 5);
  CHECK(field_event<ev::rmem_note>("[    0.000000] .(0)[0:swapper]Reserved memory: bypass linux,cma node, using cmdline CMA params instead").name ==
        "linux,cma");
}

TEST_CASE("field wrappers: a missing-newline join") {
  auto r = f::read_log("[    0.000000] Machine model: something base a000000<6>[    0.000000] cma: Region at 0x2f000000 defined on low/high "
                       "memory boundary (0x30000000)");
  CHECK(r.unrecognised.empty());
  REQUIRE(r.events.size() == 1);
  CHECK(std::get<ev::reserve_boundary>(r.events[0].what).boundary == 0x30000000);
  auto s = f::read_log("[ 10.0] foo<6>[   10.000001] WARNING: CPU: 0 PID: 1 at mm/page_alloc.c:4567 __alloc_pages+0x1/0x2");
  REQUIRE(s.events.size() == 1);
  CHECK(std::holds_alternative<ev::page_alloc_warning>(s.events[0].what));
}

TEST_CASE("field: unwrap leaves message brackets alone") {
  CHECK(f::kmsg::unwrap("[drm:vc4_bo_create [vc4]] *ERROR* x").message == "[drm:vc4_bo_create [vc4]] *ERROR* x");
  CHECK(f::kmsg::unwrap("[ 1.0] [drm] num bos used: 1").message == "[drm] num bos used: 1");
  CHECK(f::kmsg::unwrap("[ 1.0][  C3] cma: x").message == "cma: x");
}

TEST_CASE("field: truncations of every new line kind never crash and never give a wrong event") {
  const std::vector<std::string> lines = {
      "OF: reserved mem: 0x0000000078000000..0x000000007fffffff (131072 KiB) map reusable linux,cma",
      "OF: reserved mem: initialized node linux,cma, compatible id shared-dma-pool",
      "OF: reserved mem: failed to allocate memory for node 'linux,cma'",
      "Reserved memory: created DMA memory pool at 0x4b000000, size 16 MiB",
      "cma: Region at 0x2f000000 defined on low/high memory boundary (0x30000000)",
      "alloc_contig_range test_pages_isolated(6b600, 6b700) failed",
      "cma: __cma_alloc: reserved: skipping incompatible area [0x80000-0x8ffff]",
      "vc4-drm gpu: [drm]   dumb: 8100kb BOs (1)",
      "DMA alloc FAILED: [sysmem] size=33554432",
      "sun6i-csi 1cb0000.csi: dma_alloc_coherent of size 3133440 failed",
      "kworker/0:1: page allocation failure: order:11, mode:0xcc0(GFP_KERNEL), nodemask=(null)",
      "cma: Reserved 1024 MiB in 1 range",
      "hugetlb_cma: reserve 1024 MiB, up to 1024 MiB per node",
      "hugetlb_cma: reserved 1024 MiB on node 0",
      "hugetlb_cma: cma area must be a multiple of 1024 MiB",
      "hugetlb_cma: reservation failed: err -12, node 1",
      "cma: __cma_release_frozen(page 0000000067b21500, count 256)",
      "cma: find_cma_memrange(page 00000000f9ac9b4c, count 1, no cma range matches the page range)",
  };
  for (const auto& full : lines) {
    const auto whole = f::kmsg::parse_line(full);
    REQUIRE(whole.status == f::line_status::event);
    for (std::size_t n = 0; n < full.size(); ++n) {
      const auto p = f::kmsg::parse_line(std::string_view(full).substr(0, n));
      INFO(full.substr(0, n));
      if (p.status == f::line_status::malformed) CHECK_FALSE(p.why.empty());
      if (p.status != f::line_status::event) continue;
      // "cma: Region at 0x… def" cut inside the words: only boot debug text, as before
      if (std::holds_alternative<ev::boot_debug>(*p.event)) continue;
      // a prefix that still parses must be the same kind of event (a shorter number is
      // indistinguishable from a truncated one)
      CHECK(p.event->index() == whole.event->index());
    }
  }
}

// ------------------------------------------------------------ 6.15+ multi-range areas and hugetlb_cma
// Verbatim from tests/data/recorded/huge-{6.1,6.12,7.3}-cma32M-hugetlb1G/dmesg.txt, and the
// format strings of cma_declare_contiguous_multi (mm/cma.c 6.15+: "in %d range%s", str_plural)
// and hugetlb_cma_reserve (mm/hugetlb.c ≤ 6.14, mm/hugetlb_cma.c 6.15+).
TEST_CASE("field: 6.15 Reserved N MiB in R range[s] → reserved_ranges, singular and plural") {
  auto one = field_event<ev::reserved_ranges>("[    0.000000] cma: Reserved 1024 MiB in 1 range");
  CHECK(one.mib == 1024);
  CHECK(one.ranges == 1);
  auto two = field_event<ev::reserved_ranges>("cma: Reserved 2048 MiB in 2 ranges");
  CHECK(two.mib == 2048);
  CHECK(two.ranges == 2);
  rejected("cma: Reserved 1024 MiB in 1 ranges"); // the kernel prints "range" for one
  rejected("cma: Reserved 2048 MiB in 2 range");  // and "ranges" for more
  rejected("cma: Reserved 1024 MiB in 0 ranges");
  rejected("cma: Reserved 1024 MiB in range");
  rejected("cma: Reserved 1024 MiB in 1 range at 0x80000000");
  rejected("cma: Reserved MiB in 1 range");
  const auto p = f::kmsg::parse_line("cma: Reserved 2048 MiB in 2 range");
  CHECK(p.why.find("expected") != std::string::npos);
}

TEST_CASE("field: hugetlb_cma reserve and reserved lines → hugetlb_cma_reserve, hugetlb_cma_reserved") {
  auto plan = field_event<ev::hugetlb_cma_reserve>("[    0.000000] hugetlb_cma: reserve 1024 MiB, up to 1024 MiB per node");
  CHECK(plan.mib == 1024);
  CHECK(plan.per_node_mib == 1024);
  auto done = field_event<ev::hugetlb_cma_reserved>("[    0.000000] hugetlb_cma: reserved 1024 MiB on node 0");
  CHECK(done.mib == 1024);
  CHECK(done.node == 0);
  // 7.x hugetlb_cma=N%: the percentage is printed too
  auto pct = field_event<ev::hugetlb_cma_reserve>("hugetlb_cma: reserve 3072 MiB (10%), up to 1024 MiB per node");
  CHECK(pct.mib == 3072);
  CHECK(pct.per_node_mib == 1024);
  auto pct_node = field_event<ev::hugetlb_cma_reserved>("hugetlb_cma: reserved 512 MiB (25%) on node 1");
  CHECK(pct_node.mib == 512);
  CHECK(pct_node.node == 1);
}

TEST_CASE("field: hugetlb_cma warnings of every version → hugetlb_cma_rejected with the MiB they name") {
  struct row {
    const char* line;
    std::optional<std::uint64_t> mib;
  };
  const row rows[] = {
      {"[    0.000000] hugetlb_cma: cma area must be a multiple of 1024 MiB", 1024},      // 6.15+
      {"hugetlb_cma: cma area of node 1 must be a multiple of 1024 MiB", 1024},          // 6.15+
      {"hugetlb_cma: cma area should be at least 1024 MiB", 1024},                       // ≤ 6.14
      {"hugetlb_cma: cma area of node 0 should be at least 1024 MiB", 1024},             // ≤ 6.14
      {"hugetlb_cma: invalid node 3 specified", std::nullopt},
      {"hugetlb_cma: reservation failed: err -12, node 1", std::nullopt},
      {"hugetlb_cma: reserved area spans zones: err 0, node 0", std::nullopt},           // 6.15+
      {"hugetlb_cma: the option isn't supported by current arch", std::nullopt},
      {"hugetlb_cma: invalid percentage 150", std::nullopt},                             // 7.x
      {"hugetlb_cma: invalid percentage 150 for node 0", std::nullopt},                  // 7.x
      {"hugetlb_cma: reservation size rounded down to 0 from 200 MiB (5%)", 200},         // 7.x
      {"hugetlb_cma: reservation size rounded down to 0 from 200 MiB (5%) on node 1", 200},
  };
  for (const auto& r : rows) {
    auto e = field_event<ev::hugetlb_cma_rejected>(r.line);
    CHECK(e.mib == r.mib);
    CHECK(std::string_view(r.line).ends_with(e.message));
    CHECK_FALSE(e.message.starts_with("hugetlb_cma"));
  }
}

TEST_CASE("field: a hugetlb_cma line the parser does not know is reported, never dropped") {
  for (const char* line : {
           "hugetlb_cma: reserve 1024 MiB",                          // cut
           "hugetlb_cma: reserve MiB, up to 1024 MiB per node",
           "hugetlb_cma: reserve -1024 MiB, up to 1024 MiB per node",
           "hugetlb_cma: reserved 1024 MiB on node",
           "hugetlb_cma: reserved 1024 MiB on node zero",
           "hugetlb_cma: reserved 1024 MiB",
           "hugetlb_cma: cma area must be a multiple of MiB",
           "hugetlb_cma: cma area must be a multiple of 1024 MiB, really",
           "hugetlb_cma: reservation failed: err -12",
           "hugetlb_cma: invalid node x specified",
           "hugetlb_cma: something new in 8.0",
           "hugetlb_cma:",
           "[    0.000000] hugetlb_cma: ",
       }) {
    rejected(line);
    INFO(line);
    const auto p = f::kmsg::parse_line(line);
    CHECK(p.status == f::line_status::malformed);
    CHECK(p.why.starts_with("hugetlb_cma: expected"));
  }
  // the specific form is named when the line starts like one
  CHECK(f::kmsg::parse_line("hugetlb_cma: reservation failed: err -12").why.find("err <") == std::string::npos);
  CHECK(f::kmsg::parse_line("hugetlb_cma: reservation failed: err -12").why.find("reservation failed: err %d, node %d") !=
        std::string::npos);
  // mm/hugetlb.c's note when hugetlb_cma= is set: understood, carries nothing
  skipped("[    0.000000] HugeTLB: hugetlb_cma is enabled, skip boot time allocation");
}

// ------------------------------------------------------------ field_log on the real recordings
namespace {
cma::field_report field_of(const std::string& rel) {
  const auto log = f::read_log(cmatest::read_fixture(rel));
  INFO(rel);
  for (const auto& u : log.unrecognised) UNSCOPED_INFO(u.line << ": " << u.text << " — " << u.why);
  CHECK(log.unrecognised.empty());
  cma::field_log fl;
  for (const auto& e : log.events) fl.on(e.what, e.where);
  fl.finish();
  return std::move(fl).result();
}
struct want_area {
  std::string name;
  std::optional<std::uint64_t> base;
  cma::page_count count;
  bool is_default;
};
void check_areas(const cma::field_report& r, const std::vector<want_area>& want) {
  REQUIRE(r.areas.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO(want[i].name);
    CHECK(r.areas[i].name == want[i].name);
    CHECK(r.areas[i].base == want[i].base);
    CHECK(r.areas[i].count == want[i].count);
    CHECK(r.areas[i].is_default == want[i].is_default);
  }
}
constexpr cma::page_count mib_pages(std::uint64_t mib) { return mib * 256; }
} // namespace

//   6.1:  hugetlb_cma: reserve 1024 MiB … / cma: Reserved 1024 MiB at 0xbf800000 / hugetlb_cma: reserved … node 0
//         … cma: Reserved 32 MiB at 0xba800000                        (the default area comes second)
//   6.12: the same with "on node 0" / "on node -1"
//   7.3:  cma: Reserved 32 MiB at 0xfd800000 … cma: Reserved 1024 MiB in 1 range / hugetlb_cma: reserved … node 0
// Expect the hugetlb area named hugetlb0 (the name the 7.3 call lines print), the default "reserved".
TEST_CASE("field_log: the five real 6.1/6.12/7.3 dmesg files name their areas as failure lines do") {
  check_areas(field_of("recorded/huge-6.1-cma32M-hugetlb1G/dmesg.txt"),
              {{"hugetlb0", 0xbf800000, mib_pages(1024), false}, {"reserved", 0xba800000, mib_pages(32), true}});
  check_areas(field_of("recorded/huge-6.12-cma32M-hugetlb1G/dmesg.txt"),
              {{"hugetlb0", 0x80000000, mib_pages(1024), false}, {"reserved", 0xfa800000, mib_pages(32), true}});
  check_areas(field_of("recorded/huge-7.3-cma32M-hugetlb1G/dmesg.txt"),
              {{"reserved", 0xfd800000, mib_pages(32), true}, {"hugetlb0", std::nullopt, mib_pages(1024), false}});
  const auto rand = field_of("recorded/rand-7.3-cma48M/dmesg.txt");
  check_areas(rand, {{"reserved", 0x7cc00000, mib_pages(48), true}});
  CHECK(rand.failures.size() == 10);
  for (const auto& x : rand.failures) CHECK(x.area == "reserved");
  const auto big = field_of("recorded/toolarge-7.3-cma16M/dmesg.txt");
  check_areas(big, {{"reserved", 0x7ec00000, mib_pages(16), true}});
  REQUIRE(big.failures.size() == 2);
  CHECK(big.failures[0].count == 4096);
  CHECK(big.failures[0].err == -16);
  REQUIRE(big.failures[0].state); // the 7.3 show_areas split over four records
  CHECK(big.failures[0].state->free == 3508);
  CHECK(big.failures[0].state->total == 4096);
  CHECK(big.failures[0].state->runs.size() == 2);
}

TEST_CASE("field_log: a Reserved line is hugetlb<K> only when the hugetlb_cma line follows it") {
  auto run = [](const std::string& text) {
    const auto log = f::read_log(text);
    REQUIRE(log.unrecognised.empty());
    cma::field_log fl;
    for (const auto& e : log.events) fl.on(e.what, e.where);
    fl.finish();
    return std::move(fl).result();
  };
  // two nodes, the default area between them; 2 ranges on node 1
  auto r = run("cma: Reserved 1024 MiB at 0x0000000080000000 on node 0\n"
               "hugetlb_cma: reserved 1024 MiB on node 0\n"
               "cma: Reserved 64 MiB at 0x00000000fa800000 on node -1\n"
               "cma: Reserved 2048 MiB in 2 ranges\n"
               "hugetlb_cma: reserved 2048 MiB on node 1\n");
  check_areas(r, {{"hugetlb0", 0x80000000, mib_pages(1024), false},
                  {"reserved", 0xfa800000, mib_pages(64), true},
                  {"hugetlb1", std::nullopt, mib_pages(2048), false}});
  // a Reserved line with no hugetlb line after it stays the default area, even at the end
  check_areas(run("hugetlb_cma: reserve 1024 MiB, up to 1024 MiB per node\ncma: Reserved 32 MiB at 0x00000000ba800000\n"),
              {{"reserved", 0xba800000, mib_pages(32), true}});
  // a node's warning is a reservation finding of its own
  auto w = run("hugetlb_cma: reservation failed: err -12, node 1\nhugetlb_cma: cma area must be a multiple of 1024 MiB\n");
  REQUIRE(w.reservations.size() == 2);
  CHECK(w.reservations[0].what == cma::field_reservation::kind::hugetlb_rejected);
  CHECK(w.reservations[0].node == 1);
  CHECK(w.reservations[0].name == "hugetlb1");
  CHECK(w.reservations[0].text == "reservation failed: err -12, node 1");
  CHECK_FALSE(w.reservations[0].mib);
  CHECK(w.reservations[1].name == "hugetlb");
  CHECK(w.reservations[1].mib == 1024);
  CHECK(w.areas.empty());
}

// What `cmasim replay <dmesg.txt>` says of the same files: every line about CMA understood
// (divergences of the model are the replay core's business, not the parser's).
TEST_CASE("replay: the five real 6.1/6.12/7.3 hugetlb and 7.3 dmesg files have no line not understood") {
  for (const char* rel : {"recorded/huge-6.1-cma32M-hugetlb1G/dmesg.txt", "recorded/huge-6.12-cma32M-hugetlb1G/dmesg.txt",
                          "recorded/huge-7.3-cma32M-hugetlb1G/dmesg.txt", "recorded/rand-7.3-cma48M/dmesg.txt",
                          "recorded/toolarge-7.3-cma16M/dmesg.txt"}) {
    INFO(rel);
    const auto rep = cma::replay({f::read_log(cmatest::read_fixture(rel))});
    for (const auto& u : rep.unrecognised) UNSCOPED_INFO(u.line << ": " << u.text << " — " << u.why);
    CHECK(rep.unrecognised_total == 0);
    CHECK(rep.unrecognised.empty());
  }
}
