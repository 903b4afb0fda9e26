// cma/formats/log_reader.hpp — recognises every line of a mixed input, line by line.
//
// One call per input text (a file's contents, never a path).  Each line goes to the
// first parser that claims it: ftrace.hpp, recorder.hpp ("@@…"), procfs.hpp, then — after
// kmsg::unwrap() — cma_test.hpp and kmsg.hpp.  A line no parser claims is ignored
// if it does not mention CMA, and reported (file, line, why) if it does: nothing
// that mentions CMA is dropped silently.  Also handled: CRLF, NUL bytes, lines two
// printk records were glued into ("…<6>[    0.000000] cma: …"), call-trace frames
// and "Modules linked in:" lines (understood, carry nothing), and the ftrace
// header's "entries-in-buffer/entries-written: A/B" (A < B: the ring buffer wrapped,
// so the trace starts mid-stream).
//
// Three forms, one line loop: read_log(text, file) collects a read_result (every event,
// in a vector); read_log(text, file, sink) hands each event to the sink as soon as its
// line is parsed and keeps nothing (cma::replayer is such a sink); log_reader does the
// same for a text that arrives in pieces (a file read block by block), so a multi-GiB
// trace is replayed without holding its text or its events.
#pragma once

#include "cma_test.hpp"
#include "detail/scan.hpp"
#include "ftrace.hpp"
#include "kmsg.hpp"
#include "parsed.hpp"
#include "procfs.hpp"
#include "recorder.hpp"

#include <concepts>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cma::formats {

struct unrecognised_line {
  unsigned file = 0;
  std::uint64_t line = 0;
  std::string text; ///< the line, truncated to 200 bytes, control bytes shown as '?'
  std::string why;
};

struct read_result {
  std::vector<ev::located> events;
  std::vector<unrecognised_line> unrecognised;
  std::uint64_t lines = 0;         ///< lines read
  std::uint64_t cma_lines = 0;     ///< lines that produced an event or mention CMA
  bool trace_overrun = false;      ///< the ftrace ring buffer lost entries before this dump
};

/// What the sink form of read_log returns: read_result without the events and lines.
struct read_summary {
  std::uint64_t lines = 0;
  std::uint64_t cma_lines = 0;
  bool trace_overrun = false;
};

/// Receives, in input order, every event (with where it was read and by which parser:
/// an ev::located in three parts, so a sink that keeps only a few fields of it never
/// moves the event) and every line not understood.
template <class S>
concept log_sink = requires(S& s, ev::event&& e, const ev::source& where, ev::origin from, unrecognised_line&& u) {
  s.on_event(std::move(e), where, from);
  s.on_unrecognised(std::move(u));
};

namespace detail_ {
using namespace cma::formats::detail;

inline bool is_call_trace_frame(std::string_view m) {
  m = trim(m);
  // "symbol+0x1c/0x30 [module]" or "symbol+0x1c/0x30"
  auto plus = m.find("+0x");
  if (plus == std::string_view::npos || plus == 0 || m.find(' ') < plus) return false;
  auto slash = m.find("/0x", plus);
  if (slash == std::string_view::npos) return false;
  auto rest = m.substr(slash + 3);
  auto sp = rest.find(' ');
  if (sp != std::string_view::npos) {
    auto mod = trim(rest.substr(sp));
    return mod.size() > 2 && mod.front() == '[' && mod.back() == ']';
  }
  return true;
}

inline std::string printable(std::string_view s) {
  std::string out(s.substr(0, 200));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t') c = '?';
  return out;
}

// A shell command pasted with its output ("# echo 8 > /dev/cma_test", "$ cat /proc/meminfo | grep Cma").
inline bool is_shell_command(std::string_view m) {
  m = trim(m);
  if (!(eat(m, "# ") || eat(m, "$ ") || eat(m, "> "))) {
    // bare commands as they appear in pasted notes
  }
  m = trim(m);
  for (std::string_view cmd : {"cat ", "echo ", "dmesg", "insmod ", "rmmod ", "modprobe ", "cd ", "grep ", "ls ", "sudo "})
    if (starts_with(m, cmd)) return true;
  return false;
}

// (One `p` returned everywhere: the compiler builds it in the caller, no copy.)
inline parsed_line parse_any(std::string_view line, ev::origin& from) {
  from = ev::origin::ftrace;
  parsed_line p = ftrace::parse_line(line);
  if (p.status != line_status::foreign) return p;
  from = ev::origin::recorder;
  p = recorder::parse_line(line);
  if (p.status != line_status::foreign) return p;
  from = ev::origin::kmsg;
  p = procfs::parse_line(line);
  if (p.status != line_status::foreign) return p;
  const auto u = kmsg::unwrap(line);
  p = cma_test::parse_message(u.message);
  if (p.status == line_status::foreign) p = kmsg::parse_message(u.message);
  if (p.status == line_status::foreign) {
    if (is_call_trace_frame(u.message) || starts_with(trim(u.message), "Modules linked in:") ||
        is_shell_command(line))
      p = parsed_line::skip();
  }
  if (!p.time) p.time = u.time;
  return p;
}

// Splits a physical line at glued printk records: "<digit>[" or "<digit>>" after column 0.
// (find() is memchr: most lines hold no '<' at all.)
inline void split_glued(std::string_view line, std::vector<std::string_view>& out) {
  out.clear();
  std::size_t from = 0;
  for (auto i = line.find('<', 1); i != std::string_view::npos && i + 3 < line.size(); i = line.find('<', i + 1)) {
    if (line[i + 1] >= '0' && line[i + 1] <= '7' && line[i + 2] == '>' && line[i + 3] == '[') {
      out.push_back(line.substr(from, i - from));
      from = i;
    }
  }
  out.push_back(line.substr(from));
}

// "# entries-in-buffer/entries-written: A/B": A < B means the ring buffer wrapped.
inline void note_overrun(std::string_view line, read_summary& sum) {
  if (!starts_with_hash(line)) return; // (most lines: no trim)
  const auto t = trim(line);
  if (!starts_with(t, "# entries-in-buffer/entries-written: ")) return;
  auto s = t.substr(37);
  auto a = eat_u64(s);
  if (a && eat(s, "/")) {
    auto b = eat_u64(s);
    sum.trace_overrun = b && *a < *b;
  }
}

// One part of a physical line: its event to the sink, or — when it mentions CMA and
// no parser took it — an unrecognised_line.
template <log_sink Sink>
void read_part(std::string_view part, unsigned file, std::uint64_t lineno, Sink& sink, read_summary& sum) {
  ev::origin from = ev::origin::kmsg;
  parsed_line p = parse_any(part, from);
  switch (p.status) {
  case line_status::event:
    ++sum.cma_lines;
    sink.on_event(std::move(*p.event), ev::source{file, lineno, p.time}, from);
    break;
  case line_status::skip:
    break;
  case line_status::malformed:
    ++sum.cma_lines;
    sink.on_unrecognised({file, lineno, printable(part), std::move(p.why)});
    break;
  case line_status::foreign:
    if (icontains(part, "cma")) {
      ++sum.cma_lines;
      sink.on_unrecognised({file, lineno, printable(part), "mentions CMA but matches no known format"});
    }
    break;
  }
}

// Collects into a read_result: the batch form of read_log.
struct collect_sink {
  read_result& out;
  void on_event(ev::event&& e, const ev::source& where, ev::origin from) {
    out.events.push_back({std::move(e), where, from});
  }
  void on_unrecognised(unrecognised_line&& u) { out.unrecognised.push_back(std::move(u)); }
};
} // namespace detail_

/// Reads one input that arrives in pieces — a file read block by block, so that a
/// multi-GiB trace is never held in memory.  feed() takes any split of the text (even
/// mid-line, even mid-"\r\n"); each complete line is parsed at once and its events go
/// to the sink; finish() reads a last line that has no '\n'.  The lines, their numbers
/// and the events are those of one read_log() of the whole text: read_log is one feed.
template <log_sink Sink>
class log_reader {
public:
  log_reader(unsigned file, Sink& sink) : file_(file), sink_(sink) {}

  /// No kernel line comes near this: printk's records are at most 1024 bytes
  /// (PRINTK_MESSAGE_MAX, 6.x; LOG_LINE_MAX before), a trace line a few hundred.  A
  /// longer line is reported, not held: the reader's memory does not grow with it.
  static constexpr std::size_t max_line = std::size_t{1} << 16;

  void feed(std::string_view piece) {
    if (!carry_.empty() || overlong_) { // complete the line the previous piece ended in
      const auto nl = piece.find('\n');
      carry(piece.substr(0, nl));
      if (nl == std::string_view::npos) return;
      end_carried();
      piece.remove_prefix(nl + 1);
    }
    for (auto nl = piece.find('\n'); nl != std::string_view::npos; nl = piece.find('\n')) {
      if (nl > max_line) too_long(piece.substr(0, nl), nl);
      else read_line(piece.substr(0, nl));
      piece.remove_prefix(nl + 1);
    }
    carry(piece);
  }

  read_summary finish() {
    if (!carry_.empty() || overlong_) end_carried();
    sum_.lines = lineno_;
    return sum_;
  }

  /// Lines read whole so far (the last one's number).
  std::uint64_t lines_read() const noexcept { return lineno_; }

private:
  // Keeps the start of a line the piece cut, up to max_line bytes; past that only its
  // first bytes (to quote) and its length.
  void carry(std::string_view part) {
    if (overlong_) {
      overlong_bytes_ += part.size();
    } else if (carry_.size() + part.size() > max_line) {
      overlong_ = true;
      overlong_bytes_ = carry_.size() + part.size();
      carry_.append(part.substr(0, 200));
      carry_.resize(std::min<std::size_t>(carry_.size(), 200));
      carry_.shrink_to_fit();
    } else {
      carry_.append(part);
    }
  }
  void end_carried() {
    if (overlong_) too_long(carry_, overlong_bytes_);
    else read_line(carry_);
    carry_.clear();
    overlong_ = false;
    overlong_bytes_ = 0;
  }
  void too_long(std::string_view head, std::uint64_t bytes) {
    ++lineno_;
    ++sum_.cma_lines;
    sink_.on_unrecognised({file_, lineno_, detail_::printable(head),
                           "a line of " + std::to_string(bytes) + " bytes, longer than any kernel log or trace line (" +
                               std::to_string(max_line) + "): not read"});
  }

  void read_line(std::string_view line) {
    using namespace detail_;
    ++lineno_;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    note_overrun(line, sum_);
    if (line.find('<', 1) == std::string_view::npos) { // nothing glued (split_glued would say the same)
      read_part(line, file_, lineno_, sink_, sum_);
      return;
    }
    split_glued(line, parts_);
    for (auto part : parts_) read_part(part, file_, lineno_, sink_, sum_);
  }

  unsigned file_;
  Sink& sink_;
  read_summary sum_;
  std::uint64_t lineno_ = 0;
  std::string carry_;                   ///< the start of a line the last piece cut (at most max_line bytes)
  bool overlong_ = false;               ///< the cut line is longer than max_line: carry_ holds its head
  std::uint64_t overlong_bytes_ = 0;
  std::vector<std::string_view> parts_; ///< reused: split_glued's output
};

/// Reads one input text, handing each event to `sink` as its line is read.  `file`
/// is the caller's index for this input.
template <log_sink Sink>
read_summary read_log(std::string_view text, unsigned file, Sink& sink) {
  log_reader<Sink> r(file, sink);
  r.feed(text);
  return r.finish();
}

/// Reads one input text into a read_result (every event kept).
inline read_result read_log(std::string_view text, unsigned file = 0) {
  read_result out;
  detail_::collect_sink sink{out};
  const auto sum = read_log(text, file, sink);
  out.lines = sum.lines;
  out.cma_lines = sum.cma_lines;
  out.trace_overrun = sum.trace_overrun;
  return out;
}

} // namespace cma::formats
