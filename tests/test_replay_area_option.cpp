// tests/test_replay_area_option.cpp — `--area` given more than once (replay/options.hpp:
// replay_options::area and more_areas, find_area_conflict; replay/replayer.hpp).
//
// The real data: tests/data/recorded/huge-6.1-cma32M-hugetlb1G, a Debian 6.1 arm64 boot with
// `cma=32M hugetlb_cma=1G`.  Its dmesg.txt says
//   cma: Reserved 1024 MiB at 0x00000000bf800000   (then "hugetlb_cma: reserved 1024 MiB on node 0")
//   cma: Reserved 32 MiB at 0x00000000ba800000
// so the areas are reserved [0xba800000, +32 MiB) and hugetlb0 [0xbf800000, +1 GiB), order_per_bit
// 9 (HUGETLB_PAGE_ORDER).  Its trace.txt alone has no boot line: the two areas come from the
// options.  Expected operation counts are counted here from the trace text, not taken from cmasim.
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

const char* const huge61 = "recorded/huge-6.1-cma32M-hugetlb1G";

// Streamed as `cmasim replay` streams it: each event to one replayer as its line is read.
cma::replay_report replay_streamed_once(const std::string& text, const cma::replay_options& opt) {
  cma::replayer r(opt);
  r.end_input(cma::formats::read_log(text, 0, r));
  CHECK(r.streaming()); // the areas and the kernel were known before the first trace event
  auto rep = std::move(r).finish();
  CHECK_FALSE(rep.needs_batch_replay);
  return rep;
}

using cmatest::area_named;
using cmatest::traced_ops;

// The two areas of huge-6.1, as its dmesg's Reserved lines give them.
cma::area_spec reserved_61() { return {"reserved", 0xba800000, std::uint64_t{32} << 20, 0}; }
cma::area_spec hugetlb0_61() { return {"hugetlb0", 0xbf800000, std::uint64_t{1024} << 20, 9}; }

cma::replay_options two_areas() {
  cma::replay_options opt;
  opt.kernel = cma::kernel_version{6, 1, 0};
  opt.area = reserved_61();
  opt.more_areas = {hugetlb0_61()};
  return opt;
}

} // namespace

TEST_CASE("replay: huge-6.1's trace alone with two --area (reserved, hugetlb0) matches every operation of both, as with its dmesg",
          "[replay][areas][area-option]") {
  const auto trace = cmatest::read_fixture(std::string(huge61) + "/trace.txt");
  const auto dmesg = cmatest::read_fixture(std::string(huge61) + "/dmesg.txt");
  REQUIRE(dmesg.find("cma: Reserved 32 MiB at 0x00000000ba800000") != std::string::npos); // the bases used above
  REQUIRE(dmesg.find("cma: Reserved 1024 MiB at 0x00000000bf800000") != std::string::npos);
  const auto want = traced_ops(trace);
  REQUIRE(want.size() == 2);
  REQUIRE(want.at("reserved") > 0);
  REQUIRE(want.at("hugetlb0") > 0);

  const auto with_dmesg = replay_texts({trace, dmesg});
  REQUIRE(with_dmesg.all_matched());

  auto batch = two_areas();
  batch.stream = false;
  for (const auto& [how, r] : {std::pair{"batch", replay_texts({trace}, batch)}, std::pair{"streamed", replay_streamed_once(trace, two_areas())}}) {
    CAPTURE(how);
    CHECK(r.unrecognised_total == 0);
    CHECK(r.area_name == "reserved");
    CHECK(r.area_source == "--area");
    REQUIRE(r.areas.size() == 2);
    for (const char* name : {"reserved", "hugetlb0"}) {
      CAPTURE(name);
      const auto* got = area_named(r, name);
      const auto* ref = area_named(with_dmesg, name);
      REQUIRE(got);
      REQUIRE(ref);
      CHECK(got->source == (std::string(name) == "reserved" ? "" : "--area")); // the default area's source is the report's
      CHECK(got->base_pfn == ref->base_pfn);
      CHECK(got->count == ref->count);
      CHECK(got->order_per_bit == ref->order_per_bit);
      CHECK(got->op_count() == want.at(name));
      CHECK(got->verdicts[0] == got->op_count()); // every one matched
      // the same final state as the replay with the boot lines
      CHECK(got->used == ref->used);
      CHECK(got->free == ref->free);
      CHECK(got->maxchunk == ref->maxchunk);
    }
    CHECK(r.count_of(cma::verdict::matched) == want.at("reserved") + want.at("hugetlb0"));
    CHECK(r.count_of(cma::verdict::unchecked) == 0);
    CHECK(r.all_matched());
  }
}

TEST_CASE("replay: huge-6.1's trace alone with only the default --area leaves hugetlb0's operations unchecked",
          "[replay][areas][area-option]") {
  // Expect: without the second --area the hugetlb0 events have no area (what the second --area fixes).
  const auto trace = cmatest::read_fixture(std::string(huge61) + "/trace.txt");
  const auto want = traced_ops(trace);
  auto opt = two_areas();
  opt.more_areas.clear();
  const auto r = replay_texts({trace}, opt);
  REQUIRE(r.areas.size() == 1);
  CHECK(r.areas[0].op_count() == want.at("reserved"));
  CHECK(r.count_of(cma::verdict::unchecked) == want.at("hugetlb0"));
}

TEST_CASE("replay: an --area named as a boot line's hugetlb area replaces it", "[replay][areas][area-option]") {
  const auto trace = cmatest::read_fixture(std::string(huge61) + "/trace.txt");
  const auto dmesg = cmatest::read_fixture(std::string(huge61) + "/dmesg.txt");
  cma::replay_options opt;
  opt.more_areas = {hugetlb0_61()}; // the default area from the boot lines, hugetlb0 from the option
  const auto same = replay_texts({trace, dmesg}, opt);
  REQUIRE(same.areas.size() == 2);
  CHECK(same.area_source == "boot log");
  const auto* h = area_named(same, "hugetlb0");
  REQUIRE(h);
  CHECK(h->source == "--area");
  CHECK(same.all_matched());
  // Moved up by one 32 MiB page (8192 pages), the option's area is the one replayed: the
  // kernel's pfns are no longer the model's.
  auto moved = hugetlb0_61();
  moved.base += std::uint64_t{32} << 20;
  moved.size -= std::uint64_t{32} << 20;
  opt.more_areas = {moved};
  const auto r = replay_texts({trace, dmesg}, opt);
  const auto* hm = area_named(r, "hugetlb0");
  REQUIRE(hm);
  CHECK(hm->base_pfn == (moved.base >> 12));
  CHECK(hm->verdicts[1] > 0); // diverged
  CHECK_FALSE(r.all_matched());
}

TEST_CASE("find_area_conflict: two specs with one name, or sharing a byte, are named by index", "[replay][area-option]") {
  using cma::area_spec;
  const area_spec res{"reserved", 0xba800000, 32u << 20, 0};
  // Expect: [0xba800000, 0xbc800000) and [0xbc800000, …) only touch: no conflict.
  CHECK_FALSE(cma::find_area_conflict({res, area_spec{"hugetlb0", 0xbc800000, 1u << 20, 0}}));
  CHECK_FALSE(cma::find_area_conflict({res}));
  CHECK_FALSE(cma::find_area_conflict({}));
  // one byte in common (the last page of reserved)
  const auto overlap = cma::find_area_conflict({res, area_spec{"hugetlb0", 0xbc7ff000, 1u << 20, 0}});
  REQUIRE(overlap);
  CHECK(overlap->first == 0);
  CHECK(overlap->second == 1);
  CHECK_FALSE(overlap->same_name);
  // the first pair in order; a later spec that contains an earlier one
  const auto inside = cma::find_area_conflict(
      {area_spec{"a", 0x40000000, 1u << 20, 0}, area_spec{"b", 0x50000000, 1u << 20, 0}, area_spec{"c", 0x4ff00000, 2u << 20, 0}});
  REQUIRE(inside);
  CHECK(inside->first == 1);
  CHECK(inside->second == 2);
  // the same name, apart
  const auto twice = cma::find_area_conflict({res, area_spec{"x", 0x40000000, 1u << 20, 0}, area_spec{"reserved", 0x80000000, 1u << 20, 0}});
  REQUIRE(twice);
  CHECK(twice->first == 0);
  CHECK(twice->second == 2);
  CHECK(twice->same_name);
  // an end past 2^64 does not wrap around to overlap nothing
  CHECK(cma::find_area_conflict({area_spec{"a", 0xfffffffffff00000, 0x200000, 0}, area_spec{"b", 0xfffffffffff80000, 0x1000, 0}}));
}

TEST_CASE("replay: an extra area that shares a name or pages with one already there is ignored, said so",
          "[replay][areas][area-option]") {
  const auto trace = cmatest::read_fixture(std::string(huge61) + "/trace.txt");
  for (const auto& [bad, why] : {std::pair{cma::area_spec{"reserved", 0xbf800000, 1u << 30, 9}, "its name"},
                                 std::pair{cma::area_spec{"hugetlb0", 0xbb000000, 1u << 30, 9}, "pages with the area reserved"}}) {
    CAPTURE(why);
    auto opt = two_areas();
    opt.more_areas = {bad};
    const auto r = replay_texts({trace}, opt);
    CHECK(r.areas.size() == 1);
    bool said = false;
    for (const auto& n : r.notes) said = said || (n.find("--area name=" + bad.name + " ignored") != std::string::npos &&
                                                  n.find(why) != std::string::npos);
    CHECK(said);
  }
}
