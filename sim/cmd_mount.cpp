// sim/cmd_mount.cpp — `cmasim mount`: the emulated kernel's files as a FUSE file system.
//
//   cmasim mount DIR --kernel 4.15 --arch x86_64 --mem 4G --cmdline 'cma=1G@1-2G'
//
// Serves cma::device::emulated_kernel (include/cma/device/emulated_kernel.hpp) under DIR:
// DIR/dev/cma_test, DIR/sys/kernel/debug/cma/<dir>/…, DIR/sys/kernel/mm/cma/<name>/…,
// DIR/proc/meminfo, DIR/proc/vmstat, DIR/dmesg, DIR/sys/kernel/tracing/{trace,trace_marker},
// so a shell session typed on the board runs unmodified apart from the DIR prefix.  This
// file is only the FUSE glue (libfuse3's high-level API, FUSE_USE_VERSION 31): paths,
// times, the calling task, errnos, the state journal (mount_state.hpp).
//
// Semantics kept from the kernel:
//   * a write's result is the handler's: bytes taken, or the errno the kernel returns
//     (`echo 0 > DIR/dev/cma_test` → "write error: Invalid argument"); every file is
//     direct_io, so each write(2) reaches the handler as one call, as on the kernel;
//   * a read of a text file formats it at offset 0 and serves the rest of that open file
//     from the same text (seq_file / simple_attr); a read of dev/cma_test is the device's;
//   * one request at a time (fuse_loop, single-threaded, plus a mutex): concurrent writers
//     are serialised as the module's mutex serialises them;
//   * the time is the emulated kernel's: 3 s (insmod) + 1 s at the mount, then wall time;
//     the trace shows the calling process's comm and pid.
// It stays in the foreground until SIGINT/SIGTERM/SIGHUP or `fusermount3 -u DIR`, then
// unmounts.  Exit: 0 after a clean unmount; 2 for bad options, a state file that does not
// fit, or a mount that fails (no /dev/fuse, DIR not a folder, …), with the reason.
#define FUSE_USE_VERSION 31
#include <fuse.h>

#include "commands.hpp"
#include "kernel_choice.hpp"
#include "mount_state.hpp"
#include "qemu_mem.hpp"
#include "recorder_cmdline.hpp"

#include <cma/device/emulated_kernel.hpp>

#include <fmt/format.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

namespace cmasim {
namespace {

namespace fs = std::filesystem;
namespace dev = cma::device;
namespace ms = mount_state;

struct mount_options {
  std::string dir, kernel, arch, mem, cmdline, state; ///< empty: not given
  bool cma_debug = false, exact_cmdline = false;
};

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "cmasim mount: %s\n", why.c_str());
  throw CLI::RuntimeError(exit_usage);
}

/// Everything the FUSE callbacks share (fuse_get_context()->private_data).
struct mount_ctx {
  std::mutex m;
  std::unique_ptr<dev::emulated_kernel> E;
  std::chrono::steady_clock::time_point t0;
  std::uint64_t base_ns = 0; ///< emulated time at t0
  std::uint64_t last_ns = 0;
  std::FILE* journal = nullptr;
  std::map<std::uint64_t, std::string> texts; ///< per open file: the text of its first read
  std::uint64_t next_fh = 1;
  std::uint64_t ops = 0;
  struct timespec mounted{};

  std::uint64_t now() {
    const auto d = std::chrono::steady_clock::now() - t0;
    std::uint64_t ns = base_ns + static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
    if (ns <= last_ns) ns = last_ns + 1000; // never back, and one µs apart at least
    return last_ns = ns;
  }
  void record(const ms::entry& e) {
    ++ops;
    if (!journal) return;
    const std::string line = ms::entry_text(e);
    if (std::fwrite(line.data(), 1, line.size(), journal) != line.size() || std::fflush(journal) != 0)
      std::fprintf(stderr, "cmasim mount: cannot append to the state file: %s\n", std::strerror(errno));
  }
};

mount_ctx& ctx() { return *static_cast<mount_ctx*>(fuse_get_context()->private_data); }

std::string rel(const char* path) {
  std::string p(path);
  while (!p.empty() && p.front() == '/') p.erase(p.begin());
  while (!p.empty() && p.back() == '/') p.pop_back();
  return p;
}

/// The calling task as the trace shows it: /proc/<pid>/comm, or "<...>" as ftrace prints
/// a task whose comm it no longer knows.
dev::trace_task caller() {
  const int pid = fuse_get_context()->pid;
  std::string comm = "<...>";
  std::ifstream f("/proc/" + std::to_string(pid) + "/comm");
  if (f && std::getline(f, comm) && comm.empty()) comm = "<...>";
  return {comm, pid, 0};
}

int fs_getattr(const char* path, struct stat* st, struct fuse_file_info*) {
  auto& c = ctx();
  std::lock_guard lk(c.m);
  const auto p = rel(path);
  const auto n = c.E->stat(p);
  std::memset(st, 0, sizeof *st);
  st->st_uid = getuid();
  st->st_gid = getgid();
  st->st_atim = st->st_mtim = st->st_ctim = c.mounted;
  switch (n.kind) {
  case dev::node_kind::none: return -ENOENT;
  case dev::node_kind::dir: st->st_mode = S_IFDIR | n.mode, st->st_nlink = 2; break;
  case dev::node_kind::file: st->st_mode = S_IFREG | n.mode, st->st_nlink = 1; break;
  case dev::node_kind::symlink:
    st->st_mode = S_IFLNK | 0777, st->st_nlink = 1;
    st->st_size = static_cast<off_t>(c.E->readlink(p).value_or("").size());
    break;
  }
  return 0;
}

int fs_readlink(const char* path, char* buf, size_t size) {
  auto& c = ctx();
  std::lock_guard lk(c.m);
  const auto t = c.E->readlink(rel(path));
  if (!t) return -EINVAL;
  if (size == 0) return -EINVAL;
  const auto n = std::min(size - 1, t->size());
  std::memcpy(buf, t->data(), n);
  buf[n] = '\0';
  return 0;
}

int fs_readdir(const char* path, void* buf, fuse_fill_dir_t fill, off_t, struct fuse_file_info*, enum fuse_readdir_flags) {
  auto& c = ctx();
  std::lock_guard lk(c.m);
  const auto p = rel(path);
  if (c.E->stat(p).kind != dev::node_kind::dir) return -ENOTDIR;
  fill(buf, ".", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  fill(buf, "..", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  for (const auto& name : c.E->list(p)) fill(buf, name.c_str(), nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  return 0;
}

int fs_open(const char* path, struct fuse_file_info* fi) {
  auto& c = ctx();
  std::lock_guard lk(c.m);
  const auto n = c.E->stat(rel(path));
  if (n.kind == dev::node_kind::none) return -ENOENT;
  if (n.kind == dev::node_kind::dir) return -EISDIR;
  fi->direct_io = 1; // sizes are unknown until read, and every write must reach the handler
  fi->fh = c.next_fh++;
  return 0;
}

int fs_create(const char*, mode_t, struct fuse_file_info*) { return -EACCES; } // no new files in these trees

int fs_truncate(const char* path, off_t, struct fuse_file_info*) {
  auto& c = ctx();
  std::lock_guard lk(c.m);
  const auto p = rel(path);
  const auto n = c.E->stat(p);
  if (n.kind == dev::node_kind::none) return -ENOENT;
  if (n.kind == dev::node_kind::dir) return -EISDIR;
  if (p == "sys/kernel/tracing/trace") {
    ms::entry e;
    e.op = 't', e.ns = c.now(), e.path = p;
    c.E->truncate(p);
    c.record(e);
  }
  return 0; // O_TRUNC on debugfs, sysfs, procfs and the misc device changes nothing
}

int fs_read(const char* path, char* buf, size_t size, off_t off, struct fuse_file_info* fi) {
  auto& c = ctx();
  std::lock_guard lk(c.m);
  const auto p = rel(path);
  if (dev::emulated_kernel::read_changes_state(p)) {
    const auto t = caller();
    const auto ns = c.now();
    const auto r = c.E->read(p, size, static_cast<std::uint64_t>(off), ns, t);
    ms::entry e;
    e.op = 'r', e.ns = ns, e.pid = t.pid, e.comm = t.comm, e.path = p, e.len = size;
    e.off = static_cast<std::uint64_t>(off), e.rc = r.ok() ? static_cast<long long>(r.text.size()) : r.err;
    c.record(e);
    if (!r.ok()) return r.err;
    std::memcpy(buf, r.text.data(), r.text.size());
    return static_cast<int>(r.text.size());
  }
  auto it = c.texts.find(fi->fh);
  if (off == 0 || it == c.texts.end()) {
    auto r = c.E->text(p);
    if (!r.ok()) return r.err;
    it = c.texts.insert_or_assign(fi->fh, std::move(r.text)).first;
  }
  const std::string& t = it->second;
  if (static_cast<std::uint64_t>(off) >= t.size()) return 0;
  const auto n = std::min(size, t.size() - static_cast<std::size_t>(off));
  std::memcpy(buf, t.data() + off, n);
  return static_cast<int>(n);
}

int fs_write(const char* path, const char* buf, size_t size, off_t, struct fuse_file_info*) {
  auto& c = ctx();
  std::lock_guard lk(c.m);
  const auto p = rel(path);
  const auto t = caller();
  const auto ns = c.now();
  const std::string_view data(buf, size);
  const auto w = c.E->write(p, data, ns, t);
  ms::entry e;
  e.op = 'w', e.ns = ns, e.pid = t.pid, e.comm = t.comm, e.path = p, e.data = std::string(data);
  e.rc = w.ok() ? static_cast<long long>(w.written) : w.err;
  c.record(e);
  if (!w.ok()) return w.err;
  return static_cast<int>(w.written);
}

int fs_release(const char*, struct fuse_file_info* fi) {
  auto& c = ctx();
  std::lock_guard lk(c.m);
  c.texts.erase(fi->fh);
  return 0;
}

void* fs_init(struct fuse_conn_info*, struct fuse_config* cfg) {
  cfg->direct_io = 1;
  cfg->kernel_cache = 0;
  cfg->attr_timeout = 0;
  cfg->entry_timeout = 0;
  cfg->negative_timeout = 0;
  return fuse_get_context()->private_data;
}

// ------------------------------------------------------------------------ state file

/// Replays a state file's journal on `E`; returns the last time in it.  Any line that is not
/// a journal line, or a call whose result differs, is exit 2 naming the file and line.
std::uint64_t restore(dev::emulated_kernel& E, std::istream& in, const std::string& file, std::size_t& line_no,
                      std::uint64_t& n_ops) {
  std::uint64_t last = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    const auto e = ms::parse_entry(line);
    if (!e)
      fail(fmt::format("{}:{}: expected a journal line ('w <ns> <pid> <comm> <path> <data> <rc>', "
                       "'r <ns> <pid> <comm> <path> <len> <off> <rc>' or 't <ns> <path>')", file, line_no));
    if (e->ns < last) fail(fmt::format("{}:{}: time {} goes back (the previous call was at {})", file, line_no, e->ns, last));
    last = e->ns;
    const dev::trace_task t{e->comm, e->pid, 0};
    long long rc = 0;
    if (e->op == 't') {
      E.truncate(e->path);
    } else if (e->op == 'r') {
      const auto r = E.read(e->path, static_cast<std::size_t>(e->len), e->off, e->ns, t);
      rc = r.ok() ? static_cast<long long>(r.text.size()) : r.err;
    } else {
      const auto w = E.write(e->path, e->data, e->ns, t);
      rc = w.ok() ? static_cast<long long>(w.written) : w.err;
    }
    if (rc != e->rc)
      fail(fmt::format("{}:{}: the emulation returns {} where the state file says {} (a state file written by "
                       "another cmasim version?)", file, line_no, rc, e->rc));
    ++n_ops;
  }
  return last;
}

void run(const mount_options& o) {
  // -- the machine's description: the options, or the state file's header
  ms::header h;
  std::ifstream state_in;
  std::size_t line_no = 0;
  const bool have_state = !o.state.empty() && fs::exists(o.state);
  if (have_state) {
    if (fs::is_directory(o.state)) fail("--state " + o.state + ": is a folder, not a state file");
    state_in.open(o.state, std::ios::binary);
    if (!state_in) fail("--state " + o.state + ": cannot open: " + std::strerror(errno));
    std::string line;
    for (line_no = 1; line_no <= 6; ++line_no) {
      if (!std::getline(state_in, line)) fail(fmt::format("{}:{}: the file ends inside its header", o.state, line_no));
      if (auto err = ms::parse_header_line(line_no, line, h)) fail(fmt::format("{}:{}: {}", o.state, line_no, *err));
    }
    --line_no;
  }
  const std::string want_cmdline = o.exact_cmdline ? o.cmdline : recorder_cmdline(o.cmdline);
  if (!have_state) {
    if (o.kernel.empty()) fail("--kernel is required (or --state FILE of an earlier mount)");
    h.kernel = o.kernel, h.arch = o.arch.empty() ? "arm64" : o.arch, h.cmdline = want_cmdline, h.cma_debug = o.cma_debug;
    h.mem = parse_qemu_mem(o.mem.empty() ? "1G" : o.mem, [](const std::string& why) { fail(why); });
  } else {
    // Options given with --state must agree with the machine the state was saved from.
    const auto differs = [&](const char* opt, const std::string& given, const std::string& saved) {
      if (!given.empty() && given != saved)
        fail(fmt::format("{} '{}' differs from the state file's ({}: '{}'); a state restores only on the same machine",
                         opt, given, o.state, saved));
    };
    differs("--kernel", o.kernel, h.kernel);
    differs("--arch", o.arch, h.arch);
    if (!o.mem.empty())
      differs("--mem", std::to_string(parse_qemu_mem(o.mem, [](const std::string& why) { fail(why); })),
              std::to_string(h.mem));
    if (!o.cmdline.empty()) differs("--cmdline", want_cmdline, h.cmdline);
    if (o.cma_debug && !h.cma_debug) differs("--cma-debug", "1", "0");
  }
  const auto kv = supported_kernel(h.kernel);
  if (!kv) fail("--kernel '" + h.kernel + "': not a kernel series the emulation models (" + series_list() + ")");
  if (h.arch != "arm64" && h.arch != "x86_64") fail("--arch '" + h.arch + "': expected arm64 or x86_64");

  dev::emulated_kernel_config ec;
  ec.version = *kv;
  ec.a = h.arch == "arm64" ? cma::arch::arm64 : cma::arch::x86_64;
  ec.ram = h.mem;
  ec.cmdline = h.cmdline;
  ec.config_cma_debug = h.cma_debug;
  ec.release = h.kernel.find('-') != std::string::npos ? h.kernel : fmt::format("{}.{}.0-cmasim-{}", kv->major, kv->minor, h.arch);
  auto booted = dev::emulated_kernel::boot(ec);
  if (auto* why = std::get_if<std::string>(&booted)) fail(*why);

  mount_ctx c;
  c.E = std::move(std::get<std::unique_ptr<dev::emulated_kernel>>(booted));
  std::uint64_t restored = 0, last = 0;
  if (have_state) last = restore(*c.E, state_in, o.state, line_no, restored);
  state_in.close();
  if (!o.state.empty()) {
    c.journal = std::fopen(o.state.c_str(), have_state ? "ab" : "wb");
    if (!c.journal) fail("--state " + o.state + ": cannot write: " + std::strerror(errno));
    if (!have_state) {
      const auto text = ms::header_text(h);
      if (std::fwrite(text.data(), 1, text.size(), c.journal) != text.size() || std::fflush(c.journal) != 0)
        fail("--state " + o.state + ": cannot write: " + std::strerror(errno));
    }
  }
  c.base_ns = std::max<std::uint64_t>(dev::emulated_kernel::insmod_at_ns + 1'000'000'000ULL, last + 1'000'000ULL);
  c.last_ns = last;
  c.t0 = std::chrono::steady_clock::now();
  clock_gettime(CLOCK_REALTIME, &c.mounted);

  std::error_code ec2;
  if (!fs::exists(o.dir, ec2)) fs::create_directories(o.dir, ec2);
  if (!fs::is_directory(o.dir, ec2)) fail(o.dir + ": not a folder (the mount point)");

  struct fuse_operations ops {};
  ops.getattr = fs_getattr;
  ops.readlink = fs_readlink;
  ops.readdir = fs_readdir;
  ops.open = fs_open;
  ops.create = fs_create;
  ops.truncate = fs_truncate;
  ops.read = fs_read;
  ops.write = fs_write;
  ops.release = fs_release;
  ops.init = fs_init;

  std::vector<std::string> argv_s = {"cmasim", "-o", "fsname=cmasim,subtype=cmasim"};
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  struct fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  // fuse_new may allocate args.argv (fuse_opt_add_arg): freed on every way out, after the session.
  struct args_guard {
    fuse_args* a;
    ~args_guard() { fuse_opt_free_args(a); }
  } free_args{&args};
  struct fuse* f = fuse_new(&args, &ops, sizeof ops, &c);
  if (!f) fail("fuse_new failed (libfuse3)");
  if (fuse_mount(f, o.dir.c_str()) != 0) {
    fuse_destroy(f);
    fail(o.dir + ": cannot mount (is /dev/fuse there, and are you root or is fusermount3 installed?)");
  }
  struct fuse_session* se = fuse_get_session(f);
  // A shell starts background jobs with SIGINT ignored, and libfuse only takes signals that
  // are at their default: restore the defaults so `kill -INT` stops a backgrounded mount too.
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) std::signal(sig, SIG_DFL);
  if (fuse_set_signal_handlers(se) != 0) {
    fuse_unmount(f);
    fuse_destroy(f);
    fail("cannot install the signal handlers");
  }
  const auto& a = c.E->area();
  std::printf("cmasim mount: %s: Linux %s rules on %s, %llu MiB RAM, cmdline '%s'\n", o.dir.c_str(),
              std::string(c.E->prof().series).c_str(), h.arch.c_str(), static_cast<unsigned long long>(h.mem >> 20),
              h.cmdline.c_str());
  std::printf("  area %s: base_pfn 0x%llx, %llu pages (%llu MiB); debugfs %s\n", a.name().c_str(),
              static_cast<unsigned long long>(a.base_pfn()), static_cast<unsigned long long>(a.count()),
              static_cast<unsigned long long>(a.count() >> 8), c.E->debugfs_dir().c_str());
  if (have_state) std::printf("  restored %llu calls from %s\n", static_cast<unsigned long long>(restored), o.state.c_str());
  std::printf("  serving until Ctrl-C, SIGTERM or `fusermount3 -u %s`\n", o.dir.c_str());
  std::fflush(stdout);

  const int rc = fuse_loop(f);
  fuse_remove_signal_handlers(se);
  fuse_unmount(f);
  fuse_destroy(f);
  if (c.journal) std::fclose(c.journal);
  std::printf("cmasim mount: unmounted %s after %llu calls that changed the state%s\n", o.dir.c_str(),
              static_cast<unsigned long long>(c.ops), o.state.empty() ? "" : ("; journal in " + o.state).c_str());
  std::fflush(stdout);
  if (rc < 0) fail(fmt::format("the FUSE loop ended with {}", std::strerror(-rc)));
}

} // namespace

void add_mount_command(CLI::App& app) {
  auto o = std::make_shared<mount_options>();
  CLI::App* cmd = app.add_subcommand(
      "mount", "Serve the emulated kernel's files (/dev/cma_test, debugfs, sysfs, /proc, dmesg, trace) under DIR (FUSE)");
  cmd->add_option("dir", o->dir, "mount point (created if missing)")->required();
  cmd->add_option("--kernel", o->kernel, "kernel series: " + series_list() + " (or a release like 6.1.0-57-arm64)");
  cmd->add_option("--arch", o->arch, "arm64 (default) or x86_64");
  cmd->add_option("--mem", o->mem, "RAM in QEMU -m syntax, e.g. 4G (default 1G)");
  cmd->add_option("--cmdline", o->cmdline, "kernel arguments, e.g. 'cma=1G@1-2G' (the recorder's own are added)");
  cmd->add_flag("--exact-cmdline", o->exact_cmdline, "do not add the recorder's arguments (dyndbg, trace events, …)");
  cmd->add_flag("--cma-debug", o->cma_debug, "CONFIG_CMA_DEBUG=y (the field notes' 4.15 kernel)");
  cmd->add_option("--state", o->state, "journal file: restored at mount if it exists, appended to while serving");
  cmd->callback([o] { run(*o); });
}

} // namespace cmasim
