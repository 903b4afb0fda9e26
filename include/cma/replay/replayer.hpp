// cma/replay/replayer.hpp — where events meet the model, one event at a time.
//
// A replayer is a formats::log_sink: the parsers hand it every event as its line is
// read.  It settles the kernel and the areas (boot_facts.hpp: the default one, device-tree
// pools, hugetlb areas), then re-runs every CMA operation through cma::allocator and
// judges it (judge.hpp):
//   * ftrace events, when present, are the operation stream (trace_replay.hpp);
//     mm/cma.c's pr_debug lines then only cross-check them (cross_check.hpp), so an
//     operation reported twice is applied once;
//   * without ftrace, the pr_debug lines are the stream (kmsg_replay.hpp);
//   * observed busy retries are the busy oracle: the model must try exactly the
//     windows the kernel tried.
// The trace operations are
//   * streamed (replay_options::stream, the default): when the first one arrives and
//     the area and kernel are already known — --area and --kernel, or a banner and a
//     "cma: Reserved" line (or a device-tree pool's two lines) read before it — each is
//     replayed as it arrives and nothing is kept of it, so a multi-GiB trace replays in
//     constant memory.  What arrives later is merged as the batch replay would merge
//     it (state lines by timestamp); a line that needed a state already passed (or a
//     pr_debug line, which the cross-check must know before the operations) sets
//     needs_batch_replay;
//   * else kept (trace_op.hpp, 56 bytes each) and replayed by finish(): the area, the
//     kernel version and whether the log starts mid-stream may come from a later input
//     (a trace folder's dmesg.txt follows its trace.txt).
// Either way the report is the same.  replay.hpp has the batch form, replay().
// Pure: no I/O.  The caller (sim/cmd_replay.cpp) reads files and prints.
#pragma once

#include "../formats/log_reader.hpp"
#include "boot_facts.hpp"
#include "cross_check.hpp"
#include "field_log.hpp"
#include "judge.hpp"
#include "kmsg_replay.hpp"
#include "options.hpp"
#include "report.hpp"
#include "trace_op.hpp"
#include "trace_replay.hpp"

#include <algorithm>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cma {

class replayer {
public:
  explicit replayer(replay_options opt = {}) : opt_(std::move(opt)), judge_(opt_, rep_) {}
  replayer(const replayer&) = delete;
  replayer& operator=(const replayer&) = delete;

  void on_event(ev::event&& e, const ev::source& where, ev::origin from) {
    if (from == ev::origin::ftrace) field_.saw_trace();
    else field_.on(e, where);
    if (from == ev::origin::ftrace && add_trace_op(e, where)) return;
    take({std::move(e), where, from});
  }
  void on_event(const ev::located& e) { // the batch form's events (replay() below)
    if (e.from == ev::origin::ftrace) field_.saw_trace();
    else field_.on(e.what, e.where);
    if (e.from == ev::origin::ftrace && add_trace_op(e.what, e.where)) return;
    take(e);
  }
  void on_unrecognised(formats::unrecognised_line u) {
    if (rep_.unrecognised.size() < opt_.max_unrecognised) rep_.unrecognised.push_back(std::move(u));
    ++rep_.unrecognised_total;
  }
  /// The first diverged operation so far (a streamed replay finds it as its line is read).
  const op_record* first_diverged() const noexcept { return rep_.first_diverged ? &*rep_.first_diverged : nullptr; }
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
    field_.finish();
    rep_.field = std::move(field_).result();
    if (streaming_) {
      finish_streaming();
      return std::move(rep_);
    }
    settle(true);
    if (!judge_.has_area()) {
      if (rep_.area_source.empty()) rep_.area_source = "none";
      if (has_ops()) {
        rep_.ops_without_area = true;
        rep_.notes.push_back("no CMA area: the input has operations but no 'cma: Reserved' line; give --area");
      }
      return std::move(rep_);
    }
    if (have_trace_) replay_trace();
    else replay_detail::kmsg_replay(judge_, rep_.notes).run(events_);
    judge_.flush();
    judge_.finish_report();
    if (!have_trace_ && rep_.op_count() == 0) unknown_occupancy();
    return std::move(rep_);
  }

private:
  using trace_op = detail::trace_op;

  // ------------------------------------------------------------------ intake
  void take(ev::located&& e) {
    facts_.add(e);
    if (!streaming_) return events_.push_back(std::move(e));
    // Streaming: only state lines wait for their moment; the rest is already used.
    if (e.from == ev::origin::ftrace) return; // markers
    if (cc_.add_line(e)) return passed_by("a pr_debug operation line", e.where); // the cross-check is sized
    if (!replay_detail::is_state_line(e.what)) return;
    events_.push_back(std::move(e));
    const auto& kept = events_.back();
    if (!kept.where.time) return judge_.add_untimed(&kept);
    if (*kept.where.time < judge_.frontier()) return passed_by("a state line", kept.where);
    judge_.insert_timed(&kept);
  }
  void take(const ev::located& e) { take(ev::located(e)); }

  bool add_trace_op(const ev::event& what, const ev::source& where) {
    trace_op t;
    if (!detail::to_trace_op(what, where, names_, t)) return false;
    have_trace_ = have_trace_ || t.what != trace_op::kind::busy_retry;
    if (!stream_tried_ && have_trace_ && opt_.stream) start_streaming();
    if (streaming_) trace_.step(t);
    else trace_ops_.push_back(t);
    return true;
  }

  bool has_ops() const {
    return std::any_of(events_.begin(), events_.end(), [](const ev::located& e) {
      return std::holds_alternative<ev::alloc_finish>(e.what) || std::holds_alternative<ev::alloc_call>(e.what) ||
             std::holds_alternative<ev::release>(e.what);
    }) || std::any_of(trace_ops_.begin(), trace_ops_.end(), [](const trace_op& t) {
      return t.what == trace_op::kind::finish || t.what == trace_op::kind::release;
    });
  }

  // ------------------------------------------------------------------ setup
  // The kernel (with its notes) and, when `area` is set, the area.
  void settle(bool area) {
    auto k = replay_detail::settle_kernel(facts_, opt_, overrun_);
    prof_ = k.prof;
    rep_.kernel = std::string(prof_.series);
    rep_.kernel_assumed = k.assumed;
    rep_.kernel_release = k.release;
    rep_.mid_stream = k.mid_stream;
    for (auto& n : k.notes) rep_.notes.push_back(std::move(n));
    if (!facts_.unknown_cma_params.empty()) {
      std::string words;
      for (const auto& w : facts_.unknown_cma_params) words += (words.empty() ? "" : " ") + w;
      rep_.notes.push_back("the kernel did not know " + words + ": the code behind it is not built in (e.g. Debian's 6.12 lacks "
                           "CONFIG_DMA_NUMA_CMA, which cma_pernuma= and numa_cma= need), so it reserved no area for it "
                           "and passed it to init");
    }
    if (facts_.declared_dropped)
      rep_.notes.push_back(std::to_string(facts_.declared_dropped) + " `cma: Reserved` line(s) after the " +
                           std::to_string(replay_detail::boot_facts::max_declared) +
                           "th ignored: more than any kernel's MAX_CMA_AREAS (several boots in one file?)");
    kernel_notes_end_ = rep_.notes.size();
    if (!area) return;
    facts_.set_kernel(prof_.version); // names the per-node areas by this series' order
    auto c = replay_detail::place_area(facts_, opt_, prof_, [this](page_count n) { return logged(n); });
    rep_.area_source = c.source;
    for (auto& n : c.notes) rep_.notes.push_back(std::move(n));
    if (!c.area) {
      if (!opt_.more_areas.empty() && !opt_.area)
        rep_.notes.push_back("no default area (no 'cma: Reserved' line, no replay_options::area): the areas of "
                             "replay_options::more_areas are not replayed");
      return;
    }
    rep_.area_known = true;
    rep_.area_name = c.area->name();
    rep_.base_pfn = c.area->base_pfn();
    rep_.count = c.area->count();
    rep_.order_per_bit = c.area->order_per_bit();
    judge_.set_area(std::move(*c.area));
    add_option_areas();
    add_dt_pools();
    add_hugetlb_areas(); // beside --area too: the first --area stands for the default area only
    add_per_node_areas();
  }

  // The per-node DMA areas (pernuma<N>, numa<N>) the boot lines declare (boot_facts.hpp),
  // order_per_bit 0 (kernel/dma/contiguous.c passes 0).  One whose name an --area took, or
  // that shares a page with an area already there, is not added, said so.  The order of
  // the lines names them; a traced allocation of that name outside the window says the
  // naming was wrong, and is said.
  void add_per_node_areas() {
    for (const auto& d : facts_.per_node_areas()) {
      if (has_area_named(d.name)) continue;
      const std::uint64_t size = replay_detail::mib_bytes(d.mib);
      if (const auto clash = area_sharing_pages(*d.base, size)) {
        rep_.notes.push_back("area " + d.name + " not replayed: it shares pages with the area " + *clash);
        continue;
      }
      if (const auto traced = first_traced_pfn(d.name); traced && (*traced < *d.base || *traced - *d.base >= size))
        rep_.notes.push_back("area " + d.name + ": its first traced allocation (pfn " + cma::detail::hex(*traced >> page_shift) +
                             ") lies outside the line taken for it (input " + std::to_string(d.where.file) + ", line " + std::to_string(d.where.line) +
                             "): the boot lines' order did not name the per-node areas as this kernel's does");
      add_boot_area(d.name, *d.base, size, "boot log (a node's cma: Reserved line)");
    }
  }

  // The name of an area already there that shares a page with [base, base + size), if any.
  std::optional<std::string> area_sharing_pages(std::uint64_t base, std::uint64_t size) const {
    std::optional<std::string> clash;
    for (const auto& a : judge_.areas())
      if (bytes_overlap(base, size, a.base_pfn() << page_shift, a.count() << page_shift)) clash = a.name();
    return clash;
  }
  // An area the boot lines declare beside the default one (order_per_bit 0), unless the kernel
  // could not have had it (make_area says why).
  void add_boot_area(const std::string& name, std::uint64_t base, std::uint64_t size, const std::string& source) {
    replay_detail::area_choice c;
    replay_detail::make_area(c, name, base, size, 0u, prof_, source);
    for (auto& n : c.notes) rep_.notes.push_back(std::move(n));
    if (c.area) judge_.add_area(std::move(*c.area), c.source);
  }

  // The device-tree CMA pools (boot_facts.hpp) that are not the default area, each by its
  // node's name; one that shares a name (an --area) or a page with an area already there
  // is not added, said so.
  void add_dt_pools() {
    for (const auto& p : facts_.dt_pools) {
      if (has_area_named(p.name)) continue; // the default area, or an --area named it: that one wins
      const std::uint64_t size = replay_detail::mib_bytes(p.mib);
      if (const auto clash = area_sharing_pages(p.base, size)) {
        rep_.notes.push_back("device-tree pool " + p.name + " not replayed: it shares pages with the area " + *clash);
        continue;
      }
      add_boot_area(p.name, p.base, size, "device tree (Reserved memory: created CMA memory pool)");
    }
  }

  bool has_area_named(std::string_view name) const {
    return std::any_of(judge_.areas().begin(), judge_.areas().end(), [&](const allocator& a) { return a.name() == name; });
  }

  // The areas --area gives beside the default one (replay_options::more_areas), each by its
  // name; one that shares a name or a page with an area already there is ignored, said so
  // (the CLI refuses such options before: find_area_conflict()).
  void add_option_areas() {
    for (const auto& s : opt_.more_areas) {
      std::string clash;
      for (const auto& a : judge_.areas()) {
        const std::uint64_t a_base = a.base_pfn() << page_shift, a_end = a_base + (a.count() << page_shift);
        if (a.name() == s.name) clash = "its name with the area " + a.name();
        else if (s.size && s.base < a_end && (a_base <= s.base || a_base - s.base < s.size)) clash = "pages with the area " + a.name();
        if (!clash.empty()) break;
      }
      if (!clash.empty()) {
        rep_.notes.push_back("--area name=" + s.name + " ignored: it shares " + clash);
        continue;
      }
      replay_detail::area_choice c;
      replay_detail::make_area(c, s.name, s.base, s.size, s.order_per_bit, prof_, "--area");
      for (auto& n : c.notes) rep_.notes.push_back(std::move(n));
      if (c.area) judge_.add_area(std::move(*c.area), "--area");
    }
  }

  // The hugetlb areas the boot lines declare (boot_facts.hpp), beside the default one.
  void add_hugetlb_areas() {
    for (const auto& d : facts_.hugetlb_areas()) {
      if (has_area_named(d.name)) continue; // an --area named it: that one wins
      std::optional<std::uint64_t> base = d.base;
      std::string source = "boot log (cma: Reserved + hugetlb_cma: reserved lines)";
      if (!base && facts_.cmdline && facts_.ram_kb) { // the boot model, checked against the trace
        const auto placed = boot_model_base(d.name);
        const auto traced = first_traced_pfn(d.name);
        if (placed && (!traced || (*traced >= *placed && *traced < *placed + (d.mib << 20)))) {
          base = placed;
          source = "boot model (its boot line gives no address)";
          rep_.notes.push_back("area " + d.name + ": `cma: Reserved " + std::to_string(d.mib) +
                               " MiB in … range` gives no address; placed by the boot model at pfn " +
                               cma::detail::hex(*placed >> page_shift) +
                               (traced ? ", where its first traced allocation (pfn " + cma::detail::hex(*traced >> page_shift) +
                                             ") lies"
                                       : std::string(" (no traced allocation to check it against)")));
        } else if (placed) {
          rep_.notes.push_back("area " + d.name + ": the boot model places it at pfn " + cma::detail::hex(*placed >> page_shift) +
                               ", but its first traced allocation is at pfn " + cma::detail::hex(*traced >> page_shift) +
                               ", outside: the trace wins");
        }
      }
      if (!base) {
        base = first_traced_pfn(d.name);
        if (!base) {
          rep_.notes.push_back("area " + d.name + " (" + std::to_string(d.mib) + " MiB): its boot line gives no address and "
                               "no allocation of it was traced: its operations are unchecked");
          continue;
        }
        source = "boot log (no address: placed at its first traced allocation)";
        rep_.notes.push_back("area " + d.name + ": `cma: Reserved " + std::to_string(d.mib) +
                             " MiB in … range` gives no address; the area is taken to start at its first traced "
                             "allocation, pfn " + cma::detail::hex(*base >> page_shift));
      }
      replay_detail::area_choice c;
      const std::uint64_t size = replay_detail::mib_bytes(d.mib);
      // order_per_bit HUGETLB_PAGE_ORDER from 5.16 (mm/hugetlb.c), 0 before (boot/hugetlb_cma.hpp)
      const unsigned opb = prof_.version >= kernel_version{5, 16, 0} ? d.order_per_bit : 0;
      replay_detail::make_area(c, d.name, *base, size, opb, prof_, source);
      for (auto& n : c.notes) rep_.notes.push_back(std::move(n));
      if (c.area) judge_.add_area(std::move(*c.area), source);
    }
  }
  // Bytes: where the boot model (boot/boot.hpp) puts the area `name`, from the log's command
  // line and RAM size.
  std::optional<std::uint64_t> boot_model_base(const std::string& name) const {
    boot_config cfg;
    cfg.kernel = prof_.version;
    cfg.ram_size = *facts_.ram_kb * 1024;
    cfg.cmdline = *facts_.cmdline;
    for (const auto& a : simulate_boot(cfg).areas)
      if (a.decl.ok() && a.decl.name == name) return a.decl.base_pfn() << page_shift;
    return std::nullopt;
  }
  // Bytes: the pfn of the first successful cma_alloc_finish of the area `name` (batch only).
  std::optional<std::uint64_t> first_traced_pfn(const std::string& name) const {
    for (const auto& t : trace_ops_)
      if (t.what == trace_op::kind::finish && names_[t.name] == name && (t.has_errorno ? t.errorno == 0 : !t.page_null))
        return t.pfn << page_shift;
    return std::nullopt;
  }

  // Did the log show an allocation of n pages being made (the boot pools)?
  bool logged(page_count n) const {
    return std::any_of(events_.begin(), events_.end(), [&](const ev::located& e) {
             auto s = std::get_if<ev::alloc_start>(&e.what);
             auto c = std::get_if<ev::alloc_call>(&e.what);
             return (s && s->count == n) || (c && c->count == n);
           }) || std::any_of(trace_ops_.begin(), trace_ops_.end(), [&](const trace_op& t) {
             return t.what == trace_op::kind::start && t.count == n;
           });
  }

  // ------------------------------------------------------- ftrace-driven replay
  // Batch: every trace operation was kept, and is replayed now.
  void replay_trace() {
    begin_trace_replay();
    for (const auto& t : trace_ops_) trace_.step(t);
    end_trace_replay();
  }

  // Sorts the events read so far for the trace replay.  Other sources' lines are checked
  // against the model state at their time (ftrace and printk share local_clock), or at
  // the end if they carry none; pr_debug operation lines cross-check the trace.
  void begin_trace_replay() {
    for (const auto& e : events_) {
      if (e.from == ev::origin::ftrace || cc_.add_line(e)) continue; // markers; cross-check lines
      if (e.where.time) judge_.add_timed(&e);
      else judge_.add_untimed(&e);
    }
    judge_.sort_timed();
    judge_.hold_back(cc_.lines());
  }

  void end_trace_replay() {
    trace_.end();
    cc_.finish(rep_.checks, rep_.notes, [this](std::uint64_t seq, const ev::source& where) {
      // (a failure line, paired as the failure happened, names it first)
      if (auto* o = judge_.find(seq); o && !o->also_reported) o->also_reported = where;
    });
  }

  // ------------------------------------------------------- streamed trace replay
  // At the first trace operation: when the area and the kernel are settled already,
  // replay from here on as the operations arrive (and those kept so far: busy retries).
  void start_streaming() {
    stream_tried_ = true;
    if (!(opt_.kernel || facts_.banner) || !(opt_.area || facts_.reserved || !facts_.dt_pools.empty()))
      return; // they may come later
    const auto given = [this](const std::string& name) { // an --area replaces it
      return std::any_of(opt_.more_areas.begin(), opt_.more_areas.end(), [&](const area_spec& s) { return s.name == name; }) ||
             (opt_.area && opt_.area->name == name);
    };
    for (const auto& d : facts_.declared)
      if (!d.base && (d.name.empty() || !given(d.name)))
        return; // an area placed by its first traced allocation: the batch replay finds it
    auto before = rep_;
    settle(true);
    if (!judge_.has_area()) { // refused: the batch replay reports it
      rep_ = std::move(before);
      return;
    }
    // finish_streaming() writes the kernel's notes again, from every input; the areas' stay
    area_notes_.assign(std::make_move_iterator(rep_.notes.begin() + static_cast<std::ptrdiff_t>(kernel_notes_end_)),
                       std::make_move_iterator(rep_.notes.end()));
    rep_.notes = std::move(before.notes);
    streamed_mid_stream_ = rep_.mid_stream;
    begin_trace_replay();
    streaming_ = true;
    for (const auto& t : trace_ops_) trace_.step(t);
    trace_ops_.clear();
  }

  void passed_by(const char* what, const ev::source& where) {
    incomplete(std::string(what) + " (input " + std::to_string(where.file) + ", line " + std::to_string(where.line) +
               ") came after the operations it follows had been replayed");
  }
  /// A log without operations (a field log: failure lines, show_areas, boot lines) says
  /// nothing of what was allocated, so the model's state is not the kernel's: its show_areas
  /// and bitmap lines are read by cmasim diagnose, not checked against an empty model.
  void unknown_occupancy() {
    const auto before = rep_.checks.size();
    std::erase_if(rep_.checks, [](const state_check& c) { return c.what == "show_areas" || c.what == "bitmap"; });
    if (rep_.checks.size() != before)
      rep_.notes.push_back(std::to_string(before - rep_.checks.size()) +
                           " show_areas/bitmap state line(s) not checked: the log has no operations, so the area's "
                           "occupancy is unknown (`cmasim diagnose` reads them)");
  }
  void incomplete(std::string why) {
    if (!rep_.needs_batch_replay) later_notes_.push_back(std::move(why) + ": this streamed report is incomplete (replay with stream off)");
    rep_.needs_batch_replay = true;
  }

  void finish_streaming() {
    auto during = std::move(rep_.notes); // (a 6.15+ show_areas dump cut short)
    rep_.notes.clear();
    settle(false); // the notes, now that every input is in; the kernel is the one streamed
    for (auto& n : area_notes_) rep_.notes.push_back(std::move(n)); // then the areas', as the batch replay orders them
    for (auto& n : during) rep_.notes.push_back(std::move(n));
    if (judge_.mid_stream_read() && rep_.mid_stream != streamed_mid_stream_)
      incomplete(std::string("verdicts were given as if the log ") + (streamed_mid_stream_ ? "started" : "did not start") +
                 " mid-stream, and a later input says otherwise");
    for (auto& n : later_notes_) rep_.notes.push_back(std::move(n));
    end_trace_replay();
    judge_.flush();
    judge_.finish_report();
  }

  replay_options opt_;
  replay_report rep_;
  field_log field_; ///< what the log says beyond the operations (report.field)
  replay_detail::judge judge_;
  replay_detail::boot_facts facts_;       ///< what the boot lines said, as they arrived
  replay_detail::cross_check cc_;
  detail::area_names names_;
  replay_detail::trace_replay trace_{judge_, cc_, names_};
  std::deque<ev::located> events_;        ///< batch: every non-trace event; streaming: the state lines (judge points into it)
  std::deque<trace_op> trace_ops_;        ///< batch: the ftrace operations, in input order
  profile prof_ = profile::for_version(kernel_version{6, 1, 0});
  bool have_trace_ = false;               ///< a start, finish or release event was traced
  bool overrun_ = false;
  bool streaming_ = false;
  bool stream_tried_ = false;
  bool streamed_mid_stream_ = false;      ///< what the streamed verdicts took it to be
  std::vector<std::string> later_notes_;
  std::size_t kernel_notes_end_ = 0;      ///< settle(): rep_.notes up to here are the kernel's
  std::vector<std::string> area_notes_;   ///< streaming: what settling the areas said (placement, --area, hugetlb)
};

} // namespace cma
