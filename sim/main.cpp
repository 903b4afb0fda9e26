// cmasim — command-line face of the CMA model.  Thin: parses arguments, reads files,
// hands text to include/cma/, prints what comes back.  Exit status: a subcommand's
// own (0, 1 diverged, 2 bad input or usage); any exception that escapes one is
// reported as "cmasim: <reason>" with exit 2 — no input ends in terminate().
#include "commands.hpp"

#include <cstdio>
#include <exception>
#include <new>

int main(int argc, char** argv) {
  CLI::App app{"cmasim: a bit-exact model of the Linux Contiguous Memory Allocator"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "cmasim 0.1.0");
  cmasim::add_replay_command(app);
  cmasim::add_boot_command(app);
  cmasim::add_record_command(app);
  cmasim::add_workload_command(app);
  cmasim::add_emulate_command(app);
  cmasim::add_mount_command(app);
  cmasim::add_diagnose_command(app);
  cmasim::add_plan_command(app);
  cmasim::add_map_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    return e.get_exit_code(); // a subcommand's own result (1 = diverged, 2 = bad input)
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : cmasim::exit_usage;
  } catch (const std::bad_alloc&) {
    // Inputs are bounded before they size anything; if memory still runs out,
    // say so instead of aborting with a core dump (exit 134).
    std::fprintf(stderr, "cmasim: out of memory (std::bad_alloc)\n");
    return cmasim::exit_usage;
  } catch (const std::exception& e) {
    // Anything a subcommand did not turn into its own message (a stream error,
    // a library precondition): still exit 2 with the reason, never terminate().
    std::fprintf(stderr, "cmasim: %s\n", e.what());
    return cmasim::exit_usage;
  } catch (...) {
    std::fprintf(stderr, "cmasim: unexpected error (unknown exception)\n");
    return cmasim::exit_usage;
  }
  return cmasim::exit_ok;
}
