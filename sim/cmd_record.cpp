// sim/cmd_record.cpp — `cmasim record`: one command from a workload file to a
// real-kernel recording.  The work is done by sim/recorder/record.sh (packages,
// module build, initramfs, QEMU, cutting the console into files); this subcommand
// checks the arguments, finds the script and runs it with the arguments as given
// (no shell in between), then passes its exit code on.
//
// The script is found, first match wins: $CMASIM_RECORDER (the script itself; if
// set, it must exist), $CMASIM_SOURCE_DIR/sim/recorder/record.sh, then the source tree this binary was
// built from (the CMASIM_SOURCE_DIR compile definition).
//
// --kernel: 6.1, 6.12 (bookworm), 7 / 7.N / 7.N.M+debNN-arm64 (trixie-backports, else sid,
// through a private apt configuration; the module is built in a cached trixie chroot).
//
// Exit codes: 0 recorded; 2 bad arguments; otherwise record.sh's own code
// (3 missing package or tool, 4 build failed, 5 boot or guest failed, 6 watchdog).
#include "commands.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#ifndef CMASIM_SOURCE_DIR
#define CMASIM_SOURCE_DIR ""
#endif

namespace cmasim {
namespace {

struct record_options {
  std::string kernel;
  std::string mem = "1G";
  std::string cmdline;
  std::string workload;
  std::string out;
  unsigned timeout = 600;
  unsigned smp = 1;
  unsigned numa = 1;
  int node = -1;
  std::string cpu;
  std::string cache;
  bool keep_work = false;
};

std::string find_recorder() {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  if (const char* p = std::getenv("CMASIM_RECORDER"); p && *p) {
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return p;
    fmt::print(stderr, "cmasim record: CMASIM_RECORDER={} is not a file\n", p);
    throw CLI::RuntimeError(exit_usage);
  }
  if (const char* p = std::getenv("CMASIM_SOURCE_DIR"); p && *p)
    candidates.push_back(fs::path(p) / "sim/recorder/record.sh");
  if (*CMASIM_SOURCE_DIR) candidates.push_back(fs::path(CMASIM_SOURCE_DIR) / "sim/recorder/record.sh");
  for (const auto& c : candidates) {
    std::error_code ec;
    if (fs::is_regular_file(c, ec)) return c.string();
  }
  std::string tried;
  for (const auto& c : candidates) tried += " " + c.string();
  fmt::print(stderr, "cmasim record: sim/recorder/record.sh not found (tried:{}); set CMASIM_RECORDER\n",
             tried.empty() ? " nothing" : tried);
  throw CLI::RuntimeError(exit_usage);
}

// 6.1, 6.12, 7, 7.N (N of one or two digits), or a full release "6.…-arm64" / "7.…-arm64"
// (record.sh resolves and checks the rest).
bool kernel_arg_ok(const std::string& k) {
  if (k == "6.1" || k == "6.12" || k == "7") return true;
  const auto digits = [](std::string_view s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
  };
  if (k.rfind("7.", 0) == 0 && k.size() <= 4 && digits(std::string_view(k).substr(2))) return true;
  return (k.rfind("6.", 0) == 0 || k.rfind("7.", 0) == 0) && k.size() > 8 &&
         k.compare(k.size() - 6, 6, "-arm64") == 0;
}

int run(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    fmt::print(stderr, "cmasim record: fork: {}\n", std::strerror(errno));
    return 127;
  }
  if (pid == 0) {
    execvp(args[0], args.data());
    fmt::print(stderr, "cmasim record: cannot run {}: {}\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return 127;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

} // namespace

void add_record_command(CLI::App& app) {
  auto o = std::make_shared<record_options>();
  CLI::App* cmd = app.add_subcommand(
      "record", "Boot a real Debian arm64 kernel (6.1, 6.12 or 7.x) in QEMU with kmod/cma_test.ko and record a workload");
  cmd->add_option("--kernel", o->kernel,
                  "6.1, 6.12, 7 (newest 7.x), 7.N (newest 7.N.*), or a full release such as 6.1.0-57-arm64 or "
                  "7.3.4+deb13-arm64")
      ->required();
  cmd->add_option("--mem", o->mem, "guest RAM, e.g. 1G or 512M (default 1G)");
  cmd->add_option("--cmdline", o->cmdline, "extra kernel arguments, e.g. 'cma=64M'");
  cmd->add_option("--workload", o->workload, "workload file (one device command per line)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", o->out, "output folder (layout of tests/data/traces)")->required();
  cmd->add_option("--timeout", o->timeout, "watchdog in seconds for the guest (default 600)")
      ->check(CLI::Range(1u, 86400u));
  cmd->add_option("--smp", o->smp, "guest CPUs (default 1)")->check(CLI::Range(1u, 8u));
  cmd->add_option("--numa", o->numa, "NUMA nodes of the guest (QEMU -numa, RAM split evenly; default 1)")
      ->check(CLI::Range(1u, 8u));
  cmd->add_option("--node", o->node, "put the module's device on this node (insmod node=N): its buffers come "
                                     "from that node's numa/pernuma area first")
      ->check(CLI::Range(0, 7));
  cmd->add_option("--cpu", o->cpu, "QEMU CPU model (default cortex-a57, as the committed recordings)");
  cmd->add_option("--cache", o->cache, "download cache (default $CMASIM_CACHE or ~/.cache/cmasim)");
  cmd->add_flag("--keep-work", o->keep_work, "keep the build/initramfs work folder");
  cmd->callback([o] {
    if (!kernel_arg_ok(o->kernel)) {
      fmt::print(stderr,
                 "cmasim record: --kernel must be 6.1, 6.12, 7, 7.N or a release like 6.1.0-57-arm64 or "
                 "7.3.4+deb13-arm64, not '{}'\n",
                 o->kernel);
      throw CLI::RuntimeError(exit_usage);
    }
    std::vector<std::string> argv{"bash",       find_recorder(), "--kernel", o->kernel, "--mem",
                                  o->mem,       "--workload",    o->workload, "--out",  o->out,
                                  "--timeout",  std::to_string(o->timeout), "--smp",
                                  std::to_string(o->smp)};
    if (!o->cmdline.empty()) argv.insert(argv.end(), {"--cmdline", o->cmdline});
    if (!o->cpu.empty()) argv.insert(argv.end(), {"--cpu", o->cpu});
    if (o->numa > 1) argv.insert(argv.end(), {"--numa", std::to_string(o->numa)});
    if (o->node >= 0) argv.insert(argv.end(), {"--node", std::to_string(o->node)});
    if (!o->cache.empty()) argv.insert(argv.end(), {"--cache", o->cache});
    if (o->keep_work) argv.emplace_back("--keep-work");
    const int rc = run(argv);
    if (rc != 0) {
      fmt::print(stderr, "cmasim record: recording failed (record.sh exit {})\n", rc);
      throw CLI::RuntimeError(rc);
    }
  });
}

} // namespace cmasim
