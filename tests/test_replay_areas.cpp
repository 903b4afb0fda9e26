// tests/test_replay_areas.cpp — several CMA areas in one replay (replay/judge.hpp, boot_facts.hpp):
// the default area beside a hugetlb area, on real recordings of Debian's 6.1, 6.12 and 7.3
// arm64 kernels booted with `cma=32M hugetlb_cma=1G` (tests/data/recorded/huge-*).
//
// Expected numbers are counted here from the trace text (cma_alloc_finish and cma_release
// events per name=), not taken from cmasim; the placement is the boot lines' (hugetlb area
// first on 6.1/6.12, last and without an address on 7.3).
#include "helpers.hpp"
#include "replay_helpers.hpp"

#include <cma/diagnose/diagnose.hpp>
#include <cma/replay/replay.hpp>

#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include <iomanip>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

using cmatest::replay_texts;
using cmatest::area_named;

cma::replay_report replay_recording(const std::string& name) {
  return replay_texts({cmatest::read_fixture("recorded/" + name + "/trace.txt"),
                       cmatest::read_fixture("recorded/" + name + "/dmesg.txt")});
}

/// Operations per area name, counted from a recording's trace text (replay_helpers.hpp).
std::map<std::string, std::uint64_t> traced_ops_of(const std::string& name) {
  return cmatest::traced_ops(cmatest::read_fixture("recorded/" + name + "/trace.txt"));
}

} // namespace

TEST_CASE("replay: the default and the hugetlb area of real 6.1 / 6.12 / 7.3 boots, every operation of both matched",
          "[replay][areas]") {
  struct expect {
    const char* dir;
    cma::pfn_t reserved_base, hugetlb_base; // from the boot lines (7.3: from the trace, see below)
  };
  // 6.1: "cma: Reserved 1024 MiB at 0x00000000bf800000" then "… 32 MiB at 0x00000000ba800000";
  // 6.12: 1024 MiB at 0x80000000 (on node 0), 32 MiB at 0xfa800000; 7.3: 32 MiB at 0xfd800000,
  // then "Reserved 1024 MiB in 1 range" (no address; its first 32 MiB page is at pfn 0x80000).
  for (const auto& e : {expect{"huge-6.1-cma32M-hugetlb1G", 0xba800, 0xbf800},
                        expect{"huge-6.12-cma32M-hugetlb1G", 0xfa800, 0x80000},
                        expect{"huge-7.3-cma32M-hugetlb1G", 0xfd800, 0x80000}}) {
    CAPTURE(e.dir);
    const auto r = replay_recording(e.dir);
    const auto want = traced_ops_of(e.dir);
    REQUIRE(want.size() == 2);
    CHECK(r.area_name == "reserved");
    CHECK(r.base_pfn == e.reserved_base);
    REQUIRE(r.areas.size() == 2);
    const auto* res = area_named(r, "reserved");
    const auto* huge = area_named(r, "hugetlb0");
    REQUIRE(res);
    REQUIRE(huge);
    CHECK(res->count == 8192);
    CHECK(res->order_per_bit == 0);
    CHECK(huge->base_pfn == e.hugetlb_base);
    CHECK(huge->count == 262144);
    CHECK(huge->order_per_bit == 9); // HUGETLB_PAGE_ORDER with 4 KiB pages
    CHECK(res->op_count() == want.at("reserved"));
    CHECK(huge->op_count() == want.at("hugetlb0"));
    CHECK(res->verdicts[0] == res->op_count());
    CHECK(huge->verdicts[0] == huge->op_count());
    CHECK(r.count_of(cma::verdict::unchecked) == 0);
    CHECK(r.all_matched());
    CHECK(r.unrecognised_total == 0);
    // CmaTotal and the Memory: line's cma-reserved count both areas.
    bool total_checked = false;
    for (const auto& c : r.checks)
      if (c.what == "cma-reserved" || c.what == "CmaTotal") {
        total_checked = true;
        CHECK(c.ok);
      }
    CHECK(total_checked);
  }
}

TEST_CASE("replay: 6.1's hugetlb area can never hold a 1 GiB page; 6.12's can, when empty", "[replay][areas]") {
  // 6.1 puts the 1 GiB area at pfn 0xbf800, not 2^18-aligned: no 262144-page window aligned to
  // 262144 pages fits in [0xbf800, 0xff800).  6.12 puts it at 0x80000, 1 GiB aligned.
  const auto r61 = replay_recording("huge-6.1-cma32M-hugetlb1G");
  std::size_t never = 0, gig_61 = 0;
  for (const auto& o : r61.failed_allocations())
    if (o.count == 262144) {
      ++gig_61;
      never += o.failure_reason.rfind("this area can never hold it", 0) == 0;
    }
  CHECK(gig_61 > 0);
  CHECK(never == gig_61);
  const auto r612 = replay_recording("huge-6.12-cma32M-hugetlb1G");
  for (const auto& o : r612.failed_allocations()) {
    CAPTURE(o.where.line);
    CHECK(o.failure_reason.find("can never hold") == std::string::npos);
  }
  const auto* huge = area_named(r612, "hugetlb0");
  REQUIRE(huge);
  cma::allocator empty("hugetlb0", cma::memrange_spec{huge->base_pfn, huge->count}, 9, cmatest::prof("6.12"));
  CHECK(empty.can_ever_hold(262144, 18));
  cma::allocator empty61("hugetlb0", cma::memrange_spec{0xbf800, 262144}, 9, cmatest::prof("6.1"));
  CHECK_FALSE(empty61.can_ever_hold(262144, 18));
  CHECK(empty61.can_ever_hold(8192, 13));
}

TEST_CASE("diagnose: a hugetlb failure the kernel does not print (__GFP_NOWARN) is found in the trace", "[diagnose][areas]") {
  const auto d = cma::diagnose::diagnose(replay_recording("huge-6.1-cma32M-hugetlb1G"));
  CHECK(d.traced_failures > 0);
  CHECK(d.traced_unreported == d.traced_failures); // hugetlb allocations are __GFP_NOWARN: no failure line
  bool gig = false;
  for (const auto& f : d.findings)
    if (f.area == "hugetlb0" && f.count == 262144u) {
      gig = true;
      CHECK(f.c == cma::diagnose::cause::too_large);
      CHECK(f.explanation.find("base is not aligned enough") != std::string::npos);
    }
  CHECK(gig);
}

// ---------------------------------------------------------------- property: several areas
// rapidcheck: two areas — a hugetlb area of 2–64 MiB with order_per_bit 9 as a 6.12 boot
// declares it, and the default area given as --area with a random order_per_bit 0–9, size and
// aligned base — then a random interleaving of allocations (any count up to 2^(opb+5) pages,
// align 0–12) and releases of live allocations on either area.  The "kernel" is one
// cma::reference_allocator per area (the plain-bitmap reference, not the allocator the
// replay uses): its answers are written out as a 6.12 trace, and the replay must match every
// operation of both areas and end with each area's free runs equal to the reference's.
namespace {

struct gen_area {
  std::string name;
  cma::pfn_t base = 0;
  cma::page_count count = 0;
  unsigned opb = 0;
};

std::string hex0(std::uint64_t v) {
  std::ostringstream o;
  o << "0x" << std::hex << v;
  return o.str();
}
std::string addr16(std::uint64_t v) {
  std::ostringstream o;
  o << "0x" << std::hex << std::setw(16) << std::setfill('0') << v;
  return o.str();
}

} // namespace

TEST_CASE("replay: random operations on two areas (order_per_bit 0 and 9) against the reference, every one matched",
          "[replay][areas][property]") {
  rc::prop("two areas, random interleaving", [] {
    const unsigned huge_mib = *rc::gen::inRange(1u, 33u) * 2;        // 2..64 MiB, a multiple of 2 MiB (512 pages)
    const unsigned def_opb = *rc::gen::inRange(0u, 10u);
    const cma::page_count def_count = *rc::gen::inRange<cma::page_count>(1, 65) << std::max(def_opb, 8u);
    const cma::pfn_t huge_base = 0x80000 + *rc::gen::inRange(0u, 64u) * 512;
    const cma::pfn_t def_base = 0xc0000 + *rc::gen::inRange(0u, 256u) * 512;
    std::vector<gen_area> areas{{"hugetlb0", huge_base, cma::page_count{huge_mib} << 8, 9},
                                {"reserved", def_base, def_count, def_opb}};
    const auto prof = cmatest::prof("6.12");
    std::vector<cma::reference_allocator> kernel;
    for (const auto& a : areas) kernel.emplace_back(a.name, cma::memrange_spec{a.base, a.count}, a.opb, prof);
    std::ostringstream dmesg, trace;
    dmesg << "[    0.000000] Linux version 6.12.0-rc (gen) #1 SMP\n"
          << "[    0.000000] hugetlb_cma: reserve " << huge_mib << " MiB, up to " << huge_mib << " MiB per node\n"
          << "[    0.000000] cma: Reserved " << huge_mib << " MiB at " << addr16(huge_base << 12) << " on node 0\n"
          << "[    0.000000] hugetlb_cma: reserved " << huge_mib << " MiB on node 0\n"
          << "[    0.000000] Kernel command line: console=ttyAMA0\n";
    trace << "# tracer: nop\n#\n";
    std::vector<std::vector<std::pair<cma::pfn_t, cma::page_count>>> live(2);
    std::map<std::string, std::uint64_t> ops;
    double t = 1.0;
    const auto line = [&](const std::string& what) {
      t += 0.0001;
      trace << "             rig-100     [000] .....     " << std::fixed << std::setprecision(6) << t << ": " << what << "\n";
    };
    const int n = *rc::gen::inRange(1, 120);
    for (int i = 0; i < n; ++i) {
      const std::size_t ai = *rc::gen::inRange<std::size_t>(0, 2);
      auto& k = kernel[ai];
      const auto& a = areas[ai];
      if (!live[ai].empty() && *rc::gen::inRange(0, 3) == 0) { // release a live allocation
        const std::size_t j = *rc::gen::inRange<std::size_t>(0, live[ai].size());
        const auto [pfn, count] = live[ai][j];
        live[ai].erase(live[ai].begin() + static_cast<std::ptrdiff_t>(j));
        RC_ASSERT(k.release(pfn, count).ok);
        line("cma_release: name=" + a.name + " pfn=" + hex0(pfn) + " page=00000000deadbeef count=" + std::to_string(count));
      } else {
        const cma::page_count count = *rc::gen::inRange<cma::page_count>(1, (cma::page_count{1} << (a.opb + 5)) + 1);
        const unsigned align = *rc::gen::inRange(0u, 13u);
        line("cma_alloc_start: name=" + a.name + " count=" + std::to_string(count) + " align=" + std::to_string(align));
        const auto r = k.alloc(count, align);
        if (r.ok()) live[ai].emplace_back(r.pfn, count);
        line("cma_alloc_finish: name=" + a.name + " pfn=" + hex0(r.ok() ? r.pfn : ~cma::pfn_t{0}) +
             " page=" + (r.ok() ? "00000000cafef00d" : "0000000000000000") + " count=" + std::to_string(count) +
             " align=" + std::to_string(align) + " errorno=" + std::to_string(r.ok() ? 0 : r.err));
      }
      ++ops[a.name];
    }
    cma::replay_options opt;
    opt.area = cma::area_spec{"reserved", def_base << 12, def_count << 12, def_opb};
    const auto rep = replay_texts({dmesg.str(), trace.str()}, opt);
    RC_ASSERT(rep.unrecognised_total == 0u);
    RC_ASSERT(rep.count_of(cma::verdict::matched) == rep.op_count());
    RC_ASSERT(rep.op_count() == static_cast<std::uint64_t>(n));
    RC_ASSERT(rep.areas.size() == 2u);
    for (std::size_t ai = 0; ai < 2; ++ai) {
      const auto* got = area_named(rep, areas[ai].name);
      RC_ASSERT(got != nullptr);
      RC_ASSERT(got->base_pfn == areas[ai].base);
      RC_ASSERT(got->order_per_bit == areas[ai].opb);
      RC_ASSERT(got->op_count() == ops[areas[ai].name]);
      RC_ASSERT(got->free == kernel[ai].free_pages());
      RC_ASSERT(got->maxchunk == kernel[ai].maxchunk());
    }
  });
}
