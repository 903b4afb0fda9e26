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
#pragma once

#include "cma_test.hpp"
#include "detail/scan.hpp"
#include "ftrace.hpp"
#include "kmsg.hpp"
#include "parsed.hpp"
#include "procfs.hpp"
#include "recorder.hpp"

#include <string>
#include <string_view>
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

inline parsed_line parse_any(std::string_view line, ev::origin& from) {
  from = ev::origin::ftrace;
  if (auto p = ftrace::parse_line(line); p.status != line_status::foreign) return p;
  from = ev::origin::recorder;
  if (auto p = recorder::parse_line(line); p.status != line_status::foreign) return p;
  from = ev::origin::kmsg;
  if (auto p = procfs::parse_line(line); p.status != line_status::foreign) return p;
  const auto u = kmsg::unwrap(line);
  parsed_line p = cma_test::parse_message(u.message);
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
inline void split_glued(std::string_view line, std::vector<std::string_view>& out) {
  out.clear();
  std::size_t from = 0;
  for (std::size_t i = 1; i + 3 < line.size(); ++i) {
    if (line[i] == '<' && line[i + 1] >= '0' && line[i + 1] <= '7' && line[i + 2] == '>' && line[i + 3] == '[') {
      out.push_back(line.substr(from, i - from));
      from = i;
    }
  }
  out.push_back(line.substr(from));
}
} // namespace detail_

/// Reads one input text.  `file` is the caller's index for this input.
inline read_result read_log(std::string_view text, unsigned file = 0) {
  using namespace detail_;
  read_result out;
  std::vector<std::string_view> parts;
  std::uint64_t lineno = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++lineno;
    ++out.lines;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (starts_with(trim(line), "# entries-in-buffer/entries-written: ")) {
      auto s = trim(line).substr(37);
      auto a = eat_u64(s);
      if (a && eat(s, "/")) {
        auto b = eat_u64(s);
        out.trace_overrun = b && *a < *b;
      }
    }
    split_glued(line, parts);
    for (auto part : parts) {
      ev::origin from = ev::origin::kmsg;
      parsed_line p = parse_any(part, from);
      switch (p.status) {
      case line_status::event:
        ++out.cma_lines;
        out.events.push_back({std::move(*p.event), {file, lineno, p.time}, from});
        break;
      case line_status::skip:
        break;
      case line_status::malformed:
        ++out.cma_lines;
        out.unrecognised.push_back({file, lineno, printable(part), p.why});
        break;
      case line_status::foreign:
        if (icontains(part, "cma")) {
          ++out.cma_lines;
          out.unrecognised.push_back({file, lineno, printable(part), "mentions CMA but matches no known format"});
        }
        break;
      }
    }
  }
  return out;
}

} // namespace cma::formats
