// sim/cmd_plan.cpp — `cmasim plan` (issue 13): how big should cma= be, answered by replay.
//
//   cmasim plan LOG… --sizes 16M..512M/4M [--kernel 6.1,6.12] [--order-per-bit 0,2]
//               [--mem 1G --cmdline '…' | --base 0x…] [--failed hold|drop]
//               [--busy-from-trace] [--jobs N] [--json]
//   cmasim plan --workload FILE --sizes … [--kernel …] [--mem 1G --cmdline '…' | --base 0x…]
//
// A log/trace/trace folder is parsed and replayed once (replay_inputs_each, the reader of
// `cmasim replay`) into a compact operation list (cma/plan/op_list.hpp), then replayed under
// every configuration (cma/plan/sweep.hpp), in parallel with oneTBB inside a task_arena of
// --jobs threads.  A workload boots one emulated kernel per configuration
// (cma/plan/workload_sweep.hpp).  Placement: --base fixed; --mem/--cmdline through the boot
// model, the cmdline's cma= replaced by each size (its @base/range kept); neither: a trace
// keeps the original area's base_pfn, a workload boots a 1G QEMU virt machine.
//
// Exit: 0 some configuration served every request; 3 none did; 2 bad usage or input.
#include "commands.hpp"
#include "kernel_choice.hpp"
#include "output.hpp"
#include "qemu_mem.hpp"
#include "recorder_cmdline.hpp"
#include "replay_inputs.hpp"

#include <cma/boot/boot.hpp>
#include <cma/boot/memparse.hpp>
#include <cma/formats/workload.hpp>
#include <cma/plan/op_list.hpp>
#include <cma/plan/sweep.hpp>
#include <cma/plan/workload_sweep.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace cmasim {
namespace {

namespace plan = cma::plan;
constexpr int exit_none_serves = 3;
constexpr std::size_t max_configurations = 100000;

struct plan_args {
  std::vector<std::string> inputs;
  std::string workload;
  std::string sizes;
  std::string kernels;
  std::string order_per_bit;
  std::string mem;
  std::string cmdline;
  std::string base;
  std::string failed = "hold";
  bool busy_from_trace = false;
  bool json = false;
  int jobs = 0;
};

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "cmasim plan: %s\n", why.c_str());
  throw CLI::RuntimeError(exit_usage);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  return out;
}

/// memparse over the whole text ("64M", "0x4000000"): bytes, or exit 2.
std::uint64_t bytes_of(const std::string& what, const std::string& text) {
  const auto r = cma::memparse(text);
  if (text.empty() || r.consumed != text.size()) fail(what + ": '" + text + "' is not a size (e.g. 64M, 0x4000000)");
  return r.value;
}

/// "16M..512M/4M" (inclusive) or "32M,48M,64M".
std::vector<std::uint64_t> parse_sizes(const std::string& text) {
  std::vector<std::uint64_t> out;
  if (const auto dots = text.find(".."); dots != std::string::npos) {
    const auto slash = text.find('/', dots);
    if (slash == std::string::npos) fail("--sizes '" + text + "': a range needs a step: FROM..TO/STEP");
    const auto from = bytes_of("--sizes", text.substr(0, dots));
    const auto to = bytes_of("--sizes", text.substr(dots + 2, slash - dots - 2));
    const auto step = bytes_of("--sizes", text.substr(slash + 1));
    if (step == 0 || from > to) fail("--sizes '" + text + "': expected FROM <= TO and a step above 0");
    if ((to - from) / step >= max_configurations) fail("--sizes '" + text + "': too many sizes");
    for (std::uint64_t s = from;; s += step) {
      out.push_back(s);
      if (to - s < step) break;
    }
  } else {
    for (const auto& s : split(text, ',')) out.push_back(bytes_of("--sizes", s));
  }
  for (auto s : out)
    if (s == 0 || s % cma::page_size) fail("--sizes: " + std::to_string(s) + " bytes is not a whole number of 4 KiB pages above 0");
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

/// The command line with its cma= sized `size` (an @base or range suffix kept), or cma=size appended.
std::string with_cma_size(const std::string& cmdline, std::uint64_t size) {
  const std::string sz = cma::format_memparse(size);
  std::string out;
  bool done = false;
  std::istringstream in(cmdline);
  for (std::string w; in >> w;) {
    if (w.rfind("cma=", 0) == 0) {
      if (done) continue; // the kernel's early_param takes one; keep one
      const auto at = w.find('@');
      w = "cma=" + sz + (at == std::string::npos ? "" : w.substr(at));
      done = true;
    }
    out += (out.empty() ? "" : " ") + w;
  }
  if (!done) out += (out.empty() ? "" : " ") + ("cma=" + sz);
  return out;
}

std::vector<plan::workload_step> read_workload(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail("--workload " + path + ": is a directory, not a workload file");
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("--workload " + path + ": cannot open: " + std::strerror(errno ? errno : ENOENT));
  std::vector<plan::workload_step> out;
  std::string line;
  std::uint64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.size() >= 4095) fail(fmt::format("{}:{}: line longer than cma_run's 4096-byte buffer", path, n));
    const auto cmd = cma::formats::workload::command(line);
    if (!cmd) continue;
    for (unsigned char c : *cmd)
      if (c < 0x20 && c != '\t') fail(fmt::format("{}:{}: control byte 0x{:02x}; expected a device command", path, n, unsigned(c)));
    out.push_back({n, *cmd});
  }
  if (in.bad()) fail("--workload " + path + ": read error");
  return out;
}

std::string size_text(std::uint64_t b) { return cma::format_memparse(b); }

struct sweep_input {
  bool workload = false;
  std::vector<std::string> names;
  plan::op_list list;
  std::vector<plan::workload_step> steps;
  // the original (traces)
  std::string kernel;
  cma::pfn_t base_pfn = 0;
  cma::page_count count = 0;
  unsigned order_per_bit = 0;
};

sweep_input read_input(const plan_args& a) {
  sweep_input in;
  if (!a.workload.empty()) {
    if (!a.inputs.empty()) fail("give either LOG… or --workload FILE, not both");
    in.workload = true;
    in.steps = read_workload(a.workload);
    in.names = {a.workload};
    return in;
  }
  if (a.inputs.empty()) fail("nothing to plan for: give a log, trace or trace folder (LOG…), or --workload FILE");
  plan::op_list_builder b; // the replay checks only its own area's operations: every checked record is ours
  bool started = false;
  const auto rep = replay_inputs_each(a.inputs, "", "plan", [&](const cma::op_record& o) {
    if (o.seq == 0 && started) b = plan::op_list_builder{}; // the replay started over (batch): again from the first
    started = true;
    b.add(o);
  });
  const auto& r = rep.report;
  if (r.area_source == "refused") fail("the area the input declares could not exist in a kernel: nothing to replay");
  if (r.ops_without_area)
    fail("the input has CMA operations but no area: add the boot log with its 'cma: Reserved' line");
  in.list = std::move(b).finish();
  in.names = rep.names;
  in.kernel = rep.report.kernel;
  in.base_pfn = rep.report.base_pfn;
  in.count = rep.report.count;
  in.order_per_bit = rep.report.order_per_bit;
  return in;
}

struct placement {
  enum { original, fixed, boot } how = original;
  cma::pfn_t base_pfn = 0;
  std::uint64_t ram = 0;
};

std::vector<plan::plan_point> sweep(const plan_args& a, const sweep_input& in, const std::vector<std::uint64_t>& sizes,
                                    const std::vector<cma::kernel_version>& kernels, const std::vector<unsigned>& opbs,
                                    const placement& where, const plan::plan_options& po,
                                    std::vector<std::string>& notes) {
  std::vector<plan::plan_point> points;
  for (const auto& k : kernels)
    for (unsigned opb : opbs)
      for (auto s : sizes) {
        plan::plan_point p;
        p.config.kernel = k;
        p.config.size = s;
        p.config.order_per_bit = opb;
        if (!in.workload) {
          if (where.how == placement::fixed) p.config.base_pfn = where.base_pfn;
          else if (where.how == placement::original) p.config.base_pfn = in.base_pfn;
          else {
            cma::boot_config bc;
            bc.kernel = k;
            bc.ram_size = where.ram;
            bc.cmdline = with_cma_size(a.cmdline, s);
            const auto rep = cma::simulate_boot(bc);
            const cma::boot_area* def = nullptr;
            for (const auto& ar : rep.areas)
              if (ar.is_default && ar.decl.ok() && ar.activated) def = &ar;
            if (rep.error) p.config.refused = "boot: " + *rep.error;
            else if (rep.panics) p.config.refused = "boot: the area lies outside RAM (cma_activate_area would oops)";
            else if (!def) p.config.refused = "boot: no default area with '" + bc.cmdline + "'";
            else {
              p.config.base_pfn = def->decl.base_pfn();
              if (def->decl.size != s) {
                notes.push_back(fmt::format("{} {}: the boot rounded the area to {} bytes; the sweep runs it as booted",
                                            k.str(), size_text(s), def->decl.size));
                p.config.size = def->decl.size;
              }
            }
          }
        }
        points.push_back(std::move(p));
      }
  const int jobs = a.jobs > 0 ? a.jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  tbb::task_arena arena(jobs);
  std::vector<std::string> cmdlines(points.size());
  if (in.workload)
    for (std::size_t i = 0; i < points.size(); ++i) {
      const auto& c = points[i].config;
      std::string user = a.cmdline;
      if (where.how == placement::fixed) {
        std::string stripped;
        std::istringstream ws(user);
        for (std::string w; ws >> w;)
          if (w.rfind("cma=", 0) != 0) stripped += (stripped.empty() ? "" : " ") + w;
        user = stripped + (stripped.empty() ? "" : " ") + "cma=" + size_text(c.size) + "@" +
               fmt::format("{:#x}", where.base_pfn << cma::page_shift);
      } else {
        user = with_cma_size(user, c.size);
      }
      cmdlines[i] = recorder_cmdline(user);
    }
  tbb::enumerable_thread_specific<std::vector<cma::pfn_t>> scratch; // where each allocation landed, per thread
  arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, points.size(), 1), [&](const tbb::blocked_range<std::size_t>& r) {
      for (std::size_t i = r.begin(); i != r.end(); ++i) {
        auto& p = points[i];
        if (!in.workload) {
          p.result = plan::run_config(in.list, p.config, po, scratch.local());
          continue;
        }
        cma::device::emulated_kernel_config kc;
        kc.version = p.config.kernel;
        kc.ram = where.ram;
        kc.cmdline = cmdlines[i];
        kc.release = fmt::format("{}.{}.0-cmasim-arm64", p.config.kernel.major, p.config.kernel.minor);
        cma::page_count pages = 0;
        p.result = plan::run_workload(in.steps, kc, p.config.base_pfn, pages);
        if (!p.result.refused && pages << cma::page_shift != p.config.size) p.config.size = pages << cma::page_shift;
      }
    });
  });
  return points;
}

std::string where_text(const sweep_input& in, const plan::plan_result& r) {
  if (!r.first_failure_file) return "-";
  const auto f = *r.first_failure_file;
  return fmt::format("{}:{}", f < in.names.size() ? in.names[f] : std::string("?"), r.first_failure_line);
}

void run(const plan_args& a) {
  if (a.failed != "hold" && a.failed != "drop") fail("--failed: expected hold or drop, got '" + a.failed + "'");
  if (a.jobs < 0 || a.jobs > 1024) fail("--jobs: expected 1 to 1024");
  if (!a.base.empty() && (!a.mem.empty() || !a.cmdline.empty())) fail("--base and --mem/--cmdline place the area two ways: give one");
  if (a.sizes.empty() && !a.workload.empty()) fail("--sizes is needed with --workload");
  placement where;
  if (!a.base.empty()) {
    const auto b = bytes_of("--base", a.base);
    if (b % cma::page_size) fail("--base: " + a.base + " is not page-aligned");
    where.how = placement::fixed;
    where.base_pfn = b >> cma::page_shift;
  } else if (!a.mem.empty() || !a.cmdline.empty() || !a.workload.empty()) {
    where.how = placement::boot;
  }
  where.ram = parse_qemu_mem(a.mem.empty() ? "1G" : a.mem, [](const std::string& why) { fail(why); });
  std::vector<unsigned> opbs;
  for (const auto& s : split(a.order_per_bit, ',')) {
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 2)
      fail("--order-per-bit: expected numbers like 0,2,4, got '" + a.order_per_bit + "'");
    opbs.push_back(static_cast<unsigned>(std::stoul(s)));
  }
  if (!a.workload.empty() && !opbs.empty() && (opbs.size() > 1 || opbs[0] != 0))
    fail("--order-per-bit: a workload runs on the booted default area, whose order_per_bit is 0");
  std::vector<cma::kernel_version> kernels;
  for (const auto& s : split(a.kernels, ',')) {
    const auto v = !a.workload.empty() ? supported_kernel(s) : cma::kernel_version::parse(s);
    if (!v) fail("--kernel: '" + s + "' is not a kernel version" + (a.workload.empty() ? "" : " the emulation models (" + series_list() + ")"));
    kernels.push_back(*v);
  }
  std::vector<std::uint64_t> sizes;
  if (!a.sizes.empty()) sizes = parse_sizes(a.sizes);

  const auto in = read_input(a);
  if (kernels.empty()) {
    if (in.workload) fail("--kernel is needed with --workload");
    const auto v = cma::kernel_version::parse(in.kernel);
    if (!v) fail("the input names no kernel version: give --kernel");
    kernels.push_back(*v);
  }
  if (opbs.empty()) opbs.push_back(in.workload ? 0 : in.order_per_bit);
  if (sizes.empty()) sizes.push_back(in.count << cma::page_shift); // the original's size
  if (sizes.size() * kernels.size() * opbs.size() > max_configurations) fail("too many configurations");

  plan::plan_options po;
  po.failed = a.failed == "drop" ? plan::failed_policy::drop : plan::failed_policy::hold;
  po.busy_from_trace = a.busy_from_trace;
  if (in.workload && a.busy_from_trace) fail("--busy-from-trace: a workload has no trace of busy windows");
  std::vector<std::string> notes;
  auto points = sweep(a, in, sizes, kernels, opbs, where, po, notes);
  const auto small = plan::smallest(points);
  const auto nonmono = plan::non_monotonic(points);

  std::vector<std::string> assumptions;
  if (!in.workload) {
    assumptions.push_back("releases follow their allocation, not the pfn: under a configuration where an allocation "
                          "lands elsewhere, its release frees where it landed (nothing if it failed there)");
    assumptions.push_back(po.failed == plan::failed_policy::hold
                              ? "a request that failed in the original but succeeds in a configuration is held to the end "
                                "(--failed hold)"
                              : "a request that failed in the original but succeeds in a configuration is released at once "
                                "(--failed drop)");
    assumptions.push_back(po.busy_from_trace
                              ? "busy pages: a window is busy when it starts at a pfn where the original saw the same "
                                "request's window busy (--busy-from-trace, same absolute pfns)"
                              : "no page is busy (the original's busy windows are not pinned: --busy-from-trace does)");
    if (where.how == placement::original)
      assumptions.push_back(fmt::format("every area starts at the original's base_pfn {:#x}", in.base_pfn));
    else if (where.how == placement::fixed)
      assumptions.push_back(fmt::format("every area starts at base_pfn {:#x} (--base)", where.base_pfn));
    else
      assumptions.push_back(fmt::format("areas placed by the boot model: {} MiB of RAM, command line '{}' with cma= "
                                        "set to each size",
                                        where.ram >> 20, a.cmdline));
    if (in.list.orphan_releases)
      assumptions.push_back(fmt::format("{} release(s) of pages the input never showed allocated are left out",
                                        in.list.orphan_releases));
    assumptions.push_back("the requests are the original's, in its order, one at a time; the kernel's other users of "
                          "the area are not modelled");
  } else {
    assumptions.push_back("each configuration boots the emulated kernel (the machine `cmasim emulate` runs) with "
                          "cma= set to the size and runs the workload's steps through that version's DMA layer");
    assumptions.push_back("a failure is a step during which a CMA allocation failed (cma_alloc_fail grew)");
    assumptions.push_back(fmt::format("{} MiB of RAM, QEMU virt arm64; command line '{}' plus the recorder's fixed "
                                      "arguments",
                                      where.ram >> 20, a.cmdline));
    assumptions.push_back("no page is busy but those the workload's own hog commands hold (the emulation runs them)");
  }
  assumptions.insert(assumptions.end(), notes.begin(), notes.end());
  const bool any = std::any_of(points.begin(), points.end(), [](const auto& p) { return p.result.serves_all(); });

  if (a.json) {
    nlohmann::ordered_json j;
    j["schema"] = 1;
    j["input"] = {{"files", in.names}, {"kind", in.workload ? "workload" : "trace"}};
    if (!in.workload) {
      j["input"]["operations"] = in.list.ops.size();
      j["input"]["allocations"] = in.list.allocs;
      j["input"]["releases"] = in.list.releases;
      j["original"] = {{"kernel", in.kernel},
                       {"size", in.count << cma::page_shift},
                       {"base_pfn", in.base_pfn},
                       {"order_per_bit", in.order_per_bit},
                       {"failures", in.list.original_failures}};
    } else {
      j["input"]["steps"] = in.steps.size();
    }
    auto& cs = j["configurations"] = nlohmann::ordered_json::array();
    for (const auto& p : points) {
      nlohmann::ordered_json c = {{"kernel", p.config.kernel.str()}, {"size", p.config.size}, {"base_pfn", p.config.base_pfn},
                          {"order_per_bit", p.config.order_per_bit}};
      if (p.result.refused) {
        c["refused"] = *p.result.refused;
      } else {
        c["failures"] = p.result.failures;
        c["first_failure"] = p.result.first_failure_file
                                 ? nlohmann::ordered_json{{"file", in.names.at(*p.result.first_failure_file)},
                                                  {"line", p.result.first_failure_line}}
                                 : nlohmann::ordered_json(nullptr);
        c["peak_used"] = p.result.peak_used;
        c["peak_frag"] = p.result.peak_frag;
      }
      cs.push_back(std::move(c));
    }
    auto& sm = j["smallest"] = nlohmann::ordered_json::array();
    for (const auto& s : small) sm.push_back({{"kernel", s.kernel.str()}, {"order_per_bit", s.order_per_bit}, {"size", s.size}});
    auto& nm = j["non_monotonic"] = nlohmann::ordered_json::array();
    for (const auto& n : nonmono) {
      const auto& big = points[n.larger];
      const auto& sml = points[n.smaller];
      nm.push_back({{"kernel", big.config.kernel.str()}, {"order_per_bit", big.config.order_per_bit},
                    {"size", big.config.size}, {"base_pfn", big.config.base_pfn}, {"failures", big.result.failures},
                    {"served_by_smaller", sml.config.size}});
    }
    j["assumptions"] = assumptions;
    std::cout << j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  } else {
    std::string files;
    for (std::size_t i = 0; i < in.names.size() && i < 4; ++i) files += (i ? ", " : "") + in.names[i];
    if (in.names.size() > 4) files += ", …";
    std::cout << "plan: what-if sweep of " << files << "\n";
    if (!in.workload)
      std::cout << fmt::format("original: kernel {}, base_pfn {:#x}, {} pages ({}), order_per_bit {}; {} operations: {} "
                               "allocations ({} failed), {} releases\n",
                               in.kernel, in.base_pfn, in.count, size_text(in.count << cma::page_shift), in.order_per_bit,
                               in.list.ops.size(), in.list.allocs, in.list.original_failures, in.list.releases);
    else
      std::cout << fmt::format("workload: {} steps\n", in.steps.size());
    std::cout << fmt::format("{:<7} {:>6} {:>3} {:>10} {:>8} {:>10} {:>10}  {}\n", "kernel", "size", "opb", "base_pfn",
                             "failures", "peak used", "peak frag", "first failure");
    for (const auto& p : points) {
      const auto& c = p.config;
      if (p.result.refused) {
        std::cout << fmt::format("{:<7} {:>6} {:>3} {:>10} refused: {}\n", c.kernel.str(), size_text(c.size),
                                 c.order_per_bit, "-", *p.result.refused);
        continue;
      }
      std::cout << fmt::format("{:<7} {:>6} {:>3} {:>10} {:>8} {:>10} {:>10}  {}\n", c.kernel.str(), size_text(c.size),
                               c.order_per_bit, fmt::format("{:#x}", c.base_pfn), p.result.failures, p.result.peak_used,
                               p.result.peak_frag, where_text(in, p.result));
    }
    std::cout << "smallest size with no failure:\n";
    for (const auto& k : kernels)
      for (unsigned opb : opbs) {
        const auto it = std::find_if(small.begin(), small.end(),
                                     [&](const auto& s) { return s.kernel == k && s.order_per_bit == opb; });
        const std::string opb_text = opbs.size() > 1 ? fmt::format(" order_per_bit {}", opb) : "";
        std::cout << fmt::format("  {}{}: {}\n", k.str(), opb_text,
                                 it == small.end() ? std::string("none of the sizes tried") : size_text(it->size));
      }
    if (nonmono.empty()) std::cout << "non-monotonic points: none\n";
    else {
      std::cout << "non-monotonic points (a larger area fails where a smaller one served everything):\n";
      for (const auto& n : nonmono) {
        const auto& big = points[n.larger];
        std::cout << fmt::format("  {} {} (base_pfn {:#x}): {} failure(s), first at {}; {} served everything\n",
                                 big.config.kernel.str(), size_text(big.config.size), big.config.base_pfn,
                                 big.result.failures, where_text(in, big.result), size_text(points[n.smaller].config.size));
      }
    }
    std::cout << "what-if semantics and assumptions:\n";
    for (const auto& s : assumptions) std::cout << "  - " << s << "\n";
  }
  finish_output("plan");
  if (!any) throw CLI::RuntimeError(exit_none_serves);
}

} // namespace

void add_plan_command(CLI::App& app) {
  auto a = std::make_shared<plan_args>();
  CLI::App* cmd = app.add_subcommand("plan", "How big should cma= be: replay the input under many area sizes (what-if)");
  cmd->add_option("inputs", a->inputs, "log files, trace folders, or - for stdin (what `cmasim replay` reads)");
  cmd->add_option("--workload", a->workload, "a workload file in the recorder's format instead of a log");
  cmd->add_option("--sizes", a->sizes, "sizes: FROM..TO/STEP (e.g. 16M..512M/4M) or a list (32M,48M); default the original's");
  cmd->add_option("--kernel", a->kernels, "kernel versions, comma-separated (default: the input's)");
  cmd->add_option("--order-per-bit", a->order_per_bit, "order_per_bit values, comma-separated (default: the original's)");
  cmd->add_option("--mem", a->mem, "RAM for the boot model (QEMU -m syntax), placing each area");
  cmd->add_option("--cmdline", a->cmdline, "kernel command line for the boot model; its cma= takes each size");
  cmd->add_option("--base", a->base, "a fixed area base address (bytes, e.g. 0x7cc00000)");
  cmd->add_option("--failed", a->failed, "a request that failed in the original but fits: hold (to the end) or drop");
  cmd->add_flag("--busy-from-trace", a->busy_from_trace, "pin the windows the original saw busy, at the same pfns");
  cmd->add_option("--jobs", a->jobs, "threads (default: the cores)");
  cmd->add_flag("--json", a->json, "print one JSON document (schema 1)");
  cmd->callback([a] { run(*a); });
}

} // namespace cmasim
