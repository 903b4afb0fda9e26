// sim/cmd_boot.cpp — placeholder while the subcommand is being written (replaced in this change).
#include "commands.hpp"

namespace cmasim {
void add_boot_command(CLI::App&) {}
} // namespace cmasim
