// sim/commands.hpp — the subcommands of `cmasim`.  Each lives in sim/cmd_<name>.cpp
// and registers itself on the CLI11 app; main.cpp only calls these.
#pragma once

#include <CLI/CLI.hpp>

namespace cmasim {

void add_replay_command(CLI::App& app);   // cmd_replay.cpp: cmasim replay LOG...
void add_boot_command(CLI::App& app);     // cmd_boot.cpp:   cmasim boot --kernel --mem --cmdline
void add_record_command(CLI::App& app);   // cmd_record.cpp: cmasim record (QEMU + kmod)
void add_workload_command(CLI::App& app); // cmd_workload.cpp: cmasim workload --seed --ops
void add_emulate_command(CLI::App& app);  // cmd_emulate.cpp: cmasim emulate (workload on the emulation)
void add_diagnose_command(CLI::App& app); // cmd_diagnose.cpp: cmasim diagnose LOG...
void add_plan_command(CLI::App& app);     // cmd_plan.cpp: cmasim plan (what-if sweep of cma= sizes)
void add_map_command(CLI::App& app);      // cmd_map.cpp:  cmasim map (the area over time as SVG)
void add_mount_command(CLI::App& app);    // cmd_mount.cpp:  cmasim mount DIR (the emulation as files, FUSE)

/// Exit codes shared by every subcommand.  A subcommand reports a non-zero result by
/// throwing CLI::RuntimeError(code) from its callback, after printing the reason; one
/// that prints to stdout ends with finish_output() (output.hpp), so that a failed
/// write is exit 2; main() turns any other exception into "cmasim: <reason>", exit 2.
enum exit_code : int { exit_ok = 0, exit_diverged = 1, exit_usage = 2 };

} // namespace cmasim
