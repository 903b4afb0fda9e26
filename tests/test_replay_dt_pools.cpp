// tests/test_replay_dt_pools.cpp — issue 14: device-tree CMA pools as areas of the replay
// (replay/boot_facts.hpp, replayer.hpp) and, in a pr_debug-only replay of several areas,
// releases routed to the area of the allocation that returned their page (kmsg_replay.hpp).
//
// DT pools: tests/data/field/dt/ holds the real 6.1 recording rand-6.1-cma64M with its
// "cma: Reserved 64 MiB at …" line replaced by the two lines a device-tree pool of the same
// base and size prints, and name=reserved by the node's name (how: that folder's README).
// Releases: the real two-area recordings huge-6.12-* and huge-7.3-* (tests/data/recorded/),
// their dmesg.txt alone; the operations per area are counted here from the dmesg text.
#include "helpers.hpp"
#include "replay_helpers.hpp"

#include <cma/replay/replay.hpp>

#include <catch2/catch.hpp>

#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

using cmatest::replay_texts;
using cmatest::replace_all;
using cmatest::area_named;

const std::string dt_dir = "field/dt/";
const std::string pool_line = "created CMA memory pool at 0x000000007ac00000, size 64 MiB";

} // namespace

TEST_CASE("replay: a device-tree CMA pool is the area, named after its node (derived from a real 6.1 recording)",
          "[replay][areas][dt]") {
  const auto trace = cmatest::read_fixture(dt_dir + "rand-6.1-linux-cma.trace.txt");
  const auto dmesg = cmatest::read_fixture(dt_dir + "rand-6.1-linux-cma.dmesg.txt");
  REQUIRE(dmesg.find(pool_line) != std::string::npos);
  REQUIRE(dmesg.find("cma: Reserved") == std::string::npos);
  const auto want = cmatest::traced_ops_total(trace);
  REQUIRE(want == 765); // grep -cE ': (cma_alloc_finish|cma_release): name=' on the trace

  // the original recording, as recorded: every operation matched on "reserved"
  const auto orig = replay_texts({cmatest::read_fixture("recorded/rand-6.1-cma64M/trace.txt"),
                                  cmatest::read_fixture("recorded/rand-6.1-cma64M/dmesg.txt")});
  REQUIRE(orig.count_of(cma::verdict::matched) == want);

  const auto r = replay_texts({trace, dmesg});
  CHECK(r.area_known);
  CHECK(r.area_name == "linux,cma");
  CHECK(r.base_pfn == 0x7ac00);
  CHECK(r.count == 16384);
  CHECK(r.order_per_bit == 0);
  CHECK(r.area_source.find("device tree") != std::string::npos);
  REQUIRE(r.areas.size() == 1);
  CHECK(r.count_of(cma::verdict::matched) == want);
  CHECK(r.count_of(cma::verdict::matched) == orig.count_of(cma::verdict::matched));
  CHECK(r.count_of(cma::verdict::diverged) == 0);
  CHECK(r.count_of(cma::verdict::unchecked) == 0);
  CHECK(r.count_of(cma::verdict::inferred) == 0);
  CHECK(r.failed_checks() == 0);
  for (const auto& n : r.notes) CHECK(n.find("taken as the default area") == std::string::npos); // it is named linux,cma

  SECTION("its base one pageblock (512 pages) higher: the replay diverges") {
    const auto shifted = replace_all(dmesg, pool_line, "created CMA memory pool at 0x000000007ae00000, size 64 MiB");
    REQUIRE(shifted != dmesg);
    const auto s = replay_texts({trace, shifted});
    CHECK(s.area_name == "linux,cma");
    CHECK(s.base_pfn == 0x7ae00);
    CHECK(s.count_of(cma::verdict::diverged) > 0);
    REQUIRE(s.first_diverged);
    CHECK(s.count_of(cma::verdict::matched) < want);
  }
  SECTION("streamed with the dmesg first, the same verdicts") {
    const auto s = replay_texts({dmesg, trace});
    CHECK(s.area_name == "linux,cma");
    CHECK(s.count_of(cma::verdict::matched) == want);
    CHECK(s.count_of(cma::verdict::diverged) == 0);
  }
  SECTION("a node not named linux,cma: the first pool is the default area, said so") {
    const auto t2 = replace_all(trace, " name=linux,cma ", " name=cma ");
    const auto d2 = replace_all(replace_all(dmesg, "initialized node linux,cma,", "initialized node cma,"),
                                "cma_alloc: linux,cma:", "cma_alloc: cma:");
    const auto s = replay_texts({t2, d2});
    CHECK(s.area_name == "cma");
    CHECK(s.count_of(cma::verdict::matched) == want);
    bool said = false;
    for (const auto& n : s.notes) said = said || n.find("pool cma is taken as the default area") != std::string::npos;
    CHECK(said);
  }
  SECTION("a DMA pool (not reusable) is not a CMA area") {
    const auto d2 = replace_all(dmesg, "created CMA memory pool", "created DMA memory pool");
    const auto s = replay_texts({trace, d2});
    CHECK(s.area_name != "linux,cma");
    CHECK(area_named(s, "linux,cma") == nullptr);
  }
  SECTION("operations that name no area go to the default DT pool") {
    // the pr_debug lines alone: 6.1 prints no area name in them
    const auto s = replay_texts({dmesg});
    CHECK(s.area_name == "linux,cma");
    CHECK(s.count_of(cma::verdict::matched) > 0);
    CHECK(s.count_of(cma::verdict::diverged) == 0);
    CHECK(s.count_of(cma::verdict::unchecked) == 0);
  }
}

TEST_CASE("replay: a device-tree pool beside the 'cma: Reserved' default area is an area of its own", "[replay][areas][dt]") {
  // the original recording with a second pool (a node of its own, outside the default area)
  auto dmesg = cmatest::read_fixture("recorded/rand-6.1-cma64M/dmesg.txt");
  const std::string reserved = "[    0.000000] cma: Reserved 64 MiB at 0x000000007ac00000\n";
  REQUIRE(dmesg.find(reserved) != std::string::npos);
  dmesg = replace_all(dmesg, reserved,
                      reserved + "[    0.000000] Reserved memory: created CMA memory pool at 0x0000000070000000, size 16 MiB\n"
                                 "[    0.000000] OF: reserved mem: initialized node vpu, compatible id shared-dma-pool\n");
  const auto trace = cmatest::read_fixture("recorded/rand-6.1-cma64M/trace.txt");
  const auto r = replay_texts({trace, dmesg});
  CHECK(r.area_name == "reserved");
  REQUIRE(r.areas.size() == 2);
  const auto* vpu = area_named(r, "vpu");
  REQUIRE(vpu);
  CHECK(vpu->base_pfn == 0x70000);
  CHECK(vpu->count == 4096);
  CHECK(vpu->order_per_bit == 0);
  CHECK(vpu->op_count() == 0);
  CHECK(r.count_of(cma::verdict::matched) == cmatest::traced_ops_total(trace));
  CHECK(r.count_of(cma::verdict::diverged) == 0);

  SECTION("one that shares pages with the default area is not replayed, said so") {
    const auto d2 = replace_all(dmesg, "pool at 0x0000000070000000, size 16 MiB", "pool at 0x000000007b000000, size 16 MiB");
    REQUIRE(d2 != dmesg);
    const auto s = replay_texts({trace, d2});
    CHECK(s.areas.size() == 1);
    CHECK(area_named(s, "vpu") == nullptr);
    bool said = false;
    for (const auto& n : s.notes) said = said || n.find("pool vpu not replayed: it shares pages with the area reserved") != std::string::npos;
    CHECK(said);
    CHECK(s.count_of(cma::verdict::matched) == cmatest::traced_ops_total(trace));
  }
}

namespace {

/// A pr_debug-only log's operations per area, counted from its text: each call line names
/// its area (6.6+ "name: %s"), its "returned %p" line gives the page, and a release line
/// (6.12 cma_release, 7.x __cma_release_frozen) of that page is the same area's.
std::map<std::string, std::uint64_t> pr_debug_ops(const std::string& dmesg, std::uint64_t& releases) {
  static const std::regex call(R"(cma: \S*cma_alloc\S*\(cma \S+, name: ([^,]+), count )");
  static const std::regex ret(R"(cma: \S*cma_alloc\S*\(\): returned (\S+))");
  static const std::regex rel(R"(cma: (?:cma_release|__cma_release_frozen)\(page (\S+), count )");
  std::map<std::string, std::uint64_t> n;
  std::map<std::string, std::string> live;
  std::string last;
  std::istringstream in(dmesg);
  std::smatch m;
  releases = 0;
  for (std::string l; std::getline(in, l);) {
    if (std::regex_search(l, m, call)) ++n[last = m[1]];
    else if (std::regex_search(l, m, ret)) live[m[1]] = last;
    else if (std::regex_search(l, m, rel)) {
      ++releases;
      if (auto it = live.find(m[1]); it != live.end()) ++n[it->second], live.erase(it);
      else ++n["(unknown)"];
    }
  }
  return n;
}

} // namespace

TEST_CASE("replay: pr_debug lines alone, two areas: each release goes to the area that returned its page",
          "[replay][areas][kmsg]") {
  for (const char* dir : {"huge-6.12-cma32M-hugetlb1G", "huge-7.3-cma32M-hugetlb1G"}) {
    CAPTURE(dir);
    const auto dmesg = cmatest::read_fixture(std::string("recorded/") + dir + "/dmesg.txt");
    std::uint64_t releases = 0;
    const auto want = pr_debug_ops(dmesg, releases);
    CAPTURE(want);
    REQUIRE(want.count("reserved"));
    REQUIRE(want.count("hugetlb0"));
    REQUIRE(want.count("(unknown)") == 0);
    REQUIRE(releases >= 74); // recorded/README: 74 / 78 / 78 cma_release on hugetlb0 (plus the module's)
    const auto r = replay_texts({dmesg});
    REQUIRE(r.areas.size() == 2);
    const auto* res = area_named(r, "reserved");
    const auto* huge = area_named(r, "hugetlb0");
    REQUIRE(res);
    REQUIRE(huge);
    CHECK(res->verdicts[0] == want.at("reserved"));
    CHECK(huge->verdicts[0] == want.at("hugetlb0"));
    CHECK(res->op_count() == want.at("reserved"));
    CHECK(huge->op_count() == want.at("hugetlb0"));
    CHECK(r.count_of(cma::verdict::diverged) == 0);
    CHECK(r.count_of(cma::verdict::inferred) == 0);
    CHECK(r.count_of(cma::verdict::unchecked) == 0);
  }
}
