// tests/test_hugetlb_pool.cpp — device/hugetlb_pool.hpp against real kernels: the hugetlb pool of
// 32 MiB (order 13) and 1 GiB (order 18) pages on the `hugetlb_cma=1G` area (hugetlb0) of Debian's
// 6.1, 6.12 and 7.3 arm64 kernels, recorded in tests/data/recorded/huge-*-cma32M-hugetlb1G.
//
// Everything expected comes from the recording's text: the area's place (dmesg's boot lines; on
// 7.3, which prints no address, iomem.txt's reserved range of that size), the kernel version
// (dmesg's banner), the `huge SIZE N` steps (workload.txt), the hugetlb0 trace events per step
// (trace.txt, split by its "step N:" markers), nr_hugepages / free_hugepages and the vmstat
// cma_alloc_success / cma_alloc_fail counters after each step (steps.txt), and the
// cma_pages_valid lines of pages from outside the area (dmesg.txt, put in the step whose marker
// precedes them in time: ftrace and printk share the clock here).  Only the totals pinned at the
// end are typed in, counted from those files.
#include "helpers.hpp"

#include <cma/boot/hugetlb_cma.hpp>
#include <cma/device/hugetlb_pool.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

using cmatest::lines_of;

using cma::device::hugetlb_pool;

/// One hugetlb0 trace event, as text both sides print the same way.
std::string alloc_event(cma::pfn_t pfn, cma::page_count count, unsigned align, std::optional<int> err) {
  std::ostringstream o;
  o << "alloc pfn=0x" << std::hex << pfn << std::dec << " count=" << count << " align=" << align;
  if (err) o << " errorno=" << *err;
  return o.str();
}
std::string release_event(cma::pfn_t pfn, cma::page_count count) {
  std::ostringstream o;
  o << "release pfn=0x" << std::hex << pfn << std::dec << " count=" << count;
  return o.str();
}

struct step_line {
  std::string cmd;
  std::optional<std::uint64_t> nr, free;
  std::uint64_t alloc_success = 0, alloc_fail = 0;
};

struct pool_recording {
  std::string name;
  cma::kernel_version version;
  cma::pfn_t hugetlb_base = 0;
  cma::page_count hugetlb_count = 0;
  std::vector<std::string> commands;                         ///< step n is commands[n - 1]
  std::map<unsigned, step_line> steps;                       ///< @@STEP lines
  std::map<unsigned, std::vector<std::string>> events;       ///< hugetlb0 finish / release events per step
  std::map<unsigned, unsigned> starts;                       ///< hugetlb0 cma_alloc_start per step
  std::map<unsigned, unsigned> pages_valid;                  ///< cma_pages_valid lines per step
};

pool_recording read_pool_recording(const std::string& name) {
  pool_recording r;
  r.name = name;
  const std::string dir = "recorded/" + name + "/";
  const auto dmesg = lines_of(cmatest::read_fixture(dir + "dmesg.txt"));

  // Version: the banner.  The area: the "cma: Reserved …" line just before "hugetlb_cma: reserved
  // N MiB on node 0" (6.1/6.12: "at 0x…"; 7.3: "in 1 range", no address).
  static const std::regex banner(R"(Linux version (\S+))");
  static const std::regex reserved_at(R"(cma: Reserved (\d+) MiB at 0x([0-9a-f]+))");
  static const std::regex hugetlb_reserved(R"(hugetlb_cma: reserved (\d+) MiB on node 0)");
  std::optional<std::string> last_reserved;
  std::smatch m;
  for (const auto& l : dmesg) {
    if (std::regex_search(l, m, banner) && r.version.major == 0) r.version = *cma::kernel_version::parse(m[1].str());
    if (l.find("cma: Reserved ") != std::string::npos) last_reserved = l;
    if (std::regex_search(l, m, hugetlb_reserved)) {
      r.hugetlb_count = std::stoull(m[1].str()) << (20 - cma::page_shift);
      REQUIRE(last_reserved);
      std::smatch a;
      if (std::regex_search(*last_reserved, a, reserved_at)) {
        CHECK(std::stoull(a[1].str()) << (20 - cma::page_shift) == r.hugetlb_count);
        r.hugetlb_base = std::stoull(a[2].str(), nullptr, 16) >> cma::page_shift;
      } else { // 7.3: the one reserved iomem range of exactly that size
        static const std::regex iomem(R"(^\s*([0-9a-f]+)-([0-9a-f]+) : reserved)");
        unsigned found = 0;
        for (const auto& il : lines_of(cmatest::read_fixture(dir + "iomem.txt"))) {
          std::smatch i;
          if (!std::regex_search(il, i, iomem)) continue;
          const auto lo = std::stoull(i[1].str(), nullptr, 16), hi = std::stoull(i[2].str(), nullptr, 16);
          if (((hi + 1 - lo) >> cma::page_shift) == r.hugetlb_count) r.hugetlb_base = lo >> cma::page_shift, ++found;
        }
        REQUIRE(found == 1);
      }
    }
  }
  REQUIRE(r.version.major != 0);
  REQUIRE(r.hugetlb_count != 0);

  for (const auto& l : lines_of(cmatest::read_fixture(dir + "workload.txt")))
    if (auto c = cma::formats::workload::command(l)) r.commands.push_back(*c);

  static const std::regex step(R"(^@@STEP (\d+) rc=-?\d+ cmd=(.*?) \| .*cma_alloc_success=(\d+) cma_alloc_fail=(\d+)(?: nr_hugepages=(\d+) free_hugepages=(\d+))?)");
  for (const auto& l : lines_of(cmatest::read_fixture(dir + "steps.txt"))) {
    if (!std::regex_search(l, m, step)) continue;
    step_line s;
    s.cmd = m[2].str();
    s.alloc_success = std::stoull(m[3].str());
    s.alloc_fail = std::stoull(m[4].str());
    if (m[5].matched) s.nr = std::stoull(m[5].str()), s.free = std::stoull(m[6].str());
    r.steps[static_cast<unsigned>(std::stoul(m[1].str()))] = s;
  }

  // The trace: events before the first marker are step 0 (boot).
  static const std::regex marker(R"((\d+\.\d+): tracing_mark_write: step (\d+): )");
  static const std::regex start(R"(: cma_alloc_start: name=hugetlb0 )");
  static const std::regex finish(
      R"(: cma_alloc_finish: name=hugetlb0 pfn=0x([0-9a-f]+) page=\S+ count=(\d+) align=(\d+)(?: errorno=(-?\d+))?)");
  static const std::regex release(R"(: cma_release: name=hugetlb0 pfn=0x([0-9a-f]+) page=\S+ count=(\d+))");
  std::vector<std::pair<double, unsigned>> marks;
  unsigned cur = 0;
  for (const auto& l : lines_of(cmatest::read_fixture(dir + "trace.txt"))) {
    if (std::regex_search(l, m, marker)) {
      cur = static_cast<unsigned>(std::stoul(m[2].str()));
      marks.emplace_back(std::stod(m[1].str()), cur);
    } else if (std::regex_search(l, m, start)) {
      ++r.starts[cur];
    } else if (std::regex_search(l, m, finish)) {
      std::optional<int> err;
      if (m[4].matched) err = std::stoi(m[4].str());
      r.events[cur].push_back(alloc_event(std::stoull(m[1].str(), nullptr, 16), std::stoull(m[2].str()),
                                          static_cast<unsigned>(std::stoul(m[3].str())), err));
    } else if (std::regex_search(l, m, release)) {
      r.events[cur].push_back(release_event(std::stoull(m[1].str(), nullptr, 16), std::stoull(m[2].str())));
    }
  }
  REQUIRE(!marks.empty());

  static const std::regex invalid(R"(^\[\s*(\d+\.\d+)\] cma: cma_pages_valid\(page )");
  for (const auto& l : dmesg) {
    if (!std::regex_search(l, m, invalid)) continue;
    const double t = std::stod(m[1].str());
    unsigned s = 0;
    for (const auto& [mt, n] : marks)
      if (mt <= t) s = n;
    ++r.pages_valid[s];
  }
  return r;
}

/// "huge 32M 4" → {13, 4}; nullopt for any other command.
std::optional<std::pair<unsigned, std::uint64_t>> huge_step(const std::string& cmd) {
  static const std::regex huge(R"(^huge (\d+)([KMG]) (\d+)$)");
  std::smatch m;
  if (!std::regex_match(cmd, m, huge)) return std::nullopt;
  const unsigned shift = m[2] == "K" ? 10 : m[2] == "M" ? 20 : 30;
  const std::uint64_t pages = (std::stoull(m[1].str()) << shift) >> cma::page_shift;
  REQUIRE(std::has_single_bit(pages));
  return std::pair{static_cast<unsigned>(std::countr_zero(pages)), std::stoull(m[3].str())};
}

struct pool_outcome {
  std::uint64_t trace_events = 0, model_events = 0, matched = 0; ///< matched: equal at the same place of its step
  std::uint64_t allocs = 0, failed_allocs = 0, releases = 0, outside_pages = 0;
  unsigned huge_steps = 0, counts_ok = 0;
  unsigned pages_valid_lines = 0;
  std::vector<unsigned> pages_valid_steps;
};

/// Drives the recording's `huge` steps through a pool of `rules` and compares step by step.
pool_outcome replay_huge_steps(const pool_recording& r, const cma::device::hugetlb_pool_rules& rules, bool require) {
  const auto prof = cma::profile::for_version(r.version);
  const unsigned opb = cma::hugetlb_cma_rules_for(r.version).order_per_bit;
  cma::allocator area("hugetlb0", cma::memrange_spec{r.hugetlb_base, r.hugetlb_count}, opb, prof);
  hugetlb_pool pool(rules, {});
  const bool errorno = prof.trace == cma::trace_format::errorno || prof.trace == cma::trace_format::counts;

  pool_outcome o;
  for (const auto& [n, evs] : r.events) o.trace_events += evs.size();
  std::uint64_t prev_success = 0, prev_fail = 0;
  for (unsigned n = 1; n <= r.commands.size(); ++n) {
    const auto& cmd = r.commands[n - 1];
    INFO(r.name << " step " << n << ": " << cmd);
    REQUIRE(r.steps.count(n));
    const auto& sl = r.steps.at(n);
    CHECK(sl.cmd == cmd);
    std::vector<std::string> got;
    unsigned starts = 0, pages_valid = 0;
    std::uint64_t ok_allocs = 0, failed_allocs = 0;
    if (const auto h = huge_step(cmd)) {
      ++o.huge_steps;
      const auto w = pool.set_nr_hugepages(area, h->first, h->second);
      CHECK(pool.is_valid());
      for (const auto& c : w.calls) {
        if (c.kind == cma::device::hugetlb_call_kind::alloc) {
          starts += c.cma.traced_start;
          if (c.cma.traced_finish)
            got.push_back(alloc_event(c.cma.finish_pfn, c.cma.count, c.cma.align,
                                      errorno ? std::optional<int>(c.cma.err) : std::nullopt));
          ++o.allocs;
          (c.cma.ok() ? ok_allocs : failed_allocs)++;
          o.failed_allocs += !c.cma.ok();
          o.outside_pages += c.got && !c.page.in_area;
        } else {
          if (c.traced_release()) got.push_back(release_event(c.page.pfn, cma::page_count{1} << c.order));
          o.releases += c.traced_release();
          pages_valid += c.pages_valid_line();
        }
      }
      // (b) the pool after the write, as sysfs read it back
      const bool counts = sl.nr && *sl.nr == w.nr && sl.free && *sl.free == w.free;
      o.counts_ok += counts;
      if (require) {
        REQUIRE(sl.nr);
        CHECK(w.nr == *sl.nr);
        CHECK(w.free == *sl.free);
        CHECK(pool.nr(h->first) == w.nr);
        CHECK(pool.free(h->first) == w.free);
        // vmstat: this step's cma_alloc calls are all hugetlb0's
        CHECK(sl.alloc_success - prev_success == ok_allocs);
        CHECK(sl.alloc_fail - prev_fail == failed_allocs);
      }
    }
    prev_success = sl.alloc_success;
    prev_fail = sl.alloc_fail;
    // (a) the hugetlb0 trace events of this step, in order (none for module steps)
    const auto it = r.events.find(n);
    const std::vector<std::string> want = it == r.events.end() ? std::vector<std::string>{} : it->second;
    for (std::size_t i = 0; i < std::min(want.size(), got.size()); ++i) o.matched += want[i] == got[i];
    o.model_events += got.size();
    const auto st = r.starts.find(n);
    const auto pv = r.pages_valid.find(n);
    const unsigned want_pv = pv == r.pages_valid.end() ? 0 : pv->second;
    o.pages_valid_lines += pages_valid;
    if (pages_valid) o.pages_valid_steps.push_back(n);
    if (require) {
      CHECK(got == want);
      CHECK(starts == (st == r.starts.end() ? 0u : st->second));
      // (c) cma_pages_valid lines (pages from outside the area) in this step
      CHECK(pages_valid == want_pv);
    }
  }
  if (require) {
    CHECK(r.events.count(0) == 0); // nothing on hugetlb0 before the first step
    CHECK(r.pages_valid.count(0) == 0);
  }
  return o;
}

struct pinned {
  const char* name;
  unsigned allocs, failed, releases, outside, pages_valid;
  std::vector<unsigned> pages_valid_steps;
};

} // namespace

TEST_CASE("hugetlb_pool: every hugetlb0 event of the real 6.1 / 6.12 / 7.3 recordings, step by step",
          "[hugetlb_pool]") {
  // Counted from the recordings (trace.txt / dmesg.txt); README: 82 cma_alloc (6.1: 8 failed;
  // 6.12, 7.3: 4) and 74 / 78 / 78 cma_release on hugetlb0.  6.1's area (0xbf800000) holds 31
  // 32 MiB pages and no 1 GiB page: `huge 32M 34` takes 3 from outside, freed at 34 → 16 (after
  // the area's 15, oldest first); 6.12 and 7.3 take 2, freed at 16 → 0 before the area's 14.
  const pinned p = GENERATE(values<pinned>({
      {"huge-6.1-cma32M-hugetlb1G", 82, 8, 74, 3, 3, {21}},
      {"huge-6.12-cma32M-hugetlb1G", 82, 4, 78, 2, 2, {22}},
      {"huge-7.3-cma32M-hugetlb1G", 82, 4, 78, 2, 0, {}},
  }));
  const auto r = read_pool_recording(p.name);
  const auto rules = cma::device::hugetlb_pool_rules::for_version(r.version);
  const auto o = replay_huge_steps(r, rules, true);
  INFO(p.name << ": kernel " << r.version.str() << ", hugetlb0 at pfn 0x" << std::hex << r.hugetlb_base << std::dec
               << " (" << r.hugetlb_count << " pages)");
  INFO("events matched " << o.matched << " / " << o.trace_events << " (model " << o.model_events << "), "
                          << o.huge_steps << " huge steps, nr/free right in " << o.counts_ok << ", cma_alloc "
                          << o.allocs << " (" << o.failed_allocs << " failed), cma_release " << o.releases
                          << ", outside pages " << o.outside_pages << ", cma_pages_valid lines "
                          << o.pages_valid_lines);
  CHECK(o.matched == o.trace_events);
  CHECK(o.model_events == o.trace_events);
  CHECK(o.trace_events == p.allocs + p.releases);
  CHECK(o.allocs == p.allocs);
  CHECK(o.failed_allocs == p.failed);
  CHECK(o.releases == p.releases);
  CHECK(o.outside_pages == p.outside);
  CHECK(o.pages_valid_lines == p.pages_valid);
  CHECK(o.pages_valid_steps == p.pages_valid_steps);
  CHECK(o.huge_steps == 18); // the workload's `huge` lines
  CHECK(o.counts_ok == 18);
}

TEST_CASE("hugetlb_pool: the comparison catches another version's free-list rules", "[hugetlb_pool]") {
  // Planted bugs: 6.12's recording under 6.1's enqueue order, 6.1's under 6.12's, 7.3's with
  // cma_release tried for outside pages.  Each must disagree with the recording somewhere.
  // the recording replayed with its version's rules, batched_enqueue as given
  const auto with_enqueue = [](const char* name, bool batched) {
    const auto r = read_pool_recording(name);
    auto rules = cma::device::hugetlb_pool_rules::for_version(r.version);
    rules.batched_enqueue = batched;
    return replay_huge_steps(r, rules, false);
  };
  SECTION("6.12 with per-page enqueue (6.1's rule) frees the other end of the pool") {
    const auto o = with_enqueue("huge-6.12-cma32M-hugetlb1G", false);
    INFO("matched " << o.matched << " / " << o.trace_events);
    CHECK(o.matched < o.trace_events);
  }
  SECTION("6.1 with batched enqueue (6.12's rule)") {
    const auto o = with_enqueue("huge-6.1-cma32M-hugetlb1G", true);
    INFO("matched " << o.matched << " / " << o.trace_events);
    CHECK(o.matched < o.trace_events);
  }
  SECTION("7.3 offering outside pages to cma_release (≤ 6.14's rule) prints lines 7.3 does not") {
    const auto r = read_pool_recording("huge-7.3-cma32M-hugetlb1G");
    auto rules = cma::device::hugetlb_pool_rules::for_version(r.version);
    rules.cma_flag_on_folio = false;
    const auto o = replay_huge_steps(r, rules, false);
    CHECK(o.pages_valid_lines == 2);
    CHECK(r.pages_valid.empty());
  }
}

TEST_CASE("hugetlb_pool: a 6.12 pool shrinks from the head of its free list, the oldest pages, newest of them first",
          "[hugetlb_pool]") {
  //   area 0x80000, 64 MiB = 8 windows of 32 MiB (order 13, 8192 pages each)
  //   write 3:  |A|B|C|.|.|.|.|.|   free list (head first) A B C (6.7+: the batch in order)
  //   write 1:  |.|.|C|.|.|.|.|.|   takes A, B from the head; page_list B A: releases B then A
  // Expect releases 0x82000, 0x80000 on 6.12; 6.1 (head = newest) releases B, C ascending.
  for (const char* v : {"6.12", "6.1"}) {
    const auto kv = *cma::kernel_version::parse(v);
    cma::allocator area("hugetlb0", cma::memrange_spec{0x80000, 8 * 8192}, 9, cma::profile::for_version(kv));
    hugetlb_pool pool(kv);
    const auto up = pool.set_nr_hugepages(area, 13, 3);
    REQUIRE(up.calls.size() == 3);
    CHECK(pool.nr(13) == 3);
    const auto down = pool.set_nr_hugepages(area, 13, 1);
    std::vector<cma::pfn_t> released;
    for (const auto& c : down.calls) released.push_back(c.page.pfn);
    INFO("kernel " << v);
    if (std::string(v) == "6.12") CHECK(released == std::vector<cma::pfn_t>{0x82000, 0x80000});
    else CHECK(released == std::vector<cma::pfn_t>{0x82000, 0x84000});
    CHECK(pool.nr(13) == 1);
    CHECK(pool.free(13) == 1);
    CHECK(area.used_bits_pages() == 8192);
    CHECK(pool.is_valid());
  }
}

TEST_CASE("hugetlb_pool: a page neither the area nor the page allocator gives ends the growth", "[hugetlb_pool]") {
  // Expect: 2 pages from a 64 MiB area, the third cma_alloc fails; with outside_max_order 12
  // (an order-13 page cannot be had outside either) the loop stops at 2, nothing more asked.
  const auto kv = *cma::kernel_version::parse("7.3");
  cma::allocator area("hugetlb0", cma::memrange_spec{0x80000, 2 * 8192}, 9, cma::profile::for_version(kv));
  cma::device::hugetlb_pool_options opt;
  opt.outside_max_order = 12;
  hugetlb_pool pool(kv, opt);
  const auto w = pool.set_nr_hugepages(area, 13, 5);
  REQUIRE(w.calls.size() == 3);
  CHECK(w.calls[2].outside_tried);
  CHECK_FALSE(w.calls[2].got);
  CHECK(w.nr == 2);
  CHECK(w.ret == 0);
  // With the default assumption the same write gets 5, three of them from outside (ids 0..2).
  cma::allocator area2("hugetlb0", cma::memrange_spec{0x80000, 2 * 8192}, 9, cma::profile::for_version(kv));
  hugetlb_pool pool2(kv);
  const auto w2 = pool2.set_nr_hugepages(area2, 13, 5);
  CHECK(w2.nr == 5);
  CHECK(w2.calls.size() == 5);
  CHECK(w2.calls[4].page.outside_id == 2);
  CHECK(pool2.is_valid());
}
