// sim/cmd_replay.cpp — `cmasim replay LOG…`: stream each file, block by block, through
// cma::formats::log_reader into a cma::replayer, print the report (text or JSON).
// On a TTY, stderr shows how far the reading has got.
#include "commands.hpp"

#include <cma/replay/replay.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace cmasim {
namespace {

namespace fs = std::filesystem;

// An input is streamed from disk and not kept: only the first divergence's context
// lines are read again, from `path`.  stdin cannot be read twice: its text is kept.
struct input_file {
  std::string name;
  std::string path; ///< empty for stdin
  std::string text; ///< stdin only
};

struct replay_args {
  std::vector<std::string> inputs;
  std::string area, kernel;
  bool strict = false, verbose = false, json = false, mid_stream = false;
  int context = 3;
};

[[noreturn]] void fail(int code, const std::string& msg) {
  std::fprintf(stderr, "cmasim replay: %s\n", msg.c_str());
  throw CLI::RuntimeError(code);
}

// Checked before anything is replayed, so a bad path fails fast (exit 2, no report).
void add_file(std::vector<input_file>& out, const fs::path& p, bool in_folder) {
  std::ifstream in(p, std::ios::binary);
  if (!in && in_folder) fail(exit_usage, p.string() + ": cannot read");
  if (!in) fail(exit_usage, p.string() + ": cannot open (" + std::string(std::strerror(errno)) + ")");
  out.push_back({p.string(), p.string(), {}});
}

// A trace folder (../shared/traces layout) contributes dmesg.txt, steps.txt and trace.txt,
// in that order: with the boot lines read first, the trace is replayed as it is read
// (cma::replayer streams it) instead of being kept until the end.
std::vector<input_file> resolve(const std::vector<std::string>& args) {
  std::vector<input_file> out;
  for (const auto& a : args) {
    if (a == "-") {
      out.push_back({"<stdin>", {}, {}});
      continue;
    }
    std::error_code ec;
    if (fs::is_directory(a, ec)) {
      const auto before = out.size();
      for (const char* f : {"dmesg.txt", "steps.txt", "trace.txt"})
        if (fs::exists(fs::path(a) / f)) add_file(out, fs::path(a) / f, true);
      if (out.size() == before) fail(exit_usage, a + ": a folder must hold trace.txt, dmesg.txt or steps.txt");
      continue;
    }
    add_file(out, a, false);
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
    if (total > 0) std::fprintf(stderr, "\r\033[Kreading %s: %llu of %llu MiB", f.name.c_str(), mib(bytes), mib(total));
    else std::fprintf(stderr, "\r\033[Kreading %s: %llu MiB", f.name.c_str(), mib(bytes));
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

// Streams one input through the replayer in 1 MiB blocks: each line's events reach the
// replayer as the block holding it is read; neither the text nor the events are kept
// (stdin's text is, for a second pass: see replay_all).
void stream(input_file& f, unsigned index, cma::replayer& replayer, progress& shown, bool again) {
  if (again && f.path.empty()) {
    cma::formats::log_reader reader(index, replayer);
    reader.feed(f.text);
    replayer.end_input(reader.finish());
    return;
  }
  std::FILE* in = f.path.empty() ? stdin : std::fopen(f.path.c_str(), "rb");
  if (!in) fail(exit_usage, f.path + ": cannot open (" + std::string(std::strerror(errno)) + ")");
  std::error_code ec;
  const std::uint64_t total = f.path.empty() ? 0 : static_cast<std::uint64_t>(fs::file_size(f.path, ec));
  cma::formats::log_reader reader(index, replayer);
  std::vector<char> block(std::size_t{1} << 20);
  std::uint64_t bytes = 0;
  for (std::size_t n; (n = std::fread(block.data(), 1, block.size(), in)) > 0;) {
    const std::string_view piece(block.data(), n);
    if (f.path.empty()) f.text.append(piece);
    reader.feed(piece);
    bytes += n;
    shown.show(f, bytes, ec ? 0 : total);
  }
  if (in != stdin) std::fclose(in);
  replayer.end_input(reader.finish());
}

// --area name=reserved,base=0x76c00000,size=64M[,order_per_bit=N]
cma::area_spec parse_area(const std::string& s) {
  cma::area_spec a;
  bool have_base = false, have_size = false;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto eq = item.find('=');
    if (eq == std::string::npos) fail(exit_usage, "--area: expected key=value, got '" + item + "'");
    const std::string k = item.substr(0, eq), v = item.substr(eq + 1);
    const auto number = [&](const std::string& what) {
      std::size_t used = 0;
      unsigned long long n = 0;
      try {
        n = std::stoull(v, &used, 0);
      } catch (...) {
        fail(exit_usage, "--area " + what + ": expected a number, got '" + v + "'");
      }
      std::string suffix = v.substr(used);
      const int shift = suffix == "" ? 0 : suffix == "K" || suffix == "k" ? 10 : suffix == "M" || suffix == "m" ? 20
                                          : suffix == "G" || suffix == "g" ? 30 : -1;
      if (shift < 0) fail(exit_usage, "--area " + what + ": unknown suffix '" + suffix + "' (K, M or G)");
      return static_cast<std::uint64_t>(n) << shift;
    };
    if (k == "name") a.name = v;
    else if (k == "base") a.base = number("base"), have_base = true;
    else if (k == "size") a.size = number("size"), have_size = true;
    else if (k == "order_per_bit") a.order_per_bit = static_cast<unsigned>(number("order_per_bit"));
    else fail(exit_usage, "--area: unknown key '" + k + "' (name, base, size, order_per_bit)");
  }
  if (!have_base || !have_size) fail(exit_usage, "--area needs base= and size=");
  if (a.size < cma::page_size || a.order_per_bit > 20) fail(exit_usage, "--area: size below one page or order_per_bit > 20");
  return a;
}

std::string where(const std::vector<input_file>& files, const cma::ev::source& s) {
  return fmt::format("{}:{}", s.file < files.size() ? files[s.file].name : "?", s.line);
}

std::vector<std::string> context_lines(const std::vector<input_file>& files, const cma::ev::source& s, int n) {
  std::vector<std::string> out;
  if (s.file >= files.size()) return out;
  const auto& f = files[s.file];
  std::ifstream file;
  std::istringstream text;
  if (f.path.empty()) text.str(f.text);
  else file.open(f.path, std::ios::binary);
  std::istream& in = f.path.empty() ? static_cast<std::istream&>(text) : file;
  std::string line;
  for (std::uint64_t i = 1; std::getline(in, line); ++i) {
    if (i + static_cast<std::uint64_t>(n) < s.line) continue;
    if (i > s.line + static_cast<std::uint64_t>(n)) break;
    out.push_back(fmt::format("{} {:>6} | {}", i == s.line ? ">" : " ", i, line));
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

void print_text(const cma::replay_report& r, const std::vector<input_file>& files, const replay_args& a) {
  fmt::print("cmasim replay:");
  for (const auto& f : files) fmt::print(" {}", f.name);
  fmt::print("\nkernel {}{}{}\n", r.kernel, r.kernel_release.empty() ? "" : " (" + r.kernel_release + ")",
             r.kernel_assumed ? " [assumed]" : "");
  if (r.area_known)
    fmt::print("area {}: base_pfn {:#x}, {} pages ({} MiB), order_per_bit {}, from {}\n", r.area_name, r.base_pfn, r.count,
               r.count >> 8, r.order_per_bit, r.area_source);
  else
    fmt::print("area: none found\n");
  if (r.mid_stream) fmt::print("log starts mid-stream: what had to be assumed is marked inferred\n");
  for (const auto& n : r.notes) fmt::print("note: {}\n", n);
  fmt::print("operations: {} seen, {} matched, {} diverged, {} inferred, {} unchecked\n", r.op_count(),
             r.count_of(cma::verdict::matched), r.count_of(cma::verdict::diverged), r.count_of(cma::verdict::inferred),
             r.count_of(cma::verdict::unchecked));
  fmt::print("state checks: {} passed, {} failed\n", r.checks.size() - r.failed_checks(), r.failed_checks());
  fmt::print("lines: {} read, {} about CMA, {} not understood\n", r.lines, r.cma_lines, r.unrecognised.size());
  if (a.verbose)
    for (const auto& o : r.ops)
      fmt::print("  {:<9} {:<28} {:<44} kernel: {} | model: {}{}\n", cma::to_string(o.result), where(files, o.where),
                 describe(o), outcome(o.observed_ok, o.observed_pfn, o.observed_err, o.observed_busy),
                 outcome(o.predicted_ok, o.predicted_pfn, o.predicted_err, o.predicted_busy),
                 o.note.empty() ? "" : " — " + o.note);
  if (auto d = r.first_divergence()) {
    const auto& o = r.ops[*d];
    fmt::print("first divergence: {} {}: {}\n  kernel: {}\n  model:  {}\n", where(files, o.where), describe(o), o.note,
               outcome(o.observed_ok, o.observed_pfn, o.observed_err, o.observed_busy),
               outcome(o.predicted_ok, o.predicted_pfn, o.predicted_err, o.predicted_busy));
    for (const auto& l : context_lines(files, o.where, a.context)) fmt::print("  {}\n", l);
  } else {
    fmt::print("first divergence: none\n");
  }
  for (const auto& c : r.checks)
    if (!c.ok) fmt::print("check failed: {} at {}: {}\n", c.what, where(files, c.where), c.detail);
  if (r.area_known) {
    fmt::print("occupancy: {} pages used, {} free, largest free run {} pages, {} free runs\n", r.used, r.free, r.maxchunk,
               r.free_runs.size());
    for (const auto& l : r.show_areas_text) fmt::print("  {}\n", l);
  }
  std::size_t nfail = 0;
  for (const auto& o : r.failed_allocations()) {
    if (nfail++ == 0) fmt::print("failed allocations:\n");
    fmt::print("  {} {} pages align {}: {}{}\n", where(files, o.where), o.count, o.align,
               o.observed_err ? fmt::format("{} ({}) — ", *o.observed_err, cma::errno_name(*o.observed_err)) : "",
               o.failure_reason.empty() ? "failed" : o.failure_reason);
  }
  if (!r.unrecognised.empty()) {
    fmt::print("not understood ({} lines that mention CMA):\n", r.unrecognised.size());
    for (const auto& u : r.unrecognised)
      fmt::print("  {}:{}: {} — {}\n", u.file < files.size() ? files[u.file].name : "?", u.line, u.text, u.why);
  }
}

nlohmann::json to_json(const cma::replay_report& r, const std::vector<input_file>& files) {
  using nlohmann::json;
  const auto src = [&](const cma::ev::source& s) {
    json j{{"file", s.file < files.size() ? files[s.file].name : "?"}, {"line", s.line}};
    if (s.time) j["time"] = *s.time;
    return j;
  };
  json j;
  j["schema"] = cma::replay_report::schema_version;
  j["inputs"] = json::array();
  for (const auto& f : files) j["inputs"].push_back(f.name);
  j["kernel"] = {{"series", r.kernel}, {"release", r.kernel_release}, {"assumed", r.kernel_assumed}};
  j["area"] = {{"known", r.area_known}, {"source", r.area_source}, {"name", r.area_name}, {"base_pfn", r.base_pfn},
               {"count", r.count}, {"order_per_bit", r.order_per_bit}};
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
                  {"not_understood", r.unrecognised.size()}};
  j["first_divergence"] = r.first_divergence() ? json(*r.first_divergence()) : json(nullptr);
  j["ops"] = json::array();
  for (const auto& o : r.ops) {
    json op{{"kind", o.kind == cma::op_kind::alloc ? "alloc" : "release"},
            {"result", cma::to_string(o.result)},
            {"where", src(o.where)},
            {"area", o.area},
            {"count", o.count},
            {"align", o.align},
            {"observed", {{"ok", o.observed_ok}, {"pfn", o.observed_pfn ? json(*o.observed_pfn) : json(nullptr)},
                          {"err", o.observed_err ? json(*o.observed_err) : json(nullptr)}, {"busy", o.observed_busy}}},
            {"predicted", {{"ok", o.predicted_ok}, {"pfn", o.predicted_pfn}, {"err", o.predicted_err}, {"busy", o.predicted_busy}}},
            {"note", o.note}};
    if (o.also_reported) op["also_reported"] = src(*o.also_reported);
    if (!o.failure_reason.empty()) op["failure_reason"] = o.failure_reason;
    j["ops"].push_back(std::move(op));
  }
  j["checks"] = json::array();
  for (const auto& c : r.checks) j["checks"].push_back({{"what", c.what}, {"ok", c.ok}, {"where", src(c.where)}, {"detail", c.detail}});
  j["not_understood"] = json::array();
  for (const auto& u : r.unrecognised)
    j["not_understood"].push_back({{"file", u.file < files.size() ? files[u.file].name : "?"}, {"line", u.line}, {"text", u.text}, {"why", u.why}});
  j["notes"] = r.notes;
  json runs = json::array();
  for (const auto& fr : r.free_runs) runs.push_back({{"range", fr.range}, {"bitmap_no", fr.bitmap_no}, {"pfn", fr.pfn}, {"pages", fr.pages}});
  j["occupancy"] = {{"used", r.used}, {"free", r.free}, {"available_count", r.available_count}, {"maxchunk", r.maxchunk},
                    {"free_runs", runs}, {"show_areas", r.show_areas_text}};
  return j;
}

// Every input through one replayer.  A streamed replay that met a line it could only
// judge against a state already passed (a later file printed it earlier, e.g. dmesg.txt
// given after trace.txt with --area and --kernel) runs again with nothing streamed.
cma::replay_report replay_all(std::vector<input_file>& files, cma::replay_options opt) {
  for (bool again = false;; again = true) {
    cma::replayer replayer(opt);
    {
      progress shown;
      for (unsigned i = 0; i < files.size(); ++i) stream(files[i], i, replayer, shown, again);
    }
    auto report = std::move(replayer).finish();
    if (!report.needs_batch_replay || !opt.stream) return report;
    opt.stream = false;
  }
}

void run(const replay_args& a) {
  auto files = resolve(a.inputs);
  cma::replay_options opt;
  opt.mid_stream = a.mid_stream;
  opt.keep_matched = a.verbose || a.json;
  if (!a.kernel.empty()) {
    opt.kernel = cma::kernel_version::parse(a.kernel);
    if (!opt.kernel) fail(exit_usage, "--kernel: expected a version like 6.1, got '" + a.kernel + "'");
  }
  if (!a.area.empty()) opt.area = parse_area(a.area);
  const auto report = replay_all(files, opt);
  // Unrecognised lines are quoted as read, and logs hold any bytes: invalid UTF-8 is
  // written as U+FFFD rather than aborting the dump (nlohmann's default is to throw).
  if (a.json) std::cout << to_json(report, files).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  else print_text(report, files, a);
  if (a.strict && !report.unrecognised.empty())
    fail(exit_usage, fmt::format("--strict: {} line(s) mention CMA but were not understood", report.unrecognised.size()));
  if (!report.area_known && report.op_count() > 0) fail(exit_usage, "no CMA area to replay against: give --area");
  if (!report.all_matched()) throw CLI::RuntimeError(exit_diverged);
}

} // namespace

void add_replay_command(CLI::App& app) {
  auto a = std::make_shared<replay_args>();
  auto* sub = app.add_subcommand("replay", "Replay a kernel log/trace through the model and report every divergence");
  sub->add_option("inputs", a->inputs, "log files, trace folders, or - for stdin")->required();
  sub->add_option("--area", a->area, "name=reserved,base=0x…,size=64M[,order_per_bit=N] when the log has no boot lines");
  sub->add_option("--kernel", a->kernel, "kernel version to model (default: from the banner)");
  sub->add_flag("--strict", a->strict, "lines that mention CMA but are not understood are an error");
  sub->add_flag("-v,--verbose", a->verbose, "print every operation");
  sub->add_flag("--json", a->json, "print the report as one JSON document (schema 1)");
  sub->add_flag("--mid-stream", a->mid_stream, "the log starts mid-stream: adopt what cannot be checked");
  sub->add_option("--context", a->context, "lines of context around the first divergence")->capture_default_str();
  sub->callback([a] { run(*a); });
}

} // namespace cmasim
