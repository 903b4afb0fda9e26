// tests/test_emulated_kernel.cpp — cma::device::emulated_kernel: the machine `cmasim mount` serves
// and `cmasim emulate` drives, through its file paths, in-process.
//
// What pins the numbers: the field notes' 4.15 session (tests/data/field-notes-4.15.md:
// CmaTotal, the CmaFree drops, the dmesg's count/align), the kernel's per-version trees
// (KERNEL-FACTS §3–4, mm/cma_debug.c, mm/cma_sysfs.c), and the boot model's pools (three of
// 32 pages on arm64 6.1/6.12 with 1 GiB, as every recording in tests/data/recorded shows).
#include <cma/device/emulated_kernel.hpp>

#include "helpers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

namespace dev = cma::device;

namespace {

std::unique_ptr<dev::emulated_kernel> boot_emulated(const char* version, cma::arch a, std::uint64_t ram, std::string cmdline,
                                           bool cma_debug = false) {
  dev::emulated_kernel_config c;
  c.version = *cma::kernel_version::parse(version);
  c.a = a;
  c.ram = ram;
  c.cmdline = std::move(cmdline);
  c.release = std::string(version) + ".0-test";
  c.config_cma_debug = cma_debug;
  auto r = dev::emulated_kernel::boot(c);
  if (auto* why = std::get_if<std::string>(&r)) FAIL(*why);
  return std::move(std::get<std::unique_ptr<dev::emulated_kernel>>(r));
}

constexpr std::uint64_t GiB = std::uint64_t{1} << 30;
const std::string recorder_args = "log_buf_len=16M trace_event=cma:* dyndbg=\"file mm/cma.c +p\" ";

std::uint64_t kb(const std::string& meminfo, const std::string& key) {
  std::istringstream s(meminfo);
  for (std::string l; std::getline(s, l);)
    if (l.rfind(key + ":", 0) == 0) return std::stoull(l.substr(key.size() + 1));
  FAIL("no " << key << " in " << meminfo);
  return 0;
}

bool has_line_ending(const std::string& text, const std::string& tail) {
  std::istringstream s(text);
  for (std::string l; std::getline(s, l);)
    if (l.size() >= tail.size() && l.compare(l.size() - tail.size(), tail.size(), tail) == 0) return true;
  return false;
}

} // namespace

TEST_CASE("field notes 4.15 in-process: the session's numbers through the machine's files", "[emulated]") {
  auto E = boot_emulated("4.15", cma::arch::x86_64, 4 * GiB, recorder_args + "cma=1G@1-2G");
  const auto notes = cmatest::read_fixture("field-notes-4.15.md");
  REQUIRE(notes.find("CmaTotal:        1048576 kB") != std::string::npos);
  std::uint64_t t = 4'000'000'000ULL;
  const auto meminfo = [&] { return E->text("proc/meminfo").text; };
  CHECK(meminfo().rfind("CmaTotal:        1048576 kB\n", 0) == 0);

  // debugfs: cd /sys/kernel/debug/cma/cma-reserved; echo 102400 > alloc; echo 102400 > free
  const std::string D = "sys/kernel/debug/cma/cma-reserved/";
  CHECK(E->stat("sys/kernel/debug/cma/cma-reserved").kind == dev::node_kind::dir);
  const auto used0 = E->text(D + "used").text;
  CHECK(E->write(D + "alloc", "102400\n", t += 1000) == dev::write_result{0, 7});
  CHECK(has_line_ending(E->text("dmesg").text, "count 102400, align 0)"));
  CHECK(E->text(D + "used").text == std::to_string(std::stoull(used0) + 102400) + "\n");
  CHECK(E->write(D + "free", "102400\n", t += 1000) == dev::write_result{0, 7});
  CHECK(E->text(D + "used").text == used0);

  // the module: echo 128 > /dev/cma_test; echo 512 > /dev/cma_test; cat /dev/cma_test
  const auto f0 = kb(meminfo(), "CmaFree");
  CHECK(E->write("dev/cma_test", "128\n", t += 1000).ok());
  const auto f1 = kb(meminfo(), "CmaFree");
  CHECK(f0 - f1 == 131072);
  CHECK(has_line_ending(E->text("dmesg").text, "count 32768, align 8)"));
  CHECK(E->write("dev/cma_test", "512\n", t += 1000).ok());
  const auto f2 = kb(meminfo(), "CmaFree");
  CHECK(f1 - f2 == 524288);
  const auto r = E->read("dev/cma_test", 131072, 0, t += 1000);
  CHECK(r == dev::read_result{0, "0\n"}); // the first read frees id 0, the 128 MiB buffer
  CHECK(has_line_ending(E->text("dmesg").text, "cma_test: v1 op=free id=0 pages=32768 pfn=0x40000 cma=1"));
  CHECK(kb(meminfo(), "CmaFree") == f2 + 131072);
  CHECK(E->read("dev/cma_test", 131072, 2, t += 1000) == dev::read_result{0, ""}); // cat's second read: EOF
}

TEST_CASE("the tree per version: debugfs folder, sysfs from 5.13, ranges and symlinks from 6.15", "[emulated]") {
  const auto names = [](const dev::emulated_kernel& E, const std::string& dir) {
    const auto l = E.list(dir);
    return std::vector<std::string>(l.begin(), l.end());
  };
  const auto has = [](const std::vector<std::string>& v, const char* x) { return std::find(v.begin(), v.end(), x) != v.end(); };

  auto old = boot_emulated("4.15", cma::arch::x86_64, 4 * GiB, "cma=1G@1-2G");
  CHECK(names(*old, "") == std::vector<std::string>{"dev", "proc", "sys", "dmesg"});
  CHECK_FALSE(has(names(*old, "sys/kernel"), "mm")); // no /sys/kernel/mm/cma before 5.13
  CHECK(names(*old, "sys/kernel/debug/cma") == std::vector<std::string>{"cma-reserved"});
  CHECK(old->text("proc/vmstat").text == "nr_free_cma 262144\n"); // no cma_alloc_* before 5.13

  auto v61 = boot_emulated("6.1", cma::arch::arm64, GiB, "cma=64M");
  CHECK(names(*v61, "sys/kernel/mm/cma/reserved") == std::vector<std::string>{"alloc_pages_success", "alloc_pages_fail"});
  CHECK(names(*v61, "sys/kernel/debug/cma/reserved") ==
        std::vector<std::string>{"alloc", "free", "base_pfn", "count", "order_per_bit", "used", "maxchunk", "bitmap"});
  CHECK(v61->stat("sys/kernel/debug/cma/reserved/alloc").mode == 0200);
  CHECK(v61->stat("sys/kernel/debug/cma/reserved/count").mode == 0444);
  CHECK(v61->stat("sys/kernel/debug/cma/reserved/nosuch").kind == dev::node_kind::none);

  auto v612 = boot_emulated("6.12", cma::arch::arm64, GiB, "cma=64M");
  CHECK(has(names(*v612, "sys/kernel/mm/cma/reserved"), "release_pages_success"));

  auto v615 = boot_emulated("6.15", cma::arch::arm64, GiB, "cma=64M");
  const std::string D = "sys/kernel/debug/cma/reserved/";
  CHECK(v615->stat(D + "base_pfn").kind == dev::node_kind::symlink);
  CHECK(v615->readlink(D + "base_pfn") == "ranges/0/base_pfn");
  CHECK(v615->stat(D + "ranges/0").kind == dev::node_kind::dir);
  CHECK(v615->text(D + "base_pfn").text == v615->text(D + "ranges/0/base_pfn").text);
  CHECK(v615->text("sys/kernel/mm/cma/reserved/total_pages").text == "16384\n");
}

TEST_CASE("errnos of the files that are not the device's", "[emulated]") {
  auto E = boot_emulated("6.1", cma::arch::arm64, GiB, "cma=64M");
  CHECK(E->write("proc/meminfo", "1\n", 1).err == -5);   // procfs without proc_write: -EIO
  CHECK(E->write("dmesg", "1\n", 1).err == dev::eacces); // the mount's own read-only file
  CHECK(E->write("proc/nosuch", "1\n", 1).err == dev::enoent);
  CHECK(E->write("proc", "1\n", 1).err == dev::eisdir);
  CHECK(E->text("sys").err == dev::eisdir);
  CHECK(E->text("sys/kernel/debug/cma/reserved/alloc").err == dev::eacces);
  CHECK(E->write("sys/kernel/mm/cma/reserved/alloc_pages_fail", "1", 1).err == dev::eacces);
  CHECK(E->write("sys/kernel/debug/cma/reserved/count", "1", 1).err == dev::eacces);
}

TEST_CASE("the counters follow every cma_alloc: boot pools, the device and debugfs", "[emulated]") {
  auto E = boot_emulated("6.12", cma::arch::arm64, GiB, "cma=64M");
  const std::string S = "sys/kernel/mm/cma/reserved/";
  CHECK(E->text(S + "alloc_pages_success").text == "96\n"); // three 32-page atomic pools
  std::uint64_t t = 4'000'000'000ULL;
  REQUIRE(E->write("dev/cma_test", "alloc 12K", t += 1000).ok());                   // 3 pages
  REQUIRE(E->write("sys/kernel/debug/cma/reserved/alloc", "100", t += 1000).ok());  // 100 pages
  // 16200 ≤ count but more than the 16185 free pages left: searched, failed, counted.  (A
  // request beyond the area's count returns before the accounting on 6.12:
  // cma_alloc_accounting.hpp.)
  CHECK(E->write("sys/kernel/debug/cma/reserved/alloc", "16200", t += 1000).err == cma::enomem);
  CHECK(E->write("sys/kernel/debug/cma/reserved/alloc", "16385", t += 1000).err == cma::enomem);
  CHECK(E->text(S + "alloc_pages_success").text == "199\n");
  CHECK(E->text(S + "alloc_pages_fail").text == "16200\n");
  REQUIRE(E->write("sys/kernel/debug/cma/reserved/free", "100", t += 1000).ok());
  REQUIRE(E->read("dev/cma_test", 64, 0, t += 1000).ok());
  CHECK(E->text(S + "release_pages_success").text == "103\n");
  const auto vm = E->text("proc/vmstat").text;
  CHECK(vm.find("cma_alloc_success 5\n") != std::string::npos);
  CHECK(vm.find("cma_alloc_fail 1\n") != std::string::npos);
}

TEST_CASE("the same calls at the same times give the same machine (what --state relies on)", "[emulated]") {
  const auto run = [] {
    auto E = boot_emulated("6.12", cma::arch::arm64, GiB, recorder_args + "cma=64M");
    std::uint64_t t = 4'000'000'000ULL;
    for (const char* c : {"1", "alloc 20K", "2", "hog 8", "65", "freeidx 1", "unhog", "nowarn 1", "64"})
      E->write("dev/cma_test", c, t += 7'000'000);
    E->read("dev/cma_test", 64, 0, t += 1000);
    E->write("sys/kernel/tracing/trace_marker", "mark\n", t += 1000);
    E->write("sys/kernel/debug/cma/reserved/alloc", "77", t += 1000);
    return E;
  };
  auto a = run(), b = run();
  CHECK(a->text("dmesg").text == b->text("dmesg").text);
  CHECK(a->text("sys/kernel/tracing/trace").text == b->text("sys/kernel/tracing/trace").text);
  CHECK(a->text("sys/kernel/debug/cma/reserved/bitmap").text == b->text("sys/kernel/debug/cma/reserved/bitmap").text);
  CHECK(a->text("sys/kernel/tracing/trace").text.find("tracing_mark_write: mark\n") != std::string::npos);
  a->truncate("sys/kernel/tracing/trace"); // echo > trace
  CHECK(a->text("sys/kernel/tracing/trace").text.find("entries-in-buffer/entries-written: 0/0") != std::string::npos);
}

TEST_CASE("CONFIG_CMA_DEBUG prints the boot's pr_debug lines up to 6.11; dyndbg= comes too late for them", "[emulated]") {
  const auto has = [](const dev::emulated_kernel& E, const char* text) {
    return E.text("dmesg").text.find(text) != std::string::npos;
  };
  auto debug = boot_emulated("4.15", cma::arch::x86_64, 4 * GiB, "cma=1G@1-2G", true);
  CHECK(has(*debug, "] cma: early_cma(1G@1-2G)\n")); // the field notes' kernel (CONFIG_CMA_DEBUG=y)
  auto dyndbg = boot_emulated("4.15", cma::arch::x86_64, 4 * GiB, recorder_args + "cma=1G@1-2G");
  CHECK_FALSE(has(*dyndbg, "early_cma("));
  CHECK(has(*dyndbg, "] cma: Reserved 1024 MiB at 0x0000000040000000\n"));
  auto v612 = boot_emulated("6.12", cma::arch::arm64, GiB, "cma=64M", true); // no CONFIG_CMA_DEBUG pr_debug from 6.12
  CHECK_FALSE(has(*v612, "dma_contiguous_reserve("));
  // Without trace_event=cma:* the trace has no cma events; without dyndbg no call lines.
  auto bare = boot_emulated("6.1", cma::arch::arm64, GiB, "cma=64M");
  REQUIRE(bare->write("dev/cma_test", "4", 4'000'000'000ULL).ok());
  CHECK(bare->text("sys/kernel/tracing/trace").text.find("cma_alloc") == std::string::npos);
  CHECK_FALSE(has(*bare, "cma_alloc(cma "));
  auto traced = boot_emulated("6.1", cma::arch::arm64, GiB, recorder_args + "cma=64M");
  REQUIRE(traced->write("dev/cma_test", "4", 4'000'000'000ULL).ok());
  CHECK(traced->text("sys/kernel/tracing/trace").text.find("cma_alloc_finish") != std::string::npos);
  CHECK(has(*traced, "cma_alloc(cma "));
}

//  hugetlb_cma=: the gigantic page sizes under sys/kernel/mm/hugepages and hugetlb0's sysfs
//  folder.  Numbers: hugetlb0 at pfn 0x80000 with 262144 pages and order_per_bit 9 is where the
//  real 6.12 put it (tests/data/recorded/huge-6.12-cma32M-hugetlb1G: first cma_alloc_finish
//  pfn=0x80000; boot/hugetlb_cma.hpp); a 32 MiB page is 8192 pages = 32768 kB of CmaFree; the
//  area holds 32 of them; past that the page allocator is assumed to give 32 MiB pages up to
//  RAM minus CMA: (3072 - 1056) MiB / 32 MiB = 63.  Writes parse as kstrtoul base 10.
TEST_CASE("hugetlb_cma=: nr_hugepages grows and shrinks the pool on hugetlb0, with its errnos", "[emulated]") {
  auto none = boot_emulated("6.12", cma::arch::arm64, 3 * GiB, "cma=32M");
  CHECK(none->huge_area() == nullptr);
  CHECK(none->stat("sys/kernel/mm/hugepages").kind == dev::node_kind::none);
  CHECK(none->write("sys/kernel/mm/hugepages/hugepages-32768kB/nr_hugepages", "1", 1).err == -2);

  auto E = boot_emulated("6.12", cma::arch::arm64, 3 * GiB, recorder_args + "cma=32M hugetlb_cma=1G");
  REQUIRE(E->huge_area() != nullptr);
  const cma::allocator& h = *E->huge_area();
  CHECK(h.name() == "hugetlb0");
  CHECK(h.base_pfn() == 0x80000);
  CHECK(h.count() == 262144);
  CHECK(h.order_per_bit() == 9);
  const std::string d32 = "sys/kernel/mm/hugepages/hugepages-32768kB", d1g = "sys/kernel/mm/hugepages/hugepages-1048576kB";
  CHECK(E->stat(d32).kind == dev::node_kind::dir);
  CHECK(E->stat(d1g + "/nr_hugepages").mode == 0644);
  CHECK(E->stat(d1g + "/free_hugepages").mode == 0444);
  CHECK(E->stat("sys/kernel/mm/hugepages/hugepages-2048kB").kind == dev::node_kind::none); // not a gigantic size
  CHECK(E->stat("sys/kernel/mm/cma/hugetlb0/alloc_pages_success").kind == dev::node_kind::file);

  const std::uint64_t free0 = E->cma_free_kb();
  std::uint64_t now = 4'000'000'000ULL;
  CHECK(E->write(d32 + "/nr_hugepages", "4\n", now += 1000).written == 2);
  CHECK(E->text(d32 + "/nr_hugepages").text == "4\n");
  CHECK(E->text(d32 + "/free_hugepages").text == "4\n");
  CHECK(E->text(d32 + "/resv_hugepages").text == "0\n");
  CHECK(free0 - E->cma_free_kb() == 4 * 32768);
  CHECK(E->text("sys/kernel/mm/cma/hugetlb0/alloc_pages_success").text == "32768\n");
  CHECK(E->text("sys/kernel/mm/cma/reserved/alloc_pages_success").text != "32768\n");
  CHECK(has_line_ending(E->log().dmesg().text(), "cma: __cma_alloc(): returned " + cma::dma::page_pointer(0x86000)));

  CHECK(E->write(d32 + "/nr_hugepages", "abc", now += 1000).err == -22);
  CHECK(E->write(d32 + "/nr_hugepages", "", now += 1000).err == -22);
  CHECK(E->write(d32 + "/nr_hugepages", "4 ", now += 1000).err == -22);
  CHECK(E->write(d32 + "/nr_hugepages", "99999999999999999999999", now += 1000).err == -34);
  CHECK(E->write(d32 + "/free_hugepages", "1", now += 1000).err == -13);
  CHECK(E->write("sys/kernel/mm/cma/hugetlb0/alloc_pages_fail", "1", now += 1000).err == -13);
  CHECK(E->text(d32 + "/nr_hugepages").text == "4\n"); // the refused writes changed nothing

  CHECK(E->write(d32 + "/nr_hugepages", "+2", now += 1000).ok());
  CHECK(E->text(d32 + "/nr_hugepages").text == "2\n");
  CHECK(E->text("sys/kernel/mm/cma/hugetlb0/release_pages_success").text == "16384\n");
  // a 1 GiB page needs the whole area: refused by the area and (assumed) outside, the write succeeds
  CHECK(E->write(d1g + "/nr_hugepages", "1", now += 1000).ok());
  CHECK(E->text(d1g + "/nr_hugepages").text == "0\n");
  // a count far past memory: 30 more from the area, 63 from outside, then the loop ends
  CHECK(E->write(d32 + "/nr_hugepages", "18446744073709551615", now += 1000).ok());
  CHECK(E->text(d32 + "/nr_hugepages").text == "95\n");
  CHECK(E->write(d32 + "/nr_hugepages", "0", now += 1000).ok());
  CHECK(E->cma_free_kb() == free0);
  CHECK(E->huge_pool().is_valid());
}
