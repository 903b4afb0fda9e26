// tests/test_replay.cpp — the replay: real traces end to end, and every way an input can
// disagree with the model or be incomplete (cma/replay/replay.hpp).
#include "helpers.hpp"
#include "replay_helpers.hpp"

#include <cma/replay/replay.hpp>

#include <catch2/catch.hpp>

#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using cmatest::replay_texts;

cma::replay_report replay_fixture(const std::string& trace, std::vector<std::string> files) {
  std::vector<std::string> texts;
  for (const auto& f : files) texts.push_back(cmatest::read_fixture("traces/" + trace + "/" + f));
  return replay_texts(texts);
}

std::string replace_once(std::string s, const std::string& from, const std::string& to) {
  const auto i = s.find(from);
  REQUIRE(i != std::string::npos);
  return s.replace(i, from.size(), to);
}

std::string drop_lines_containing(const std::string& s, const std::string& needle, int how_many) {
  std::string out, line;
  std::istringstream in(s);
  while (std::getline(in, line)) {
    if (how_many > 0 && line.find(needle) != std::string::npos) {
      --how_many;
      continue;
    }
    out += line + "\n";
  }
  return out;
}

} // namespace

TEST_CASE("every bundled real trace replays with every operation matched") {
  const std::string t = GENERATE(as<std::string>{}, "smoke", "busy", "frag_run1", "seed_cma1G", "place_default_1G",
                                 "place_fixed_0x50", "place_range_1G2G");
  INFO(t);
  for (const auto& files : {std::vector<std::string>{"trace.txt", "dmesg.txt", "steps.txt"},
                            std::vector<std::string>{"trace.txt", "dmesg.txt"}}) {
    auto r = replay_fixture(t, files);
    CHECK(r.area_known);
    CHECK(r.kernel == "6.1");
    CHECK(r.kernel_release == "6.1.0-56-arm64");
    CHECK_FALSE(r.ops.empty());
    CHECK(r.count_of(cma::verdict::matched) == r.ops.size());
    CHECK(r.failed_checks() == 0);
    CHECK(r.unrecognised.empty());
    CHECK(r.all_matched());
  }
}

TEST_CASE("frag_run1: each trace operation is cross-checked against its pr_debug line and the recorder's bitmap dumps") {
  auto r = replay_fixture("frag_run1", {"trace.txt", "dmesg.txt"});
  CHECK(r.ops.size() == 177); // 112 allocations + 65 releases
  std::size_t both = 0, bitmaps = 0;
  for (const auto& o : r.ops) both += o.also_reported.has_value();
  for (const auto& c : r.checks) bitmaps += c.what == "bitmap" && c.ok;
  CHECK(both == 177);
  CHECK(bitmaps == 202); // grep -c 'cma_test: bitmap: [0-9]' dmesg.txt
  std::size_t failed = 0;
  for (const auto& o : r.failed_allocations()) {
    ++failed;
    CHECK(o.failure_reason.find("no free window of") == 0);
  }
  CHECK(failed == 10);
}

// 6.15+ reports "no space" as -EBUSY, and stops before searching when count > available_count:
// such a failure is no busy page (the report said "busy: 0 window(s) found …" before).
// Expected from the real 7.3.4 kernel's own traces: each failed request's cma_alloc_start
// gives request_count and available_count; neither recording has a busy retry.
TEST_CASE("replay: a 6.15+ -EBUSY without busy retries is no space, not busy (real 7.3 rand, toolarge)", "[replay][7x]") {
  static const std::regex start(R"(cma_alloc_start: name=reserved request_count=(\d+) available_count=(\d+))");
  static const std::regex failed(R"(cma_alloc_finish: name=reserved pfn=0x0 .* errorno=-16)");
  for (const auto* name : {"rand-7.3-cma48M", "toolarge-7.3-cma16M"}) {
    CAPTURE(name);
    const auto dir = std::string("recorded/") + name + "/";
    const auto trace = cmatest::read_fixture(dir + "trace.txt");
    REQUIRE(trace.find("cma_alloc_busy_retry") == std::string::npos);
    // the failed starts, in order: (request_count, available_count)
    std::vector<std::pair<std::uint64_t, std::uint64_t>> want;
    std::pair<std::uint64_t, std::uint64_t> last{};
    std::smatch m;
    for (const auto& l : cmatest::lines_of(trace)) {
      if (std::regex_search(l, m, start)) last = {std::stoull(m[1]), std::stoull(m[2])};
      if (std::regex_search(l, failed)) want.push_back(last);
    }
    const auto r = replay_texts({trace, cmatest::read_fixture(dir + "dmesg.txt")});
    std::size_t i = 0, early = 0;
    for (const auto& o : r.failed_allocations()) {
      REQUIRE(i < want.size());
      const auto [count, avail] = want[i++];
      CHECK(o.observed_err == -16);
      CHECK(o.count == count);
      CHECK(o.free_before == avail);
      if (count > avail) {
        ++early;
        CHECK(o.failure_reason == "no space: " + std::to_string(count) + " pages asked, " + std::to_string(avail) +
                                      " free in the area; 6.15+ stops before searching and reports -EBUSY, no page was busy");
      } else {
        CHECK(o.failure_reason.find("; -EBUSY is 6.15+'s no-space errno here, no page was busy") != std::string::npos);
      }
    }
    CHECK(i == want.size());
    CHECK(early > 0);
  }
}

TEST_CASE("areas without a boot line need --area, and get it") {
  const auto trace = cmatest::read_fixture("traces/smoke/trace.txt");
  auto none = replay_texts({trace});
  CHECK_FALSE(none.area_known);
  CHECK_FALSE(none.notes.empty());
  cma::replay_options opt;
  opt.area = cma::area_spec{"reserved", 0x76c00000, 128u << 20, 0};
  opt.kernel = cma::kernel_version{6, 1, 0};
  auto with = replay_texts({trace}, opt);
  CHECK(with.area_source == "--area");
  CHECK(with.count_of(cma::verdict::diverged) == 0);
  CHECK(with.mid_stream); // no boot lines: what cannot be checked is adopted, not failed
}

//  smoke, step 1 (alloc 1M): the kernel placed it at 0x76d00.  Pretend it said 0x76e00.
//  Expect: that operation diverges (first divergence, at its trace line), the model adopts
//  the kernel's pfn, and every later allocation still matches.
TEST_CASE("a wrong pfn in a trace is the first divergence and later operations are still checked") {
  auto trace = cmatest::read_fixture("traces/smoke/trace.txt");
  auto dmesg = cmatest::read_fixture("traces/smoke/dmesg.txt");
  trace = replace_once(trace, "pfn=0x76d00 page=00000000eddf7067 count=256 align=8", "pfn=0x76e00 page=00000000eddf7067 count=256 align=8");
  trace = replace_once(trace, "cma_release: name=reserved pfn=0x76d00", "cma_release: name=reserved pfn=0x76e00");
  auto r = replay_texts({trace, dmesg});
  REQUIRE(r.first_divergence());
  const auto& d = r.ops[*r.first_divergence()];
  CHECK(d.where.file == 0);
  CHECK(d.where.line == 21);
  CHECK(d.observed_pfn == 0x76e00);
  CHECK(d.predicted_pfn == 0x76d00);
  CHECK(d.note == "pfn differs");
  // the 8 MiB allocation (step 4) now collides with the adopted 0x76e00 in the kernel's world:
  // the kernel put it at 0x76e00 too — impossible, so it diverges as well; everything else matches.
  CHECK(r.count_of(cma::verdict::diverged) >= 1);
  CHECK_FALSE(r.all_matched());
}

TEST_CASE("a release the log never showed allocated diverges in a log from boot, and is inferred mid-stream") {
  const auto dmesg = cmatest::read_fixture("traces/smoke/dmesg.txt");
  auto trace = cmatest::read_fixture("traces/smoke/trace.txt");
  trace += "            init-1       [000] .....     9.000000: cma_release: name=reserved pfn=0x7e000 page=00000000deadbeef count=16\n";
  auto from_boot = replay_texts({trace, dmesg});
  CHECK(from_boot.ops.back().result == cma::verdict::diverged);
  CHECK(from_boot.ops.back().note.find("never allocated") != std::string::npos);
  cma::replay_options mid;
  mid.mid_stream = true;
  auto r = replay_texts({trace, dmesg}, mid);
  CHECK(r.ops.back().result == cma::verdict::inferred);
  CHECK(r.count_of(cma::verdict::diverged) == 0);
}

//  A wrapped ring buffer: the trace lost its first events (the three boot pools and step 1).
//  Expect no crash, the overrun noticed, the later allocations adopted as inferred where the
//  model (which never saw the lost ones) disagrees, and no divergence reported.
TEST_CASE("a trace that starts mid-stream is replayed with inferred state") {
  auto trace = cmatest::read_fixture("traces/seed_cma1G/trace.txt");
  trace = drop_lines_containing(trace, "cma_alloc_", 8);
  trace = replace_once(trace, "entries-in-buffer/entries-written: 38/38", "entries-in-buffer/entries-written: 30/38");
  cma::replay_options opt;
  opt.area = cma::area_spec{"reserved", 0x7da00000, 1u << 30, 0};
  auto r = replay_texts({trace}, opt);
  CHECK(r.mid_stream);
  CHECK(r.count_of(cma::verdict::diverged) == 0);
  CHECK(r.count_of(cma::verdict::inferred) > 0);
}

TEST_CASE("a dmesg without trace events is replayed from the pr_debug lines, releases paired by token") {
  auto r = replay_fixture("smoke", {"dmesg.txt"});
  CHECK(r.all_matched());
  std::size_t releases = 0;
  for (const auto& o : r.ops)
    if (o.kind == cma::op_kind::release) {
      ++releases;
      CHECK(o.observed_pfn.has_value()); // the token led back to the model's pfn
    }
  CHECK(releases == 8);
  auto busy = replay_fixture("busy", {"dmesg.txt"});
  CHECK(busy.all_matched());
  bool retried = false;
  for (const auto& o : busy.ops) retried = retried || o.count == 4096;
  CHECK(retried);
}

TEST_CASE("the field notes' 4.15 log: every kernel line recognised, allocations paired with releases") {
  auto r = replay_texts({cmatest::read_fixture("field-notes-4.15.md")});
  CHECK(r.kernel == "4.15");
  CHECK(r.area_source == "boot log");
  CHECK(r.base_pfn == 0x40000);
  CHECK(r.count == 262144);
  CHECK(r.all_matched());
  std::size_t allocs = 0, releases = 0;
  for (const auto& o : r.ops) {
    if (o.kind == cma::op_kind::alloc) ++allocs;
    else {
      ++releases;
      CHECK(o.result == cma::verdict::matched);
      CHECK(o.observed_pfn.has_value());
    }
  }
  CHECK(allocs == 6);   // three boot-time 1-page allocations, 102400 pages by debugfs, 128 and 512 MiB
  CHECK(releases == 3); // 4.15 prints no count: each release takes its allocation's
  // only the prose lines of the notes (kernel-parameters text) are not understood
  CHECK(r.unrecognised.size() == 3);
  REQUIRE(r.unrecognised.size() == 3);
  CHECK(r.unrecognised[0].line == 39);
  CHECK(r.unrecognised[1].line == 44);
  CHECK(r.unrecognised[2].line == 50);
}

//  A 6.12 log (show_areas always printed there) of a 16-page area at 0x1000:
//  alloc 10 → pfn 0x1000; alloc 8 fails: free run 6@10 ("6@10=> 6 free of 16 total pages").
TEST_CASE("show_areas lines after a failure are checked against the model's free runs") {
  const std::string log = "[0.0] Linux version 6.12.117+deb12-arm64 (x)\n"
                          "[0.0] cma: Reserved 0 MiB at 0x0000000001000000 on node -1\n";
  cma::replay_options opt;
  opt.area = cma::area_spec{"reserved", 0x1000000, 16 * 4096, 0};
  const std::string ops = "[1.0] cma: __cma_alloc(cma 00000000aaaa, name: reserved, count 10, align 0)\n"
                          "[1.1] cma: __cma_alloc(): returned 00000000bbbb\n"
                          "[2.0] cma: __cma_alloc(cma 00000000aaaa, name: reserved, count 8, align 0)\n"
                          "[2.1] cma: __cma_alloc: reserved: alloc failed, req-size: 8 pages, ret: -12\n";
  auto good = replay_texts({log + ops + "[2.1] cma: number of available pages: 6@10=> 6 free of 16 total pages\n"
                                        "[2.2] cma: __cma_alloc(): returned 0000000000000000\n"},
                           opt);
  CHECK(good.all_matched());
  REQUIRE(good.checks.size() == 1);
  CHECK(good.checks[0].what == "show_areas");
  CHECK(good.checks[0].ok);
  auto bad = replay_texts({log + ops + "[2.1] cma: number of available pages: 5@11=> 5 free of 16 total pages\n"
                                       "[2.2] cma: __cma_alloc(): returned 0000000000000000\n"},
                          opt);
  CHECK_FALSE(bad.all_matched());
  CHECK(bad.failed_checks() == 1);
}

TEST_CASE("CmaTotal and cma-reserved are checked against the area size") {
  auto r = replay_texts({"[0.0] cma: Reserved 64 MiB at 0x000000007ac00000\n"
                         "[0.0] Memory: 1K/2K available (1K kernel code, 65536K cma-reserved)\n"
                         "CmaTotal:          65536 kB\n"
                         "CmaTotal:          65535 kB\n"});
  REQUIRE(r.checks.size() == 3);
  CHECK(r.checks[0].ok);
  CHECK(r.checks[1].ok);
  CHECK_FALSE(r.checks[2].ok);
}

TEST_CASE("a 'returned' line with no call before it and stray releases do not crash the replay") {
  auto r = replay_texts({"[0.0] cma: Reserved 64 MiB at 0x000000007ac00000\n"
                         "[1.0] cma: cma_alloc(): returned 00000000aaaa\n"
                         "[1.1] cma: cma_release(page 00000000cccc, count 5)\n"
                         "[1.2] cma: cma_alloc(cma 0000000011, count 4, align 2)\n"});
  CHECK(r.ops.size() == 1);
  CHECK(r.ops[0].result == cma::verdict::inferred);
  CHECK(r.count_of(cma::verdict::diverged) == 0);
  CHECK(r.notes.size() >= 2);
}

TEST_CASE("a trace event for another area is reported unchecked, not compared") {
  auto trace = cmatest::read_fixture("traces/smoke/trace.txt");
  trace += "            init-1       [000] .....     9.0: cma_alloc_start: name=linux,cma count=8 align=3\n"
           "            init-1       [000] .....     9.1: cma_alloc_finish: name=linux,cma pfn=0x90000 page=00000000aa count=8 align=3\n";
  auto r = replay_texts({trace, cmatest::read_fixture("traces/smoke/dmesg.txt")});
  CHECK(r.ops.back().result == cma::verdict::unchecked);
  CHECK(r.count_of(cma::verdict::diverged) == 0);
}

//  smoke's dmesg with its "cma: Reserved" line removed: the command line (cma=128M) and the
//  Memory: line's 1048576K say enough for the boot model to put the area where the kernel did.
TEST_CASE("without a Reserved line the boot model places the area from the command line and RAM size") {
  auto dmesg = cmatest::read_fixture("traces/smoke/dmesg.txt");
  dmesg = drop_lines_containing(dmesg, "cma: Reserved", 1);
  auto r = replay_texts({cmatest::read_fixture("traces/smoke/trace.txt"), dmesg});
  CHECK(r.area_source == "boot model (command line + RAM size)");
  CHECK(r.base_pfn == 0x76c00);
  CHECK(r.count == 32768);
  CHECK(r.all_matched());
  // and without the boot-time pool allocations in the log, they are assumed
  auto trace = cmatest::read_fixture("traces/smoke/trace.txt");
  trace = drop_lines_containing(trace, "count=32 align=5", 6);
  auto noboot = replay_texts({trace, drop_lines_containing(dmesg, "count 32, align 5", 3)});
  CHECK(noboot.all_matched());
  CHECK(std::count_if(noboot.notes.begin(), noboot.notes.end(),
                      [](const std::string& n) { return n.find("pool assumed") != std::string::npos; }) == 3);
}

// ---------------------------------------------------------------- streaming
namespace {
// What `cmasim replay` does: each file read in pieces, each line's events straight to a replayer.
// `streamed`, if given: whether the replayer replayed the trace as it arrived.
cma::replay_report replay_streamed(const std::vector<std::string>& texts, cma::replay_options opt, std::size_t piece,
                                   bool* streamed = nullptr) {
  cma::replayer r(opt);
  for (unsigned i = 0; i < texts.size(); ++i) {
    cma::formats::log_reader reader(i, r);
    for (std::size_t at = 0; at < texts[i].size(); at += piece) reader.feed(std::string_view(texts[i]).substr(at, piece));
    r.end_input(reader.finish());
  }
  if (streamed) *streamed = r.streaming();
  return std::move(r).finish();
}

void check_same_op(const cma::op_record& a, const cma::op_record& b) {
  CHECK(a.kind == b.kind);
  CHECK(a.result == b.result);
  CHECK(a.where.file == b.where.file);
  CHECK(a.where.line == b.where.line);
  CHECK(a.where.time == b.where.time);
  CHECK(a.start_time == b.start_time);
  CHECK(a.also_reported.has_value() == b.also_reported.has_value());
  CHECK(a.area == b.area);
  CHECK(a.count == b.count);
  CHECK(a.align == b.align);
  CHECK(a.observed_pfn == b.observed_pfn);
  CHECK(a.observed_ok == b.observed_ok);
  CHECK(a.observed_err == b.observed_err);
  CHECK(a.observed_busy == b.observed_busy);
  CHECK(a.predicted_pfn == b.predicted_pfn);
  CHECK(a.predicted_ok == b.predicted_ok);
  CHECK(a.predicted_err == b.predicted_err);
  CHECK(a.predicted_busy == b.predicted_busy);
  CHECK(a.note == b.note);
  CHECK(a.failure_reason == b.failure_reason);
}

void check_same_report(const cma::replay_report& a, const cma::replay_report& b) {
  CHECK(a.kernel == b.kernel);
  CHECK(a.kernel_release == b.kernel_release);
  CHECK(a.area_known == b.area_known);
  CHECK(a.area_source == b.area_source);
  CHECK(a.base_pfn == b.base_pfn);
  CHECK(a.count == b.count);
  CHECK(a.mid_stream == b.mid_stream);
  CHECK(a.verdicts == b.verdicts);
  CHECK(a.lines == b.lines);
  CHECK(a.cma_lines == b.cma_lines);
  CHECK(a.notes == b.notes);
  CHECK(a.first_divergence() == b.first_divergence());
  REQUIRE(a.ops.size() == b.ops.size());
  for (std::size_t i = 0; i < a.ops.size(); ++i) check_same_op(a.ops[i], b.ops[i]);
  REQUIRE(a.checks.size() == b.checks.size());
  for (std::size_t i = 0; i < a.checks.size(); ++i) {
    CHECK(a.checks[i].what == b.checks[i].what);
    CHECK(a.checks[i].ok == b.checks[i].ok);
    CHECK(a.checks[i].where.line == b.checks[i].where.line);
    CHECK(a.checks[i].detail == b.checks[i].detail);
  }
  REQUIRE(a.unrecognised.size() == b.unrecognised.size());
  for (std::size_t i = 0; i < a.unrecognised.size(); ++i) {
    CHECK(a.unrecognised[i].file == b.unrecognised[i].file);
    CHECK(a.unrecognised[i].line == b.unrecognised[i].line);
    CHECK(a.unrecognised[i].why == b.unrecognised[i].why);
  }
  CHECK(a.used == b.used);
  CHECK(a.free == b.free);
  CHECK(a.maxchunk == b.maxchunk);
  CHECK(a.free_runs.size() == b.free_runs.size());
  CHECK(a.show_areas_text == b.show_areas_text);
}
} // namespace

//  A trace folder streamed file by file, in pieces that cut lines anywhere, with the
//  trace events arriving before the boot lines that place the area (dmesg.txt comes
//  second).  Expect: the report of the batch replay, operation for operation — with every
//  operation kept and with only the ones a reader needs.
TEST_CASE("streaming the inputs through a replayer gives the batch replay's report") {
  struct fixture { const char* dir; bool mid_stream; };
  const auto [dir, mid_stream] = GENERATE(fixture{"traces/smoke", false}, fixture{"traces/frag_run1", false},
                                          fixture{"traces/busy", false}, fixture{"traces/seed_cma1G", false},
                                          fixture{"recorded/busy-6.12", false}, fixture{"recorded/rand-6.12-cma48M", false},
                                          fixture{"recorded/regress-6.12-nowarn-failure-order", false},
                                          fixture{"traces/smoke", true});
  INFO(dir);
  std::vector<std::string> texts;
  for (const char* file : {"trace.txt", "dmesg.txt", "steps.txt"}) texts.push_back(cmatest::read_fixture(std::string(dir) + "/" + file));
  for (bool keep : {true, false}) {
    cma::replay_options opt;
    opt.keep_matched = keep;
    opt.mid_stream = mid_stream;
    const auto batch = replay_texts(texts, opt);
    CHECK(batch.op_count() > 0);
    for (std::size_t piece : {std::size_t{61}, std::size_t{1} << 20}) {
      INFO("keep_matched " << keep << ", pieces of " << piece);
      check_same_report(replay_streamed(texts, opt, piece), batch);
    }
  }
}

//  The field notes' 4.15 log has no trace events: the pr_debug stream is the replay.
//  Expect: streamed or batch, the same report.
TEST_CASE("streaming a pr_debug-only log gives the batch replay's report") {
  const std::vector<std::string> texts{cmatest::read_fixture("field-notes-4.15.md")};
  const auto batch = replay_texts(texts);
  CHECK(batch.op_count() > 0);
  check_same_report(replay_streamed(texts, {}, 97), batch);
}

// ------------------------------------------------------- streamed trace replay
namespace {
std::vector<std::string> fixture_texts(const std::string& dir, std::initializer_list<const char*> files) {
  std::vector<std::string> texts;
  for (const char* file : files) texts.push_back(cmatest::read_fixture(dir + "/" + file));
  return texts;
}

} // namespace

//  The trace replayed as it is read — the area and kernel known before its first event,
//  from the boot lines of a dmesg.txt given first, or from --area and --kernel — against
//  the same trace kept whole and replayed at the end (stream off).
//  Expect: it streams, and the two reports are the same, operation for operation.
TEST_CASE("a trace replayed as it streams gives the report of the trace kept and replayed at the end") {
  const std::string dir = GENERATE(as<std::string>{}, "traces/smoke", "traces/frag_run1", "traces/busy",
                                   "traces/seed_cma1G", "recorded/busy-6.12", "recorded/rand-6.12-cma48M",
                                   "recorded/regress-6.12-nowarn-failure-order");
  INFO(dir);
  const auto texts = fixture_texts(dir, {"dmesg.txt", "steps.txt", "trace.txt"});
  for (bool keep : {true, false}) {
    INFO("keep_matched " << keep);
    cma::replay_options opt;
    opt.keep_matched = keep;
    opt.stream = false;
    bool streamed = true;
    const auto kept = replay_streamed(texts, opt, 1 << 20, &streamed);
    CHECK_FALSE(streamed);
    CHECK(kept.all_matched());
    opt.stream = true;
    const auto live = replay_streamed(texts, opt, 1 << 20, &streamed);
    CHECK(streamed);
    CHECK_FALSE(live.needs_batch_replay);
    check_same_report(live, kept);

    // the trace alone, with the area and kernel given: streamed, and the same as kept
    const auto trace = fixture_texts(dir, {"trace.txt"});
    opt.area = cma::area_spec{kept.area_name, kept.base_pfn << cma::page_shift, kept.count << cma::page_shift, 0};
    opt.kernel = cma::kernel_version::parse(kept.kernel);
    const auto alone = replay_streamed(trace, opt, 1 << 20, &streamed);
    CHECK(streamed);
    CHECK_FALSE(alone.needs_batch_replay);
    opt.stream = false;
    check_same_report(alone, replay_streamed(trace, opt, 1 << 20, &streamed));
  }
}

//  The trace given before the dmesg.txt that holds the recorder's bitmap dumps and the
//  pr_debug lines, with --area and --kernel: the trace streams, and the dump lines arrive
//  after operations that followed them were replayed.
//  Expect: the streamed report says it is incomplete, and replay() — which then replays
//  again with nothing streamed — gives the full report, the same as stream off.
TEST_CASE("a state line that arrives after the operations it precedes makes the streamed report incomplete") {
  const auto texts = fixture_texts("traces/frag_run1", {"trace.txt", "dmesg.txt", "steps.txt"});
  cma::replay_options opt;
  opt.area = cma::area_spec{"reserved", std::uint64_t{0x7cc00} << cma::page_shift, std::uint64_t{8192} << cma::page_shift, 0};
  opt.kernel = cma::kernel_version{6, 1, 0};
  for (bool keep : {true, false}) {
    INFO("keep_matched " << keep);
    opt.keep_matched = keep;
    opt.stream = true;
    bool streamed = false;
    const auto live = replay_streamed(texts, opt, 1 << 20, &streamed);
    CHECK(streamed);
    CHECK(live.needs_batch_replay);
    CHECK(std::any_of(live.notes.begin(), live.notes.end(),
                      [](const std::string& n) { return n.find("streamed report is incomplete") != std::string::npos; }));
    opt.stream = false;
    const auto kept = replay_streamed(texts, opt, 1 << 20, &streamed);
    CHECK_FALSE(kept.needs_batch_replay);
    CHECK(kept.all_matched());
    CHECK(kept.checks.size() > 100); // the bitmap dumps and the cross-checks
    opt.stream = true;
    check_same_report(replay_texts(texts, opt), kept);
  }
}

//  A wrong pfn in a trace given alone with --area and --kernel, then a dmesg.txt with the
//  boot lines: while streaming, no boot line had been read, so the divergence was judged
//  as in a mid-stream log (inferred); the later banner says the log starts at boot.
//  Expect: the streamed report is marked incomplete; replay() gives the full one, where
//  the operation diverged, as with stream off.
TEST_CASE("a verdict that assumed a mid-stream log makes the streamed report incomplete when boot lines follow") {
  auto texts = fixture_texts("traces/smoke", {"trace.txt", "dmesg.txt"});
  const auto first_pfn = texts[0].find("cma_alloc_finish: name=reserved pfn=0x");
  REQUIRE(first_pfn != std::string::npos);
  texts[0] = replace_once(texts[0], texts[0].substr(first_pfn, 40), "cma_alloc_finish: name=reserved pfn=0x1");
  cma::replay_options opt;
  opt.stream = false;
  bool streamed = false;
  const auto kept = replay_streamed(texts, opt, 1 << 20, &streamed);
  REQUIRE(kept.first_divergence());
  opt.area = cma::area_spec{kept.area_name, kept.base_pfn << cma::page_shift, kept.count << cma::page_shift, 0};
  opt.kernel = cma::kernel_version{6, 1, 0};
  opt.stream = true;
  const auto live = replay_streamed(texts, opt, 1 << 20, &streamed);
  CHECK(streamed);
  CHECK(live.needs_batch_replay);
  CHECK(live.count_of(cma::verdict::inferred) > 0);
  const auto full = replay_texts(texts, opt);
  CHECK_FALSE(full.needs_batch_replay);
  CHECK(full.count_of(cma::verdict::diverged) == kept.count_of(cma::verdict::diverged));
  CHECK(full.count_of(cma::verdict::inferred) == 0);
}

//  Regression (libFuzzer, fuzzer-parse_log): streamed, an allocation left open by a start
//  event kept a view of its interned area name; the next start event, naming a second
//  area, grew the name table and moved that name (a use after free under ASan, a wrong
//  or garbled area otherwise).  Expect: each unfinished start is judged under its own
//  area name — ours checked, the other area's unchecked.
TEST_CASE("an allocation left open keeps its area name while later events name other areas") {
  const std::string trace = "# tracer: nop\n"
                            "init-1 [000] ..... 1.000000: cma_alloc_start: name=reserved count=4 align=2\n"
                            "init-1 [000] ..... 1.000001: cma_alloc_start: name=other-area-with-a-long-name count=4 align=2\n"
                            "init-1 [000] ..... 1.000002: cma_alloc_start: name=third-area-with-a-long-name count=4 align=2\n";
  cma::replay_options opt;
  opt.area = cma::area_spec{"reserved", 0x40000000, 1u << 20, 0};
  opt.kernel = cma::kernel_version{6, 1, 0};
  for (bool stream : {true, false}) {
    INFO("stream " << stream);
    opt.stream = stream;
    const auto r = replay_texts({trace}, opt);
    REQUIRE(r.ops.size() == 3);
    CHECK(r.ops[0].area == "reserved");
    CHECK(r.ops[0].result == cma::verdict::diverged); // the model would have traced a finish
    CHECK(r.ops[1].area == "other-area-with-a-long-name");
    CHECK(r.ops[1].result == cma::verdict::unchecked);
    CHECK(r.ops[2].area == "third-area-with-a-long-name");
  }
}
