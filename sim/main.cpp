// cmasim — command-line face of the CMA model.  Thin: parses arguments, reads files,
// hands text to include/cma/, prints what comes back.
#include "commands.hpp"

#include <cstdio>

int main(int argc, char** argv) {
  CLI::App app{"cmasim: a bit-exact model of the Linux Contiguous Memory Allocator"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "cmasim 0.1.0");
  cmasim::add_replay_command(app);
  cmasim::add_boot_command(app);
  cmasim::add_record_command(app);
  cmasim::add_workload_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    return e.get_exit_code(); // a subcommand's own result (1 = diverged, 2 = bad input)
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : cmasim::exit_usage;
  }
  return cmasim::exit_ok;
}
