// sim/cmd_emulate.cpp — `cmasim emulate`: a workload against the emulated kernel.
//
//   cmasim emulate --kernel 6.1 --mem 1G --cmdline 'cma=64M' --workload FILE --out DIR
//
// Runs a workload file in the recorder's format (sim/recorder/README.md, kmod/README.md:
// one /dev/cma_test command per line, '#' comments, the pseudo-command `read`) against the
// emulation, and writes DIR in the layout `cmasim record` writes, as far as the emulation
// knows it (a `huge SIZE N` step writes nr_hugepages, with hugetlb_cma= on the command line):
// trace.txt, dmesg.txt, steps.txt, workload.txt, cmdline.txt, vmstat_cma.txt (its
// cma_alloc_* counters), cma_sysfs.txt (7.x: Debian's CONFIG_CMA_SYSFS=y there), plus
// emulated.txt (what is emulated, which version's rules, what is exact and what is not).
//
// The machine is cma::device::emulated_kernel (include/cma/device/emulated_kernel.hpp, the
// same one `cmasim mount` serves): the boot model places the default area and the boot-time
// DMA atomic pools from --kernel/--mem/--cmdline, the module is loaded with the recorder's
// cma_base/cma_size; each step here is a trace marker and the device's write or read.  The command line gets the recorder's fixed
// arguments (console=, log_buf_len=16M, trace_buf_size=16M, trace_event=cma:*, panic=-1,
// dyndbg="file mm/cma.c +p") unless it already sets them, as record.sh prepends them.
//
// Exit: 0 written; 2 bad usage or input — an unsupported --kernel, a bad --mem, a workload
// that cannot be read or has a line that is not a device command (file:line and what was
// expected), a `huge` step without hugetlb_cma= on the command line (the emulation has no
// gigantic pages outside the hugetlb area), a boot with no default area, an output folder that cannot be created or a
// file that cannot be written.
#include "commands.hpp"
#include "output.hpp"
#include "qemu_mem.hpp"
#include "kernel_choice.hpp"
#include "recorder_cmdline.hpp"

#include <cma/formats/workload.hpp>
#include <cma/device/emulated_kernel.hpp>
#include <cma/device/meminfo.hpp>
#include <cma/profile.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <variant>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace cmasim {
namespace {

namespace fs = std::filesystem;
namespace dev = cma::device;

struct emulate_options {
  std::string kernel;
  std::string mem = "1G";
  std::string cmdline;
  std::string workload;
  std::string insmod_args;
  std::string out;
};

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "cmasim emulate: %s\n", why.c_str());
  throw CLI::RuntimeError(exit_usage);
}

struct workload_step {
  std::size_t line = 0;
  std::string cmd;
};

/// The recorder's format, read as cma_run.c reads it ('#' to the end of the line is a
/// comment, blanks around a command are dropped; `read` is a read(), anything else one
/// write()).  What the module refuses (`frob`, `alloc 0`) is a step with rc=-EINVAL, as on
/// the real kernel; a line cma_run could not send as one write is an error: longer than its
/// 4096-byte line buffer (fgets would split it), or holding a NUL or another control byte.
std::vector<workload_step> read_workload(const std::string& path, std::string& text) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail("--workload " + path + ": is a directory, not a workload file");
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("--workload " + path + ": cannot open: " + std::strerror(errno ? errno : ENOENT));
  try {
    in.exceptions(std::ios::badbit);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } catch (const std::exception&) {
    fail("--workload " + path + ": read error: " + std::strerror(errno ? errno : EIO));
  }
  std::vector<workload_step> out;
  std::istringstream s(text);
  std::string line;
  std::size_t n = 0;
  while (std::getline(s, line)) {
    ++n;
    if (line.size() >= 4095)
      fail(fmt::format("{}:{}: line of {} bytes; expected a device command shorter than cma_run's 4096-byte line",
                       path, n, line.size()));
    const auto cmd = cma::formats::workload::command(line);
    if (!cmd) continue;
    line = *cmd;
    for (unsigned char c : line)
      if (c < 0x20 && c != '\t')
        fail(fmt::format("{}:{}: control byte 0x{:02x}; expected a device command in text", path, n, unsigned(c)));
    out.push_back({n, line});
  }
  return out;
}

class out_dir {
public:
  explicit out_dir(std::string dir) : dir_(std::move(dir)) {
    std::error_code ec;
    if (fs::exists(dir_, ec) && !fs::is_directory(dir_, ec)) fail("--out " + dir_ + ": exists and is not a folder");
    fs::create_directories(dir_, ec);
    if (ec) fail("--out " + dir_ + ": cannot create: " + ec.message());
  }
  void write(const std::string& name, const std::string& text) const {
    const std::string path = (fs::path(dir_) / name).string();
    errno = 0;
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) fail("cannot write " + path + ": " + std::strerror(errno ? errno : EIO));
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    int err = ok ? 0 : (errno ? errno : EIO);
    if (std::fflush(f) != 0 && !err) err = errno ? errno : EIO;
    if (std::ferror(f) && !err) err = EIO;
    if (std::fclose(f) != 0 && !err) err = errno ? errno : EIO;
    if (err) fail("cannot write " + path + ": " + std::strerror(err));
  }

private:
  std::string dir_;
};

std::string hex(std::uint64_t v) { return fmt::format("0x{:x}", v); }
std::string trim_nl(std::string v) {
  if (!v.empty() && v.back() == '\n') v.pop_back();
  return v;
}

void run(const emulate_options& o) {
  const auto kv = supported_kernel(o.kernel);
  if (!kv)
    fail("--kernel '" + o.kernel + "': not a kernel series the emulation models (" + series_list() +
         "; or a release such as 6.1.0-57-arm64)");
  const cma::kernel_version v = *kv;
  const std::uint64_t ram = parse_qemu_mem(o.mem, [](const std::string& why) { fail(why); });
  std::string wl_text;
  const auto steps = read_workload(o.workload, wl_text);

  const std::string cmdline = recorder_cmdline(o.cmdline);
  const std::string release = fmt::format("{}.{}.0-cmasim-arm64", v.major, v.minor);
  const bool full_release = o.kernel.find('-') != std::string::npos;
  const std::string banner_release = full_release ? o.kernel : release;
  dev::emulated_kernel_config ec;
  ec.version = v;
  ec.a = cma::arch::arm64;
  ec.ram = ram;
  ec.cmdline = cmdline;
  ec.release = banner_release;
  ec.insmod_args = o.insmod_args;
  auto booted = dev::emulated_kernel::boot(ec);
  if (auto* why = std::get_if<std::string>(&booted)) fail(*why);
  dev::emulated_kernel& E = *std::get<std::unique_ptr<dev::emulated_kernel>>(booted);
  const cma::boot_report& boot = E.boot_rep();
  const cma::allocator& area = E.area();
  const cma::profile& prof = E.prof();
  const cma::boot_area* def = nullptr;
  for (const auto& a : boot.areas)
    if (a.is_default && a.decl.ok() && a.activated) def = &a;

  std::string steps_txt;
  std::string reserved_line = fmt::format("cma: Reserved {} MiB at 0x{:016x}", area.count() >> 8,
                                          area.base_pfn() << cma::page_shift);
  for (const auto& l : boot.log)
    if (!l.debug && l.text.find("Reserved") != std::string::npos && l.text.rfind("cma: ", 0) == 0) {
      reserved_line = l.text;
      break;
    }
  steps_txt += fmt::format("@@CMA_RESERVED line='[    0.000000] {}' base=0x{:016x} mib={}\n", reserved_line,
                           area.base_pfn() << cma::page_shift, area.count() >> 8);
  // init.sh's line: the boot line's base and size, then --insmod-args as given (a later word wins in insmod).
  steps_txt += fmt::format("@@INSMOD uptime=3.00 params=cma_base=0x{:016x} cma_size={} {}\n", area.base_pfn() << cma::page_shift,
                           area.count() << cma::page_shift, o.insmod_args);
  steps_txt += "@@INSMOD rc=0\n";
  // One step every 10 ms after insmod, each a trace marker then the device call 1 µs later.
  const dev::trace_task rig{"rig", 100, 0};
  std::uint64_t now = dev::emulated_kernel::insmod_at_ns;
  std::size_t n = 0;
  for (const auto& s : steps) {
    ++n;
    now += 10'000'000ULL;
    E.write("sys/kernel/tracing/trace_marker", "step " + std::to_string(n) + ": " + s.cmd, now, rig);
    const auto huge = cma::formats::workload::huge(s.cmd);
    std::string tail;
    int rc = 0;
    if (huge) { // cma_run.c huge_step: the write, then nr_hugepages and free_hugepages read back
      const std::string dir = dev::emulated_kernel::hugepages_dir(huge->kb);
      if (!E.huge_area() || E.stat(dir).kind != dev::node_kind::dir)
        fail(fmt::format("{}:{}: '{}': the emulation models gigantic pages (32M, 1G) on the hugetlb area only; "
                         "expected hugetlb_cma= on the command line",
                         o.workload, s.line, s.cmd));
      rc = E.write(dir + "/nr_hugepages", std::to_string(huge->count), now + 1000, rig).err;
      tail = fmt::format(" nr_hugepages={} free_hugepages={}", trim_nl(E.text(dir + "/nr_hugepages").text),
                         trim_nl(E.text(dir + "/free_hugepages").text));
    } else {
      rc = s.cmd == "read" ? E.read("dev/cma_test", 64, 0, now + 1000, rig).err
                           : E.write("dev/cma_test", s.cmd, now + 1000, rig).err;
    }
    steps_txt += fmt::format("@@STEP {} rc={} cmd={} | CmaTotal: {} kB CmaFree: {} kB (from the bitmap){}\n", n, rc, s.cmd,
                             E.cma_total_kb(), E.cma_free_kb(), tail);
  }
  const auto& G = E.device();
  if (G.inconsistencies() != 0)
    fail(fmt::format("internal: {} DMA calls disagreed with the module's op=alloc line", G.inconsistencies()));
  const dev::kernel_log& K = E.log();
  const bool dyndbg = E.dma().log.dyndbg;

  std::string emulated;
  emulated += "This folder is an emulation, not a recording: `cmasim emulate` ran the workload against\n"
              "cmasim's model of the kernel; no kernel was booted.\n\n";
  emulated += fmt::format("kernel: {} rules (modelled series {}), arm64, QEMU virt, RAM {} MiB\n", v.str(),
                          std::string(prof.series), ram >> 20);
  emulated += "command line: " + cmdline + "\n";
  emulated += fmt::format("area: {} base_pfn {} count {} pages ({} MiB), from the boot model ({})\n", area.name(),
                          hex(area.base_pfn()), area.count(), area.count() >> 8, def->why);
  if (const cma::allocator* h = E.huge_area())
    emulated += fmt::format("hugetlb area: {} base_pfn {} count {} pages ({} MiB), order_per_bit {}, from the boot "
                            "model (hugetlb_cma=); `huge` steps write nr_hugepages of its gigantic sizes\n",
                            h->name(), hex(h->base_pfn()), h->count(), h->count() >> 8, h->order_per_bit());
  emulated += fmt::format("workload: {} ({} steps)\n", o.workload, steps.size());
  emulated += fmt::format("CMA calls: {} allocations, {} releases by the module\n\n", G.cma_allocs(), G.cma_releases());
  emulated +=
      "Exact (the kernel's own rules and formats for this version):\n"
      "  - the area's placement and the boot-time DMA atomic pools (include/cma/boot/), when the\n"
      "    boot model's assumptions hold (see `cmasim boot`: Debian Kconfig, QEMU virt memory map);\n"
      "  - every CMA allocation's pfn and errno, the busy retries, the DMA layer's routing\n"
      "    (single pages to the page allocator, the CMA_ALIGNMENT cap), /dev/cma_test's return\n"
      "    codes and its `cma_test:` lines, mm/cma.c's lines and the cma trace events;\n"
      "  - steps.txt's CmaTotal, and CmaFree as the bitmap's free pages.\n"
      "Not exact:\n"
      "  - pfns of buffers the page allocator serves (`cma=0` lines) are not modelled: printed as 0x0;\n"
      "  - CmaFree on a real kernel also counts what the bitmap cannot see (movable pages\n"
      "    borrowing the area, per-CPU lists holding freed pages): that term is 0 here;\n"
      "  - timestamps (boot pools from 0.4 s, insmod at 3 s, one step every 10 ms), pids, hashed\n"
      "    pointers; the ratelimit of failure lines follows these emulated times;\n"
      "  - the rest of the boot log (only the banner, the boot model's lines and the command line\n"
      "    are written; the Memory: line is not: the boot model knows only its cma-reserved part,\n"
      + fmt::format("    {}K cma-reserved); pgmigrate and cma_alloc_success/fail counters are not in steps.txt;\n",
                    boot.memory_cma_reserved_k) +
      "  - a gigantic page the hugetlb area cannot give is ASSUMED to come from outside CMA when it is\n"
      "    smaller than 1 GiB (and never when it is 1 GiB), up to RAM minus CMA: the memory outside CMA\n"
      "    is not modelled (include/cma/device/hugetlb_pool.hpp);\n"
      "  - files `cmasim record` also writes (console.log, meminfo.txt, zoneinfo.txt, …) are absent;\n"
      "    vmstat_cma.txt holds only the cma_alloc_success/_fail counters (5.12+), and cma_sysfs.txt\n"
      "    (7.x, where Debian's kernel has CONFIG_CMA_SYSFS) is the area's /sys/kernel/mm/cma files.\n";
  if (prof.trace == cma::trace_format::legacy)
    emulated += "Reading it back: this version's trace has no busy_retry event, so `cmasim replay` cannot\n"
                "replay an allocation made across held (hogged) pages from the text (the replay's limit).\n";
  else if (v >= cma::kernel_version{6, 15, 0} && dyndbg)
    emulated += "Reading it back: 6.15+ prints cma_release's debug line also for page-allocator buffers;\n"
                "`cmasim replay`'s cross-check reports it as a failed state check (the replay's limit).\n";

  const out_dir out(o.out);
  out.write("workload.txt", wl_text);
  out.write("cmdline.txt", cmdline + "\n");
  out.write("kernel.txt", "release=" + banner_release + "\nemulated=cmasim emulate (" + std::string(prof.series) + " rules)\n");
  out.write("dmesg.txt", K.dmesg().text());
  out.write("trace.txt", K.trace().text());
  out.write("steps.txt", steps_txt);
  // record.sh's CMA_SYSFS block ("<path> <value>" per file, the shell's glob order) when the
  // recorded kernel has the directory: Debian's arm64 config sets CONFIG_CMA_SYSFS from 7.x
  // (6.1 and 6.12: unset); and the cma_alloc_* counters of its VMSTAT_CMA block (5.12+).
  if (v >= cma::kernel_version{7, 0, 0}) {
    std::vector<std::string> files;
    for (const auto& f : dev::cma_sysfs::files(prof)) files.push_back(f);
    std::sort(files.begin(), files.end());
    std::string sysfs;
    for (const auto& [dir, area] : E.sysfs_areas())
      for (const auto& f : files) {
        const std::string path = dir + "/" + f;
        sysfs += "/" + path + " " + E.text(path).text;
      }
    out.write("cma_sysfs.txt", sysfs);
  }
  std::string vmstat;
  std::istringstream vm(E.text("proc/vmstat").text);
  for (std::string l; std::getline(vm, l);)
    if (l.rfind("cma_alloc_", 0) == 0) vmstat += l + "\n";
  if (!vmstat.empty()) out.write("vmstat_cma.txt", vmstat);
  out.write("emulated.txt", emulated);
  std::printf("emulated %zu steps on %s (%s rules): %llu CMA allocations, %llu releases; wrote %s\n", steps.size(),
              banner_release.c_str(), std::string(prof.series).c_str(),
              static_cast<unsigned long long>(G.cma_allocs()), static_cast<unsigned long long>(G.cma_releases()),
              o.out.c_str());
  finish_output("emulate");
}

} // namespace

void add_emulate_command(CLI::App& app) {
  auto o = std::make_shared<emulate_options>();
  CLI::App* cmd = app.add_subcommand(
      "emulate", "Run a workload against the emulated kernel and write a recording-like folder (no QEMU)");
  cmd->add_option("--kernel", o->kernel, "kernel series: " + series_list() + " (or a release like 6.1.0-57-arm64)")
      ->required();
  cmd->add_option("--mem", o->mem, "guest RAM in QEMU -m syntax, e.g. 1G (default 1G)");
  cmd->add_option("--cmdline", o->cmdline, "kernel arguments, e.g. 'cma=64M' (the recorder's own are added)");
  cmd->add_option("--workload", o->workload, "workload file (one device command per line)")->required();
  cmd->add_option("--out", o->out, "output folder (the layout `cmasim record` writes)")->required();
  cmd->add_option("--insmod-args", o->insmod_args,
                  "cma_test's parameters after the recorder's own, as `cmasim record --insmod-args` gave them "
                  "(e.g. 'cma_size=33554432')");
  cmd->callback([o] { run(*o); });
}

} // namespace cmasim
