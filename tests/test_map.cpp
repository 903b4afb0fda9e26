// tests/test_map.cpp — the area over time (cma/map/timeline.hpp) and its SVG (cma/map/svg.hpp).
#include "helpers.hpp"

#include <cma/map/html.hpp>
#include <cma/map/svg.hpp>
#include <cma/map/timeline.hpp>
#include <cma/replay/replay.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace {

// Both passes over a replay of `texts`, as `cmasim map` runs them.
cma::map::timeline map_of(const std::vector<std::string>& texts, cma::map::limits lim = {}) {
  std::vector<cma::formats::read_result> in;
  for (unsigned i = 0; i < texts.size(); ++i) in.push_back(cma::formats::read_log(texts[i], i));
  cma::map::scope sc;
  cma::replay_options opt;
  opt.on_op = [&](const cma::op_record& o) { sc.on_op(o); };
  const auto r = cma::replay(in, opt);
  REQUIRE(r.area_known);
  REQUIRE(r.all_matched());
  sc.area = r.area_name;
  cma::map::timeline_builder b(cmatest::area(r.base_pfn, r.count, r.order_per_bit, r.kernel.c_str()), sc, lim);
  opt.on_op = [&](const cma::op_record& o) { b.on_op(o); };
  cma::replay(in, opt);
  return std::move(b).finish();
}

std::size_t occurrences(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto i = s.find(what); i != std::string::npos; i = s.find(what, i + 1)) ++n;
  return n;
}

// A small well-formedness check: every tag closed in order, attributes quoted, every '&'
// an entity.  Returns the first problem, or "".
std::string xml_problem(const std::string& s) {
  std::vector<std::string> open;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '&') {
      const auto semi = s.find(';', i);
      const auto ent = s.substr(i, semi == std::string::npos ? 0 : semi - i + 1);
      if (ent != "&amp;" && ent != "&lt;" && ent != "&gt;" && ent != "&quot;") return "bare & at " + std::to_string(i);
      continue;
    }
    if (s[i] != '<') continue;
    const auto end = s.find('>', i);
    if (end == std::string::npos) return "unterminated tag";
    std::string tag = s.substr(i + 1, end - i - 1);
    i = end;
    if (tag.starts_with("?")) continue;
    if (tag.starts_with("/")) {
      if (open.empty() || open.back() != tag.substr(1)) return "</" + tag.substr(1) + "> closes " + (open.empty() ? "nothing" : open.back());
      open.pop_back();
      continue;
    }
    if (occurrences(tag, "\"") % 2 != 0) return "unbalanced quotes in <" + tag + ">";
    if (tag.ends_with("/")) continue;
    open.push_back(tag.substr(0, tag.find_first_of(" \n")));
  }
  return open.empty() ? "" : "<" + open.back() + "> never closed";
}

// A 4 MiB area at pfn 0x80000 (1024 pages), kernel 6.12:
//
//   t=1.0  alloc 256 align 8  -> +0      A  |AAAA....................|
//   t=2.0  alloc 64  align 6  -> +256    B  |AAAAB...................|
//   t=2.5  alloc 32  align 5  -> +352    D  (+320 busy, retried at +352)
//   t=3.0  release +0, 256               A closes
//   t=4.0  alloc 768 align 8  -> -ENOMEM (windows at +0, +256 meet B, +512 runs past the end)
//   t=5.0  alloc 128 align 7  -> +0      C
// Expect 4 spans (A closed at 3.0; B, D, C open at the end, 5.0), one failure at 4.0 of
// 768 pages, one busy window at +320 of 32 pages.
const std::string small_dmesg = "[0.0] Linux version 6.12.117+deb12-arm64 (x)\n"
                          "[0.0] cma: Reserved 4 MiB at 0x0000000080000000\n";
const std::string small_trace =
    "rig-1 [000] ..... 1.000000: cma_alloc_start: name=reserved count=256 align=8\n"
    "rig-1 [000] ..... 1.000100: cma_alloc_finish: name=reserved pfn=0x80000 page=00000000aa000001 count=256 align=8 errorno=0\n"
    "rig-1 [000] ..... 2.000000: cma_alloc_start: name=reserved count=64 align=6\n"
    "rig-1 [000] ..... 2.000100: cma_alloc_finish: name=reserved pfn=0x80100 page=00000000aa000002 count=64 align=6 errorno=0\n"
    "rig-1 [000] ..... 2.500000: cma_alloc_start: name=reserved count=32 align=5\n"
    "rig-1 [000] ..... 2.500050: cma_alloc_busy_retry: name=reserved pfn=0x80140 page=00000000aa000003 count=32 align=5\n"
    "rig-1 [000] ..... 2.500100: cma_alloc_finish: name=reserved pfn=0x80160 page=00000000aa000004 count=32 align=5 errorno=0\n"
    "rig-1 [000] ..... 3.000000: cma_release: name=reserved pfn=0x80000 page=00000000aa000001 count=256\n"
    "rig-1 [000] ..... 4.000000: cma_alloc_start: name=reserved count=768 align=8\n"
    "rig-1 [000] ..... 4.000100: cma_alloc_finish: name=reserved pfn=0xffffffffffffffff page=0000000000000000 count=768 align=8 errorno=-12\n"
    "rig-1 [000] ..... 5.000000: cma_alloc_start: name=reserved count=128 align=7\n"
    "rig-1 [000] ..... 5.000100: cma_alloc_finish: name=reserved pfn=0x80000 page=00000000aa000005 count=128 align=7 errorno=0\n";

} // namespace

TEST_CASE("map: spans, failures and busy windows of a small trace, checked by hand") {
  const auto tl = map_of({small_dmesg, small_trace});
  CHECK(tl.count == 1024);
  CHECK(tl.base_pfn == 0x80000);
  CHECK(tl.seconds);
  CHECK(tl.t0 == Approx(1.0));
  CHECK(tl.t1 == Approx(5.0).margin(0.001));
  CHECK(tl.ops == 6);
  CHECK(tl.common_align == 8);
  CHECK_FALSE(tl.binned);
  REQUIRE(tl.spans.size() == 4);
  CHECK(tl.spans_total == 4);
  const auto& a = tl.spans[0];
  CHECK(a.offset == 0);
  CHECK(a.pages == 256);
  CHECK(a.t_alloc == Approx(1.0001).epsilon(1e-4));
  CHECK(a.t_release == Approx(3.0));
  CHECK_FALSE(a.open_end);
  CHECK(a.cls == 3); // 256 pages: 65-512
  // the rest close at the end, in allocation order
  CHECK(tl.spans[1].offset == 256);
  CHECK(tl.spans[1].pages == 64);
  CHECK(tl.spans[1].cls == 2);
  CHECK(tl.spans[2].offset == 352);
  CHECK(tl.spans[2].pages == 32);
  CHECK(tl.spans[3].offset == 0);
  CHECK(tl.spans[3].pages == 128);
  for (std::size_t i = 1; i < 4; ++i) {
    CHECK(tl.spans[i].open_end);
    CHECK(tl.spans[i].t_release == Approx(tl.t1));
  }
  REQUIRE(tl.failures.size() == 1);
  CHECK(tl.failures_total == 1);
  CHECK(tl.failures[0].count == 768);
  CHECK(tl.failures[0].align == 8);
  CHECK(tl.failures[0].err == -12);
  CHECK(tl.failures[0].t == Approx(4.0).epsilon(1e-4));
  REQUIRE(tl.busy.size() == 1);
  CHECK(tl.busy[0].offset == 320);
  CHECK(tl.busy[0].pages == 32);
  // peak: A + B + D = 352 pages
  CHECK(tl.peak_used == 352);
}

TEST_CASE("map: the fragmentation series follows the area, one sample per operation for a short trace") {
  const auto tl = map_of({small_dmesg, small_trace});
  // the empty area, then after each of the 6 operations (see the diagram above)
  REQUIRE(tl.series.size() == 7);
  const std::vector<cma::page_count> free{1024, 768, 704, 672, 928, 928, 800};
  const std::vector<cma::page_count> largest{1024, 768, 704, 640, 640, 640, 640};
  const std::vector<cma::page_count> aligned{1024, 768, 512, 512, 512, 512, 512}; // windows at 256-page pfns
  for (std::size_t i = 0; i < 7; ++i) {
    INFO(i);
    CHECK(tl.series[i].free == free[i]);
    CHECK(tl.series[i].largest_free == largest[i]);
    CHECK(tl.series[i].largest_aligned == aligned[i]);
  }
}

TEST_CASE("map: the SVG is well-formed and carries one element per span, failure and busy window") {
  const auto tl = map_of({small_dmesg, small_trace});
  const auto svg = cma::map::render_svg(tl, {});
  CHECK(xml_problem(svg) == "");
  CHECK(occurrences(svg, "class=\"span ") == 4);
  CHECK(occurrences(svg, "class=\"failure\"") == 1);
  CHECK(occurrences(svg, "class=\"busy\"") == 1);
  CHECK(occurrences(svg, "class=\"panel-occupancy\"") == 1);
  CHECK(occurrences(svg, "class=\"panel-fragmentation\"") == 1);
  CHECK(occurrences(svg, "class=\"panel-plan\"") == 0);
  CHECK(occurrences(svg, "class=\"series-free\"") == 1);
  CHECK(occurrences(svg, "class=\"series-largest\"") == 1);
  CHECK(occurrences(svg, "class=\"series-aligned\"") == 1);
  CHECK(svg.find("failed: 768 pages (3 MiB) align 8, error -12, at 4") != std::string::npos);
}

TEST_CASE("map: the HTML report inlines the SVG, links each failure row to its marker, escapes the input's text") {
  const auto tl = map_of({small_dmesg, small_trace});
  cma::map::svg_options so;
  so.span_title = [&](std::size_t i) { return "span <" + std::to_string(i) + "> & co"; };
  const auto svg = cma::map::render_svg(tl, so);
  CHECK(xml_problem(svg) == "");
  CHECK(occurrences(svg, "id=\"failure-0\"") == 1);
  CHECK(svg.find("<title>span &lt;0&gt; &amp; co\n") != std::string::npos);
  cma::diagnose::diagnosis d;
  cma::diagnose::finding f;
  f.area = "a<rea>";
  f.count = 768;
  f.err = -12;
  f.occurrences = 1;
  f.explanation = "<script>alert(1)</script> & \"quoted\"";
  f.ev.push_back({1, 2, std::nullopt});
  d.findings.push_back(f);
  cma::map::html_input in;
  in.title = "map of <b>&";
  in.svg = svg;
  in.tl = &tl;
  in.failure_reasons = {"no window <here>"};
  in.diagnosis = &d;
  in.plan = {{"6.1", 0, 16 << 20, 0, 5, 4000, false, true}};
  in.files = {"dmesg<1>.txt", "trace&.txt"};
  const auto html = cma::map::render_html(in);
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(html.find("<?xml") == std::string::npos);               // the SVG inline, its prologue dropped
  CHECK(occurrences(html, "<svg ") == 1);
  CHECK(occurrences(html, "class=\"failure-row\"") == tl.failures.size());
  CHECK(occurrences(html, "href=\"#failure-0\"") == 2);          // the index and the file:line
  CHECK(occurrences(html, "class=\"finding-row\"") == 1);
  CHECK(occurrences(html, "class=\"plan-row\"") == 1);
  CHECK(html.find("<script>alert") == std::string::npos);
  CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot;") != std::string::npos);
  CHECK(html.find("map of &lt;b&gt;&amp;") != std::string::npos);
  CHECK(html.find("a&lt;rea&gt;") != std::string::npos);
  CHECK(html.find("no window &lt;here&gt;") != std::string::npos);
  CHECK(html.find("<script src") == std::string::npos);
  CHECK(html.find("<link") == std::string::npos);
  CHECK(occurrences(html, "<script>") == 1);                      // the one inline script
}

TEST_CASE("map: a plan adds the third panel, non-monotonic points marked") {
  const auto tl = map_of({small_dmesg, small_trace});
  std::vector<cma::map::plan_point> plan{{"6.1", 0, 16 << 20, 0, 5, 4000, false, false}, {"6.1", 0, 24 << 20, 0, 1, 5000, false, false},
                                         {"6.1", 0, 32 << 20, 0, 2, 5000, true, false}, {"6.12", 0, 32 << 20, 0, 0, 5000, false, true}};
  const auto svg = cma::map::render_svg(tl, {}, plan);
  CHECK(xml_problem(svg) == "");
  CHECK(occurrences(svg, "class=\"panel-plan\"") == 1);
  CHECK(occurrences(svg, "class=\"plan-line\"") == 2);
  CHECK(occurrences(svg, "class=\"plan-point\"") == 4);
  CHECK(occurrences(svg, "class=\"non-monotonic\"") == 1);
  CHECK(occurrences(svg, "class=\"smallest\"") == 1);
}

TEST_CASE("map: past max_spans the spans are binned into the grid and the output stays bounded") {
  // 3000 allocations of 8 pages at +0, +8, … released in turn, and every 10th a failed
  // request of 2048 pages: built from records directly.
  cma::map::scope sc;
  std::vector<cma::op_record> ops;
  for (std::uint64_t i = 0; i < 3000; ++i) {
    cma::op_record a;
    a.kind = cma::op_kind::alloc, a.seq = 2 * i, a.count = 8, a.align = 3, a.observed_ok = true;
    a.observed_pfn = 0x80000 + (i % 128) * 8, a.where.time = double(i);
    cma::op_record r = a;
    r.kind = cma::op_kind::release, r.seq = 2 * i + 1, r.where.time = double(i) + 0.5;
    ops.push_back(a), ops.push_back(r);
    if (i % 10 == 0) {
      cma::op_record f = a;
      f.observed_ok = false, f.observed_pfn.reset(), f.observed_err = -12, f.count = 2048, f.align = 8;
      f.where.time = double(i) + 0.25;
      ops.push_back(f);
    }
  }
  for (const auto& o : ops) sc.on_op(o);
  cma::map::limits lim;
  lim.max_spans = 100;
  lim.max_samples = 50;
  lim.max_failures = 100;
  cma::map::timeline_builder b(cmatest::area(0x80000, 1024, 0, "6.12"), sc, lim);
  for (const auto& o : ops) b.on_op(o);
  const auto tl = std::move(b).finish();
  CHECK(tl.binned);
  CHECK(tl.spans.empty());
  CHECK(tl.spans_total == 3000);
  CHECK(tl.series.size() <= 52);
  // 300 failures, past max_failures: counted per column
  CHECK(tl.failures_total == 300);
  CHECK(tl.failures_binned);
  CHECK(tl.failures.empty());
  std::uint64_t binned_failures = 0;
  for (const auto& fb : tl.failure_bins) {
    binned_failures += fb.count;
    if (fb.count) CHECK(fb.largest == 2048);
  }
  CHECK(binned_failures == 300);
  // every cell holds page-time: the grid's total equals the spans' (8 pages × 0.5 each)
  double total = 0;
  for (float c : tl.grid.cells) total += c;
  const double cell = (1024.0 / tl.grid.rows) * ((tl.t1 - tl.t0) / tl.grid.cols);
  CHECK(total * cell == Approx(3000 * 8 * 0.5).epsilon(0.01));
  const auto svg = cma::map::render_svg(tl, {});
  CHECK(xml_problem(svg) == "");
  CHECK(occurrences(svg, "class=\"span ") == 0);
  CHECK(occurrences(svg, "class=\"bin sc-1 ") >= 1); // 8-page spans: the 2-8 class
  CHECK(occurrences(svg, "class=\"failure\"") == 0);
  CHECK(occurrences(svg, "class=\"failure-bin\"") >= 1);
  CHECK(svg.find("data-failures=\"300\"") != std::string::npos);
  CHECK(svg.size() < 2'000'000);
}

TEST_CASE("map: a multi-range area draws each range's boundary") {
  cma::map::scope sc;
  cma::op_record a;
  a.kind = cma::op_kind::alloc, a.count = 16, a.observed_ok = true, a.observed_pfn = 0x90000, a.where.time = 1.0;
  sc.on_op(a);
  cma::allocator area("multi", {{0x80000, 1024}, {0x90000, 1024}}, 0, cmatest::prof("6.15"));
  cma::map::timeline_builder b(std::move(area), sc);
  b.on_op(a);
  const auto tl = std::move(b).finish();
  REQUIRE(tl.range_starts.size() == 2);
  CHECK(tl.range_starts[1] == 1024);
  REQUIRE(tl.spans.size() == 1);
  CHECK(tl.spans[0].offset == 1024);
  const auto svg = cma::map::render_svg(tl, {});
  CHECK(occurrences(svg, "class=\"range-boundary\"") == 1);
  CHECK(xml_problem(svg) == "");
}

TEST_CASE("map: a field log with no operations maps its failure lines") {
  // exhaust-6.12-cma16M's dmesg stripped to what a field log has: 4 "alloc failed" lines.
  const auto text = cmatest::read_fixture("field/exhaust-6.12-cma16M.dmesg-only.txt");
  const std::vector<cma::formats::read_result> in{cma::formats::read_log(text, 0)};
  const auto r = cma::replay(in);
  REQUIRE(r.area_known);
  REQUIRE(r.op_count() == 0);
  cma::map::scope sc;
  for (const auto& f : r.field.failures) sc.on_failure_line(f.where.time);
  cma::map::timeline_builder b(cmatest::area(r.base_pfn, r.count, r.order_per_bit, r.kernel.c_str()), sc);
  for (const auto& f : r.field.failures) b.on_failure_line({f.where.time.value_or(0), f.count, f.logged_align.value_or(0), f.err, f.where});
  const auto tl = std::move(b).finish();
  CHECK(tl.seconds);
  CHECK(tl.spans.empty());
  CHECK(tl.failures.size() == 4);
  CHECK(tl.series.empty()); // no operation: the state over time is unknown
  const auto svg = cma::map::render_svg(tl, {});
  CHECK(occurrences(svg, "class=\"failure\"") == 4);
  CHECK(occurrences(svg, "class=\"note\"") == 1);
  CHECK(xml_problem(svg) == "");
}

TEST_CASE("map: before each failed request of a real recording, the series shows the state the replay reported") {
  // rand-6.12-cma48M: 18 allocations fail with -ENOMEM (fragmentation); the allocator the
  // timeline runs alongside must hold the kernel's state, so the sample before each one has
  // the free pages and largest free run the replay found for it (free_before, maxchunk_before).
  std::vector<cma::formats::read_result> in;
  in.push_back(cma::formats::read_log(cmatest::read_fixture("recorded/rand-6.12-cma48M/dmesg.txt"), 0));
  in.push_back(cma::formats::read_log(cmatest::read_fixture("recorded/rand-6.12-cma48M/trace.txt"), 1));
  cma::map::scope sc;
  cma::replay_options opt;
  opt.on_op = [&](const cma::op_record& o) { sc.on_op(o); };
  const auto r = cma::replay(in, opt);
  REQUIRE(r.all_matched());
  sc.area = r.area_name;
  REQUIRE(sc.ops < 2000); // one sample per operation
  cma::map::timeline_builder b(cmatest::area(r.base_pfn, r.count, r.order_per_bit, r.kernel.c_str()), sc);
  std::vector<std::pair<std::size_t, cma::op_record>> failed;
  std::size_t i = 0;
  opt.on_op = [&](const cma::op_record& o) {
    if (sc.counts(o) && cma::map::failed_allocation(o)) failed.emplace_back(i, o);
    if (sc.counts(o)) ++i;
    b.on_op(o);
  };
  cma::replay(in, opt);
  const auto tl = std::move(b).finish();
  REQUIRE(failed.size() == 18);
  CHECK(tl.failures_total == 18);
  REQUIRE(tl.series.size() == sc.ops + 1);
  for (const auto& [at, o] : failed) {
    INFO("operation " << at << ", " << o.count << " pages");
    CHECK(tl.series[at].free == o.free_before);
    CHECK(tl.series[at].largest_free == o.maxchunk_before);
    CHECK(tl.series[at].largest_aligned < o.count); // why it failed: no 256-aligned window that large
  }
}
