// sim/cmd_replay.cpp — `cmasim replay LOG…`: stream each file, block by block, through
// cma::formats::log_reader into a cma::replayer, print the report (text or JSON).
//
// Memory does not grow with the input: files are read 1 MiB at a time; with -v or
// --json every operation's record is rendered as soon as it is final and spooled to an
// unnamed temporary file, which is copied into the output where the record list goes
// (the header, printed first, needs counts known only at the end).  An input is opened
// once: a regular file may be read again (the batch replay, context lines the stream
// could not catch), anything else — stdin, a pipe, a FIFO, `<(…)` — is kept in memory
// as it is read and never reopened.  The first divergence's context lines are caught
// while the input is read, when the streamed replay finds it there.
// Text from an input reaches a terminal only with its control bytes escaped.
// On a TTY, stderr shows how far the reading has got.
#include "commands.hpp"
#include "decompress.hpp"
#include "diagnosis_print.hpp"
#include "output.hpp"
#include "replay_inputs.hpp"

#include <cma/cma_init_reserved_mem.hpp>
#include <cma/replay/replay.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace cmasim {
namespace {

namespace fs = std::filesystem;

struct input_file {
  std::string name;
  std::string path;  ///< empty for stdin
  bool regular = true; ///< a regular file (may be read again); else its text is kept
  std::string text;  ///< a non-regular input's text, once read (decompressed)
  bool read = false;
  compression comp = compression::none; ///< what its first bytes said (decompress.hpp)
};

struct replay_args {
  std::vector<std::string> inputs;
  std::vector<std::string> areas; ///< each --area as given, in order
  std::string kernel;
  bool strict = false, verbose = false, json = false, mid_stream = false;
  int context = 3;
};

std::string command_name = "replay"; // the prefix of error messages ("diagnose" when it reads for diagnose)

[[noreturn]] void fail(int code, const std::string& msg) {
  std::fprintf(stderr, "cmasim %s: %s\n", command_name.c_str(), msg.c_str());
  throw CLI::RuntimeError(code);
}

// Text from an input, safe for a terminal: control bytes (C0, DEL, and C1 as UTF-8)
// shown as \xHH; tabs kept.
std::string safe(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const bool c1 = c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(s[i + 1]) <= 0x9f;
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else if (c1) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(s[++i]));
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Checked before anything is replayed, so a bad path fails fast (exit 2, no report).
void add_file(std::vector<input_file>& out, const fs::path& p) {
  std::error_code ec;
  const auto st = fs::status(p, ec);
  if (ec || !fs::exists(st)) fail(exit_usage, p.string() + ": cannot open (" + (ec ? ec.message() : "no such file") + ")");
  if (fs::is_directory(st)) fail(exit_usage, p.string() + ": is a directory, expected a log or trace file");
  std::ifstream in(p, std::ios::binary);
  if (!in) fail(exit_usage, p.string() + ": cannot open (" + std::string(std::strerror(errno)) + ")");
  out.push_back({p.string(), p.string(), fs::is_regular_file(st), {}, false});
}

// A trace folder (../shared/traces layout) contributes dmesg.txt, steps.txt and trace.txt,
// in that order: with the boot lines read first, the trace is replayed as it is read
// (cma::replayer streams it) instead of being kept until the end.
std::vector<input_file> resolve(const std::vector<std::string>& args) {
  std::vector<input_file> out;
  for (const auto& a : args) {
    if (a == "-") {
      out.push_back({"<stdin>", {}, false, {}, false});
      continue;
    }
    std::error_code ec;
    if (fs::is_directory(a, ec)) {
      const auto before = out.size();
      for (const char* f : {"dmesg.txt", "steps.txt", "trace.txt"})
        if (fs::exists(fs::path(a) / f, ec)) add_file(out, fs::path(a) / f);
      if (out.size() == before) fail(exit_usage, a + ": a folder must hold trace.txt, dmesg.txt or steps.txt");
      continue;
    }
    add_file(out, a);
  }
  return out;
}

// "reading NAME: 312 of 1024 MiB" on stderr, at most four times a second, only on a TTY,
// and only once a replay has run for a quarter of a second (short ones print nothing).
class progress {
public:
  progress() : tty_(isatty(2) != 0), last_(std::chrono::steady_clock::now()) {}
  ~progress() { done(); }
  void show(const input_file& f, std::uint64_t bytes, std::uint64_t total) {
    if (!tty_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(250)) return;
    last_ = now, shown_ = true;
    if (total > 0) std::fprintf(stderr, "\r\033[Kreading %s: %llu of %llu MiB", safe(f.name).c_str(), mib(bytes), mib(total));
    else std::fprintf(stderr, "\r\033[Kreading %s: %llu MiB", safe(f.name).c_str(), mib(bytes));
  }
  void done() {
    if (tty_ && shown_) std::fprintf(stderr, "\r\033[K");
    shown_ = false;
  }

private:
  static unsigned long long mib(std::uint64_t b) { return static_cast<unsigned long long>(b >> 20); }
  bool tty_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_;
};

// ------------------------------------------------------------ context lines
// The lines around the first divergence, caught as the input is read: when the
// streamed replay finds the divergence, the line was just read, so it and the lines
// before it are in the blocks still held (this one and the one before); the lines
// after it are taken from the blocks that follow.
class context_catcher {
public:
  explicit context_catcher(int n) : n_(static_cast<std::uint64_t>(n)) {}
  bool done() const { return state_ == state::done; }
  const std::vector<std::pair<std::uint64_t, std::string>>& lines() const { return lines_; }
  const cma::ev::source& where() const { return where_; }

  /// After a block of input `file` was fed: `lines_read` complete lines so far.
  void after_block(unsigned file, std::string_view prev, std::string_view cur, std::uint64_t lines_read,
                   const cma::op_record* first) {
    if (state_ == state::after && file == where_.file) return take_after(cur);
    if (state_ != state::idle || !first) return;
    where_ = first->where;
    if (where_.file != file || where_.line > lines_read) return; // not from this block: the caller re-reads
    // Walk back from the last complete line of cur (then prev) down to line - n.
    std::string joined(prev);
    joined.append(cur);
    std::string_view all(joined);
    auto end = all.rfind('\n');
    if (end == std::string_view::npos) return;
    tail_ = std::string(all.substr(end + 1));
    std::uint64_t no = lines_read;
    const std::uint64_t lo = where_.line > n_ ? where_.line - n_ : 1;
    std::vector<std::pair<std::uint64_t, std::string>> back;
    while (no >= lo && no > 0) {
      const auto start = end == 0 ? std::string_view::npos : all.rfind('\n', end - 1);
      const auto b = start == std::string_view::npos ? 0 : start + 1;
      if (no <= where_.line + n_) back.emplace_back(no, std::string(all.substr(b, end - b)));
      if (start == std::string_view::npos) break; // the rest is in blocks no longer held
      end = start, --no;
    }
    lines_.assign(back.rbegin(), back.rend());
    after_left_ = where_.line + n_ > lines_read ? where_.line + n_ - lines_read : 0;
    next_ = lines_read + 1;
    state_ = after_left_ > 0 ? state::after : state::done;
  }
  void end_of_input(unsigned file) {
    if (state_ == state::after && file == where_.file) {
      if (!tail_.empty()) lines_.emplace_back(next_, tail_);
      state_ = state::done;
    }
  }

private:
  void take_after(std::string_view cur) {
    for (auto nl = cur.find('\n'); nl != std::string_view::npos && after_left_ > 0; nl = cur.find('\n')) {
      tail_.append(cur.substr(0, nl));
      lines_.emplace_back(next_++, std::move(tail_));
      tail_.clear();
      cur.remove_prefix(nl + 1);
      --after_left_;
    }
    if (after_left_ == 0) state_ = state::done;
    else tail_.append(cur.substr(0, 4096));
  }
  enum class state { idle, after, done };
  std::uint64_t n_;
  state state_ = state::idle;
  cma::ev::source where_;
  std::vector<std::pair<std::uint64_t, std::string>> lines_;
  std::string tail_;
  std::uint64_t after_left_ = 0, next_ = 0;
};

// Streams one input through the replayer in 1 MiB blocks: each line's events reach the
// replayer as the block holding it is read.  A non-regular input is read once; its text
// is kept for a second pass.
void stream(input_file& f, unsigned index, cma::replayer& replayer, progress& shown, context_catcher& ctx) {
  cma::formats::log_reader reader(index, replayer);
  if (f.read && !f.regular) { // a second pass over a pipe or stdin: its kept text
    reader.feed(f.text);
    replayer.end_input(reader.finish());
    return;
  }
  std::FILE* in = f.path.empty() ? stdin : std::fopen(f.path.c_str(), "rb");
  if (!in) fail(exit_usage, f.path + ": cannot open (" + std::string(std::strerror(errno)) + ")");
  std::error_code ec;
  const std::uint64_t total = f.regular ? static_cast<std::uint64_t>(fs::file_size(f.path, ec)) : 0;
  std::vector<char> block(std::size_t{1} << 20);
  std::string prev;
  std::uint64_t bytes = 0;
  // One piece of the input's text (after decompression): to the reader and the context catcher.
  const auto consume = [&](std::string_view piece) {
    if (!f.regular) f.text.append(piece);
    reader.feed(piece);
    if (!ctx.done()) ctx.after_block(index, prev, piece, reader.lines_read(), replayer.first_diverged());
    if (!ctx.done()) prev.assign(piece);
  };
  std::optional<decoder> dec;
  bool first = true;
  const auto bad_data = [&] {
    if (in != stdin) std::fclose(in);
    fail(exit_usage, f.name + ": " + dec->error().value_or("cannot decompress"));
  };
  for (std::size_t n; (n = std::fread(block.data(), 1, block.size(), in)) > 0;) {
    const std::string_view raw(block.data(), n);
    if (first) { // the magic bytes decide, not the name (a whole first block: fread fills it)
      first = false;
      f.comp = sniff(raw);
      if (f.comp != compression::none) dec.emplace(f.comp);
    }
    if (dec) {
      if (!dec->feed(raw, consume)) bad_data();
    } else {
      consume(raw);
    }
    bytes += n;
    shown.show(f, bytes, ec ? 0 : total);
  }
  const bool error = std::ferror(in) != 0;
  if (dec && !error && !dec->finish(consume)) bad_data();
  if (in != stdin) std::fclose(in);
  if (error) fail(exit_usage, f.name + ": read error (" + std::string(std::strerror(errno)) + ")");
  f.read = true;
  replayer.end_input(reader.finish());
  ctx.end_of_input(index);
}

// ------------------------------------------------------------ --area
// A number as memparse() reads it (lib/cmdline.c): decimal, 0x hex or 0 octal, then an
// optional K, M, G, T, P or E.  Signs, junk and overflow are errors, not wrap-arounds.
std::uint64_t area_number(const std::string& what, const std::string& v) {
  std::string_view s(v);
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) base = 16, s.remove_prefix(2);
  else if (s.size() > 1 && s[0] == '0') base = 8, s.remove_prefix(1);
  std::uint64_t n = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n, base);
  if (p == s.data() || ec == std::errc::invalid_argument)
    fail(exit_usage, "--area " + what + ": expected a number (decimal or 0x hex, optional K/M/G/T suffix), got '" + v + "'");
  if (ec == std::errc::result_out_of_range) fail(exit_usage, "--area " + what + ": '" + v + "' does not fit in 64 bits");
  const std::string_view suffix(p, static_cast<std::size_t>(s.data() + s.size() - p));
  static constexpr std::pair<char, unsigned> units[] = {{'k', 10}, {'m', 20}, {'g', 30}, {'t', 40}, {'p', 50}, {'e', 60}};
  unsigned shift = 0;
  if (suffix.size() == 1) {
    for (auto [c, sh] : units)
      if (suffix[0] == c || suffix[0] == c - 32) shift = sh;
    if (shift == 0) fail(exit_usage, "--area " + what + ": unknown suffix '" + std::string(suffix) + "' (K, M, G, T, P or E)");
  } else if (!suffix.empty()) {
    fail(exit_usage, "--area " + what + ": unexpected '" + std::string(suffix) + "' after the number in '" + v + "'");
  }
  if (shift > 0 && n > (~std::uint64_t{0} >> shift)) fail(exit_usage, "--area " + what + ": '" + v + "' overflows 64 bits");
  return n << shift;
}

// --area name=reserved,base=0x76c00000,size=64M[,order_per_bit=N], validated as the
// kernel validates an area (cma_init_reserved_mem.hpp).
cma::area_spec parse_area(const std::string& s) {
  cma::area_spec a;
  std::set<std::string> seen;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto eq = item.find('=');
    if (eq == std::string::npos) fail(exit_usage, "--area: expected key=value, got '" + safe(item) + "'");
    const std::string k = item.substr(0, eq), v = item.substr(eq + 1);
    if (!seen.insert(k).second) fail(exit_usage, "--area: '" + safe(k) + "' given twice");
    if (k == "name") {
      if (v.empty()) fail(exit_usage, "--area name: empty");
      a.name = v;
    } else if (k == "base") {
      a.base = area_number("base", v);
    } else if (k == "size") {
      a.size = area_number("size", v);
    } else if (k == "order_per_bit") {
      const auto n = area_number("order_per_bit", v);
      if (n > cma::init_limits::max_order_per_bit)
        fail(exit_usage, fmt::format("--area order_per_bit: {} is above {} (one bit would cover more than the physical address space)",
                                     n, cma::init_limits::max_order_per_bit));
      a.order_per_bit = static_cast<unsigned>(n);
    } else {
      fail(exit_usage, "--area: unknown key '" + safe(k) + "' (name, base, size, order_per_bit)");
    }
  }
  if (!seen.count("base") || !seen.count("size")) fail(exit_usage, "--area needs base= and size=");
  if (auto why = cma::area_refusal(a.base, a.size, a.order_per_bit)) fail(exit_usage, "--area: " + *why);
  return a;
}

// Every --area: the first is the default area (replay_options::area), the others areas beside
// it by name (more_areas).  Two with one name, or sharing a page, are a usage error that
// names both as they were given.
void parse_areas(const std::vector<std::string>& given, cma::replay_options& opt) {
  std::vector<cma::area_spec> specs;
  for (const auto& g : given) specs.push_back(parse_area(g));
  if (auto c = cma::find_area_conflict(specs)) {
    const auto& a = specs[c->first];
    const auto& b = specs[c->second];
    if (c->same_name)
      fail(exit_usage, "--area '" + safe(given[c->first]) + "' and --area '" + safe(given[c->second]) + "' both name the area '" +
                           safe(a.name) + "' (name=reserved when no name= is given): give each area once, with its own name=");
    fail(exit_usage, fmt::format("--area '{}' (bytes {:#x}–{:#x}) and --area '{}' (bytes {:#x}–{:#x}) overlap: two areas "
                                 "cannot share a page",
                                 safe(given[c->first]), a.base, a.base + a.size - 1, safe(given[c->second]), b.base,
                                 b.base + b.size - 1));
  }
  if (specs.empty()) return;
  opt.area = specs.front();
  opt.more_areas.assign(specs.begin() + 1, specs.end());
}

// ------------------------------------------------------------ printing
std::string where(const std::vector<input_file>& files, const cma::ev::source& s) {
  return fmt::format("{}:{}", s.file < files.size() ? files[s.file].name : "?", s.line);
}

// The context lines when the stream did not catch them: a regular file is read again
// up to them; a kept text is searched.
std::vector<std::pair<std::uint64_t, std::string>> context_again(const std::vector<input_file>& files, const cma::ev::source& s,
                                                                  int n) {
  std::vector<std::pair<std::uint64_t, std::string>> out;
  if (s.file >= files.size()) return out;
  const auto& f = files[s.file];
  if (f.regular && f.comp != compression::none) { // decode it again, keeping only the lines around s
    std::FILE* in = std::fopen(f.path.c_str(), "rb");
    if (!in) return out;
    decoder dec(f.comp);
    std::string partial;
    std::uint64_t no = 0;
    const auto lines = [&](std::string_view piece) {
      for (char c : piece) {
        if (c != '\n') {
          if (no + 1 + static_cast<std::uint64_t>(n) >= s.line && partial.size() < (1u << 16)) partial += c;
          continue;
        }
        ++no;
        if (no + static_cast<std::uint64_t>(n) >= s.line && no <= s.line + static_cast<std::uint64_t>(n)) out.emplace_back(no, partial);
        partial.clear();
      }
    };
    std::vector<char> block(std::size_t{1} << 20);
    for (std::size_t k; (k = std::fread(block.data(), 1, block.size(), in)) > 0 && no <= s.line + static_cast<std::uint64_t>(n);)
      if (!dec.feed({block.data(), k}, lines)) break;
    std::fclose(in);
    return out;
  }
  std::ifstream file;
  std::istringstream text;
  if (!f.regular) text.str(f.text);
  else file.open(f.path, std::ios::binary);
  std::istream& in = f.regular ? static_cast<std::istream&>(file) : text;
  std::string line;
  for (std::uint64_t i = 1; std::getline(in, line); ++i) {
    if (i + static_cast<std::uint64_t>(n) < s.line) continue;
    if (i > s.line + static_cast<std::uint64_t>(n)) break;
    out.emplace_back(i, line);
  }
  return out;
}

std::string pfn_text(std::optional<cma::pfn_t> p) { return p ? fmt::format("{:#x}", *p) : "-"; }

std::string describe(const cma::op_record& o) {
  if (o.kind == cma::op_kind::release) return fmt::format("release {} pages at {}", o.count, pfn_text(o.observed_pfn));
  return fmt::format("alloc {} pages align {}", o.count, o.align);
}

std::string outcome(bool ok, std::optional<cma::pfn_t> pfn, std::optional<int> err, const std::vector<cma::pfn_t>& busy) {
  std::string s = ok ? fmt::format("pfn {}", pfn_text(pfn)) : fmt::format("failed{}", err ? fmt::format(" {}", *err) : "");
  if (!ok && pfn && *pfn != cma::no_pfn) s += fmt::format(" (last window {})", pfn_text(pfn));
  if (!busy.empty()) {
    s += ", busy at";
    for (auto b : busy) s += fmt::format(" {:#x}", b);
  }
  return s;
}

std::string verbose_line(const cma::op_record& o, const std::vector<input_file>& files) {
  return safe(fmt::format("  {:<9} {:<28} {:<44} kernel: {} | model: {}{}", cma::to_string(o.result), where(files, o.where),
                          describe(o), outcome(o.observed_ok, o.observed_pfn, o.observed_err, o.observed_busy),
                          outcome(o.predicted_ok, o.predicted_pfn, o.predicted_err, o.predicted_busy),
                          o.note.empty() ? "" : " — " + o.note)) +
         "\n";
}

nlohmann::json source_json(const cma::ev::source& s, const std::vector<input_file>& files) {
  nlohmann::json j{{"file", s.file < files.size() ? files[s.file].name : "?"}, {"line", s.line}};
  if (s.time) j["time"] = *s.time;
  return j;
}

nlohmann::json op_json(const cma::op_record& o, const std::vector<input_file>& files) {
  using nlohmann::json;
  json op{{"kind", o.kind == cma::op_kind::alloc ? "alloc" : "release"},
          {"result", cma::to_string(o.result)},
          {"where", source_json(o.where, files)},
          {"area", o.area},
          {"count", o.count},
          {"align", o.align},
          {"observed", {{"ok", o.observed_ok}, {"pfn", o.observed_pfn ? json(*o.observed_pfn) : json(nullptr)},
                        {"err", o.observed_err ? json(*o.observed_err) : json(nullptr)}, {"busy", o.observed_busy}}},
          {"predicted", {{"ok", o.predicted_ok}, {"pfn", o.predicted_pfn}, {"err", o.predicted_err}, {"busy", o.predicted_busy}}},
          {"note", o.note}};
  if (o.also_reported) op["also_reported"] = source_json(*o.also_reported, files);
  if (!o.failure_reason.empty()) op["failure_reason"] = o.failure_reason;
  return op;
}

// Unrecognised lines are quoted as read, and logs hold any bytes: invalid UTF-8 is
// written as U+FFFD rather than aborting the dump (nlohmann's default is to throw).
std::string dump(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Every record, rendered as it becomes final, in an unnamed temporary file.
class spool {
public:
  spool() : f_(std::tmpfile()) {
    if (!f_) fail(exit_usage, std::string("cannot create a temporary file for the records: ") + std::strerror(errno));
  }
  ~spool() { std::fclose(f_); }
  spool(const spool&) = delete;
  spool& operator=(const spool&) = delete;
  void reset() {
    std::fflush(f_);
    if (ftruncate(fileno(f_), 0) != 0) fail(exit_usage, std::string("cannot reset the temporary file: ") + std::strerror(errno));
    std::rewind(f_);
    entries_ = 0;
  }
  void add(const std::string& s) {
    if (std::fwrite(s.data(), 1, s.size(), f_) != s.size())
      fail(exit_usage, std::string("cannot write the temporary file of records: ") + std::strerror(errno));
    ++entries_;
  }
  std::uint64_t entries() const { return entries_; }
  void copy_to(std::FILE* out) {
    std::fflush(f_);
    std::rewind(f_);
    std::vector<char> buf(std::size_t{1} << 20);
    for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), f_)) > 0;) std::fwrite(buf.data(), 1, n, out);
  }

private:
  std::FILE* f_;
  std::uint64_t entries_ = 0;
};

void print_text(const cma::replay_report& r, const std::vector<input_file>& files, const replay_args& a, spool* ops,
                const std::vector<std::pair<std::uint64_t, std::string>>& context) {
  const auto out = [](const std::string& s) { std::fputs((safe(s) + "\n").c_str(), stdout); };
  std::string head = "cmasim replay:";
  for (const auto& f : files) head += " " + f.name;
  out(head);
  out(fmt::format("kernel {}{}{}", r.kernel, r.kernel_release.empty() ? "" : " (" + r.kernel_release + ")",
                  r.kernel_assumed ? " [assumed]" : ""));
  if (r.area_known)
    out(fmt::format("area {}: base_pfn {:#x}, {} pages ({} MiB), order_per_bit {}, from {}", r.area_name, r.base_pfn, r.count,
                    r.count >> 8, r.order_per_bit, r.area_source));
  else
    out("area: none found");
  for (std::size_t i = 1; i < r.areas.size(); ++i) { // the others, each with its own operations
    const auto& x = r.areas[i];
    out(fmt::format("area {}: base_pfn {:#x}, {} pages ({} MiB), order_per_bit {}, from {}", x.name, x.base_pfn, x.count,
                    x.count >> 8, x.order_per_bit, x.source));
  }
  if (r.areas.size() > 1)
    for (const auto& x : r.areas)
      out(fmt::format("  {}: {} operations, {} matched, {} diverged, {} inferred; at the end {} pages used, {} free, "
                      "largest free run {}",
                      x.name, x.op_count(), x.verdicts[0], x.verdicts[1], x.verdicts[2], x.used, x.free, x.maxchunk));
  if (r.mid_stream) out("log starts mid-stream: what had to be assumed is marked inferred");
  for (const auto& n : r.notes) out("note: " + n);
  out(fmt::format("operations: {} seen, {} matched, {} diverged, {} inferred, {} unchecked", r.op_count(),
                  r.count_of(cma::verdict::matched), r.count_of(cma::verdict::diverged), r.count_of(cma::verdict::inferred),
                  r.count_of(cma::verdict::unchecked)));
  out(fmt::format("state checks: {} passed, {} failed", r.checks.size() - r.failed_checks(), r.failed_checks()));
  out(fmt::format("lines: {} read, {} about CMA, {} not understood", r.lines, r.cma_lines, r.unrecognised_total));
  if (a.verbose && ops) {
    std::fflush(stdout);
    ops->copy_to(stdout);
  }
  if (const auto& d = r.first_diverged) {
    const auto& o = *d;
    out(fmt::format("first divergence: {} {}: {}", where(files, o.where), describe(o), o.note));
    out("  kernel: " + outcome(o.observed_ok, o.observed_pfn, o.observed_err, o.observed_busy));
    out("  model:  " + outcome(o.predicted_ok, o.predicted_pfn, o.predicted_err, o.predicted_busy));
    for (const auto& [no, text] : context) {
      std::string_view t(text);
      if (!t.empty() && t.back() == '\r') t.remove_suffix(1);
      out(fmt::format("  {} {:>6} | {}", no == o.where.line ? ">" : " ", no, t));
    }
  } else {
    out("first divergence: none");
  }
  for (const auto& c : r.checks)
    if (!c.ok) out(fmt::format("check failed: {} at {}: {}", c.what, where(files, c.where), c.detail));
  const bool log_failures = !r.field.failures.empty() && r.op_count() == 0;
  if (r.area_known && log_failures) {
    out("occupancy: unknown (the log has failure lines but no operations to rebuild the area from)");
  } else if (r.area_known) {
    out(fmt::format("occupancy: {} pages used, {} free, largest free run {} pages, {} free runs", r.used, r.free, r.maxchunk,
                    r.free_runs.size()));
    for (const auto& l : r.show_areas_text) out("  " + l);
  }
  if (log_failures) { // the failure lines themselves, with their causes (as `cmasim diagnose` gives them)
    out(fmt::format("failed allocations in the log ({} failure lines; `cmasim diagnose` for the whole report):",
                    r.field.failures_total));
    auto d = cma::diagnose::diagnose(r);
    std::erase_if(d.findings, [](const cma::diagnose::finding& f) {
      return f.c == cma::diagnose::cause::reservation_failed || f.c == cma::diagnose::cause::cmdline_overrides_dt ||
             f.c == cma::diagnose::cause::busy_retries || f.c == cma::diagnose::cause::driver_failure;
    });
    d.notes.clear();
    for (const auto& l : diagnosis_text(d, [&](unsigned i) { return i < files.size() ? files[i].name : "?"; }, false))
      out("  " + l);
  }
  std::size_t nfail = 0;
  for (const auto& o : r.failed_allocations()) {
    if (nfail++ == 0) out("failed allocations:");
    // several areas (hugetlb, DT, per-node): say whose; a node area's failure goes on to the default area
    out(fmt::format("  {} {}{} pages align {}: {}{}", where(files, o.where), r.areas.size() > 1 ? o.area + ": " : "", o.count, o.align,
                    o.observed_err ? fmt::format("{} ({}) — ", *o.observed_err, cma::errno_name(*o.observed_err)) : "",
                    o.failure_reason.empty() ? "failed" : o.failure_reason));
  }
  if (r.ops_not_kept > 0)
    out(fmt::format("  … and {} more operations that failed or did not match (only the first {} are kept)", r.ops_not_kept,
                    r.ops.size()));
  if (r.unrecognised_total > 0) {
    out(fmt::format("not understood ({} lines that mention CMA):", r.unrecognised_total));
    for (const auto& u : r.unrecognised)
      out(fmt::format("  {}:{}: {} — {}", u.file < files.size() ? files[u.file].name : "?", u.line, u.text, u.why));
    if (r.unrecognised_total > r.unrecognised.size())
      out(fmt::format("  … and {} more (only the first {} are kept)", r.unrecognised_total - r.unrecognised.size(),
                      r.unrecognised.size()));
  }
}

// The document as schema 1 has it: nlohmann's dump of the whole object, with the
// records (spooled as they were made) spliced in where "ops" goes.
void print_json(const cma::replay_report& r, const std::vector<input_file>& files, spool& ops) {
  using nlohmann::json;
  json j;
  j["schema"] = cma::replay_report::schema_version;
  j["inputs"] = json::array();
  for (const auto& f : files) j["inputs"].push_back(f.name);
  j["kernel"] = {{"series", r.kernel}, {"release", r.kernel_release}, {"assumed", r.kernel_assumed}};
  j["area"] = {{"known", r.area_known}, {"source", r.area_source}, {"name", r.area_name}, {"base_pfn", r.base_pfn},
               {"count", r.count}, {"order_per_bit", r.order_per_bit}};
  j["areas"] = json::array(); // every area replayed, the default one (j["area"]) first
  for (const auto& x : r.areas)
    j["areas"].push_back({{"name", x.name},
                          {"source", x.source.empty() ? r.area_source : x.source},
                          {"base_pfn", x.base_pfn},
                          {"count", x.count},
                          {"order_per_bit", x.order_per_bit},
                          {"ops", x.op_count()},
                          {"matched", x.verdicts[0]},
                          {"diverged", x.verdicts[1]},
                          {"inferred", x.verdicts[2]},
                          {"used", x.used},
                          {"free", x.free},
                          {"maxchunk", x.maxchunk}});
  j["mid_stream"] = r.mid_stream;
  j["summary"] = {{"ops", r.op_count()},
                  {"matched", r.count_of(cma::verdict::matched)},
                  {"diverged", r.count_of(cma::verdict::diverged)},
                  {"inferred", r.count_of(cma::verdict::inferred)},
                  {"unchecked", r.count_of(cma::verdict::unchecked)},
                  {"checks_passed", r.checks.size() - r.failed_checks()},
                  {"checks_failed", r.failed_checks()},
                  {"lines", r.lines},
                  {"cma_lines", r.cma_lines},
                  {"not_understood", r.unrecognised_total}};
  j["first_divergence"] = r.first_diverged ? json(r.first_diverged->seq) : json(nullptr);
  j["ops"] = json::array();
  j["checks"] = json::array();
  for (const auto& c : r.checks)
    j["checks"].push_back({{"what", c.what}, {"ok", c.ok}, {"where", source_json(c.where, files)}, {"detail", c.detail}});
  j["not_understood"] = json::array();
  for (const auto& u : r.unrecognised)
    j["not_understood"].push_back({{"file", u.file < files.size() ? files[u.file].name : "?"}, {"line", u.line}, {"text", u.text}, {"why", u.why}});
  j["notes"] = r.notes;
  json runs = json::array();
  for (const auto& fr : r.free_runs) runs.push_back({{"range", fr.range}, {"bitmap_no", fr.bitmap_no}, {"pfn", fr.pfn}, {"pages", fr.pages}});
  j["occupancy"] = {{"used", r.used}, {"free", r.free}, {"available_count", r.available_count}, {"maxchunk", r.maxchunk},
                    {"free_runs", runs}, {"show_areas", r.show_areas_text}};
  const std::string doc = dump(j, 2);
  const std::string slot = "\n  \"ops\": []";
  const auto at = doc.find(slot);
  if (at == std::string::npos || ops.entries() == 0) {
    std::fputs((doc + "\n").c_str(), stdout);
    return;
  }
  std::fwrite(doc.data(), 1, at, stdout);
  std::fputs("\n  \"ops\": [\n", stdout);
  std::fflush(stdout);
  ops.copy_to(stdout);
  std::fputs("\n  ]", stdout);
  std::fputs((doc.substr(at + slot.size()) + "\n").c_str(), stdout);
}

// One record as it sits in the document's "ops" array: indented by four spaces.
std::string json_entry(const cma::op_record& o, const std::vector<input_file>& files, bool first) {
  const std::string one = dump(op_json(o, files), 2);
  std::string s = first ? "    " : ",\n    ";
  for (char c : one) {
    s += c;
    if (c == '\n') s += "    ";
  }
  return s;
}

// Every input through one replayer.  A streamed replay that met a line it could only
// judge against a state already passed (a later file printed it earlier, e.g. dmesg.txt
// given after trace.txt with --area and --kernel) runs again with nothing streamed.
cma::replay_report replay_all(std::vector<input_file>& files, cma::replay_options opt, spool* ops, const replay_args& a,
                              std::vector<std::pair<std::uint64_t, std::string>>& context) {
  for (;;) {
    if (ops) {
      ops->reset();
      opt.on_op = [&](const cma::op_record& o) {
        ops->add(a.json ? json_entry(o, files, ops->entries() == 0) : verbose_line(o, files));
      };
    }
    context_catcher ctx(a.context);
    cma::replayer replayer(opt);
    {
      progress shown;
      for (unsigned i = 0; i < files.size(); ++i) stream(files[i], i, replayer, shown, ctx);
    }
    auto report = std::move(replayer).finish();
    if (!report.needs_batch_replay || !opt.stream) {
      if (report.first_diverged) {
        const auto& w = report.first_diverged->where;
        const bool caught = ctx.done() && ctx.where().file == w.file && ctx.where().line == w.line;
        context = caught ? ctx.lines() : context_again(files, w, a.context);
      }
      return report;
    }
    opt.stream = false;
  }
}

} // namespace

replayed_inputs replay_inputs(const std::vector<std::string>& inputs, const std::string& kernel, const std::string& cmd) {
  return replay_inputs_each(inputs, kernel, cmd, {});
}

// For `cmasim plan` and `map` (replay_inputs.hpp): every record to on_op (none when it is
// empty).  Streamed like `replay`; when the replay has to start over in batch, the records
// come again from seq 0.
replayed_inputs replay_inputs_each(const std::vector<std::string>& inputs, const std::string& kernel, const std::string& cmd,
                                   const std::function<void(const cma::op_record&)>& on_op) {
  command_name = cmd;
  auto files = resolve(inputs);
  cma::replay_options opt;
  opt.keep_matched = false;
  opt.on_op = on_op;
  if (!kernel.empty()) {
    opt.kernel = cma::kernel_version::parse(kernel);
    if (!opt.kernel) fail(exit_usage, "--kernel: expected a version like 6.1 or 6.12.57, got '" + safe(kernel) + "'");
  }
  replay_args a;
  a.context = 0;
  std::vector<std::pair<std::uint64_t, std::string>> context;
  replayed_inputs out{replay_all(files, opt, nullptr, a, context), {}};
  for (const auto& f : files) out.names.push_back(f.name);
  return out;
}

namespace {

void run(const replay_args& a) {
  if (a.context < 0 || a.context > 1000) fail(exit_usage, fmt::format("--context: expected 0 to 1000 lines, got {}", a.context));
  auto files = resolve(a.inputs);
  cma::replay_options opt;
  opt.mid_stream = a.mid_stream;
  opt.keep_matched = false;
  if (!a.kernel.empty()) {
    opt.kernel = cma::kernel_version::parse(a.kernel);
    if (!opt.kernel) fail(exit_usage, "--kernel: expected a version like 6.1 or 6.12.57, got '" + safe(a.kernel) + "'");
  }
  parse_areas(a.areas, opt);
  std::unique_ptr<spool> ops;
  if (a.verbose || a.json) ops = std::make_unique<spool>();
  std::vector<std::pair<std::uint64_t, std::string>> context;
  const auto report = replay_all(files, opt, ops.get(), a, context);
  if (a.json) print_json(report, files, *ops);
  else print_text(report, files, a, ops.get(), context);
  finish_output("replay");
  if (a.strict && report.unrecognised_total > 0) {
    std::string first;
    for (std::size_t i = 0; i < report.unrecognised.size() && i < 3; ++i)
      first += fmt::format("{}{}:{} ({})", i ? ", " : "", files[report.unrecognised[i].file].name, report.unrecognised[i].line,
                           report.unrecognised[i].why);
    fail(exit_usage, safe(fmt::format("--strict: {} line(s) mention CMA but were not understood, first at {}",
                                      report.unrecognised_total, first)));
  }
  if (report.area_source == "refused")
    fail(exit_usage, "the area the input declares could not exist in a kernel (see the note above): nothing was replayed");
  if (report.ops_without_area)
    fail(exit_usage, "the input has CMA operations but no area to replay them against: give --area name=…,base=…,size=… "
                     "(and --kernel), or add the boot log with its 'cma: Reserved' line");
  if (!report.all_matched()) throw CLI::RuntimeError(exit_diverged);
}

} // namespace

void add_replay_command(CLI::App& app) {
  auto a = std::make_shared<replay_args>();
  auto* sub = app.add_subcommand("replay", "Replay a kernel log/trace through the model and report every divergence");
  sub->add_option("inputs", a->inputs, "log files, trace folders, or - for stdin")->required();
  sub->add_option("--area", a->areas,
                  "name=reserved,base=0x…,size=64M[,order_per_bit=N] when the log has no boot lines; again for each "
                  "more area (the first is the default area)")
      ->allow_extra_args(false);
  sub->add_option("--kernel", a->kernel, "kernel version to model (default: from the banner)");
  sub->add_flag("--strict", a->strict, "lines that mention CMA but are not understood are an error");
  sub->add_flag("-v,--verbose", a->verbose, "print every operation");
  sub->add_flag("--json", a->json, "print the report as one JSON document (schema 1)");
  sub->add_flag("--mid-stream", a->mid_stream, "the log starts mid-stream: adopt what cannot be checked");
  sub->add_option("--context", a->context, "lines of context around the first divergence (0–1000)")->capture_default_str();
  sub->callback([a] { run(*a); });
}

} // namespace cmasim
