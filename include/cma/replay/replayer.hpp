// cma/replay/replayer.hpp — where events meet the model.
//
// replay() takes what the formats read from one or more inputs, builds the area
// the boot lines describe (or the caller's --area), and re-runs every CMA
// operation the inputs report through cma::allocator, comparing each result with
// what the kernel printed:
//   * ftrace events, when present, are the operation stream (they carry PFNs);
//     mm/cma.c's pr_debug lines then only cross-check them (same count/align in
//     the same order), so an operation reported twice is applied once;
//   * without ftrace, the pr_debug stream is replayed: "cma_alloc(… count N, align A)"
//     … "returned %p" pairs, "memory range … is busy" retries, "cma_release(page %p…)"
//     releases paired with their allocation through the hashed %p token;
//   * observed busy retries become the busy oracle: the model must try exactly
//     the windows the kernel tried;
//   * after a divergence the model adopts the kernel's result and goes on, so
//     every later operation is still checked (and every divergence reported);
//   * a log that starts mid-stream (wrapped ring buffer, no boot lines) marks what
//     it had to assume as *inferred* instead of diverged.
// State checks ride along: the recorder's bitmap dumps, cma_debug_show_areas()
// lines, /proc/meminfo CmaTotal and the Memory: line's cma-reserved.
//
// cma::replayer takes the events one at a time, straight from the parser
// (formats::log_reader): trace operations are replayed as they arrive once the area and
// kernel are known, else kept in compact form until the end; replay() is its batch form
// over read_log's results.  Same report either way.
//
// Pure: no I/O.  The caller (sim/cmd_replay.cpp) reads files and prints.
#pragma once

#include "../allocator.hpp"
#include "../boot/boot.hpp"
#include "../formats/event.hpp"
#include "../formats/log_reader.hpp"

#include <range/v3/view/filter.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace cma {

struct area_spec {
  std::string name = "reserved";
  std::uint64_t base = 0;   ///< bytes
  std::uint64_t size = 0;   ///< bytes
  unsigned order_per_bit = 0;
};

struct replay_options {
  std::optional<kernel_version> kernel; ///< overrides the banner
  std::optional<area_spec> area;        ///< overrides the boot lines
  bool mid_stream = false;              ///< treat the input as starting mid-stream
  bool keep_matched = true;             ///< keep every op_record (false: only the ones not matched, and failures)
  /// Replay trace operations as they arrive once the area and the kernel are known (from
  /// the options or from boot lines read before the trace), keeping nothing per
  /// operation; otherwise — or when this is false — they are kept and replayed by finish().
  bool stream = true;
};

enum class op_kind { alloc, release };
enum class verdict { matched, diverged, inferred, unchecked };

inline const char* to_string(verdict v) {
  switch (v) {
  case verdict::matched: return "matched";
  case verdict::diverged: return "diverged";
  case verdict::inferred: return "inferred";
  case verdict::unchecked: return "unchecked";
  }
  return "?";
}

struct op_record {
  op_kind kind = op_kind::alloc;
  verdict result = verdict::matched;
  ev::source where;                      ///< the line that completed the operation
  std::optional<double> start_time;      ///< when it began (cma_alloc_start / the call line)
  std::optional<ev::source> also_reported; ///< the pr_debug line that reported it too
  std::string area;
  page_count count = 0;
  unsigned align = 0;
  // observed (what the kernel printed) vs predicted (what the model returned)
  std::optional<pfn_t> observed_pfn;     ///< success pfn, or ≤6.14 finish pfn on failure
  bool observed_ok = false;
  std::optional<int> observed_err;
  std::vector<pfn_t> observed_busy;
  pfn_t predicted_pfn = no_pfn;
  bool predicted_ok = false;
  int predicted_err = 0;
  std::vector<pfn_t> predicted_busy;
  std::string note;                      ///< why it diverged / what was inferred
  // for failed allocations (observed_ok false): the state the request met; 0 otherwise
  page_count free_before = 0;
  page_count maxchunk_before = 0;
  alloc_exit exit = alloc_exit::searched;
  std::string failure_reason;            ///< plain words: why the allocation failed
};

struct state_check {
  std::string what;  ///< "bitmap", "show_areas", "CmaTotal", "cma-reserved", "cross-check"
  bool ok = true;
  ev::source where;
  std::string detail;
};

struct replay_report {
  static constexpr int schema_version = 1;
  std::string kernel;             ///< series the model ran ("6.1")
  std::string kernel_release;     ///< as the banner printed it, if any
  bool kernel_assumed = false;
  bool area_known = false;
  std::string area_source;        ///< "boot log", "--area", "none"
  std::string area_name;
  pfn_t base_pfn = 0;
  page_count count = 0;
  unsigned order_per_bit = 0;
  bool mid_stream = false;
  std::vector<op_record> ops;
  std::vector<state_check> checks;
  std::vector<formats::unrecognised_line> unrecognised;
  std::vector<std::string> notes;
  // final occupancy
  page_count used = 0, free = 0, available_count = 0, maxchunk = 0;
  std::vector<free_run> free_runs;
  std::vector<std::string> show_areas_text;
  std::uint64_t lines = 0, cma_lines = 0;

  std::array<std::size_t, 4> verdicts{}; ///< every operation's verdict, counted (ops may keep fewer)
  std::size_t count_of(verdict v) const { return verdicts[static_cast<std::size_t>(v)]; }
  std::size_t op_count() const { return verdicts[0] + verdicts[1] + verdicts[2] + verdicts[3]; }
  std::size_t failed_checks() const {
    return static_cast<std::size_t>(std::count_if(checks.begin(), checks.end(), [](const state_check& c) { return !c.ok; }));
  }
  std::optional<std::size_t> first_divergence() const {
    for (std::size_t i = 0; i < ops.size(); ++i)
      if (ops[i].result == verdict::diverged) return i;
    return std::nullopt;
  }
  /// Lazy view of the allocations that failed in the kernel.
  auto failed_allocations() const {
    return ops | ranges::views::filter([](const op_record& o) { return o.kind == op_kind::alloc && !o.observed_ok; });
  }
  bool all_matched() const { return count_of(verdict::diverged) == 0 && failed_checks() == 0; }
  /// A streamed replay met a line it could only have judged against an earlier state (a
  /// later input printed it before operations already replayed, or the log turned out
  /// not to start mid-stream after a verdict assumed it did): this report is incomplete,
  /// and a replay with replay_options::stream = false gives the full one.  replay() and
  /// `cmasim replay` do that themselves.
  bool needs_batch_replay = false;
};

namespace detail {

struct pending_alloc {
  ev::source where;
  std::optional<double> start_time;
  std::string_view name;       ///< into the replayer's interned names or events: both outlive the replay
  page_count count = 0;
  unsigned align = 0;
  std::vector<pfn_t> busy;     ///< observed busy pfns (trace, or 6.6+ debug lines)
  std::size_t busy_lines = 0;  ///< busy debug lines without a pfn
  std::optional<int> failed_ret;
  std::optional<ev::source> failed_where;
};

/// One ftrace cma event (cma_alloc_start / _finish / _busy_retry / cma_release, and the
/// 4.x cma_alloc), kept as the trace replay needs it.  A long trace is nearly all such
/// lines: 48 bytes each instead of a 168-byte ev::located (area names interned; of the
/// hashed page pointer only "was it NULL" matters to the replay).
struct trace_op {
  enum class kind : std::uint8_t { start, finish, busy_retry, release };
  pfn_t pfn = 0;               ///< for a start event: total_count, when has_total
  page_count count = 0;
  std::uint64_t line = 0;
  double time = 0;             ///< seconds, when has_time
  unsigned file = 0;
  int errorno = 0;             ///< when has_errorno (6.3+ finish)
  std::uint32_t name = 0;      ///< 0: no name (or empty); else 1 + index into the interned names
  kind what = kind::start;
  std::uint8_t align = 0;      ///< the parser bounds it to 0..64
  bool has_time : 1 = false;
  bool has_errorno : 1 = false;
  bool has_total : 1 = false;
  bool legacy : 1 = false;     ///< the 4.x `cma_alloc:` event
  bool page_null : 1 = false;  ///< page= was 0 (or unreadable): how ≤6.2 says the allocation failed
  ev::source where() const { return {file, line, has_time ? std::optional<double>(time) : std::nullopt}; }
};

} // namespace detail

/// The replay engine, fed one event at a time.  It is a formats::log_sink, so
///   cma::replayer r(opt);
///   for (unsigned i = 0; i < texts.size(); ++i) r.end_input(formats::read_log(texts[i], i, r));
///   auto report = std::move(r).finish();
/// replays without ever holding the inputs' events.  It keeps the few events that are
/// not trace operations (boot lines, pr_debug lines, state dumps).  The trace operations:
///   * streamed (replay_options::stream, the default): when the first one arrives and
///     the area and kernel are already known — --area and --kernel, or a banner and a
///     "cma: Reserved" line read before it — each is replayed as it arrives and nothing
///     is kept of it, so a multi-GiB trace replays in constant memory.  What arrives
///     later is merged as the batch replay would merge it (state lines by timestamp,
///     pr_debug lines paired at the end); a line that needed a state already passed
///     sets replay_report::needs_batch_replay;
///   * else kept, in compact form (detail::trace_op), and replayed by finish(): the
///     area, the kernel version and whether the log starts mid-stream may come from a
///     later input (a trace folder's dmesg.txt follows its trace.txt).
/// Either way the report is the same.  replay() below is the batch form.
class replayer {
public:
  explicit replayer(replay_options opt = {}) : opt_(std::move(opt)) {}

  void on_event(ev::event&& e, const ev::source& where, ev::origin from) {
    if (from == ev::origin::ftrace && add_trace_op(e, where)) return;
    events_.push_back({std::move(e), where, from});
    if (streaming_) arrived_while_streaming(events_.back());
  }
  void on_event(const ev::located& e) { // the batch form's events (replay() below)
    if (e.from == ev::origin::ftrace && add_trace_op(e.what, e.where)) return;
    events_.push_back(e);
    if (streaming_) arrived_while_streaming(events_.back());
  }
  void on_unrecognised(formats::unrecognised_line u) { rep_.unrecognised.push_back(std::move(u)); }
  /// Are trace operations replayed as they arrive (nothing kept of them)?
  bool streaming() const noexcept { return streaming_; }
  /// Call after each input, with what read_log returned for it.
  void end_input(const formats::read_summary& s) {
    rep_.lines += s.lines;
    rep_.cma_lines += s.cma_lines;
    overrun_ = overrun_ || s.trace_overrun;
  }

  /// Replays everything fed so far and returns the report.
  replay_report finish() && {
    if (streaming_) {
      finish_streaming();
      return std::move(rep_);
    }
    scan_boot();
    if (!area_) {
      rep_.area_source = "none";
      if (has_ops()) rep_.notes.push_back("no CMA area: the input has operations but no 'cma: Reserved' line; give --area");
      rep_.kernel = prof_.series;
      return std::move(rep_);
    }
    if (have_trace_) replay_trace();
    else replay_kmsg();
    finish_report();
    return std::move(rep_);
  }

private:
  using pending_alloc = detail::pending_alloc;
  using trace_op = detail::trace_op;

  // ------------------------------------------------------------------ intake
  // Turns an ftrace operation event into a trace_op; false for anything else (markers).
  bool add_trace_op(const ev::event& what, const ev::source& where) {
    trace_op t;
    t.line = where.line;
    t.file = where.file;
    t.has_time = where.time.has_value();
    t.time = where.time.value_or(0);
    if (auto s = std::get_if<ev::alloc_start>(&what)) {
      t.what = trace_op::kind::start;
      t.name = intern(s->name);
      t.count = s->count;
      t.align = static_cast<std::uint8_t>(s->align);
      t.has_total = s->total.has_value();
      t.pfn = s->total.value_or(0);
    } else if (auto f = std::get_if<ev::alloc_finish>(&what)) {
      t.what = trace_op::kind::finish;
      t.name = f->name ? intern(*f->name) : 0;
      t.pfn = f->pfn, t.page_null = f->page == 0, t.count = f->count;
      t.align = static_cast<std::uint8_t>(f->align);
      t.has_errorno = f->errorno.has_value();
      t.errorno = f->errorno.value_or(0);
      t.legacy = f->legacy;
    } else if (auto b = std::get_if<ev::busy_retry>(&what)) {
      t.what = trace_op::kind::busy_retry;
      t.name = intern(b->name);
      t.pfn = b->pfn, t.count = b->count;
      t.align = static_cast<std::uint8_t>(b->align);
    } else if (auto r = std::get_if<ev::release>(&what)) {
      t.what = trace_op::kind::release;
      t.name = r->name ? intern(*r->name) : 0;
      t.pfn = r->pfn, t.count = r->count;
    } else {
      return false;
    }
    have_trace_ = have_trace_ || t.what != trace_op::kind::busy_retry;
    if (!stream_tried_ && have_trace_ && opt_.stream) start_streaming();
    if (streaming_) step(t);
    else trace_ops_.push_back(t);
    return true;
  }

  // A trace names one or two areas: the last name looked up is nearly always the next.
  std::uint32_t intern(const std::string& name) {
    if (name.empty()) return 0;
    if (last_name_ != 0 && formats::detail::same(names_[last_name_ - 1], name)) return last_name_;
    const auto i = static_cast<std::size_t>(std::find(names_.begin(), names_.end(), name) - names_.begin());
    if (i == names_.size()) names_.push_back(name);
    last_name_ = static_cast<std::uint32_t>(i + 1);
    return last_name_;
  }
  std::string_view name_of(const trace_op& t) const {
    return t.name == 0 ? std::string_view() : std::string_view(names_[t.name - 1]);
  }

  // ------------------------------------------------------------------ setup
  bool has_ops() const {
    return std::any_of(events_.begin(), events_.end(), [](const ev::located& e) {
      return std::holds_alternative<ev::alloc_finish>(e.what) || std::holds_alternative<ev::alloc_call>(e.what) ||
             std::holds_alternative<ev::release>(e.what);
    }) || std::any_of(trace_ops_.begin(), trace_ops_.end(), [](const trace_op& t) {
      return t.what == trace_op::kind::finish || t.what == trace_op::kind::release;
    });
  }

  // What the boot lines say (the first of each kind counts).
  struct boot_facts {
    std::optional<ev::banner> banner;
    std::optional<ev::reserved> reserved;
    std::optional<kernel_version> from_image; // "BOOT_IMAGE=/boot/vmlinuz-4.15.0…" when there is no banner
    std::optional<std::string> cmdline;
    std::optional<std::uint64_t> ram_kb;
    bool boot_seen = false, failed_reserve = false;
  };

  void scan_boot() {
    const auto facts = gather_boot();
    settle_kernel(facts);
    place_area(facts);
  }

  boot_facts gather_boot() const {
    boot_facts f;
    auto& [banner, reserved, from_image, cmdline, ram_kb, boot_seen, failed_reserve] = f;
    for (const auto& item : events_) {
      const auto* e = &item;
      if (auto c = std::get_if<ev::command_line>(&e->what); c && !cmdline) cmdline = c->text;
      if (auto m = std::get_if<ev::memory_line>(&e->what); m && m->total_kb && !ram_kb) ram_kb = m->total_kb;
      failed_reserve = failed_reserve || std::holds_alternative<ev::reserve_failed>(e->what);
      if (auto c = std::get_if<ev::command_line>(&e->what); c && !from_image) {
        if (auto i = c->text.find("vmlinuz-"); i != std::string::npos) from_image = kernel_version::parse(c->text.substr(i + 8));
        boot_seen = true;
      }
      if (auto b = std::get_if<ev::banner>(&e->what); b && !banner) banner = *b;
      if (auto r = std::get_if<ev::reserved>(&e->what); r && !reserved) reserved = *r;
      if (std::holds_alternative<ev::reserved>(e->what) || std::holds_alternative<ev::reserve_failed>(e->what) ||
          std::holds_alternative<ev::banner>(e->what))
        boot_seen = true;
    }
    return f;
  }

  // The kernel series to model and whether the log starts mid-stream, with the notes
  // that say where each came from.
  void settle_kernel(const boot_facts& f) {
    const auto& banner = f.banner;
    const auto& from_image = f.from_image;
    const bool boot_seen = f.boot_seen;
    if (opt_.kernel) {
      prof_ = profile::for_version(*opt_.kernel);
      if (banner && !(banner->version == *opt_.kernel))
        rep_.notes.push_back("--kernel " + opt_.kernel->str() + " overrides the banner's " + banner->release);
    } else if (banner) {
      prof_ = profile::for_version(banner->version);
    } else if (from_image) {
      prof_ = profile::for_version(*from_image);
      rep_.notes.push_back("kernel version " + from_image->str() + " taken from the command line's BOOT_IMAGE (no banner)");
    } else {
      prof_ = profile::for_version(kernel_version{6, 1, 0});
      rep_.kernel_assumed = true;
      rep_.notes.push_back("no 'Linux version' banner and no --kernel: assumed 6.1");
    }
    if (banner) rep_.kernel_release = banner->release;
    rep_.kernel = std::string(prof_.series);
    rep_.mid_stream = opt_.mid_stream || overrun_ || !boot_seen;
    if (overrun_) rep_.notes.push_back("the trace ring buffer overran: the trace starts mid-stream");
    else if (!boot_seen && !opt_.mid_stream) rep_.notes.push_back("no boot lines: the log is treated as starting mid-stream");
  }

  void place_area(const boot_facts& f) {
    const auto& reserved = f.reserved;
    if (opt_.area) {
      const auto& a = *opt_.area;
      area_.emplace(a.name, memrange_spec{a.base >> page_shift, a.size >> page_shift}, a.order_per_bit, prof_);
      rep_.area_source = "--area";
    } else if (reserved) {
      // dma_contiguous_reserve names the global area "reserved"; order_per_bit is 0 (KERNEL-FACTS §5.2).
      area_.emplace("reserved", memrange_spec{reserved->base >> page_shift, reserved->mib << (20 - page_shift)}, 0u, prof_);
      rep_.area_source = "boot log";
    } else if (f.cmdline && f.ram_kb && !f.failed_reserve) {
      place_from_boot_model(*f.cmdline, *f.ram_kb, f.banner);
    }
    if (area_) {
      rep_.area_known = true;
      rep_.area_name = area_->name();
      rep_.base_pfn = area_->base_pfn();
      rep_.count = area_->count();
      rep_.order_per_bit = area_->order_per_bit();
    }
  }

  // No "cma: Reserved" line, but the command line and the RAM size: where the kernel
  // would have put the area (boot.hpp), and the DMA pools it takes at boot unless the
  // log shows them being allocated.
  void place_from_boot_model(const std::string& cmdline, std::uint64_t ram_kb, const std::optional<ev::banner>& banner) {
    boot_config c;
    c.kernel = prof_.version;
    if (banner && (banner->release.find("amd64") != std::string::npos || banner->release.find("x86") != std::string::npos))
      c.a = arch::x86_64;
    c.ram_size = ram_kb * 1024;
    c.cmdline = cmdline;
    const auto b = simulate_boot(c);
    for (const auto& ar : b.areas) {
      if (!ar.is_default || !ar.decl.ok()) continue;
      area_.emplace("reserved", memrange_spec{ar.decl.base_pfn(), ar.decl.count()}, 0u, prof_);
      rep_.area_source = "boot model (command line + RAM size)";
      rep_.notes.push_back("no 'cma: Reserved' line: area placed by the boot model from the command line and " +
                           std::to_string(ram_kb / 1024) + " MiB of RAM");
      for (const auto& a : b.assumed) rep_.notes.push_back("boot model assumed: " + a);
      const auto logged = [&](page_count n) {
        return std::any_of(events_.begin(), events_.end(), [&](const ev::located& e) {
                 auto s = std::get_if<ev::alloc_start>(&e.what);
                 auto c2 = std::get_if<ev::alloc_call>(&e.what);
                 return (s && s->count == n) || (c2 && c2->count == n);
               }) || std::any_of(trace_ops_.begin(), trace_ops_.end(), [&](const trace_op& t) {
                 return t.what == trace_op::kind::start && t.count == n;
               });
      };
      const bool pools_logged = !ar.pools.empty() && logged(ar.pools[0].request.count);
      if (!pools_logged)
        for (const auto& p : ar.pools)
          if (p.pfn != no_pfn) {
            area_->mark_allocated(p.pfn, p.request.count);
            rep_.notes.push_back("boot-time " + p.request.gfp + " pool assumed at pfn " + std::to_string(p.pfn) + " (" +
                                 std::to_string(p.request.count) + " pages)");
          }
      return;
    }
  }

  bool ours(std::string_view name) const { return name.empty() || formats::detail::same(name, area_->name()); }

  // ------------------------------------------------------- ftrace-driven replay
  // Batch: every trace operation was kept, and is replayed now.
  void replay_trace() {
    begin_trace_replay();
    for (const auto& t : trace_ops_) step(t);
    end_trace_replay();
  }

  // Sorts the events read so far for the trace replay.  Other sources' lines are checked
  // against the model state at their time (ftrace and printk share local_clock), or at
  // the end if they carry none; pr_debug operation lines cross-check the trace.
  void begin_trace_replay() {
    for (const auto& item : events_) {
      const auto* e = &item;
      if (e->from == ev::origin::ftrace) continue; // markers: the operations are in trace_ops_
      if (!add_cross_check_line(e)) (e->where.time ? timed_ : untimed_).push_back(e);
    }
    // The cross-check pairs lines with operations by index: keep them all then.
    retain_all_ = opt_.keep_matched || !kmsg_calls_.empty() || !kmsg_failures_.empty() || !kmsg_releases_.empty();
    std::stable_sort(timed_.begin(), timed_.end(),
                     [](const ev::located* a, const ev::located* b) { return *a->where.time < *b->where.time; });
  }

  bool add_cross_check_line(const ev::located* e) {
    if (std::holds_alternative<ev::alloc_call>(e->what)) kmsg_calls_.push_back(e);
    else if (std::holds_alternative<ev::alloc_failed>(e->what)) kmsg_failures_.push_back(e);
    else if (std::holds_alternative<ev::release_debug>(e->what)) kmsg_releases_.push_back(e);
    else return false;
    return true;
  }

  void end_trace_replay() {
    if (has_pending_) unfinished(pending_);
    has_pending_ = false;
    cross_check(kmsg_calls_, kmsg_failures_, kmsg_releases_, trace_alloc_ops_, trace_release_ops_);
  }

  // One trace operation, in trace order.
  void step(const trace_op& t) {
    switch (t.what) {
    case trace_op::kind::start:
      if (has_pending_) unfinished(pending_);
      start_pending(t);
      if (t.has_total && t.pfn != area_->count() && ours(name_of(t)))
        check("total_count", false, t.where(), "trace says total_count=" + std::to_string(t.pfn) +
                                                 ", the area has " + std::to_string(area_->count()));
      break;
    case trace_op::kind::busy_retry:
      if (has_pending_) pending_.busy.push_back(t.pfn);
      break;
    case trace_op::kind::finish:
      if (!has_pending_ || t.legacy) start_pending(t);
      pending_.where = t.where();
      if (retain_all_) trace_alloc_ops_.push_back(rep_.ops.size()); // only the cross-check reads them
      finish_alloc_trace(pending_, t);
      has_pending_ = false;
      break;
    case trace_op::kind::release:
      if (retain_all_) trace_release_ops_.push_back(rep_.ops.size());
      release_trace(t);
      break;
    }
  }

  // The allocation a start (or a 4.x cma_alloc) event opens.  Assigned field by field
  // into the one pending_alloc kept: building a fresh one per operation zeroed 150 bytes
  // with `rep stos`, a tenth of the replay's own time.
  void start_pending(const trace_op& t) {
    auto& p = pending_;
    p.where = t.where();
    p.start_time = p.where.time;
    p.name = name_of(t);
    p.count = t.count;
    p.align = t.align;
    p.busy.clear();
    p.busy_lines = 0;
    p.failed_ret.reset();
    p.failed_where.reset();
    has_pending_ = true;
  }

  // ------------------------------------------------------- streamed trace replay
  // At the first trace operation: when the area and the kernel are settled already,
  // replay from here on as the operations arrive (and those kept so far: busy retries).
  void start_streaming() {
    stream_tried_ = true;
    const auto facts = gather_boot();
    if (!(opt_.kernel || facts.banner) || !(opt_.area || facts.reserved)) return; // they may come later
    settle_kernel(facts);
    rep_.notes.clear(); // finish_streaming() writes them, from every input
    place_area(facts);
    streamed_mid_stream_ = rep_.mid_stream;
    begin_trace_replay();
    streaming_ = true;
    for (const auto& t : trace_ops_) step(t);
    trace_ops_.clear();
  }

  // A non-trace event read after streaming began: merged where the batch replay puts it,
  // or — if that place is already passed — the report is marked incomplete.
  void arrived_while_streaming(const ev::located& e) {
    if (e.from == ev::origin::ftrace) return; // markers
    if (add_cross_check_line(&e)) {
      if (!retain_all_) passed_by("a pr_debug operation line", e.where); // the records it pairs with are gone
      return;
    }
    if (!e.where.time) return untimed_.push_back(&e);
    if (*e.where.time < frontier_ && is_state_line(e)) return passed_by("a state line", e.where);
    const auto by_time = [](const ev::located* a, const ev::located* b) { return *a->where.time < *b->where.time; };
    timed_.insert(std::upper_bound(timed_.begin() + static_cast<std::ptrdiff_t>(timed_pos_), timed_.end(), &e, by_time), &e);
  }

  // The events side_event() checks against the model's state (keep the two in step).
  static bool is_state_line(const ev::located& e) {
    const auto* m = std::get_if<ev::meminfo>(&e.what);
    return (m && m->total) || std::holds_alternative<ev::memory_line>(e.what) ||
           std::holds_alternative<ev::recorder_bitmap>(e.what) || std::holds_alternative<ev::show_areas>(e.what);
  }

  void passed_by(const char* what, const ev::source& where) {
    incomplete(std::string(what) + " (input " + std::to_string(where.file) + ", line " + std::to_string(where.line) +
               ") came after the operations it follows had been replayed");
  }
  void incomplete(std::string why) {
    if (!rep_.needs_batch_replay) later_notes_.push_back(std::move(why) + ": this streamed report is incomplete (replay with stream off)");
    rep_.needs_batch_replay = true;
  }

  void finish_streaming() {
    settle_kernel(gather_boot()); // the notes, now that every input is in; the kernel is the one streamed
    if (mid_stream_read_ && rep_.mid_stream != streamed_mid_stream_)
      incomplete(std::string("verdicts were given as if the log ") + (streamed_mid_stream_ ? "started" : "did not start") +
                 " mid-stream, and a later input says otherwise");
    for (auto& n : later_notes_) rep_.notes.push_back(std::move(n));
    end_trace_replay();
    finish_report();
  }

  // a start event with no finish: ≤6.14 too-large requests (or a trace cut short)
  void unfinished(const pending_alloc& p) {
    op_record o = base_op(op_kind::alloc, p.where, p.name, p.count, p.align);
    note_state_before(o); // observed_ok is false: no finish event
    if (!ours(p.name)) return unchecked(std::move(o), "another area");
    const auto r = area_->alloc(p.count, p.align, observed_oracle(p));
    fill_predicted(o, r);
    o.observed_ok = false;
    if (!r.traced_finish) {
      o.result = verdict::matched;
      o.note = "no finish event, as the model predicts (" + exit_words(r.exit) + ")";
    } else {
      o.result = verdict::diverged;
      o.note = "the kernel traced no cma_alloc_finish; the model would have";
      undo(r);
    }
    explain_failure(o, r);
    record(std::move(o));
  }

  // A long trace is millions of successes the model reproduces; when nobody keeps their
  // records (keep_matched off, no cross-check) they are counted without building one.
  // Anything else — or a success that does not match — takes judge_alloc_trace.
  void finish_alloc_trace(const pending_alloc& p, const trace_op& f) {
    const bool observed_ok = f.has_errorno ? f.errorno == 0 : !f.page_null;
    if (retain_all_ || !observed_ok || !ours(p.name)) return judge_alloc_trace(p, f, std::nullopt);
    apply_timed_before(p.where); // side events printed before it see the state before it
    auto r = area_->alloc(p.count, p.align, observed_oracle(p));
    if (!plain_match(p, f, r)) return judge_alloc_trace(p, f, std::move(r));
    ++rep_.verdicts[static_cast<std::size_t>(verdict::matched)];
  }

  // judge_alloc_trace's verdict for a success, when it is "matched": the same pfn, the
  // same busy retries, the same request.
  static bool plain_match(const pending_alloc& p, const trace_op& f, const alloc_result& r) {
    if (!r.ok() || r.finish_pfn != f.pfn || r.count != f.count || r.align != f.align) return false;
    std::size_t busy = 0;
    for (const auto& a : r.attempts)
      if (a.ret == ebusy && (busy >= p.busy.size() || p.busy[busy++] != a.pfn)) return false;
    return busy == p.busy.size();
  }

  // `done`: the model's answer when finish_alloc_trace already asked for it.
  void judge_alloc_trace(const pending_alloc& p, const trace_op& f, std::optional<alloc_result> done) {
    op_record o = base_op(op_kind::alloc, p.where, p.name, p.count, p.align);
    o.start_time = p.start_time;
    o.observed_busy = p.busy;
    o.observed_ok = f.has_errorno ? f.errorno == 0 : !f.page_null;
    o.observed_pfn = f.pfn;
    if (f.has_errorno && f.errorno != 0) o.observed_err = f.errorno;
    note_state_before(o);
    if (!ours(p.name)) return unchecked(std::move(o), "another area");
    const auto r = done ? std::move(*done) : area_->alloc(p.count, p.align, observed_oracle(p));
    fill_predicted(o, r);
    std::string why;
    if (o.observed_ok != o.predicted_ok) why = o.observed_ok ? "the kernel succeeded, the model failed" : "the kernel failed, the model succeeded";
    else if (r.finish_pfn != f.pfn) why = "pfn differs";
    else if (o.observed_err && *o.observed_err != r.err) why = "error code differs";
    else if (o.predicted_busy != o.observed_busy) why = "busy retries differ";
    else if (r.count != f.count || r.align != f.align) why = "count/align differ between start and finish";
    verdict_for(o, why);
    if (o.result != verdict::matched) resync_alloc(r, o.observed_ok ? std::optional<pfn_t>(f.pfn) : std::nullopt, p.count);
    explain_failure(o, r);
    record(std::move(o));
  }

  // As finish_alloc_trace: a release of pages the model has allocated, when nobody keeps
  // its record, is counted without building one.
  void release_trace(const trace_op& r) {
    if (!retain_all_ && ours(name_of(r))) {
      apply_timed_before(r.where());
      const bool was_used = all_used(r.pfn, r.count);
      const auto res = area_->release(r.pfn, r.count);
      if (!res.ok || !was_used) return judge_release_trace(r, std::pair{was_used, res});
      ++rep_.verdicts[static_cast<std::size_t>(verdict::matched)];
      return;
    }
    judge_release_trace(r, std::nullopt);
  }

  // `done`: was_used and the model's answer, when release_trace already released.
  void judge_release_trace(const trace_op& r, std::optional<std::pair<bool, release_result>> done) {
    op_record o = base_op(op_kind::release, r.where(), name_of(r), r.count, 0);
    o.observed_pfn = r.pfn;
    o.observed_ok = true; // cma_release is traced only after it validated the pages
    if (!ours(name_of(r))) return unchecked(std::move(o), "another area");
    apply_release(o, r.pfn, r.count, done);
  }

  void apply_release(op_record& o, pfn_t pfn, page_count count,
                     std::optional<std::pair<bool, release_result>> done = std::nullopt) {
    const bool was_used = done ? done->first : all_used(pfn, count);
    const auto res = done ? done->second : area_->release(pfn, count);
    o.predicted_ok = res.ok;
    o.predicted_pfn = pfn;
    std::string why;
    if (!res.ok) why = "the model rejects this release (outside the area)";
    if (why.empty() && !was_used) {
      mid_stream_read_ = true;
      if (rep_.mid_stream) {
        o.result = verdict::inferred;
        o.note = "release of pages the log never showed allocated";
      } else {
        why = "release of pages the model has free (never allocated, or released twice)";
      }
    }
    if (o.result != verdict::inferred) verdict_for(o, why);
    record(std::move(o));
  }

  // --------------------------------------------------------- kmsg-driven replay
  void replay_kmsg() {
    retain_all_ = opt_.keep_matched;
    std::optional<pending_alloc> pending;
    std::map<std::string, std::pair<pfn_t, page_count>> by_token; // live allocations by hashed page
    for (const auto& item : events_) {
      const auto* e = &item;
      if (auto c = std::get_if<ev::alloc_call>(&e->what)) {
        if (pending) rep_.notes.push_back("line " + std::to_string(pending->where.line) + ": cma_alloc call without 'returned' line");
        const std::string_view name = c->name ? std::string_view(*c->name) : std::string_view(area_->name());
        pending = pending_alloc{e->where, e->where.time, name, c->count, c->align, {}, 0, {}, {}};
      } else if (auto b = std::get_if<ev::busy_debug>(&e->what)) {
        if (!pending) continue;
        if (b->pfn) pending->busy.push_back(*b->pfn);
        else ++pending->busy_lines;
      } else if (auto f = std::get_if<ev::alloc_failed>(&e->what)) {
        if (pending) pending->failed_ret = f->ret, pending->failed_where = e->where;
      } else if (auto r = std::get_if<ev::alloc_returned>(&e->what)) {
        if (!pending) {
          rep_.notes.push_back("line " + std::to_string(e->where.line) + ": 'returned' with no cma_alloc call before it (log starts mid-call)");
          continue;
        }
        pending->where = e->where;
        finish_alloc_kmsg(*pending, *r, by_token);
        pending.reset();
      } else if (auto rel = std::get_if<ev::release_debug>(&e->what)) {
        release_kmsg(*rel, e->where, by_token);
      } else {
        side_event(*e);
      }
    }
  }

  void finish_alloc_kmsg(const pending_alloc& p, const ev::alloc_returned& ret,
                         std::map<std::string, std::pair<pfn_t, page_count>>& by_token) {
    op_record o = base_op(op_kind::alloc, p.where, p.name, p.count, p.align);
    o.observed_ok = !ret.null();
    o.observed_busy = p.busy;
    if (p.failed_ret) o.observed_err = *p.failed_ret;
    note_state_before(o);
    if (!ours(p.name)) return unchecked(std::move(o), "another area");
    // Busy lines without a pfn (≤6.5): the kernel retried that many windows.
    busy_oracle oracle = observed_oracle(p);
    if (p.busy.empty() && p.busy_lines > 0) {
      auto left = std::make_shared<std::size_t>(p.busy_lines);
      oracle = [left](pfn_t, page_count) { return *left > 0 ? (--*left, ebusy) : 0; };
    }
    const auto r = area_->alloc(p.count, p.align, oracle);
    fill_predicted(o, r);
    if (!p.busy.empty() || p.busy_lines == 0) {
    } else {
      o.observed_busy.clear();
      o.predicted_busy.clear(); // only the number of retries is known
    }
    std::string why;
    if (o.observed_ok != o.predicted_ok) why = o.observed_ok ? "the kernel succeeded, the model failed" : "the kernel failed, the model succeeded";
    else if (o.observed_err && *o.observed_err != r.err) why = "error code differs";
    else if (r.busy_retries() != p.busy.size() + p.busy_lines) why = "number of busy retries differs";
    else if (!p.busy.empty() && o.predicted_busy != o.observed_busy) why = "busy retries differ";
    verdict_for(o, why);
    if (o.result == verdict::matched) o.note = "no pfn in the log: success/failure and retries compared";
    if (o.observed_ok && r.ok() && ret.page_token != "(____ptrval____)") by_token[ret.page_token] = {r.pfn, p.count};
    if (o.result != verdict::matched && r.ok() && !o.observed_ok) undo(r);
    explain_failure(o, r);
    record(std::move(o));
  }

  void release_kmsg(const ev::release_debug& rel, const ev::source& where,
                    std::map<std::string, std::pair<pfn_t, page_count>>& by_token) {
    op_record o = base_op(op_kind::release, where, area_->name(), rel.count.value_or(0), 0);
    o.observed_ok = true;
    const auto it = by_token.find(rel.page_token);
    if (it == by_token.end()) {
      o.result = verdict::inferred;
      o.note = "release of " + rel.page_token + ", an allocation the log never showed: not applied";
      record(std::move(o));
      return;
    }
    const auto [pfn, count] = it->second;
    by_token.erase(it);
    o.count = rel.count.value_or(count); // 4.15/5.10 print no count: the allocation's
    o.observed_pfn = pfn;
    apply_release(o, pfn, o.count);
  }

  // ------------------------------------------------------------ side events
  void side_event(const ev::located& e) {
    if (auto m = std::get_if<ev::meminfo>(&e.what); m && m->total) {
      const std::uint64_t expect = area_->count() * (page_size / 1024);
      check("CmaTotal", m->kb == expect, e.where,
            "CmaTotal " + std::to_string(m->kb) + " kB, area " + std::to_string(expect) + " kB");
    } else if (auto ml = std::get_if<ev::memory_line>(&e.what)) {
      const std::uint64_t expect = area_->count() * (page_size / 1024);
      check("cma-reserved", ml->cma_reserved_kb == expect, e.where,
            std::to_string(ml->cma_reserved_kb) + "K cma-reserved, area " + std::to_string(expect) + "K");
    } else if (auto b = std::get_if<ev::recorder_bitmap>(&e.what)) {
      compare_snapshot(*b, e.where);
    } else if (auto sa = std::get_if<ev::show_areas>(&e.what)) {
      check_show_areas(*sa, e.where);
    }
  }

  void check_show_areas(const ev::show_areas& sa, const ev::source& where) {
    // cma_debug_show_areas prints the state right after the failed search (no bits held).
    const auto lines = cma_debug_show_areas(*area_);
    std::string runs;
    for (const auto& r : sa.runs) runs += (runs.empty() ? "" : "+") + std::to_string(r.len) + "@" + std::to_string(r.at);
    const std::string seen = "number of available pages: " + runs + "=> " + std::to_string(sa.free) + " free of " +
                             std::to_string(sa.total) + " total pages";
    const std::string model = lines.empty() ? "" : lines.front().substr(5);
    check("show_areas", seen == model, where, seen == model ? "free runs as the model has them" : "kernel: " + seen + " | model: " + model);
  }

  // ------------------------------------------------------------ cross-check
  void cross_check(const std::vector<const ev::located*>& calls, const std::vector<const ev::located*>& failures,
                   const std::vector<const ev::located*>& releases, const std::vector<std::size_t>& alloc_ops,
                   const std::vector<std::size_t>& release_ops) {
    if (calls.empty() && failures.empty() && releases.empty()) return;
    // Pair from the end: a wrapped dmesg loses its oldest lines, not its newest.
    const auto pair_back = [&](const std::vector<const ev::located*>& k, const std::vector<std::size_t>& ops,
                               const char* what, auto&& same) {
      const std::size_t n = std::min(k.size(), ops.size());
      std::size_t bad = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const auto* e = k[k.size() - 1 - i];
        auto& o = rep_.ops[ops[ops.size() - 1 - i]];
        if (same(*e, o)) o.also_reported = e->where;
        else if (bad++ == 0) check(std::string("cross-check ") + what, false, e->where, "pr_debug line disagrees with the trace event at line " + std::to_string(o.where.line));
      }
      if (bad == 0 && n > 0)
        check(std::string("cross-check ") + what, true, k.back()->where,
              std::to_string(n) + " pr_debug lines agree with the trace events");
      if (k.size() != ops.size())
        rep_.notes.push_back(std::string("cross-check ") + what + ": " + std::to_string(k.size()) + " pr_debug lines, " +
                             std::to_string(ops.size()) + " trace events (the shorter log lost its oldest lines)");
    };
    // all area allocations traced, in order (pool allocations included)
    pair_back(calls, alloc_ops, "cma_alloc", [](const ev::located& e, const op_record& o) {
      const auto& c = std::get<ev::alloc_call>(e.what);
      return c.count == o.count && c.align == o.align;
    });
    // Failure lines are a subsequence of the failures: __GFP_NOWARN silences them and
    // 5.14+ rate-limits them.  Each must match a later-or-equal failed operation.
    std::vector<std::size_t> failed_ops;
    for (auto i : alloc_ops)
      if (!rep_.ops[i].observed_ok) failed_ops.push_back(i);
    std::size_t next = 0, matched = 0;
    for (const auto* e : failures) {
      const auto& f = std::get<ev::alloc_failed>(e->what);
      while (next < failed_ops.size()) {
        const auto& o = rep_.ops[failed_ops[next]];
        // 6.12+ prints the failure before tracing the finish: compare with the start.
        const auto began = o.start_time ? o.start_time : o.where.time;
        const bool before = !began || !e->where.time || *began <= *e->where.time + 1e-6;
        if (before && o.count == f.count) break;
        ++next;
      }
      if (next == failed_ops.size()) {
        check("cross-check alloc failed", false, e->where, "no failed allocation of " + std::to_string(f.count) + " pages in the trace matches this line");
        break;
      }
      auto& o = rep_.ops[failed_ops[next++]];
      o.observed_err = f.ret;
      o.also_reported = e->where;
      if (f.ret != o.predicted_err)
        check("cross-check alloc failed", false, e->where, "ret " + std::to_string(f.ret) + " but the model returns " + std::to_string(o.predicted_err));
      else
        ++matched;
    }
    if (!failures.empty() && matched == failures.size())
      check("cross-check alloc failed", true, failures.back()->where,
            std::to_string(matched) + " failure lines match failed allocations (" + std::to_string(failed_ops.size()) + " failed)");
    pair_back(releases, release_ops, "cma_release", [](const ev::located& e, const op_record& o) {
      const auto& r = std::get<ev::release_debug>(e.what);
      return !r.count || *r.count == o.count;
    });
  }

  // ------------------------------------------------------------ helpers
  op_record base_op(op_kind k, const ev::source& where, std::string_view name, page_count count, unsigned align) {
    op_record o;
    o.kind = k;
    o.where = where;
    o.area = name.empty() ? (area_ ? area_->name() : "") : std::string(name);
    o.count = count;
    o.align = align;
    apply_timed_before(where);
    return o;
  }

  // The state a failed allocation met, for its failure_reason.  Only failures need it
  // (maxchunk is a search of the area: not done for the millions that succeed).
  void note_state_before(op_record& o) const {
    if (o.observed_ok) return;
    o.free_before = area_->free_pages();
    o.maxchunk_before = area_->maxchunk();
  }

  void record(op_record o) {
    ++rep_.verdicts[static_cast<std::size_t>(o.result)];
    if (!retain_all_ && o.result == verdict::matched && (o.kind == op_kind::release || o.observed_ok)) return;
    rep_.ops.push_back(std::move(o));
  }

  void unchecked(op_record o, const std::string& why) {
    o.result = verdict::unchecked;
    o.note = why;
    record(std::move(o));
  }

  static busy_oracle observed_oracle(const pending_alloc& p) {
    if (p.busy.empty()) return {};
    auto set = std::make_shared<std::set<pfn_t>>(p.busy.begin(), p.busy.end());
    return [set](pfn_t pfn, page_count) { return set->count(pfn) ? ebusy : 0; };
  }

  void fill_predicted(op_record& o, const alloc_result& r) const {
    o.predicted_ok = r.ok();
    o.predicted_pfn = r.ok() ? r.pfn : r.finish_pfn;
    o.predicted_err = r.err;
    o.exit = r.exit;
    for (const auto& a : r.attempts)
      if (a.ret == ebusy) o.predicted_busy.push_back(a.pfn);
  }

  void verdict_for(op_record& o, const std::string& why) {
    if (why.empty()) return;
    mid_stream_read_ = true;
    o.result = rep_.mid_stream && o.kind == op_kind::alloc && o.observed_ok ? verdict::inferred : verdict::diverged;
    o.note = why + (o.result == verdict::inferred ? " (mid-stream log: the kernel's result adopted)" : "");
  }

  void undo(const alloc_result& r) {
    if (r.ok()) area_->release(r.pfn, r.count);
  }
  // After a divergence the model takes the kernel's result so later ops stay comparable.
  void resync_alloc(const alloc_result& r, std::optional<pfn_t> observed, page_count count) {
    undo(r);
    if (observed && area_->contains(*observed)) area_->mark_allocated(*observed, count);
  }

  bool all_used(pfn_t pfn, page_count count) const { return area_->all_used(pfn, count); }

  static std::string exit_words(alloc_exit e) {
    switch (e) {
    case alloc_exit::searched: return "searched";
    case alloc_exit::null_area: return "no area";
    case alloc_exit::zero_count: return "count 0";
    case alloc_exit::too_large: return "larger than the area";
    }
    return "?";
  }

  void explain_failure(op_record& o, const alloc_result& r) const {
    if (o.observed_ok) return;
    if (r.exit == alloc_exit::too_large)
      o.failure_reason = "larger than the area: " + std::to_string(o.count) + " pages > " + std::to_string(area_->count());
    else if (r.busy_retries() > 0 || r.err == ebusy)
      o.failure_reason = "busy: " + std::to_string(r.busy_retries()) + " window(s) found but their pages could not be migrated";
    else
      o.failure_reason = "no free window of " + std::to_string(o.count) + " pages aligned to " +
                         std::to_string(page_count{1} << std::min(o.align, 63u)) + " pages, although " +
                         std::to_string(o.free_before) + " pages were free (largest free run " +
                         std::to_string(o.maxchunk_before) + " pages)";
  }

  void check(std::string what, bool ok, const ev::source& where, std::string detail) {
    rep_.checks.push_back({std::move(what), ok, where, std::move(detail)});
  }

  // Applies the side events printed before an operation at `next_op` (by timestamp).
  void apply_timed_before(const ev::source& next_op) {
    if (!next_op.time) return;
    frontier_ = std::max(frontier_, *next_op.time);
    while (timed_pos_ < timed_.size() && *timed_[timed_pos_]->where.time < *next_op.time)
      side_event(*timed_[timed_pos_++]);
  }
  // Recorder bitmap dumps list the runs of set bits of range 0.
  void compare_snapshot(const ev::recorder_bitmap& dump, const ev::source& where) {
    std::vector<ev::recorder_bitmap::run> model;
    bitmap_no_t prev_end = 0;
    const auto& rg = area_->ranges().front();
    rg.bitmap.for_each_free_run([&](bitmap_no_t start, bitmap_no_t len) {
      if (start > prev_end) model.push_back({prev_end, start - prev_end});
      prev_end = start + len;
    });
    if (rg.bitmap_maxno() > prev_end) model.push_back({prev_end, rg.bitmap_maxno() - prev_end});
    bool same = model.size() == dump.used.size();
    for (std::size_t i = 0; same && i < model.size(); ++i)
      same = model[i].start == dump.used[i].start && model[i].len == dump.used[i].len;
    check("bitmap", same, where, same ? "used runs as the model has them" : "the module's bitmap dump differs from the model's");
  }

  void finish_report() {
    while (timed_pos_ < timed_.size()) side_event(*timed_[timed_pos_++]); // after the last operation
    if (!opt_.keep_matched) // keep what a reader needs: divergences, inferences, failures
      std::erase_if(rep_.ops, [](const op_record& o) {
        return o.result == verdict::matched && (o.kind == op_kind::release || o.observed_ok);
      });
    for (const auto* e : untimed_) side_event(*e);
    rep_.used = area_->used_bits_pages();
    rep_.free = area_->free_pages();
    rep_.available_count = area_->available_count();
    rep_.maxchunk = area_->maxchunk();
    rep_.free_runs = area_->free_runs();
    rep_.show_areas_text = cma_debug_show_areas(*area_);
  }

  replay_options opt_;
  std::deque<ev::located> events_;         ///< everything but the ftrace operations (a deque: timed_ points into it)
  std::deque<trace_op> trace_ops_;         ///< the ftrace operations, in input order (a deque: grows without copying)
  static_assert(sizeof(trace_op) <= 48);
  std::deque<std::string> names_;          ///< area names trace_ops_ and pending_ refer to (a deque: a view of one survives the next)
  std::uint32_t last_name_ = 0;
  bool have_trace_ = false;                ///< a start, finish or release event was traced
  bool overrun_ = false;
  profile prof_ = profile::for_version(kernel_version{6, 1, 0});
  std::optional<allocator> area_;
  replay_report rep_;
  std::vector<const ev::located*> timed_, untimed_;
  bool retain_all_ = true;
  std::size_t timed_pos_ = 0;
  // the trace replay's state between operations (streamed, they arrive one by one)
  pending_alloc pending_;              ///< when has_pending_: the allocation a start event opened
  bool has_pending_ = false;
  std::vector<const ev::located*> kmsg_calls_, kmsg_failures_, kmsg_releases_;
  std::vector<std::size_t> trace_alloc_ops_, trace_release_ops_;
  bool streaming_ = false;
  bool stream_tried_ = false;
  bool streamed_mid_stream_ = false;   ///< what the streamed verdicts took it to be
  bool mid_stream_read_ = false;       ///< a verdict depended on it
  double frontier_ = -1e300;           ///< latest time an operation was replayed at
  std::vector<std::string> later_notes_;
};

/// Replays the inputs (each read by formats::read_log) through the model: the batch
/// form of replayer, same report.
inline replay_report replay(const std::vector<formats::read_result>& inputs, const replay_options& opt = {}) {
  replayer r(opt);
  for (const auto& in : inputs) {
    for (const auto& e : in.events) r.on_event(e);
    for (const auto& u : in.unrecognised) r.on_unrecognised(u);
    r.end_input({in.lines, in.cma_lines, in.trace_overrun});
  }
  auto report = std::move(r).finish();
  if (!report.needs_batch_replay) return report;
  auto batch = opt;
  batch.stream = false;
  return replay(inputs, batch);
}

} // namespace cma
