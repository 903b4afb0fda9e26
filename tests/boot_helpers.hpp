// tests/boot_helpers.hpp — the boot model run on a machine profile, for the boot tests.
#pragma once

#include <cma/boot/boot.hpp>

#include <string>

namespace cmatest {

/// simulate_boot() of kernel `kv` on architecture `a`'s built-in machine with `ram` bytes.
inline cma::boot_report boot(const cma::kernel_version& kv, cma::arch a, cma::phys_addr_t ram, const std::string& cmdline) {
  cma::boot_config c;
  c.kernel = kv;
  c.a = a;
  c.ram_size = ram;
  c.cmdline = cmdline;
  return cma::simulate_boot(c);
}

} // namespace cmatest
