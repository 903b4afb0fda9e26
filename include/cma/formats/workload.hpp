// cma/formats/workload.hpp — a workload file as the recorder's guest runs it (sim/recorder/cma_run.c).
//
// One device command per line, written to /dev/cma_test as is: '#' starts a comment,
// leading and trailing blanks (and a CR) are not part of the command, blank lines are
// not steps.  Steps are numbered from 1 in file order (the trace's "step N:" markers).
// Two commands are the runner's own, not the device's:
//   read           a read() of /dev/cma_test instead of a write (the legacy free-oldest);
//   huge SIZE N    writes N to /sys/kernel/mm/hugepages/hugepages-<SIZE in kB>kB/nr_hugepages
//                  (SIZE: a number with K, M or G; "huge 32M N" = 32 MiB pages, order 13,
//                  "huge 1G N" = 1 GiB pages, order 18).  No module is involved: with
//                  hugetlb_cma= on the kernel command line the kernel itself cma_alloc()s and
//                  cma_release()s such gigantic pages on its hugetlb area ("hugetlb0"),
//                  falling back to alloc_contig_pages() outside CMA.  rc is the write's
//                  -errno (0 even when fewer pages than asked could be had); the step's
//                  "@@STEP N rc=R cmd=huge SIZE N | CmaTotal: … cma_alloc_fail=F" line ends
//                  with " nr_hugepages=A free_hugepages=B" read back after the write.
// Pure: text in, the command out.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cma::formats::workload {

/// The command a workload line holds, or nullopt for a comment or blank line.
inline std::optional<std::string> command(std::string_view line) {
  if (const auto h = line.find('#'); h != std::string_view::npos) line = line.substr(0, h);
  const auto b = line.find_first_not_of(" \t");
  if (b == std::string_view::npos) return std::nullopt;
  const auto e = line.find_last_not_of(" \t\r\n");
  return std::string(line.substr(b, e - b + 1));
}

/// A `huge SIZE N` command: the page size in kB (its sysfs folder) and the count.
struct huge_command {
  std::uint64_t kb = 0;
  std::uint64_t count = 0;
};

/// `huge SIZE N` as sim/recorder/cma_run.c reads it (huge_kb: a decimal size, one unit K, M
/// or G, a decimal count, nothing after), or nullopt — then cma_run writes the line to the
/// device like any other command.  A size or count past 64 bits is nullopt too.
inline std::optional<huge_command> huge(std::string_view cmd) {
  if (cmd.substr(0, 5) != "huge ") return std::nullopt;
  cmd.remove_prefix(5);
  const auto number = [&](std::uint64_t& v) {
    while (!cmd.empty() && (cmd.front() == ' ' || cmd.front() == '\t')) cmd.remove_prefix(1);
    const auto [p, ec] = std::from_chars(cmd.data(), cmd.data() + cmd.size(), v, 10);
    if (ec != std::errc{} || p == cmd.data()) return false;
    cmd.remove_prefix(static_cast<std::size_t>(p - cmd.data()));
    return true;
  };
  huge_command h;
  std::uint64_t size = 0;
  if (!number(size) || cmd.empty()) return std::nullopt;
  const char unit = cmd.front();
  cmd.remove_prefix(1);
  const unsigned shift = unit == 'K' ? 0 : unit == 'M' ? 10 : unit == 'G' ? 20 : 64;
  if (shift == 64 || size > (~std::uint64_t{0} >> shift)) return std::nullopt;
  h.kb = size << shift;
  if (!number(h.count)) return std::nullopt;
  while (!cmd.empty() && (cmd.front() == ' ' || cmd.front() == '\t')) cmd.remove_prefix(1);
  if (!cmd.empty()) return std::nullopt;
  return h;
}

} // namespace cma::formats::workload
