// cma/device/kernel_log.hpp — the emulation's kernel log buffer (dmesg) and trace buffer
// (/sys/kernel/tracing/trace), and the glue that fills both from /dev/cma_test's writes.
//
// log_buffer  printk's ring (kernel/printk/printk_ringbuffer.c, 5.10+): a data ring of
//             log_buf_len bytes, each record taking ALIGN(sizeof(long) + text, sizeof(long))
//             of it, and log_buf_len >> 5 descriptors (PRB_AVGBITS); the oldest records go
//             first.  dmesg prints each as "[%5lu.%06lu] text" (printk_time, local_clock in
//             the kernel; here the caller's simulated clock).  Approximate: the data ring's
//             wrap-around waste and the 4.15 log_buf's own layout are not modelled.
// trace_buffer  one CPU's ftrace ring (kernel/trace/ring_buffer.c): buffer_size_kb of data
//             in pages of BUF_PAGE_SIZE (4096 - 16) bytes; an event takes a 4-byte header and
//             its entry (struct trace_entry + the fields of include/trace/events/cma.h, the
//             name as a __data_loc string), 4-byte aligned; in overwrite mode a full ring drops
//             its oldest page with every entry on it.  `trace` prints the header with
//             "entries-in-buffer/entries-written: N/M   #P:1" (N < M once it wrapped), then
//             "%16s-%-7d [%03d] %s %5lu.%06lu: <event>: <fields>" per entry (4.x: pid %-5d and
//             four flag columns).  Approximate: time-extend events and the reader page.
// Event formats (include/trace/events/cma.h; profile::trace):
//   legacy  (4.x – 5.13)  cma_alloc: pfn=%lx page=%p count=%u align=%u
//                         cma_release: pfn=%lx page=%p count=%u
//   named   (5.14 – 6.2)  cma_alloc_start: name=%s count=%lu align=%u
//                         cma_alloc_busy_retry: name=%s pfn=0x%lx page=%p count=%lu align=%u
//                         cma_alloc_finish: name=%s pfn=0x%lx page=%p count=%lu align=%u
//                         cma_release: name=%s pfn=0x%lx page=%p count=%lu
//   errorno (6.3 – 6.17)  cma_alloc_finish gains " errorno=%d"
//   counts  (6.18+)       cma_alloc_start: name=%s request_count=%lu available_count=%lu
//                         total_count=%lu align=%u
// Order in mm/cma.c (6.1 and 6.12 alike, checked against tests/data/recorded's timestamps):
// the call's pr_debug then trace_cma_alloc_start (6.12 – 6.14: the start event first,
// profile::trace_start_before_checks); per -EBUSY window its pr_debug then the busy_retry
// event; trace_cma_alloc_finish right after the search, before the failure line, show_areas
// and "returned"; cma_release's pr_debug (7.x: find_cma_memrange's and __cma_release_frozen's),
// then its event at the end (only when it released).
// Hashed %p: the DMA layer's stand-ins (dma::page_pointer keyed by pfn, NULL as 16 zeros), so
// an allocation's finish, its busy retries at that pfn and its release print the same pointer.
//
// kernel_log ties one log_buffer and one trace_buffer to a kernel profile and renders cma_alloc
// / cma_release calls into both, interleaved as above, each item at a distinct time (the
// caller's time, then +tick per item).  logged_cma_test_device runs cma_test_device's writes
// and reads and appends their lines and the trace events of the CMA calls they made.
// cma_test_io does not carry the DMA layer's results (dma_alloc_result::cma, dma_free_result),
// so the glue recovers them exactly: before a write that may allocate it copies the area and
// the held pages and re-runs the same DMA call on the copy (the model is deterministic; the
// pfn and errno are checked against the module's op=alloc line, `inconsistencies()` counts
// disagreements), and a free's cma_release is the freed allocation's (from_cma, pfn, pages)
// from live() before the write.
//
// Pure: no I/O, no clock, no globals.
#pragma once

#include "../allocator.hpp"
#include "../dma/dma.hpp"
#include "../profile.hpp"
#include "cma_test_device.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cma::device {

namespace klog_detail {
/// "%5lu.%06lu" of a time in ns (microseconds truncated, as printk and ftrace print).
inline std::string seconds(std::uint64_t ns) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%5llu.%06llu", static_cast<unsigned long long>(ns / 1'000'000'000ULL),
                static_cast<unsigned long long>((ns % 1'000'000'000ULL) / 1000ULL));
  return buf;
}
inline std::string hex(std::uint64_t v) { return dma::detail::hex_lower(v); }
constexpr std::size_t align_up(std::size_t v, std::size_t a) { return (v + a - 1) / a * a; }
} // namespace klog_detail

// ------------------------------------------------------------------ dmesg

class log_buffer {
public:
  static constexpr std::size_t debian_log_buf_len = std::size_t{1} << 17; ///< CONFIG_LOG_BUF_SHIFT=17

  explicit log_buffer(std::size_t log_buf_len = debian_log_buf_len)
      : capacity_(std::max<std::size_t>(log_buf_len, 4096)), max_records_(capacity_ >> 5) {}

  /// printk of one line (no trailing newline) at `now_ns`.
  void printk(std::uint64_t now_ns, std::string_view text) {
    const std::size_t cost = cost_of(text.size());
    while (!ring_.empty() && (bytes_ + cost > capacity_ || ring_.size() + 1 > max_records_)) drop_oldest();
    ring_.push_back({now_ns, std::string(text)});
    bytes_ += cost;
    ++written_;
  }

  /// What `dmesg` prints: "[%5lu.%06lu] text\n" per record, oldest first.
  std::string text() const {
    std::string out;
    for (const auto& r : ring_) out += line(r);
    return out;
  }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    for (const auto& r : ring_) {
      auto l = line(r);
      l.pop_back();
      out.push_back(std::move(l));
    }
    return out;
  }
  std::size_t size() const noexcept { return ring_.size(); }
  std::uint64_t written() const noexcept { return written_; }
  std::uint64_t dropped() const noexcept { return dropped_; }
  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t bytes() const noexcept { return bytes_; }

private:
  struct record {
    std::uint64_t ns;
    std::string text;
  };
  static std::size_t cost_of(std::size_t len) { return klog_detail::align_up(sizeof(std::uint64_t) + len, 8); }
  static std::string line(const record& r) { return "[" + klog_detail::seconds(r.ns) + "] " + r.text + "\n"; }
  void drop_oldest() {
    bytes_ -= cost_of(ring_.front().text.size());
    ring_.pop_front();
    ++dropped_;
  }
  std::size_t capacity_, max_records_;
  std::deque<record> ring_;
  std::size_t bytes_ = 0;
  std::uint64_t written_ = 0, dropped_ = 0;
};

// ------------------------------------------------------------------ trace

/// The task an event is traced in ("<comm>-<pid>").
struct trace_task {
  std::string comm = "rig";
  int pid = 100;
  unsigned cpu = 0;
};

class trace_buffer {
public:
  static constexpr std::size_t default_size = 1441792; ///< TRACE_BUF_SIZE_DEFAULT (buffer_size_kb 1408)
  static constexpr std::size_t buf_page_size = 4096 - 16;

  /// `modern`: the 5.14+ layout (pid %-7d, five flag columns); else the 4.x one.
  explicit trace_buffer(bool modern = true, std::size_t buffer_size = default_size)
      : modern_(modern), max_pages_(std::max<std::size_t>(2, (buffer_size + buf_page_size - 1) / buf_page_size)) {}

  /// One event: "<event>: <fields>" as `body`, with its binary size in the ring (payload bytes).
  void event(std::uint64_t now_ns, const trace_task& t, std::string body, std::size_t payload) {
    const std::size_t len = 4 + klog_detail::align_up(payload, 4);
    if (pages_.empty() || page_used_ + len > buf_page_size) {
      pages_.push_back(0);
      page_used_ = 0;
      if (pages_.size() > max_pages_) { // overwrite: the oldest page goes, with its entries
        for (std::size_t i = 0; i < pages_.front(); ++i) entries_.pop_front();
        pages_.pop_front();
      }
    }
    page_used_ += len;
    ++pages_.back();
    entries_.push_back({now_ns, t, std::move(body)});
    ++written_;
  }

  /// tracing_mark_write (trace_marker): struct print_entry {ip; buf[]}.
  void mark(std::uint64_t now_ns, const trace_task& t, std::string_view text) {
    event(now_ns, t, "tracing_mark_write: " + std::string(text), 8 + 8 + text.size() + 2);
  }

  /// `echo > trace` (open with O_TRUNC: tracing_reset_online_cpus): every entry goes and the
  /// counters restart, as ring_buffer_reset leaves them.
  void clear() {
    entries_.clear();
    pages_.clear();
    page_used_ = 0;
    written_ = 0;
  }

  std::size_t entries_in_buffer() const noexcept { return entries_.size(); }
  std::uint64_t entries_written() const noexcept { return written_; }
  bool wrapped() const noexcept { return entries_.size() < written_; }

  /// /sys/kernel/tracing/trace.
  std::string text() const {
    std::string out = header();
    for (const auto& e : entries_) out += line(e) + "\n";
    return out;
  }
  std::string header() const {
    std::string h = "# tracer: nop\n#\n# entries-in-buffer/entries-written: " + std::to_string(entries_.size()) + "/" +
                    std::to_string(written_) + "   #P:1\n#\n";
    if (modern_)
      h += "#                                _-----=> irqs-off/BH-disabled\n"
           "#                               / _----=> need-resched\n"
           "#                              | / _---=> hardirq/softirq\n"
           "#                              || / _--=> preempt-depth\n"
           "#                              ||| / _-=> migrate-disable\n"
           "#                              |||| /     delay\n"
           "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n"
           "#              | |         |   |||||     |         |\n";
    else
      h += "#                              _-----=> irqs-off\n"
           "#                             / _----=> need-resched\n"
           "#                            | / _---=> hardirq/softirq\n"
           "#                            || / _--=> preempt-depth\n"
           "#                            ||| /     delay\n"
           "#           TASK-PID   CPU#  ||||    TIMESTAMP  FUNCTION\n"
           "#              | |       |   ||||       |         |\n";
    return h;
  }

private:
  struct entry {
    std::uint64_t ns;
    trace_task task;
    std::string body;
  };
  std::string line(const entry& e) const {
    char ctx[96];
    std::snprintf(ctx, sizeof ctx, modern_ ? "%16s-%-7d [%03u] ..... " : "%16s-%-5d [%03u] .... ", e.task.comm.c_str(),
                  e.task.pid, e.task.cpu);
    return std::string(ctx) + klog_detail::seconds(e.ns) + ": " + e.body;
  }
  bool modern_;
  std::size_t max_pages_;
  std::deque<std::size_t> pages_; ///< entries per page, oldest first
  std::size_t page_used_ = 0;
  std::deque<entry> entries_;
  std::uint64_t written_ = 0;
};

// ------------------------------------------------------------------ the cma events

/// The text and ring size of include/trace/events/cma.h's events for one profile.
struct cma_trace_format {
  trace_format fmt = trace_format::named;

  static std::size_t named(std::size_t fields_bytes, std::string_view name) {
    return 8 /* trace_entry */ + fields_bytes + name.size() + 1;
  }
  // fields: __data_loc name (4 + pad 4), then the longs and ints of each TP_STRUCT
  std::pair<std::string, std::size_t> alloc_start(std::string_view name, page_count count, unsigned align,
                                                  page_count available, page_count total) const {
    if (fmt == trace_format::counts)
      return {"cma_alloc_start: name=" + std::string(name) + " request_count=" + std::to_string(count) +
                  " available_count=" + std::to_string(available) + " total_count=" + std::to_string(total) +
                  " align=" + std::to_string(align),
              named(8 + 24 + 8, name)};
    return {"cma_alloc_start: name=" + std::string(name) + " count=" + std::to_string(count) +
                " align=" + std::to_string(align),
            named(8 + 8 + 8, name)};
  }
  std::pair<std::string, std::size_t> busy_retry(std::string_view name, pfn_t pfn, std::string_view page,
                                                 page_count count, unsigned align) const {
    return {"cma_alloc_busy_retry: name=" + std::string(name) + " pfn=0x" + klog_detail::hex(pfn) + " page=" +
                std::string(page) + " count=" + std::to_string(count) + " align=" + std::to_string(align),
            named(8 + 24 + 8, name)};
  }
  std::pair<std::string, std::size_t> alloc_finish(std::string_view name, pfn_t pfn, std::string_view page,
                                                   page_count count, unsigned align, int err) const {
    if (fmt == trace_format::legacy)
      return {"cma_alloc: pfn=" + klog_detail::hex(pfn) + " page=" + std::string(page) + " count=" +
                  std::to_string(count) + " align=" + std::to_string(align),
              8 + 16 + 8};
    std::string s = "cma_alloc_finish: name=" + std::string(name) + " pfn=0x" + klog_detail::hex(pfn) + " page=" +
                    std::string(page) + " count=" + std::to_string(count) + " align=" + std::to_string(align);
    if (fmt == trace_format::errorno || fmt == trace_format::counts) s += " errorno=" + std::to_string(err);
    return {std::move(s), named(8 + 24 + 8, name)};
  }
  std::pair<std::string, std::size_t> release(std::string_view name, pfn_t pfn, std::string_view page,
                                              page_count count) const {
    if (fmt == trace_format::legacy)
      return {"cma_release: pfn=" + klog_detail::hex(pfn) + " page=" + std::string(page) + " count=" +
                  std::to_string(count),
              8 + 16 + 8};
    return {"cma_release: name=" + std::string(name) + " pfn=0x" + klog_detail::hex(pfn) + " page=" + std::string(page) +
                " count=" + std::to_string(count),
            named(8 + 24, name)};
  }
};

struct kernel_log_options {
  std::size_t log_buf_len = log_buffer::debian_log_buf_len;
  std::size_t trace_buffer_size = trace_buffer::default_size;
  bool tracing_on = true;             ///< the cma events enabled (trace_event=cma:*)
  std::uint64_t tick_ns = 1000;       ///< the time between two consecutive items of one operation
};

/// The emulation's kernel log: dmesg and the trace, for one kernel profile.
class kernel_log {
public:
  explicit kernel_log(const profile& p, kernel_log_options o = {})
      : prof_(p), opt_(o), dmesg_(o.log_buf_len), trace_(p.version >= kernel_version{5, 14, 0}, o.trace_buffer_size),
        fmt_{p.trace} {}

  log_buffer& dmesg() noexcept { return dmesg_; }
  const log_buffer& dmesg() const noexcept { return dmesg_; }
  trace_buffer& trace() noexcept { return trace_; }
  const trace_buffer& trace() const noexcept { return trace_; }
  const profile& prof() const noexcept { return prof_; }
  const kernel_log_options& options() const noexcept { return opt_; }

  /// The time the next item gets when asked for `now_ns` (items never go back in time).
  std::uint64_t at(std::uint64_t now_ns) {
    next_at_.reset();
    if (last_ && now_ns <= *last_) now_ns = *last_ + opt_.tick_ns;
    last_ = now_ns;
    return now_ns;
  }
  /// The next item of an operation: the operation's time for its first item, then +tick each.
  std::uint64_t next() {
    if (next_at_) return at(*next_at_);
    return at(last_ ? *last_ + opt_.tick_ns : 0);
  }
  /// An operation begins at `now_ns`: its first item (next()) gets that time.
  void begin(std::uint64_t now_ns) {
    if (last_ && now_ns <= *last_) now_ns = *last_ + opt_.tick_ns;
    next_at_ = now_ns;
  }

  void printk(std::uint64_t now_ns, std::string_view line) { dmesg_.printk(at(now_ns), line); }
  void printk(std::string_view line) { dmesg_.printk(next(), line); }
  void mark(std::uint64_t now_ns, const trace_task& t, std::string_view text) {
    if (opt_.tracing_on) trace_.mark(at(now_ns), t, text);
  }
  void event(const trace_task& t, std::pair<std::string, std::size_t> ev) {
    if (opt_.tracing_on) trace_.event(next(), t, std::move(ev.first), ev.second);
  }

  // ---- the cma events of one call (the caller interleaves them with the lines)
  const cma_trace_format& format() const noexcept { return fmt_; }

  /// The trace events of one cma_alloc() whose outcome is `r` on `area` (area in any state:
  /// only its name and count are read), in the kernel's order: start, busy retries, finish.
  struct alloc_events {
    std::optional<std::pair<std::string, std::size_t>> start;
    std::vector<std::pair<std::string, std::size_t>> busy;
    std::optional<std::pair<std::string, std::size_t>> finish;
  };
  alloc_events events_of(const allocator& area, const alloc_result& r) const {
    alloc_events e;
    if (fmt_.fmt != trace_format::legacy) {
      if (r.traced_start) e.start = fmt_.alloc_start(area.name(), r.count, r.align, r.available_before, area.count());
      for (const auto& a : r.attempts)
        if (a.ret == ebusy) e.busy.push_back(fmt_.busy_retry(area.name(), a.pfn, dma::page_pointer(a.pfn), r.count, r.align));
    }
    if (r.traced_finish)
      e.finish = fmt_.alloc_finish(area.name(), r.finish_pfn, r.ok() ? dma::page_pointer(r.pfn) : dma::hashed_pointer(0),
                                   r.count, r.align, r.err);
    return e;
  }
  std::pair<std::string, std::size_t> release_event(const allocator& area, pfn_t pfn, page_count count) const {
    return fmt_.release(area.name(), pfn, dma::page_pointer(pfn), count);
  }

  /// A cma_alloc() made outside the device (the boot-time pools, a test): its mm/cma.c lines
  /// (dma::cma_alloc_lines with `lo`; `area` as the call left it) and its trace events.
  void cma_alloc(std::uint64_t now_ns, const trace_task& t, const allocator& area, const alloc_result& r, bool no_warn,
                 const dma::log_options& lo) {
    begin(now_ns);
    interleave_alloc(t, area, r, dma::cma_alloc_lines(area, r, no_warn, lo));
  }
  /// A cma_release() made outside the device.
  void cma_release(std::uint64_t now_ns, const trace_task& t, const dma::dma_rules& rules, const allocator& area,
                   pfn_t pfn, page_count count, const release_result& rel, const dma::log_options& lo) {
    begin(now_ns);
    for (const auto& l : dma::cma_release_lines(rules, area, pfn, count, rel.ok, lo)) printk(l);
    if (rel.ok) event(t, release_event(area, pfn, count));
  }

  /// mm/cma.c's lines of one allocation and its events, interleaved as the kernel prints them.
  void interleave_alloc(const trace_task& t, const allocator& area, const alloc_result& r,
                        const std::vector<std::string>& lines) {
    auto e = events_of(area, r);
    std::size_t busy = 0;
    bool started = false, finished = false;
    const auto start = [&] {
      if (!started && e.start) event(t, *e.start);
      started = true;
    };
    const auto finish = [&] {
      start();
      while (busy < e.busy.size()) event(t, e.busy[busy++]);
      if (!finished && e.finish) event(t, *e.finish);
      finished = true;
    };
    for (const auto& l : lines) {
      const auto kind = classify(l);
      if (kind == line_kind::call) {
        if (prof_.trace_start_before_checks) start(), printk(l);
        else printk(l), start();
      } else if (kind == line_kind::busy) {
        start();
        printk(l);
        if (busy < e.busy.size()) event(t, e.busy[busy++]);
      } else {
        finish();
        printk(l);
      }
    }
    finish();
  }

  enum class line_kind { call, busy, other, release, module_alloc, module_free };
  static line_kind classify(std::string_view l) {
    if (l.rfind("cma_test: v1 op=alloc ", 0) == 0) return line_kind::module_alloc;
    if (l.rfind("cma_test: v1 op=free ", 0) == 0) return line_kind::module_free;
    for (const std::string_view r : {"cma: cma_release(", "cma: cma_pages_valid(", // 7.x: the two below
                                     "cma: find_cma_memrange(", "cma: __cma_release_frozen("})
      if (l.rfind(r, 0) == 0) return line_kind::release;
    if (l.rfind("cma: ", 0) == 0 && l.find("(cma ") != std::string_view::npos && l.find(", count ") != std::string_view::npos)
      return line_kind::call;
    if (l.find(" is busy, retrying") != std::string_view::npos) return line_kind::busy;
    return line_kind::other;
  }

private:
  profile prof_;
  kernel_log_options opt_;
  log_buffer dmesg_;
  trace_buffer trace_;
  cma_trace_format fmt_;
  std::optional<std::uint64_t> last_, next_at_;
};

// ------------------------------------------------------------------ the device, logged

/// /dev/cma_test with its lines in the kernel log and its CMA calls in the trace.
class logged_cma_test_device {
public:
  /// `dev_model` must be the device `dev` was built with (cma_test_device's default: a
  /// platform device with 64-bit masks): the glue re-runs the DMA call with it.
  logged_cma_test_device(dma::dma_layer& L, cma_test_device& dev, kernel_log& log, trace_task task = {},
                         dma::device dev_model = dma::device::platform(64, "cma_test"))
      : L_(&L), dev_(&dev), log_(&log), task_(std::move(task)), dev_model_(std::move(dev_model)) {}

  /// insmod: ct_init's line.
  void load(std::uint64_t now_ns) { log_->printk(now_ns, dev_->loaded_line()); }

  cma_test_io write(std::string_view buf, std::uint64_t now_ns) {
    std::optional<allocator> before;
    if (may_allocate(buf) && L_->default_area) before.emplace(*L_->default_area);
    const unmovable_pages busy = dev_->busy_pages();
    const bool nowarn = dev_->nowarn();
    const std::list<cma_test_alloc> live = dev_->live();
    auto io = dev_->write(buf, now_ns);
    render(io, now_ns, before ? &*before : nullptr, busy, nowarn, live);
    return io;
  }
  cma_test_io read(std::size_t len, std::uint64_t pos, std::uint64_t now_ns) {
    const std::list<cma_test_alloc> live = dev_->live();
    auto io = dev_->read(len, pos, now_ns);
    render(io, now_ns, nullptr, {}, false, live);
    return io;
  }
  /// rmmod: every allocation freed (oldest first), held pages given back, "unloaded".
  cma_test_io unload(std::uint64_t now_ns) {
    const std::list<cma_test_alloc> live = dev_->live();
    auto io = dev_->unload();
    render(io, now_ns, nullptr, {}, false, live);
    return io;
  }

  kernel_log& log() noexcept { return *log_; }
  /// Re-run DMA calls that disagreed with the module's op=alloc line (0 unless the device and
  /// this glue were given different devices).
  std::size_t inconsistencies() const noexcept { return inconsistencies_; }
  std::uint64_t cma_allocs() const noexcept { return allocs_; }
  std::uint64_t cma_releases() const noexcept { return releases_; }

  /// The task the next operations are traced as (the mount: the calling process).
  void set_task(trace_task t) { task_ = std::move(t); }

  /// Told of every cma_alloc() the device made (its outcome) and every successful
  /// cma_release() (its page count): the sysfs and vmstat counters follow them.
  std::function<void(const alloc_result&)> on_cma_alloc;
  std::function<void(page_count)> on_cma_release;

private:
  static bool may_allocate(std::string_view buf) {
    const auto b = buf.find_first_not_of(" \t");
    if (b == std::string_view::npos) return false;
    buf.remove_prefix(b);
    return (buf[0] >= '0' && buf[0] <= '9') || buf.rfind("alloc", 0) == 0;
  }

  static std::optional<std::string_view> field(std::string_view l, std::string_view key) {
    const std::string k = " " + std::string(key) + "=";
    const auto i = l.find(k);
    if (i == std::string_view::npos) return std::nullopt;
    auto v = l.substr(i + k.size());
    return v.substr(0, v.find(' '));
  }
  static std::uint64_t number(std::string_view v) {
    int base = 10;
    if (v.rfind("0x", 0) == 0) v.remove_prefix(2), base = 16;
    std::uint64_t n = 0;
    for (char c : v) {
      const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0 || d >= base) break;
      n = n * static_cast<std::uint64_t>(base) + static_cast<std::uint64_t>(d);
    }
    return n;
  }

  void render(const cma_test_io& io, std::uint64_t now_ns, const allocator* before, const unmovable_pages& busy,
              bool nowarn, const std::list<cma_test_alloc>& live) {
    log_->begin(now_ns);
    // the one allocation of this write (if any): the DMA call re-run on the copy
    std::optional<dma::dma_alloc_result> res;
    std::optional<allocator> shadow;
    std::size_t i = 0;
    const auto& lines = io.log;
    // find the op=alloc line first: the alloc's lines are those before it
    std::optional<std::size_t> alloc_line;
    for (std::size_t k = 0; k < lines.size(); ++k)
      if (kernel_log::classify(lines[k]) == kernel_log::line_kind::module_alloc) alloc_line = k;
    if (alloc_line && before) {
      const auto& l = lines[*alloc_line];
      const std::uint64_t bytes = number(field(l, "bytes").value_or("0"));
      const bool pages = field(l, "mode").value_or("") == "pages";
      shadow.emplace(*before);
      dma::dma_layer S(L_->rules, &*shadow, dma::log_options{});
      dma::device d = dev_model_;
      const dma::gfp_flags gfp{true, nowarn};
      res = pages ? dma::dma_alloc_pages(S, d, bytes, gfp, busy.oracle())
                  : dma::dma_alloc_coherent(S, d, bytes, gfp, busy.oracle());
      const std::string_view err = field(l, "err").value_or("0");
      const bool ok_line = err == "0";
      if (res->ok() != ok_line || (res->from_cma() && field(l, "pfn") && number(*field(l, "pfn")) != *res->pfn))
        ++inconsistencies_;
      // the lines of the call are printed by the real layer; the shadow only gives the result
    }
    if (alloc_line && res && res->cma && L_->default_area) {
      const allocator& area = *L_->default_area;
      std::vector<std::string> call_lines(lines.begin(), lines.begin() + static_cast<std::ptrdiff_t>(*alloc_line));
      // the coherent-mask release (if any) prints after "returned": split it off
      std::vector<std::string> release_lines;
      while (!call_lines.empty() && kernel_log::classify(call_lines.back()) == kernel_log::line_kind::release) {
        release_lines.insert(release_lines.begin(), call_lines.back());
        call_lines.pop_back();
      }
      log_->interleave_alloc(task_, area, res->cma->result, call_lines);
      ++allocs_;
      if (on_cma_alloc) on_cma_alloc(res->cma->result);
      for (const auto& rl : release_lines) log_->printk(rl);
      if (res->cma->released) {
        log_->event(task_, log_->release_event(area, res->cma->result.pfn, res->cma->count));
        ++releases_;
        if (on_cma_release) on_cma_release(res->cma->count);
      }
      i = *alloc_line;
    }
    // the rest: frees (release lines, then op=free), module lines
    std::optional<std::size_t> pending_free; // index of the op=free line the release lines belong to
    bool released_for_pending = false;
    const auto free_of = [&](std::size_t k) -> const cma_test_alloc* {
      const auto id = number(field(lines[k], "id").value_or("0"));
      for (const auto& a : live)
        if (a.id == id) return &a;
      return nullptr;
    };
    const auto next_free = [&](std::size_t from) -> std::optional<std::size_t> {
      for (std::size_t k = from; k < lines.size(); ++k)
        if (kernel_log::classify(lines[k]) == kernel_log::line_kind::module_free) return k;
      return std::nullopt;
    };
    const auto release_for = [&](std::size_t k) {
      const cma_test_alloc* a = free_of(k);
      if (a && a->from_cma && L_->default_area) {
        log_->event(task_, log_->release_event(*L_->default_area, a->pfn, a->pages));
        ++releases_;
        if (on_cma_release) on_cma_release(a->pages);
      }
    };
    for (; i < lines.size(); ++i) {
      const auto kind = kernel_log::classify(lines[i]);
      if (kind == kernel_log::line_kind::release) {
        log_->printk(lines[i]);
        const auto f = next_free(i + 1);
        if (f && (!pending_free || *pending_free != *f)) {
          pending_free = f;
          released_for_pending = false;
        }
        if (f && !released_for_pending) {
          release_for(*f);
          released_for_pending = true;
        }
      } else if (kind == kernel_log::line_kind::module_free) {
        if (!pending_free || *pending_free != i || !released_for_pending) release_for(i);
        pending_free.reset();
        released_for_pending = false;
        log_->printk(lines[i]);
      } else {
        log_->printk(lines[i]);
      }
    }
  }

  dma::dma_layer* L_;
  cma_test_device* dev_;
  kernel_log* log_;
  trace_task task_;
  dma::device dev_model_;
  std::size_t inconsistencies_ = 0;
  std::uint64_t allocs_ = 0, releases_ = 0;
};

} // namespace cma::device
