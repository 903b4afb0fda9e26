// tests/test_diagnose.cpp — the diagnose wing: field_log's pairing rules, the show_areas state
// search, and each cause from a log.  Logs here are small and written by hand from the
// kernel's formats (KERNEL-FACTS §1.7–1.8, LOGS-IN-THE-WILD.md); the numbers expected are
// worked out in the comments, not taken from cmasim.  The real-kernel ground truth is the
// CLI test cli.diagnose.groundtruth-* (tests/cli/diagnose_groundtruth.py).
#include <cma/diagnose/diagnose.hpp>
#include <cma/replay/replay.hpp>

#include "helpers.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace dg = cma::diagnose;

namespace {

cma::replay_report run(const std::string& text) { return cma::replay({cma::formats::read_log(text)}); }
dg::diagnosis diag(const std::string& text) { return dg::diagnose(run(text)); }

} // namespace

TEST_CASE("dma_align_for: get_order of the size, capped at CONFIG_CMA_ALIGNMENT", "[diagnose]") {
  CHECK(dg::dma_align_for(1) == 0);
  CHECK(dg::dma_align_for(2) == 1);
  CHECK(dg::dma_align_for(3) == 2);   // 12 KiB → order 2
  CHECK(dg::dma_align_for(256) == 8);
  CHECK(dg::dma_align_for(257) == 8); // order 9, capped at 8
  CHECK(dg::dma_align_for(4096) == 8);
  CHECK(dg::dma_align_for(4096, 12) == 12);
}

TEST_CASE("search: the model's first fit on a show_areas state, at the absolute pfn's alignment", "[diagnose]") {
  const auto p = cmatest::prof("6.12");
  // 64 pages; free: 10@2 (2..11) and 20@44 (44..63, trailing).
  cma::field_snapshot s{{{10, 2}, {20, 44}}, 30, 64, {}};
  // base 0x1000 (aligned): 16 pages at order 4: run 44..63 gives aligned start 48 → 16 pages: fits at 0x1030.
  auto v = dg::search(s, 16, 4, 0x1000, p);
  CHECK(v.free == 30);
  CHECK(v.largest_run == 20);
  CHECK(v.largest_aligned == 16);
  CHECK(v.fits);
  CHECK(v.pfn == 0x1030);
  CHECK(v.grow_by == 0);
  // 20 pages at order 4: aligned start 48, needs 48+20 = 68 > 64: no fit; 4 pages more at the end.
  v = dg::search(s, 20, 4, 0x1000, p);
  CHECK_FALSE(v.fits);
  CHECK(v.grow_by == 4);
  // The same with base 0x1004: absolute alignment moves the aligned starts: run 44 is pfn 0x1030
  // (aligned already): 20 pages fit at 0x1030 (index 44).
  v = dg::search(s, 20, 4, 0x1004, p);
  CHECK(v.fits);
  CHECK(v.pfn == 0x1030);
  // A state whose runs do not add up to F is not searched.
  cma::field_snapshot bad{{{10, 2}}, 30, 64, {}};
  CHECK_FALSE(dg::search(bad, 4, 0, 0x1000, p).consistent);
}

TEST_CASE("exhausted, fragmented: from the failure line and the show_areas line after it (6.12)", "[diagnose]") {
  const std::string log =
      "[    0.000000] Linux version 6.12.57+deb13-arm64 (debian-kernel@lists.debian.org)\n"
      "[    0.000000] cma: Reserved 16 MiB at 0x0000000078000000 on node -1\n"
      "[    5.000000] cma: __cma_alloc: reserved: alloc failed, req-size: 2048 pages, ret: -12\n"
      "[    5.000001] cma: number of available pages: 160@96=> 160 free of 4096 total pages\n"
      "[    6.000000] cma: __cma_alloc: reserved: alloc failed, req-size: 512 pages, ret: -12\n"
      "[    6.000001] cma: number of available pages: 300@0+300@1000=> 600 free of 4096 total pages\n";
  const auto d = diag(log);
  REQUIRE(d.areas.size() == 1);
  CHECK(d.areas[0].name == "reserved");
  CHECK(d.areas[0].size == 16u << 20);
  CHECK(d.areas[0].base == 0x78000000u);
  REQUIRE(d.findings.size() == 2);
  CHECK(d.findings[0].c == dg::cause::exhausted); // 160 free < 2048
  CHECK(d.findings[0].count == 2048);
  // 512 pages at order 8 (DMA layer): runs 0..299 (aligned window 0..299: 300) and
  // 1000..1299 (aligned start 1024: 276): 600 free ≥ 512 but no window: fragmented.
  CHECK(d.findings[1].c == dg::cause::fragmented);
  CHECK(d.findings[1].align == 8);
  CHECK(d.findings[1].explanation.find("largest window at order 8 alignment 300 pages") != std::string::npos);
  // No trailing free run: the window starts at 4096 (aligned), grows the area by 512 pages.
  CHECK(d.findings[1].advice.find("(the area 512 pages larger at its end)") != std::string::npos);
  CHECK(d.failures());
}

TEST_CASE("the logged call line's alignment wins over the DMA layer's", "[diagnose]") {
  const std::string log = "[    0.000000] Linux version 6.1.0-27-arm64\n"
                          "[    0.000000] cma: Reserved 16 MiB at 0x0000000078000000\n"
                          "[    5.000000] cma: cma_alloc(cma 000000001234abcd, name: reserved, count 100, align 0)\n"
                          "[    5.000002] cma: cma_alloc: reserved: alloc failed, req-size: 100 pages, ret: -12\n"
                          "[    5.000003] cma: number of available pages: 99@1+99@200=> 198 free of 4096 total pages\n";
  const auto d = diag(log);
  REQUIRE(d.findings.size() == 1);
  CHECK(d.findings[0].align == 0);
  CHECK(d.findings[0].align_source.rfind("logged", 0) == 0);
  CHECK(d.findings[0].c == dg::cause::fragmented); // 198 ≥ 100, largest run 99
}

TEST_CASE("no-window without a state; busy with -EBUSY; busy-retries for bursts with no failure", "[diagnose]") {
  const std::string log = "[    0.000000] Linux version 5.15.0-1-arm64\n"
                          "[    0.000000] cma: Reserved 64 MiB at 0x0000000078000000\n"
                          "[    3.000000] Run /init as init process\n"
                          "[    5.000000] cma: cma_alloc: linux,cma: alloc failed, req-size: 2025 pages, ret: -12\n"
                          "[    6.000000] alloc_contig_range: [79000, 79100) PFNs busy\n"
                          "[    6.000100] alloc_contig_range: [79100, 79200) PFNs busy\n"
                          "[    6.000200] alloc_contig_range: [79200, 79300) PFNs busy\n"
                          "[    6.000300] cma: cma_alloc: linux,cma: alloc failed, req-size: 256 pages, ret: -16\n"
                          "[    9.000000] alloc_contig_range: [7a000, 7a100) PFNs busy\n"
                          "[    9.500000] alloc_contig_range: 12 callbacks suppressed\n";
  const auto d = diag(log);
  REQUIRE(d.findings.size() == 3);
  CHECK(d.findings[0].c == dg::cause::no_window);
  CHECK(d.findings[0].area == "linux,cma");
  CHECK(d.findings[0].during_boot == false);
  CHECK(d.findings[0].advice.find("trace_event=cma:*") != std::string::npos);
  CHECK(d.findings[1].c == dg::cause::busy);
  CHECK(d.findings[1].explanation.find("3 busy window(s): [79000, 79100), [79100, 79200), [79200, 79300); stride 0x100") !=
        std::string::npos);
  CHECK(d.findings[2].c == dg::cause::busy_retries);
  CHECK(d.findings[2].occurrences == 1);
  CHECK(d.findings[2].suppressed == 12);
  CHECK_FALSE(dg::is_failure(dg::cause::busy_retries));
}

TEST_CASE("reservations first: bypass, boundary, Failed to reserve", "[diagnose]") {
  const std::string log =
      "[    0.000000] Reserved memory: bypass linux,cma node, using cmdline CMA params instead\n"
      "[    0.000000] cma: Region at 0x000000002f000000 defined on low/high memory boundary (0x0000000030000000)\n"
      "[    0.000000] cma: Failed to reserve 256 MiB\n"
      "[    7.000000] cma: cma_alloc: alloc failed, req-size: 16 pages, ret: -12\n";
  const auto d = diag(log);
  // The boundary line and its "Failed to reserve" are one failed reservation: one finding,
  // whose why comes from the boundary line just before it.
  REQUIRE(d.findings.size() == 3);
  CHECK(d.findings[0].c == dg::cause::cmdline_overrides_dt);
  CHECK(d.findings[1].c == dg::cause::reservation_failed);
  CHECK(d.findings[1].why == dg::reservation_why::boundary);
  CHECK(d.findings[1].occurrences == 1);
  CHECK(d.findings[1].explanation.find("256 MiB") != std::string::npos);
  CHECK(d.findings[2].c == dg::cause::no_window);
}

TEST_CASE("driver lines: linked to the failure they follow, or a finding of their own", "[diagnose]") {
  const std::string log = "[    0.000000] cma: Reserved 256 MiB at 0x0000000030000000\n"
                          "[   10.000000] cma: cma_alloc: alloc failed, req-size: 2025 pages, ret: -12\n"
                          "[   10.000100] vc4-drm soc:gpu: failed to allocate buffer with size 8294400\n"
                          "[   20.000000] nvgpu: 17000000.gv11b     nvgpu_dma_alloc_flags_sys:208 [ERR]  DMA alloc FAILED: [sysmem] size=4194304\n";
  const auto r = run(log);
  REQUIRE(r.field.failures.size() == 1);
  REQUIRE(r.field.failures[0].drivers.size() == 1); // 8294400 / 4096 rounded up = 2025
  CHECK(r.field.failures[0].drivers[0].driver == "vc4");
  const auto d = dg::diagnose(r);
  REQUIRE(d.findings.size() == 2);
  CHECK(d.findings[0].explanation.find("(asked by vc4)") != std::string::npos);
  CHECK(d.findings[1].c == dg::cause::driver_failure);
  CHECK(d.findings[1].count == 1024);
}

TEST_CASE("identical failures are one finding with their number and first/last time", "[diagnose]") {
  std::string log = "[    0.000000] cma: Reserved 64 MiB at 0x0000000078000000\n";
  for (int i = 0; i < 5; ++i)
    log += "[   1" + std::to_string(i) + ".000000] cma: cma_alloc: alloc failed, req-size: 300 pages, ret: -12\n";
  log += "[   20.000000] cma_alloc: 7 callbacks suppressed\n";
  const auto d = diag(log);
  REQUIRE(d.findings.size() == 1);
  CHECK(d.findings[0].occurrences == 5);
  CHECK(d.findings[0].first == 10.0);
  CHECK(d.findings[0].last == 14.0);
  CHECK(d.findings[0].suppressed == 7);
}

TEST_CASE("a kernel older than every profile is named as such", "[diagnose]") {
  const std::string log = "[    0.000000] Linux version 3.10.104 (gcc)\n"
                          "[    0.000000] cma: CMA: reserved 16 MiB at 2f000000\n";
  const auto d = diag(log);
  REQUIRE_FALSE(d.notes.empty());
  CHECK(d.notes[0].find("3.10") != std::string::npos);
  CHECK_FALSE(d.failures());
}

TEST_CASE("field_log keeps at most max_failures failures and counts them all", "[diagnose]") {
  std::string log = "[    0.000000] cma: Reserved 64 MiB at 0x0000000078000000\n";
  const std::size_t n = cma::field_log::max_failures + 50;
  log.reserve(n * 80);
  for (std::size_t i = 0; i < n; ++i) log += "cma: cma_alloc: alloc failed, req-size: 300 pages, ret: -12\n";
  const auto r = run(log);
  CHECK(r.field.failures.size() == cma::field_log::max_failures);
  CHECK(r.field.failures_total == n);
}
