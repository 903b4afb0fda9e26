// tests/test_state_checks.cpp — lines that print the area's state, against the model
// (replay/state_checks.hpp): 6.15+'s show_areas dump over several lines, range by range.
//
// mm/cma.c cma_debug_show_areas() on 6.15+ (one struct cma_memrange per range) prints
//   cma: number of available pages:
//   cma: range 0: +5@35+4@44+…           (one line per range: LEN pages @ BIT, '+' unless BIT is 0)
//   cma:
//   => 2377 free of 12288 total pages    (pr_cont after pr_info("\n"): no prefix; F = available_count)
// The real dumps: tests/data/recorded/rand-7.3-cma48M (Debian 7.3.4 arm64, `cma=48M`) and
// toolarge-7.3-cma16M.  Expected counts come from the dmesg text, counted here.
#include "helpers.hpp"
#include "replay_helpers.hpp"

#include <cma/replay/replay.hpp>

#include <catch2/catch.hpp>

#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

using cmatest::replay_texts;
using cmatest::lines_of;

std::string join(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

/// The dumps' total lines ("=> F free of T total pages"), counted from the text.
std::size_t dumps_in(const std::string& dmesg) {
  static const std::regex total(R"(^\[ *[0-9.]+\] => [0-9]+ free of [0-9]+ total pages$)");
  std::size_t n = 0;
  for (const auto& l : lines_of(dmesg)) n += std::regex_match(l, total);
  return n;
}

std::vector<cma::state_check> show_areas_checks(const cma::replay_report& r) {
  std::vector<cma::state_check> out;
  for (const auto& c : r.checks)
    if (c.what == "show_areas") out.push_back(c);
  return out;
}

struct recording {
  std::string dmesg, trace;
};
recording read_recording(const std::string& dir) {
  return {cmatest::read_fixture("recorded/" + dir + "/dmesg.txt"), cmatest::read_fixture("recorded/" + dir + "/trace.txt")};
}

/// The index (0-based) of the first dump's range line in `lines`.
std::size_t first_range_line(const std::vector<std::string>& lines) {
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (lines[i].find("] cma: range 0: ") != std::string::npos) return i;
  FAIL("no 'cma: range 0:' line");
  return 0;
}

/// The ranges of `area` as the kernel would print them (what the parser gives).
std::vector<cma::ev::show_areas_range> printed_ranges(const cma::allocator& area) {
  std::vector<cma::ev::show_areas_range> out(area.ranges().size());
  for (unsigned i = 0; i < out.size(); ++i) out[i].range = i;
  for (const auto& r : area.free_runs()) out[r.range].runs.push_back({r.pages, r.bitmap_no});
  return out;
}

} // namespace

TEST_CASE("replay: every 6.15+ show_areas dump of the 7.3 recordings is checked range by range, and all pass",
          "[replay][state][show_areas]") {
  for (const auto& [dir, want] : {std::pair{"rand-7.3-cma48M", std::size_t{13}}, std::pair{"toolarge-7.3-cma16M", std::size_t{2}}}) {
    CAPTURE(dir);
    const auto rec = read_recording(dir);
    REQUIRE(dumps_in(rec.dmesg) == want); // as counted in the text (README of tests/data/recorded)
    // the folder's order (dmesg first: streamed) and the trace first (the dumps come too late: batch)
    for (const auto& order : {std::vector<std::string>{rec.dmesg, rec.trace}, std::vector<std::string>{rec.trace, rec.dmesg}}) {
      const auto r = replay_texts(order);
      const auto checks = show_areas_checks(r);
      CHECK(checks.size() == want);
      for (const auto& c : checks) {
        CAPTURE(c.where.line, c.detail);
        CHECK(c.ok);
        CHECK(c.detail.find("free runs of 1 range(s)") != std::string::npos);
      }
      CHECK(r.all_matched());
    }
  }
}

TEST_CASE("replay: one run length edited in a copy of rand-7.3's dmesg fails that dump's show_areas check",
          "[replay][state][show_areas]") {
  const auto rec = read_recording("rand-7.3-cma48M");
  auto lines = lines_of(rec.dmesg);
  const auto at = first_range_line(lines);
  // "[    5.507930] cma: range 0: +5@35+4@44+1@63+43@85+…": the 4th run, 43 pages at bit 85, made 44.
  const std::string run = "+43@85+";
  const auto pos = lines[at].find(run);
  REQUIRE(pos != std::string::npos);
  lines[at].replace(pos, run.size(), "+44@85+");
  const auto r = replay_texts({join(lines), rec.trace});
  const auto checks = show_areas_checks(r);
  REQUIRE(checks.size() == 13);
  std::size_t failed = 0;
  for (const auto& c : checks) {
    if (c.ok) continue;
    ++failed;
    CHECK(c.where.file == 0);
    CHECK(c.where.line == at + 1);
    CHECK(c.detail.find("range 0, run 4: kernel 44@85, model 43@85") != std::string::npos);
  }
  CHECK(failed == 1);
  CHECK(r.count_of(cma::verdict::diverged) == 0); // the operations still match: the dump is what is wrong
  CHECK_FALSE(r.all_matched());
}

TEST_CASE("replay: a 6.15+ dump's total edited ('=> 2377 free' made 2376) fails its check", "[replay][state][show_areas]") {
  const auto rec = read_recording("rand-7.3-cma48M");
  auto dmesg = rec.dmesg;
  const std::string total = "] => 2377 free of 12288 total pages";
  const auto pos = dmesg.find(total);
  REQUIRE(pos != std::string::npos);
  dmesg.replace(pos, total.size(), "] => 2376 free of 12288 total pages");
  const auto r = replay_texts({dmesg, rec.trace});
  std::size_t failed = 0;
  for (const auto& c : show_areas_checks(r))
    if (!c.ok) {
      ++failed;
      CHECK(c.detail == "kernel: => 2376 free of 12288 total pages | model: => 2377 free of 12288 total pages");
    }
  CHECK(failed == 1);
}

TEST_CASE("replay: a 6.15+ dump cut before its total line is said, not checked", "[replay][state][show_areas]") {
  const auto rec = read_recording("rand-7.3-cma48M");
  auto lines = lines_of(rec.dmesg);
  const auto at = first_range_line(lines);
  REQUIRE(lines[at + 2].find("] => ") != std::string::npos);
  lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(at + 2)); // the first dump's "=> … total pages"
  const auto r = replay_texts({join(lines), rec.trace});
  const auto checks = show_areas_checks(r);
  CHECK(checks.size() == 12);
  for (const auto& c : checks) CHECK(c.ok);
  bool said = false;
  for (const auto& n : r.notes)
    said = said || n.find("show_areas dump at input 0, line " + std::to_string(at + 1) +
                          " (1 range line(s)) has no '=> F free of T total pages' line: not checked") != std::string::npos;
  CHECK(said);
}

// ---------------------------------------------------------------- one dump, by hand
// A 7.3 area of two ranges:
//   range 0: pfn 0x40000, 1024 pages   [ used 0–99 | free 100–1023 ]
//   range 1: pfn 0x80000,  512 pages   [ free 0–511 ]
// Expect: the dump the model would print passes; a run under the wrong range, a missing
// range line, a wrong total, or a 6.12 model fail, each saying where.
TEST_CASE("check_show_areas_ranges: each range's runs and the total against a two-range 7.3 area", "[state][show_areas]") {
  cma::allocator area("test", std::vector<cma::memrange_spec>{{0x40000, 1024}, {0x80000, 512}}, 0, cmatest::prof("7.3"));
  REQUIRE(area.alloc(100, 0).ok());
  const auto printed = printed_ranges(area);
  REQUIRE(printed.size() == 2);
  REQUIRE(printed[0].runs.size() == 1);
  CHECK(printed[0].runs[0].len == 924);
  CHECK(printed[0].runs[0].at == 100);
  const cma::ev::show_areas_total total{area.available_count(), area.count()};
  const cma::ev::source where{0, 7, std::nullopt};
  using cma::replay_detail::check_show_areas_ranges;

  const auto ok = check_show_areas_ranges(area, printed, total, where);
  CHECK(ok.ok);
  CHECK(ok.what == "show_areas");
  CHECK(ok.where.line == 7);
  CHECK(ok.detail == "free runs of 2 range(s) and '=> 1436 free of 1536 total pages' as the model has them");

  auto swapped = printed;
  std::swap(swapped[0].runs, swapped[1].runs);
  const auto bad = check_show_areas_ranges(area, swapped, total, where);
  CHECK_FALSE(bad.ok);
  CHECK(bad.detail == "kernel: range 0: 512@0 | model: range 0: +924@100 (range 0, run 1: kernel 512@0, model 924@100)");

  const auto missing = check_show_areas_ranges(area, {printed[0]}, total, where);
  CHECK_FALSE(missing.ok);
  CHECK(missing.detail == "the kernel printed no line for range 1 | model: range 1: 512@0");

  const auto wrong_total = check_show_areas_ranges(area, printed, cma::ev::show_areas_total{1437, 1536}, where);
  CHECK_FALSE(wrong_total.ok);
  CHECK(wrong_total.detail == "kernel: => 1437 free of 1536 total pages | model: => 1436 free of 1536 total pages");

  const auto alone = check_show_areas_ranges(area, {}, total, where); // only the total line survived
  CHECK(alone.ok);
  CHECK(alone.detail.find("runs not checked") != std::string::npos);
  CHECK_FALSE(check_show_areas_ranges(area, {}, cma::ev::show_areas_total{0, 1536}, where).ok);

  auto old = cmatest::area(0x40000, 1024, 0, "6.12");
  const auto v612 = check_show_areas_ranges(old, {printed[0]}, cma::ev::show_areas_total{1024, 1024}, where);
  CHECK_FALSE(v612.ok);
  CHECK(v612.detail.find("the model runs the 6.12 rules") != std::string::npos);
}

TEST_CASE("show_areas_dump: range lines wait for the total; a new dump before it drops the old one with a note",
          "[state][show_areas]") {
  cma::allocator area("test", cma::memrange_spec{0x40000, 1024}, 0, cmatest::prof("7.3"));
  const auto printed = printed_ranges(area);
  cma::replay_detail::show_areas_dump dump;
  CHECK_FALSE(dump.unfinished());
  CHECK_FALSE(dump.add(printed[0], {0, 10, std::nullopt}));
  REQUIRE(dump.unfinished());
  CHECK(*dump.unfinished() == "show_areas dump at input 0, line 10 (1 range line(s)) has no '=> F free of T total pages' line: not checked");
  const auto note = dump.add(printed[0], {0, 20, std::nullopt}); // range 0 again: a new dump
  REQUIRE(note);
  CHECK(note->find("line 10") != std::string::npos);
  const auto c = dump.close(area, {1024, 1024}, {0, 22, std::nullopt});
  CHECK(c.ok);
  CHECK(c.where.line == 20); // the dump's first line
  CHECK_FALSE(dump.unfinished());
}
