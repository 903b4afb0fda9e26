// tests/test_replay_bounds.cpp — the replay on hostile and unusual inputs (issue 10): two
// areas in flight at once, many area names, what is kept in memory, impossible areas,
// overlong lines, concatenated boots, old kernels.  cma/replay/*.hpp.
#include "helpers.hpp"
#include "replay_helpers.hpp"

#include <cma/replay/replay.hpp>

#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

namespace {

using cmatest::replay_texts;
using cmatest::replace_all;

cma::replay_options frag_run1_area() {
  cma::replay_options opt;
  opt.area = cma::area_spec{"reserved", 0x7cc00000, 32u << 20, 0};
  opt.kernel = cma::kernel_version{6, 1, 0};
  return opt;
}

// A trace's operations: each a start, its busy retries and its finish, or a release.
std::vector<std::vector<std::string>> operations(const std::string& trace) {
  std::vector<std::vector<std::string>> ops;
  std::istringstream in(trace);
  std::string line;
  bool open = false;
  while (std::getline(in, line)) {
    if (line.find("cma_alloc_start:") != std::string::npos) {
      ops.push_back({line});
      open = true;
    } else if (open && (line.find("cma_alloc_busy_retry:") != std::string::npos || line.find("cma_alloc_finish:") != std::string::npos)) {
      ops.back().push_back(line);
      open = line.find("cma_alloc_finish:") == std::string::npos;
    } else if (line.find("cma_release:") != std::string::npos) {
      ops.push_back({line});
    }
  }
  return ops;
}

std::string fmt_finish(cma::pfn_t pfn, unsigned count, unsigned align) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "cma_alloc_finish: name=reserved pfn=0x%llx page=00000000deadbeef count=%u align=%u",
                static_cast<unsigned long long>(pfn), count, align);
  return buf;
}

} // namespace

// Regression (issue 10 #6): one pending cma_alloc_start was kept whatever its name=, so
// start(A), start(B), finish(B), finish(A) gave a divergence and an extra operation.
TEST_CASE("two real traces interleaved start(A) start(B) finish(B) finish(A): every operation of A matched") {
  const auto a = operations(cmatest::read_fixture("traces/frag_run1/trace.txt"));
  const auto b = operations(replace_all(cmatest::read_fixture("traces/smoke/trace.txt"), "name=reserved", "name=other"));
  REQUIRE(a.size() > b.size());
  std::string mixed;
  std::size_t bi = 0;
  for (const auto& op : a) {
    const bool nest = bi < b.size() && op.size() > 1 && b[bi].size() > 1;
    if (nest) { // A's start, all of B's operation, then the rest of A's
      mixed += op.front() + "\n";
      for (const auto& l : b[bi++]) mixed += l + "\n";
      for (std::size_t i = 1; i < op.size(); ++i) mixed += op[i] + "\n";
    } else {
      for (const auto& l : op) mixed += l + "\n";
    }
  }
  while (bi < b.size())
    for (const auto& l : b[bi++]) mixed += l + "\n";
  const auto alone = replay_texts({cmatest::read_fixture("traces/frag_run1/trace.txt")}, frag_run1_area());
  const auto both = replay_texts({mixed}, frag_run1_area());
  CHECK(alone.count_of(cma::verdict::diverged) == 0);
  CHECK(both.count_of(cma::verdict::diverged) == 0);
  CHECK(both.count_of(cma::verdict::matched) == alone.count_of(cma::verdict::matched));
  CHECK(both.count_of(cma::verdict::unchecked) == b.size()); // the other area's, each once
  CHECK(both.op_count() == alone.op_count() + b.size());
}

TEST_CASE("starts of one area from two tasks pair with their own finishes") {
  auto area = cma::make_allocator("reserved", {0x7cc00, 8192}, 0, "6.1");
  const auto r2 = area.alloc(4, 2); // task 20's finish is traced first, so the model replays it first
  const auto r1 = area.alloc(8, 3);
  const auto line = [](const char* task, double t, const std::string& rest) {
    char head[96];
    std::snprintf(head, sizeof head, "%s [000] ..... %12.6f: ", task, t);
    return std::string(head) + rest + "\n";
  };
  std::string trace = line("cma_run-10", 1.0, "cma_alloc_start: name=reserved count=8 align=3") +
                      line("cma_run-20", 1.1, "cma_alloc_start: name=reserved count=4 align=2") +
                      line("cma_run-20", 1.2, fmt_finish(r2.pfn, 4, 2)) + line("cma_run-10", 1.3, fmt_finish(r1.pfn, 8, 3));
  const auto r = replay_texts({trace}, frag_run1_area());
  CHECK(r.op_count() == 2);
  CHECK(r.count_of(cma::verdict::matched) == 2);
  REQUIRE(r.ops.size() == 2);
  CHECK(r.ops[0].count == 4);
  CHECK(r.ops[1].count == 8);
}

// Regression (issue 10 #7): names were interned by a linear search (80,000 names: 4.5 s).
TEST_CASE("a trace naming 100,000 distinct areas: each operation counted once, as another area's") {
  std::string trace;
  for (int i = 0; i < 100000; ++i)
    trace += "t-1 [000] ..... 1." + std::to_string(100000 + i) + ": cma_alloc_start: name=a" + std::to_string(i) +
             " count=1 align=0\nt-1 [000] ..... 1." + std::to_string(100000 + i) + ": cma_alloc_finish: name=a" +
             std::to_string(i) + " pfn=0x10 page=00000000deadbeef count=1 align=0\n";
  auto opt = frag_run1_area();
  opt.keep_matched = false;
  opt.max_kept_ops = 100;
  const auto r = replay_texts({trace}, opt);
  CHECK(r.op_count() == 100000);
  CHECK(r.count_of(cma::verdict::unchecked) == 100000);
  CHECK(r.ops.size() == 100);             // the notable ones kept are capped…
  CHECK(r.ops_not_kept == 100000 - 100);  // …and the rest counted
}

// Regression (issue 10 #8): every operation's record was kept when the log had one
// pr_debug line, and every not-understood line was kept.
TEST_CASE("on_op receives every record once, in order, final; the report keeps only what was asked") {
  std::vector<std::string> texts{cmatest::read_fixture("traces/frag_run1/dmesg.txt"),
                                 cmatest::read_fixture("traces/frag_run1/trace.txt")};
  const auto all = replay_texts(texts); // keep_matched: every record in ops
  std::vector<cma::op_record> seen;
  cma::replay_options opt;
  opt.keep_matched = false;
  opt.on_op = [&](const cma::op_record& o) { seen.push_back(o); };
  const auto streamed = replay_texts(texts, opt);
  REQUIRE(seen.size() == all.ops.size());
  for (std::size_t i = 0; i < seen.size(); ++i) {
    INFO(i);
    CHECK(seen[i].seq == i);
    CHECK(seen[i].where.line == all.ops[i].where.line);
    CHECK(seen[i].observed_err == all.ops[i].observed_err);
    CHECK(seen[i].also_reported.has_value() == all.ops[i].also_reported.has_value());
    if (seen[i].also_reported) CHECK(seen[i].also_reported->line == all.ops[i].also_reported->line);
  }
  CHECK(streamed.op_count() == all.op_count());
  CHECK(streamed.checks.size() == all.checks.size());
  for (const auto& o : streamed.ops) CHECK(o.notable()); // matched successes are not kept
  CHECK_FALSE(streamed.ops.empty());
}

TEST_CASE("lines not understood: all counted, the first max_unrecognised kept") {
  std::string log;
  for (int i = 0; i < 25; ++i) log += "[    1.0] cma: something new " + std::to_string(i) + "\n";
  cma::replay_options opt;
  opt.max_unrecognised = 10;
  const auto r = replay_texts({log}, opt);
  CHECK(r.unrecognised_total == 25);
  REQUIRE(r.unrecognised.size() == 10);
  CHECK(r.unrecognised.back().line == 10);
}

// Regression (issue 10 #1): "Reserved 4294967295 MiB" allocated a 128 GiB bitmap (bad_alloc).
TEST_CASE("an area no kernel could have is refused with the reason, and nothing is allocated for it") {
  for (const char* mib : {"4294967295", "134217728", "18446744073709551615"}) {
    INFO(mib);
    const auto r = replay_texts({std::string("[    0.000000] cma: Reserved ") + mib + " MiB at 0x0000000040000000\n"});
    CHECK_FALSE(r.area_known);
    CHECK(r.area_source == "refused");
    REQUIRE_FALSE(r.notes.empty());
    CHECK(r.notes.back().find("refused") != std::string::npos);
  }
  cma::replay_options opt;
  opt.area = cma::area_spec{"reserved", 0x40000000, std::uint64_t{1} << 50, 0};
  const auto r = replay_texts({"t-1 [000] ..... 1.0: cma_release: name=reserved pfn=0x40000 page=0 count=1\n"}, opt);
  CHECK_FALSE(r.area_known);
  CHECK(r.ops_without_area);
}

// Regression (issue 10 #8): a 100 MB line was held whole.
TEST_CASE("a line longer than any kernel line is reported with its length, not held") {
  std::vector<std::string> seen;
  struct sink {
    std::vector<std::string>& why;
    void on_event(cma::ev::event&&, const cma::ev::source&, cma::ev::origin) {}
    void on_unrecognised(cma::formats::unrecognised_line&& u) { why.push_back(std::to_string(u.line) + ": " + u.why); }
  } s{seen};
  cma::formats::log_reader<sink> reader(0, s);
  reader.feed("[    1.0] cma: first\n");
  const std::string chunk(40000, 'x');
  for (int i = 0; i < 50; ++i) reader.feed(chunk); // 2,000,000 bytes without a newline, in pieces
  reader.feed("\n[    1.1] cma: third\n");
  const auto sum = reader.finish();
  CHECK(sum.lines == 3);
  REQUIRE(seen.size() == 3);
  CHECK(seen[1] == "2: a line of 2000000 bytes, longer than any kernel log or trace line (65536): not read");
  // …and one that arrives in a single piece
  std::vector<std::string> seen2;
  sink s2{seen2};
  const auto sum2 = cma::formats::read_log(std::string(70000, 'y') + "\n", 0, s2);
  CHECK(sum2.lines == 1);
  REQUIRE(seen2.size() == 1);
  CHECK(seen2[0] == "1: a line of 70000 bytes, longer than any kernel log or trace line (65536): not read");
}

// Regression (issue 10 #12): a second banner (two boots concatenated) was ignored silently,
// and a 3.10 kernel was modelled as 4.15 without a word.
TEST_CASE("two boots concatenated, and a kernel older than every profile, are said") {
  const std::string boot = "[    0.000000] Linux version 6.1.0-56-arm64 (x) #1 SMP\n"
                           "[    0.000000] cma: Reserved 32 MiB at 0x000000007cc00000\n";
  const auto r = replay_texts({boot + boot});
  bool second = false;
  for (const auto& n : r.notes) second = second || n.find("second 'Linux version' banner") != std::string::npos;
  CHECK(second);
  const auto old = replay_texts({"[    0.000000] Linux version 3.10.0 (x) #1 SMP\n"});
  bool said = false;
  for (const auto& n : old.notes) said = said || n.find("older than every modelled profile") != std::string::npos;
  CHECK(said);
}

// Regression (issue 10 #12): "the kernel traced no cma_alloc_finish; the model would have"
// stopped mid-sentence.
TEST_CASE("a start with no finish where the model would have finished says what the model would have done") {
  const auto r = replay_texts({"t-1 [000] ..... 1.0: cma_alloc_start: name=reserved count=8 align=3\n"}, frag_run1_area());
  REQUIRE(r.ops.size() == 1);
  CHECK(r.ops[0].result == cma::verdict::diverged);
  CHECK(r.ops[0].note == "the kernel traced no cma_alloc_finish for this start; the model would have traced one (it succeeds)");
}

// The path `cmasim replay -v/--json DIR` takes: fed by hand, dmesg.txt first, so the trace
// is streamed and records wait in the cross-check's window before they reach on_op.
TEST_CASE("streamed with on_op: the same records, in order, with the cross-check's annotations, as the batch") {
  const std::vector<std::string> texts{cmatest::read_fixture("traces/frag_run1/dmesg.txt"),
                                       cmatest::read_fixture("traces/frag_run1/trace.txt")};
  std::vector<cma::formats::read_result> in;
  for (unsigned i = 0; i < texts.size(); ++i) in.push_back(cma::formats::read_log(texts[i], i));
  const auto batch = cma::replay(in); // every record kept
  std::vector<cma::op_record> seen;
  cma::replay_options opt;
  opt.keep_matched = false;
  opt.on_op = [&](const cma::op_record& o) { seen.push_back(o); };
  cma::replayer r(opt);
  for (unsigned i = 0; i < texts.size(); ++i) r.end_input(cma::formats::read_log(texts[i], i, r));
  CHECK(r.streaming());
  const auto streamed = std::move(r).finish();
  CHECK_FALSE(streamed.needs_batch_replay);
  REQUIRE(seen.size() == batch.ops.size());
  std::size_t annotated = 0;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    INFO(i);
    CHECK(seen[i].seq == i);
    CHECK(seen[i].result == batch.ops[i].result);
    CHECK(seen[i].observed_err == batch.ops[i].observed_err);
    REQUIRE(seen[i].also_reported.has_value() == batch.ops[i].also_reported.has_value());
    if (seen[i].also_reported) {
      CHECK(seen[i].also_reported->line == batch.ops[i].also_reported->line);
      ++annotated;
    }
  }
  CHECK(annotated > 100); // frag_run1's dmesg has the pr_debug line of every operation
  CHECK(streamed.checks.size() == batch.checks.size());
}
