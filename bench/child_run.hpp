// bench/child_run.hpp — one run of the CLI as a child process, for the benches that compare
// cmasim commands: its exit code, wall time, CPU time and peak resident memory (wait4's
// rusage), with stdout to a file (or /dev/null) so the output's cost is the command's own.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace cmabench {

struct child_run {
  int rc = -1;
  double seconds = 0;  ///< wall
  double cpu = 0;      ///< user + system, all threads
  double peak_mib = 0; ///< peak resident memory
};

inline child_run run_child(const std::vector<std::string>& args, const std::string& stdout_path = "/dev/null") {
  child_run r;
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || dup2(fd, 1) < 0) _exit(127);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  rusage ru{};
  if (pid < 0 || wait4(pid, &status, 0, &ru) < 0) return r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
          1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
  r.peak_mib = static_cast<double>(ru.ru_maxrss) / 1024;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

} // namespace cmabench
