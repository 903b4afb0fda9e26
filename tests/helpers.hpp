// tests/helpers.hpp — shared by the tests: fixture loading and area builders.
#pragma once

#include <cma/allocator.hpp>
#include <cma/formats/kmsg.hpp>
#include <cma/formats/workload.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace cmatest {

/// Sizes in bytes, as the tests write them.
constexpr std::uint64_t KiB = 1024, MiB = KiB * 1024, GiB = MiB * 1024;
constexpr std::uint64_t M = MiB, G = GiB;

inline std::string data_path(const std::string& rel) { return std::string(CMASIM_TEST_DATA) + "/" + rel; }

inline std::string read_fixture(const std::string& rel) {
  std::ifstream in(data_path(rel), std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + data_path(rel));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A whole file by absolute path ("" when it cannot be read: the caller REQUIREs content).
inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A text's lines, without their '\n'.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

/// "12.345678" (a dmesg stamp without its brackets, or a trace line's time) → nanoseconds.
inline std::uint64_t seconds_ns(const std::string& t) {
  const auto dot = t.find('.');
  return std::stoull(t.substr(0, dot)) * 1'000'000'000ULL + std::stoull(t.substr(dot + 1)) * 1'000ULL;
}

/// A cma_alloc pr_debug call line's count and align (dmesg stamp stripped).
struct kernel_call {
  std::uint64_t count;
  unsigned align;
};

/// "cma: cma_alloc(cma …, count N, align A)", as 6.1 / 6.12 ("name: …") / 7.x
/// (__cma_alloc_frozen) print it, or nullopt.
inline std::optional<kernel_call> call_debug(const std::string& l) {
  static const std::regex re(R"(^cma: (?:__)?cma_alloc(?:_frozen)?\(cma \S+, (?:name: \S+, )?count (\d+), align (\d+)\)$)");
  std::smatch m;
  if (!std::regex_match(l, m, re)) return std::nullopt;
  return kernel_call{std::stoull(m[1]), static_cast<unsigned>(std::stoul(m[2]))};
}

inline cma::profile prof(const char* v) { return cma::profile::for_version(*cma::kernel_version::parse(v)); }

template <class Area = cma::allocator>
Area area(cma::pfn_t base_pfn, cma::page_count count, unsigned order_per_bit = 0, const char* version = "6.1") {
  return Area("test", cma::memrange_spec{base_pfn, count}, order_per_bit, prof(version));
}

/// A dmesg line without its "[ seconds.micros] " stamp.
inline std::string strip_ts(const std::string& line) {
  if (line.size() > 2 && line[0] == '[') {
    const auto e = line.find("] ");
    if (e != std::string::npos) return line.substr(e + 2);
  }
  return line;
}

/// Can the device-level tests (the cma_test device and the DMA layer on the default area,
/// driven from the workload) take this recording?  Not one with `huge` steps: those are the
/// hugetlb pool's writes on hugetlb0, which the whole emulated machine runs
/// (emulated_kernel; checked by cli.emulate.recorded-huge-* and tests/test_hugetlb_pool.cpp),
/// not the device.  Nor a boot of several NUMA nodes (`-numa` in qemu_cmd.txt, the numa-*
/// recordings): the emulation models one node and a device without one, so it has neither
/// the per-node areas nor their placement (README, known limits); the replay, boot and
/// diagnose tests take those (cli.replay.areas-numa-*, cli.boot.vs-recording-numa-*,
/// cli.diagnose.groundtruth-*numa-*).
inline bool device_emulation_covers(const std::filesystem::path& dir) {
  std::ifstream q(dir / "qemu_cmd.txt");
  for (std::string l; std::getline(q, l);)
    if (l.find(" -numa ") != std::string::npos) return false;
  std::ifstream w(dir / "workload.txt");
  for (std::string l; std::getline(w, l);)
    if (const auto c = cma::formats::workload::command(l); c && c->rfind("huge ", 0) == 0) return false;
  return true;
}

/// The page allocator's WARN_ON_ONCE in a dmesg line (stamp stripped), as each recorded
/// kernel words it: 6.1 "WARNING: CPU: 0 PID: 102 at mm/page_alloc.c:5634 __alloc_pages+…",
/// 6.12 "… __alloc_pages_noprof+…", 7.3 "WARNING: mm/page_alloc.c:5363 at
/// __alloc_frozen_pages_noprof+…, CPU#0: rig/108".
inline bool page_allocator_warning(const std::string& l) {
  return l.rfind("WARNING: ", 0) == 0 && l.find("mm/page_alloc.c:") != std::string::npos &&
         (l.find(" __alloc_pages") != std::string::npos || l.find(" __alloc_frozen_pages") != std::string::npos);
}

/// The recordings of tests/data/recorded that carry their workload and that the device
/// emulation covers (device_emulation_covers), in name order.
inline std::vector<std::filesystem::path> recordings_with_workload() {
  std::vector<std::filesystem::path> dirs;
  for (const auto& e : std::filesystem::directory_iterator(data_path("recorded")))
    if (e.is_directory() && std::filesystem::exists(e.path() / "workload.txt") && device_emulation_covers(e.path()))
      dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

/// A recording's workload.txt as cma_run sends it: one device command per step, in order
/// (cma::formats::workload::command drops comments and blank lines).
inline std::vector<std::string> workload_commands(const std::filesystem::path& dir) {
  std::ifstream wl(dir / "workload.txt");
  if (!wl) throw std::runtime_error("cannot open " + (dir / "workload.txt").string());
  std::vector<std::string> out;
  for (std::string line; std::getline(wl, line);)
    if (const auto cmd = cma::formats::workload::command(line)) out.push_back(*cmd);
  return out;
}

/// The area a "cma: Reserved N MiB at 0x…" message declares (read by the library's kmsg
/// parser), under the rules of `v`; nullopt for any other message.
inline std::optional<cma::allocator> reserved_area(const std::string& message, cma::kernel_version v) {
  const auto p = cma::formats::kmsg::parse_message(message);
  const auto* r = p.event ? std::get_if<cma::ev::reserved>(&*p.event) : nullptr;
  if (!r) return std::nullopt;
  return cma::allocator("reserved", cma::memrange_spec{r->base >> cma::page_shift, r->mib << (20 - cma::page_shift)}, 0,
                        cma::profile::for_version(v));
}

/// Versions every scenario runs under.
inline const char* const all_versions[] = {"4.15", "5.10", "6.1", "6.6", "6.12", "6.15", "6.18"};

} // namespace cmatest
