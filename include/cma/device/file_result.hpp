// cma/device/file_result.hpp — what read(2) and write(2) on an emulated kernel file return.
//
// The device wing (debugfs, sysfs, /proc) answers file operations as the kernel's
// handlers do: a read gives the text the handler formats (or a negative errno), a
// write gives the byte count the handler claims (`len`, the whole input, on success)
// or a negative errno.  Errors are values, never exceptions (STYLE.md 4).  The errno
// numbers are include/uapi/asm-generic/errno-base.h's, negative as the kernel returns
// them; errno.hpp has the ones mm/cma.c itself reports (ENOMEM, EBUSY, EINVAL).
//
// Every file is read as root: permission bits that only stop other users (a 0200
// `alloc`, a 0444 `count`) are the mount's business, not the handler's.
#pragma once

#include "../errno.hpp"

#include <cstddef>
#include <string>

namespace cma::device {

inline constexpr int enoent = -2;  ///< no such file in this directory (this version has no such file)
inline constexpr int eacces = -13; ///< simple_attr without a get (read) or set (write) handler; sysfs RO open for write
inline constexpr int erange = -34; ///< kstrtoull overflow (5.10+ debugfs writes)

/// read(2) of a whole file from offset 0.
struct read_result {
  int err = 0;      ///< 0 or a negative errno
  std::string text; ///< the bytes read (empty on error)
  bool ok() const noexcept { return err == 0; }
  friend bool operator==(const read_result&, const read_result&) = default;
};

/// write(2) of a buffer at offset 0.
struct write_result {
  int err = 0;              ///< 0 or a negative errno (what the shell reports: "write error: …")
  std::size_t written = 0;  ///< bytes the handler claims on success (the whole input)
  bool ok() const noexcept { return err == 0; }
  friend bool operator==(const write_result&, const write_result&) = default;
};

} // namespace cma::device
