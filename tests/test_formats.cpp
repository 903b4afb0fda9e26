// tests/test_formats.cpp — every parser against the line shapes real logs contain
// (kernel format strings from KERNEL-FACTS §1.7/§3/§5/§6, wrappers from LOGS-IN-THE-WILD.md).
#include "helpers.hpp"

#include <cma/formats/log_reader.hpp>
#include <cma/formats/workload.hpp>

#include <catch2/catch.hpp>

#include <charconv>
#include <random>
#include <sstream>
#include <string_view>
#include <vector>

namespace f = cma::formats;
namespace ev = cma::ev;

namespace {
template <class T> T event_of(const std::string& line) {
  auto r = f::read_log(line);
  INFO(line);
  REQUIRE(r.unrecognised.empty());
  REQUIRE(r.events.size() == 1);
  REQUIRE(std::holds_alternative<T>(r.events[0].what));
  return std::get<T>(r.events[0].what);
}
std::string why_not(const std::string& line) {
  auto r = f::read_log(line);
  REQUIRE(r.events.empty());
  REQUIRE(r.unrecognised.size() == 1);
  return r.unrecognised[0].why;
}
} // namespace

// ---------------------------------------------------------------- ftrace
TEST_CASE("ftrace: the 5.14 start and finish events of /sys/kernel/tracing/trace") {
  auto s = event_of<ev::alloc_start>("            init-1       [000] .....     0.251688: cma_alloc_start: name=reserved count=32 align=5");
  CHECK(s.name == "reserved");
  CHECK(s.count == 32);
  CHECK(s.align == 5);
  auto fin = event_of<ev::alloc_finish>("  init-1  [000] .N...  3.140620: cma_alloc_finish: name=reserved pfn=0x76e00 page=0000000060b55f49 count=2048 align=8");
  CHECK(fin.pfn == 0x76e00);
  CHECK_FALSE(fin.errorno);
  auto r = f::read_log("  init-1  [000] .....  3.140620: cma_alloc_finish: name=reserved pfn=0x76e00 page=0 count=2 align=1");
  CHECK(r.events.at(0).where.time == Approx(3.140620));
  CHECK(r.events.at(0).from == ev::origin::ftrace);
}

TEST_CASE("ftrace: 6.3 errorno, 6.18 counts, 4.x legacy events and trace-cmd report lines") {
  auto e = event_of<ev::alloc_finish>("a-1 [000] ..... 1.5: cma_alloc_finish: name=cma pfn=0xffffffffffffffff page=0000000000000000 count=5 align=0 errorno=-12");
  CHECK(e.errorno == -12);
  CHECK(e.pfn == cma::no_pfn);
  auto s = event_of<ev::alloc_start>("a-1 [000] ..... 1.5: cma_alloc_start: name=reserved request_count=16 available_count=100 total_count=16384 align=4");
  CHECK(s.count == 16);
  CHECK(s.available == 100);
  CHECK(s.total == 16384);
  auto l = event_of<ev::alloc_finish>("     sh-1234  [001] d..1   120.000001: cma_alloc: pfn=7ce00 page=ffffffbf00000000 count=256 align=8");
  CHECK(l.legacy);
  CHECK_FALSE(l.name);
  CHECK(l.pfn == 0x7ce00);
  auto rel = event_of<ev::release>("   sh-1234  [001]   120.5: cma_release:          pfn=7ce00 page=ffffffbf00000000 count=256");
  CHECK(rel.pfn == 0x7ce00);
  auto b = event_of<ev::busy_retry>("init-1 [000] 3.0: cma_alloc_busy_retry: name=reserved pfn=0x76e00 page=00000000e88f4569 count=4096 align=8");
  CHECK(b.pfn == 0x76e00);
  auto m = event_of<ev::step_marker>("init-1 [000] ..... 2.874879: tracing_mark_write: step 12: mode pages");
  CHECK(m.n == 12);
  CHECK(m.cmd == "mode pages");
}

TEST_CASE("ftrace: a cma event with a bad field is reported with what was expected") {
  CHECK(why_not("init-1 [000] 1.0: cma_alloc_start: name=reserved count=abc align=5") ==
        "cma_alloc_start: expected count=<decimal> or request_count=<decimal>");
  CHECK(why_not("init-1 [000] 1.0: cma_alloc_finish: name=r pfn=0x99999999999999999999 page=0 count=1 align=0") ==
        "cma_alloc_finish: expected pfn=<hex>");
  CHECK(why_not("init-1 [000] 1.0: cma_release: name=r pfn=0x10 page=0 count=-3") == "cma_release: expected count=<decimal>");
  CHECK(why_not("init-1 [000] 1.0: cma_alloc_finish: name=r pfn=0x10 page=0 count=1 align=999") ==
        "cma_alloc_finish: expected align=<order 0..63>");
}

TEST_CASE("ftrace: the header is understood and an overrun buffer is noticed") {
  auto r = f::read_log("# tracer: nop\n#\n# entries-in-buffer/entries-written: 54/90   #P:1\n#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n");
  CHECK(r.unrecognised.empty());
  CHECK(r.trace_overrun);
}

// ---------------------------------------------------------------- wrappers
TEST_CASE("kmsg: every wrapper users paste around the same message") {
  const std::string msg = "cma: cma_alloc: linux,cma: alloc failed, req-size: 2025 pages, ret: -12";
  const char* wrappers[] = {
      "",                                           // bare (dmesg | grep)
      "[   12.345678] ",                            // dmesg
      "<3>[   12.345678] ",                         // with level
      "[Sun Aug  1 15:03:02 2021] ",                // dmesg -T
      "[Oct23 15:35] ",                             // dmesg -H
      "[  +0.000009] ",                             // dmesg -H relative
      "[   12.345678][    T1] ",                    // CONFIG_PRINTK_CALLER
      "Aug  1 15:03:02 raspberrypi kernel: [   12.345678] ", // syslog
      "Aug  1 15:03:02 raspberrypi kernel: ",       // journal without [ts]
      "Aug 01 15:03:02 host kernel[1234]: ",        // daemon-forwarded
      "kernel: ",                                   // kernel: only
      "> [   12.345678] ",                          // quoted in notes
      "[  123.456789] .(2)[1234:kworker/u8:1]",     // MediaTek, no space before the message
  };
  for (const char* w : wrappers) {
    INFO("wrapper: '" << w << "'");
    auto e = event_of<ev::alloc_failed>(std::string(w) + msg);
    CHECK(e.name == "linux,cma");
    CHECK(e.count == 2025);
    CHECK(e.ret == -12);
  }
}

TEST_CASE("kmsg: CRLF line ends and two printk records glued into one line") {
  auto r = f::read_log("[    0.000000] cma: Reserved 64 MiB at 0x000000007ac00000\r\n"
                       "base a000000<6>[    0.000000] cma: Failed to reserve 512 MiB\n");
  REQUIRE(r.unrecognised.empty());
  REQUIRE(r.events.size() == 2);
  CHECK(std::get<ev::reserved>(r.events[0].what).base == 0x7ac00000);
  CHECK(std::get<ev::reserve_failed>(r.events[1].what).mib == 512);
}

// ---------------------------------------------------------------- messages
TEST_CASE("kmsg: the pr_debug lines of mm/cma.c in the 4.15, 6.1, 6.6 and 6.12 forms") {
  auto c415 = event_of<ev::alloc_call>("[ 5.46] cma: cma_alloc(cma 0000000087b8192a, count 1, align 0)");
  CHECK(c415.cma_token == "0000000087b8192a");
  CHECK(c415.count == 1);
  auto c66 = event_of<ev::alloc_call>("[ 5.46] cma: cma_alloc(cma 0000000087b8192a, name: reserved, count 2048, align 8)");
  CHECK(c66.name == "reserved");
  CHECK(c66.align == 8);
  auto c612 = event_of<ev::alloc_call>("[ 0.2] cma: __cma_alloc(cma (____ptrval____), name: reserved, count 32, align 5)");
  CHECK(c612.func == "__cma_alloc");
  CHECK(c612.cma_token == "(____ptrval____)");
  auto ret = event_of<ev::alloc_returned>("[ 5.47] cma: cma_alloc(): returned 0000000000000000");
  CHECK(ret.null());
  auto busy61 = event_of<ev::busy_debug>("[ 3.0] cma: cma_alloc(): memory range at 000000007b6b17c6 is busy, retrying");
  CHECK_FALSE(busy61.pfn);
  auto busy66 = event_of<ev::busy_debug>("[ 3.0] cma: cma_alloc(): memory range at pfn 0x76e00 000000007b6b17c6 is busy, retrying");
  CHECK(busy66.pfn == 0x76e00);
  auto rel415 = event_of<ev::release_debug>("[ 1116.2] cma: cma_release(page 0000000088c1ffab)");
  CHECK_FALSE(rel415.count);
  auto rel61 = event_of<ev::release_debug>("[ 3.4] cma: cma_release(page 000000007b6b17c6, count 2048)");
  CHECK(rel61.count == 2048);
  auto inv = event_of<ev::pages_invalid>("[ 3.7] cma: cma_pages_valid(page 0000000029da2038, count 1)");
  CHECK(inv.count == 1);
}

// Verbatim from tests/data/recorded/{huge,rand,toolarge}-7.3-* (Debian 7.3.4, dyndbg mm/cma.c +p).
TEST_CASE("kmsg: the 7.x pr_debug lines of mm/cma.c — __cma_alloc_frozen, __cma_release_frozen, find_cma_memrange") {
  auto call = event_of<ev::alloc_call>("[    5.513462] cma: __cma_alloc_frozen(cma 00000000091f6b87, name: hugetlb0, count 8192, align 13)");
  CHECK(call.func == "__cma_alloc_frozen");
  CHECK(call.cma_token == "00000000091f6b87");
  CHECK(call.name == "hugetlb0");
  CHECK(call.count == 8192);
  CHECK(call.align == 13);
  auto early = event_of<ev::alloc_call>("[    1.080811] cma: __cma_alloc_frozen(cma (____ptrval____), name: reserved, count 128, align 7)");
  CHECK(early.cma_token == "(____ptrval____)");
  CHECK(early.name == "reserved");
  auto ret = event_of<ev::alloc_returned>("[    5.630359] cma: __cma_alloc_frozen(): returned 000000004fadae02");
  CHECK(ret.func == "__cma_alloc_frozen");
  CHECK(ret.page_token == "000000004fadae02");
  CHECK_FALSE(ret.null());
  CHECK(event_of<ev::alloc_returned>("[    4.084352] cma: __cma_alloc_frozen(): returned 0000000000000000").null());
  CHECK(event_of<ev::alloc_returned>("[    1.119532] cma: __cma_alloc_frozen(): returned (____ptrval____)").page_token ==
        "(____ptrval____)");
  auto rel = event_of<ev::release_debug>("[    9.864585] cma: __cma_release_frozen(page 0000000067b21500, count 256)");
  CHECK(rel.page_token == "0000000067b21500");
  CHECK(rel.count == 256);
  auto hit = event_of<ev::memrange_lookup>("[    9.864405] cma: find_cma_memrange(page 0000000067b21500, count 256)");
  CHECK(hit.page_token == "0000000067b21500");
  CHECK(hit.count == 256);
  CHECK(hit.matched);
  auto miss = event_of<ev::memrange_lookup>(
      "[    3.537988] cma: find_cma_memrange(page 00000000f9ac9b4c, count 1, no cma range matches the page range)");
  CHECK(miss.page_token == "00000000f9ac9b4c");
  CHECK(miss.count == 1);
  CHECK_FALSE(miss.matched);
  auto failed = event_of<ev::alloc_failed>("[    4.083553] cma: __cma_alloc_frozen: reserved: alloc failed, req-size: 4096 pages, ret: -16");
  CHECK(failed.func == "__cma_alloc_frozen");
  CHECK(failed.name == "reserved");
  CHECK(failed.count == 4096);
  CHECK(failed.ret == -16);
  // malformed: reported with what was expected, never a wrong event
  for (const char* bad : {"cma: __cma_release_frozen(page 0000000067b21500, count )",
                          "cma: __cma_release_frozen(page 0000000067b21500)",
                          "cma: __cma_release_frozen(0000000067b21500, count 256)",
                          "cma: find_cma_memrange(page 0000000067b21500, count 256",
                          "cma: find_cma_memrange(page 0000000067b21500, count x)",
                          "cma: find_cma_memrange(page 0000000067b21500, count 256, no cma range)",
                          "cma: find_cma_memrange(0000000067b21500, count 256)"}) {
    INFO(bad);
    auto p = f::kmsg::parse_line(bad);
    CHECK(p.status == f::line_status::malformed);
    CHECK(p.why.find("expected") != std::string::npos);
  }
}

// The 7.3 failure's show_areas, split over four records (toolarge-7.3-cma16M, verbatim).
TEST_CASE("kmsg: the 7.x failure line and its show_areas split over lines") {
  auto r = f::read_log("[    4.083553] cma: __cma_alloc_frozen: reserved: alloc failed, req-size: 4096 pages, ret: -16\n"
                       "[    4.083577] cma: number of available pages: \n"
                       "[    4.083629] cma: range 0: +224@32+3284@812\n"
                       "[    4.084290] cma: \n"
                       "[    4.084312] => 3508 free of 4096 total pages\n");
  CHECK(r.unrecognised.empty());
  REQUIRE(r.events.size() == 3);
  CHECK(std::get<ev::alloc_failed>(r.events[0].what).count == 4096);
  const auto& range = std::get<ev::show_areas_range>(r.events[1].what);
  CHECK(range.range == 0);
  REQUIRE(range.runs.size() == 2);
  CHECK(range.runs[0].len == 224);
  CHECK(range.runs[0].at == 32);
  CHECK(range.runs[1].len == 3284);
  CHECK(range.runs[1].at == 812);
  const auto& total = std::get<ev::show_areas_total>(r.events[2].what);
  CHECK(total.free == 3508);
  CHECK(total.total == 4096);
}

TEST_CASE("kmsg: failure lines with and without an area name, and show_areas") {
  auto old = event_of<ev::alloc_failed>("[  3.1] cma: cma_alloc: alloc failed, req-size: 1 pages, ret: -16");
  CHECK_FALSE(old.name);
  CHECK(old.ret == -16);
  auto v612 = event_of<ev::alloc_failed>("cma: __cma_alloc: reserved: alloc failed, req-size: 5 pages, ret: -12");
  CHECK(v612.func == "__cma_alloc");
  auto sa = event_of<ev::show_areas>("cma: number of available pages: 2@98+1@103+5@200=> 8 free of 8192 total pages");
  REQUIRE(sa.runs.size() == 3);
  CHECK(sa.runs[1].len == 1);
  CHECK(sa.runs[1].at == 103);
  CHECK(sa.total == 8192);
  auto empty = event_of<ev::show_areas>("cma: number of available pages: => 0 free of 8192 total pages");
  CHECK(empty.runs.empty());
}

TEST_CASE("kmsg: boot lines, meminfo, busy PFNs and rate-limit notices") {
  CHECK(event_of<ev::reserved>("[0.0] cma: Reserved 128 MiB at 0x0000000076c00000").mib == 128);
  CHECK(event_of<ev::reserved>("cma: Reserved 64 MiB at 0x000000007ac00000 on node -1").node == -1);
  CHECK(event_of<ev::reserved>("cma: CMA: reserved 256 MiB at 2e800000").base == 0x2e800000);
  CHECK(event_of<ev::reserve_failed>("cma: Failed to reserve 1024 MiB on node 0").node == 0);
  CHECK(event_of<ev::rmem_pool>("Reserved memory: created CMA memory pool at 0x000000002c000000, size 320 MiB").mib == 320);
  CHECK(event_of<ev::memory_line>("Memory: 98324K/1048576K available (13248K kernel code, 2806K rwdata, 9524K rodata, "
                                  "6464K init, 627K bss, 128776K reserved, 131072K cma-reserved)")
            .cma_reserved_kb == 131072);
  CHECK(event_of<ev::meminfo>("CmaTotal:        1048576 kB").kb == 1048576);
  CHECK_FALSE(event_of<ev::meminfo>("> CmaFree:          630340 kB").total);
  auto busy = event_of<ev::pfns_busy>("[  101.1] alloc_contig_range: [79e00, 7a000) PFNs busy");
  CHECK(busy.start == 0x79e00);
  CHECK(busy.end == 0x7a000);
  CHECK(event_of<ev::callbacks_suppressed>("alloc_contig_range: 14 callbacks suppressed").n == 14);
  CHECK(event_of<ev::banner>("[0.0] Linux version 6.12.117+deb12-arm64 (debian-kernel@lists.debian.org)").version.minor == 12);
  CHECK(event_of<ev::kconfig>("CONFIG_CMA_SIZE_MBYTES=2048").value == "2048");
}

TEST_CASE("cma_test: cmasim's module format (kmod/FORMAT.md) and the older recorder's lines") {
  auto a = event_of<ev::kmod_alloc>("[ 3.0] cma_test: v1 op=alloc id=4 bytes=12288 pages=3 align=2 pfn=0x76c60 cma=1 mode=coherent err=0");
  CHECK(a.pfn == 0x76c60);
  CHECK(a.cma);
  auto fail = event_of<ev::kmod_alloc>("cma_test: v1 op=alloc id=5 bytes=8388608 pages=2048 align=8 pfn=0x0 cma=0 mode=pages err=-12");
  CHECK(fail.err == -12);
  CHECK(event_of<ev::kmod_free>("cma_test: v1 op=free id=4 pages=3 pfn=0x76c60 cma=1").pages == 3);
  CHECK(event_of<ev::kmod_hog>("cma_test: v1 op=hog pfn=0x774fa").pfn == 0x774fa);
  CHECK(why_not("cma_test: v1 op=alloc id=4 bytes=1 pages=x align=0 pfn=0x1 cma=1 mode=coherent err=0") ==
        "cma_test v1 op=alloc: expected id=, bytes=, pages= decimals");
  CHECK(event_of<ev::kmod_alloc>("cma_test: alloc id=0 req=8388608 pages=2048 align=8 pfn=0x76d00 phys=0x76d00000 cma=1 mode=coherent t_us=1 cmafree=1->2").pages == 2048);
  CHECK(event_of<ev::kmod_alloc>("cma_test: alloc id=- req=8163328 pages=1993 align=8 FAILED mode=coherent t_us=333 cmafree=3172->3172").err == -12);
  auto bm = event_of<ev::recorder_bitmap>("cma_test: bitmap: 0+98 256+2304");
  REQUIRE(bm.used.size() == 2);
  CHECK(bm.used[1].len == 2304);
}

TEST_CASE("recorder: steps.txt lines and live listings") {
  auto s = event_of<ev::step_result>("@@STEP 4 rc=0 cmd=8 | CmaTotal: 131072 kB CmaFree: 121448 kB pgmigrate_success=0");
  CHECK(s.n == 4);
  CHECK(s.cmd == "8");
  CHECK(s.cma_free_kb == 121448);
  auto l = event_of<ev::live_allocation>("@@LIVE id=3 size=8388608 pages=2048 pfn=0x76e00 phys=0x76e00000 cma=1 mode=coherent");
  CHECK(l.pfn == 0x76e00);
}

// ---------------------------------------------------------------- robustness
TEST_CASE("malformed input: truncated, huge, negative, binary and interleaved lines never crash and are listed") {
  std::string junk = "[    1.0] cma: cma_alloc(cma 0000, count 9999999999999999999999, align 8)\n"
                     "[    1.0] cma: cma_alloc(cma 0000, count 12\n"
                     "[    1.0] cma: cma_alloc: reserved: alloc failed, req-size: -5 pages, ret: -12\n"
                     "[    1.0] cma: Reserved 64 MiB at 0xZZZ\n"
                     "usb 1-1: new high-speed USB device number 2\n"
                     "init-1 [000] 1.0: cma_alloc_start: name=reserved\n";
  junk += std::string("\x00\x01\xff cma \x7f\x80", 10) + "\n";
  junk += "cma: number of available pages: 12@=> 3 free of\n";
  auto r = f::read_log(junk, 3);
  CHECK(r.events.empty());
  CHECK(r.unrecognised.size() == 7); // every line that mentions cma; the usb line is not ours
  CHECK(r.lines == 8);
  for (const auto& u : r.unrecognised) {
    CHECK(u.file == 3);
    CHECK_FALSE(u.why.empty());
    CHECK(u.text.find('\x00') == std::string::npos);
  }
  CHECK(r.unrecognised[0].why == "cma_alloc(: expected 'count <decimal>'");
  CHECK(r.unrecognised[2].line == 3);
}

TEST_CASE("call-trace frames and module lists of a WARN are understood, not reported") {
  auto r = f::read_log("[   13.031115]  do_alloc+0xec/0x2f0 [cma_test]\n[   13.03] Modules linked in: cma_test(OE)\n");
  CHECK(r.unrecognised.empty());
}

TEST_CASE("every line of the bundled real traces is understood") {
  for (const char* t : {"smoke", "busy", "frag_run1", "seed_cma1G", "place_default_1G", "place_fixed_0x48",
                        "place_fixed_0x50", "place_range_1G2G", "place_toobig", "place_cma0"}) {
    for (const char* file : {"trace.txt", "dmesg.txt", "steps.txt", "console.log"}) {
      INFO(t << "/" << file);
      auto r = f::read_log(cmatest::read_fixture(std::string("traces/") + t + "/" + file));
      CHECK(r.unrecognised.empty());
      CHECK(r.cma_lines > 0);
    }
  }
}

// ---------------------------------------------------------------- reading in pieces
namespace {
// Feeds `text` to a log_reader in pieces of `piece` bytes.
f::read_result read_in_pieces(const std::string& text, std::size_t piece, unsigned file = 0) {
  f::read_result out;
  f::detail_::collect_sink sink{out};
  f::log_reader reader(file, sink);
  for (std::size_t at = 0; at < text.size(); at += piece) reader.feed(std::string_view(text).substr(at, piece));
  const auto sum = reader.finish();
  out.lines = sum.lines, out.cma_lines = sum.cma_lines, out.trace_overrun = sum.trace_overrun;
  return out;
}
void check_same_reading(const f::read_result& a, const f::read_result& b) {
  CHECK(a.lines == b.lines);
  CHECK(a.cma_lines == b.cma_lines);
  CHECK(a.trace_overrun == b.trace_overrun);
  REQUIRE(a.events.size() == b.events.size());
  for (std::size_t i = 0; i < a.events.size(); ++i) {
    CHECK(a.events[i].what.index() == b.events[i].what.index());
    CHECK(a.events[i].where.line == b.events[i].where.line);
    CHECK(a.events[i].where.time == b.events[i].where.time);
    CHECK(a.events[i].from == b.events[i].from);
  }
  REQUIRE(a.unrecognised.size() == b.unrecognised.size());
  for (std::size_t i = 0; i < a.unrecognised.size(); ++i) {
    CHECK(a.unrecognised[i].line == b.unrecognised[i].line);
    CHECK(a.unrecognised[i].text == b.unrecognised[i].text);
  }
}
} // namespace

//  A file read block by block cuts lines anywhere, "\r\n" included.
//  Expect: the same lines, line numbers, times and events as one read_log of the whole text.
TEST_CASE("a text fed to log_reader in pieces reads exactly as one read_log of the whole text") {
  std::vector<std::string> texts{cmatest::read_fixture("traces/frag_run1/trace.txt"),
                                 cmatest::read_fixture("traces/frag_run1/dmesg.txt"),
                                 "a\n\ncma: junk\r\n[    1.0] cma: Reserved 64 MiB at 0x000000007ac00000\r\nlast cma line, no newline",
                                 "\n\n", ""};
  for (const auto& text : texts) {
    const auto whole = f::read_log(text, 2);
    for (std::size_t piece : {1u, 2u, 7u, 4096u}) {
      INFO("piece " << piece);
      check_same_reading(read_in_pieces(text, piece, 2), whole);
    }
  }
}

// ---------------------------------------------------------------- ftrace fast path
namespace {
// The fields of the four operation events, compared.
bool same_trace_event(const ev::event& a, const ev::event& b) {
  if (a.index() != b.index()) return false;
  if (auto x = std::get_if<ev::alloc_start>(&a)) {
    auto y = std::get<ev::alloc_start>(b);
    return x->name == y.name && x->count == y.count && x->align == y.align && x->available == y.available && x->total == y.total;
  }
  if (auto x = std::get_if<ev::alloc_finish>(&a)) {
    auto y = std::get<ev::alloc_finish>(b);
    return x->name == y.name && x->pfn == y.pfn && x->page == y.page && x->count == y.count && x->align == y.align &&
           x->errorno == y.errorno && x->legacy == y.legacy;
  }
  if (auto x = std::get_if<ev::busy_retry>(&a)) {
    auto y = std::get<ev::busy_retry>(b);
    return x->name == y.name && x->pfn == y.pfn && x->page == y.page && x->count == y.count && x->align == y.align;
  }
  if (auto x = std::get_if<ev::release>(&a)) {
    auto y = std::get<ev::release>(b);
    return x->name == y.name && x->pfn == y.pfn && x->page == y.page && x->count == y.count;
  }
  return false;
}
} // namespace

//  parse_line reads the kernel's own field layout front to back and hands any other
//  layout to the general key=value reader.  Expect: wherever the front-to-back reader
//  answers, the general reader gives the same event — on every real trace line and on
//  lines bent every way a log can bend them.
TEST_CASE("ftrace: the front-to-back reader of the kernel's layout agrees with the general reader") {
  namespace ft = f::ftrace::detail_;
  std::vector<std::string> lines;
  for (const char* t : {"smoke", "busy", "frag_run1", "seed_cma1G"}) {
    std::istringstream in(cmatest::read_fixture(std::string("traces/") + t + "/trace.txt"));
    for (std::string l; std::getline(in, l);) lines.push_back(l);
  }
  const std::string head = "  init-1  [000] .....  3.140620: ";
  for (std::string body : {"cma_alloc_finish: name=reserved pfn=0x76e00 page=0000000060b55f49 count=2048 align=8",
                           "cma_alloc_finish: name=reserved pfn=0x76e00 page=0000000000000000 count=2 align=1 errorno=-12",
                           "cma_alloc_finish: name=reserved pfn=0X76E00 page=ABCDEF0123456789 count=2 align=1 errorno=0",
                           "cma_alloc_finish: name=reserved pfn=0x76e00 page=(null) count=2 align=1",
                           "cma_alloc_finish: name=reserved pfn=0x76e00 page=0 count=2 align=65",
                           "cma_alloc_finish: name=reserved pfn=0x76e00 page=0 count=2 align=1 errorno=x",
                           "cma_alloc_finish: name=reserved pfn=0x76e00 page=0 count=2 align=1 extra=1",
                           "cma_alloc_finish: name=reserved  pfn=0x76e00 page=0 count=2 align=1",
                           "cma_alloc_finish: pfn=0x76e00 name=reserved page=0 count=2 align=1",
                           "cma_alloc_finish: name= pfn=0x76e00 page=0 count=2 align=1",
                           "cma_alloc_finish: name=a=b pfn=0x76e00 page=0 count=2 align=1",
                           "cma_alloc_finish: name=reserved pfn=0x1ffffffffffffffff page=0 count=2 align=1",
                           "cma_alloc_finish: name=reserved pfn=0xffffffffffffffff page=0 count=18446744073709551615 align=1",
                           "cma_alloc_finish: name=reserved pfn=0x76e00 page=0 count=99999999999999999999 align=1",
                           "cma_alloc_start: name=reserved count=32 align=5",
                           "cma_alloc_start: name=reserved count=32 align=5 ",
                           "cma_alloc_start: name=reserved request_count=32 available_count=100 total_count=200 align=5",
                           "cma_alloc_start: name=reserved count=-1 align=5",
                           "cma_alloc_busy_retry: name=reserved pfn=0x76e00 page=0000000060b55f49 count=2048 align=8",
                           "cma_release: name=reserved pfn=0x76e00 page=0000000060b55f49 count=2048",
                           "cma_release: name=reserved pfn=0x76e00 page=0000000060b55f49 count=2048 align=1",
                           "cma_release: pfn=76e00 page=0000000060b55f49 count=2048",
                           "cma_alloc: pfn=76e00 page=0000000060b55f49 count=2048 align=8"})
    lines.push_back(head + body);
  std::size_t fast = 0;
  for (const auto& l : lines) {
    const auto loc = ft::locate(l);
    if (!loc) continue;
    f::parsed_line p;
    if (!ft::parse_canonical(*loc, p)) continue;
    INFO(l);
    ++fast;
    const auto general = ft::parse_general(*loc);
    REQUIRE(general.status == f::line_status::event);
    CHECK(same_trace_event(*p.event, *general.event));
    CHECK(p.time == general.time);
  }
  CHECK(fast > 100);
}

//  Expect: the timestamp fast path returns exactly what std::from_chars returns.
TEST_CASE("ftrace and printk timestamps read exactly as std::from_chars reads them") {
  std::vector<std::string> stamps{"0.000000", "3.140620", "12345.678901", "99999.999999", "0.1", "5.", ".5", "7",
                                  "123456789.123456", "1234567890.123456", "00000000000000001.5", "1.2.3", ".", ""};
  for (std::uint64_t x = 1; x < 100000000000ull; x = x * 7 + 3)
    stamps.push_back(std::to_string(x / 1000000) + "." + std::to_string(1000000 + x % 1000000).substr(1));
  for (const auto& s : stamps) {
    INFO(s);
    double want = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), want);
    const bool ok = ec == std::errc{} && p == s.data() + s.size();
    const auto got = f::detail::to_seconds(s);
    REQUIRE(got.has_value() == ok);
    if (ok) CHECK(*got == want);
    // as ftrace's locate() reads it: the stamp before "<stamp>: " must hold a '.'
    const auto line = "init-1 [000] ..... " + s + ": ";
    double in_line = -1;
    const bool found = f::ftrace::detail_::timestamp_before(line, line.size() - 2, in_line);
    const bool dotted = s.find('.') != std::string::npos;
    REQUIRE(found == (ok && dotted));
    if (found) CHECK(in_line == want);
  }
}

//  field_cursor reads a 16-digit %p value eight digits at a time (hex8), anything else a
//  digit at a time.  Random values of 14 to 19 characters — hex digits of both cases,
//  "0x", and bytes that are not digits (space, '/', ':', '@', 'G', '`', 'x', DEL, 0x80, 0xff
//  sit at the edges of the digit ranges; 0x10-0x19, NUL and other control bytes) —
//  followed by the end or by another field.
//  Expect: the value and the verdict of to_u64 (at most 16 digits after an optional 0x).
TEST_CASE("a hex field is read eight digits at a time exactly as to_u64 reads it") {
  namespace d = cma::formats::detail;
  std::mt19937_64 rng(11);
  const std::string digits = "0123456789abcdefABCDEF";
  // (0x10-0x19 are digits once case-folded with | 0x20: the fuzzer found hex8 taking them)
  const std::string edges = std::string(" /:@G`gx\x7f\x80\xff\x10\x19\x01\x16") + '\0';
  std::size_t wide = 0;
  for (int i = 0; i < 200000; ++i) {
    std::string v;
    if (rng() % 4 == 0) v = "0x";
    const std::size_t len = 14 + rng() % 6;
    while (v.size() < len) v += rng() % 8 ? digits[rng() % digits.size()] : edges[rng() % edges.size()];
    const bool more = rng() % 2;
    const std::string line = "page=" + v + (more ? " count=7" : "");
    INFO(line);
    d::field_cursor c(line);
    const auto got = c.number<16>("page");
    const bool read = more ? (c.number<10>("count") == 7 && c.done()) : c.done();
    std::string_view body(v);
    if (body.substr(0, 2) == "0x") body.remove_prefix(2);
    const auto want = body.find(' ') == std::string_view::npos && body.size() <= 16 ? d::to_u64(v, 16) : std::nullopt;
    REQUIRE(read == want.has_value());
    if (want) CHECK(got == *want);
    wide += want && body.size() == 16;
  }
  CHECK(wide > 1000); // the 8-at-a-time path was taken
}

// sim/recorder/cma_run.c huge_kb(): "huge %lu%c %lu %c" with the unit K, M or G and nothing
// after the count; anything else is not a huge step (cma_run then writes it to the device).
TEST_CASE("workload: `huge SIZE N` as cma_run.c reads it") {
  namespace wl = cma::formats::workload;
  const auto h = wl::huge("huge 32M 34");
  REQUIRE(h);
  CHECK(h->kb == 32768);
  CHECK(h->count == 34);
  CHECK(wl::huge("huge 1G 1")->kb == 1048576);
  CHECK(wl::huge("huge 64K 3")->kb == 64);
  CHECK(wl::huge("huge  2M   0")->count == 0); // %lu skips blanks
  CHECK_FALSE(wl::huge("huge 32 4"));          // no unit
  CHECK_FALSE(wl::huge("huge 32m 4"));         // the unit is upper case
  CHECK_FALSE(wl::huge("huge 32M"));           // no count
  CHECK_FALSE(wl::huge("huge 32M 4 x"));       // something after the count
  CHECK_FALSE(wl::huge("huge 32M -1"));
  CHECK_FALSE(wl::huge("hugepages 32M 4"));
  CHECK_FALSE(wl::huge("huge 99999999999999999999M 1")); // past 64 bits
  CHECK_FALSE(wl::huge("huge 18014398509481984G 1"));     // 2^54 GiB in kB overflows
  CHECK(wl::huge("huge 32M 18446744073709551615")->count == 18446744073709551615ULL);
}
