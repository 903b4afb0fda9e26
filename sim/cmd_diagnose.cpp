// sim/cmd_diagnose.cpp — `cmasim diagnose LOG…`: why each CMA allocation or reservation failed.
//
// Reads its inputs as `cmasim replay` does (replay_inputs.hpp: the same line readers and
// wrappers), then prints cma::diagnose's findings (include/cma/diagnose/diagnose.hpp): per
// area its size, base and where they came from; then each cause with its count, evidence
// (file:line), explanation and advice.  --json: diagnosis_print.hpp's schema 1.
// Exit: 0 no failure found; 3 failures found; 2 unreadable input or bad usage.
#include "commands.hpp"
#include "diagnosis_print.hpp"
#include "output.hpp"
#include "replay_inputs.hpp"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace cmasim {
namespace {

struct diagnose_args {
  std::vector<std::string> inputs;
  std::string kernel;
  bool json = false;
};

std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) out += (c < 0x20 && c != '\t') || c == 0x7f ? fmt::format("\\x{:02x}", c) : std::string(1, char(c));
  return out;
}

void run(const diagnose_args& a) {
  const auto r = replay_inputs(a.inputs, a.kernel, "diagnose");
  const auto d = cma::diagnose::diagnose(r.report);
  const auto name = [&](unsigned i) { return i < r.names.size() ? r.names[i] : std::string("?"); };
  if (a.json) {
    std::puts(diagnosis_json(d, name).dump(2).c_str());
  } else {
    std::string head = "cmasim diagnose:";
    for (const auto& n : r.names) head += " " + n;
    std::puts(printable(head).c_str());
    const auto& f = r.report.field;
    // The rules' series, and the release the banner printed ("5.10 rules (5.11.0-rc7)").
    const std::string release = r.report.kernel_release.empty() ? "" : " (" + printable(r.report.kernel_release) + ")";
    std::printf("kernel %s rules%s%s; %llu failure lines, %llu busy bursts, %zu reservation lines%s\n",
                r.report.kernel.c_str(), release.c_str(), r.report.kernel_assumed ? " [assumed]" : "", static_cast<unsigned long long>(f.failures_total),
                static_cast<unsigned long long>(f.bursts_total), f.reservations.size(),
                f.has_trace ? fmt::format("; trace events too: {} failed allocations, {} of them with no failure line, "
                                          "diagnosed on the model's replay of the trace",
                                          d.traced_failures, d.traced_unreported)
                                  .c_str()
                            : "");
    for (const auto& l : diagnosis_text(d, name)) std::puts(printable(l).c_str());
    if (d.findings.empty()) std::puts("no CMA failure found");
  }
  finish_output("diagnose");
  if (d.failures()) throw CLI::RuntimeError(3);
}

} // namespace

void add_diagnose_command(CLI::App& app) {
  auto a = std::make_shared<diagnose_args>();
  CLI::App* cmd = app.add_subcommand("diagnose", "Why each CMA allocation or reservation in a log failed, and what to change");
  cmd->add_option("inputs", a->inputs, "kernel logs, trace files or trace folders ('-' for stdin)")->required();
  cmd->add_option("--kernel", a->kernel, "kernel version when the log has no banner (e.g. 6.1)");
  cmd->add_flag("--json", a->json, "one JSON object (schema 1, see README)");
  cmd->callback([a] { run(*a); });
}

} // namespace cmasim
