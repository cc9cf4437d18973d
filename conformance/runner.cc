#include "conformance/runner.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>

namespace bpfemu::conformance {

std::string describe_step(const Step& s) {
  std::string d = s.call + " -> " + std::to_string(s.ret);
  if (s.ret < 0) d += std::string(" (") + (s.err == 524 ? "ENOTSUPP" : strerrorname_np(s.err) ? strerrorname_np(s.err) : "?") + ")";
  if (!s.out.empty()) d += " out=" + s.out;
  return d;
}

std::string diff_steps(const std::vector<Step>& emu, const std::vector<Step>& kernel) {
  size_t n = std::max(emu.size(), kernel.size());
  for (size_t i = 0; i < n; ++i) {
    if (i >= emu.size()) return "step " + std::to_string(i) + ": emulator stopped; kernel: " + describe_step(kernel[i]);
    if (i >= kernel.size()) return "step " + std::to_string(i) + ": kernel stopped; emulator: " + describe_step(emu[i]);
    const Step& a = emu[i];
    const Step& b = kernel[i];
    if (a.call != b.call || a.ret != b.ret || (a.ret < 0 && a.err != b.err) || a.out != b.out)
      return "step " + std::to_string(i) + ": emulator: " + describe_step(a) + " | kernel: " + describe_step(b);
  }
  return "";
}

static std::vector<Step> record_on(Backend& b, const Scenario& s) {
  Recorder r(b);
  s.body(r);
  return r.steps();
}

std::vector<Row> run_scenarios(const std::vector<Scenario>& scenarios, const RunConfig& cfg) {
  std::vector<Row> rows;
  for (const Scenario& s : scenarios) {
    if (!cfg.types.empty() && cfg.types.count(s.type) == 0) continue;
    if (!cfg.name_filter.empty() && s.name.find(cfg.name_filter) == std::string::npos) continue;
    Row row{s.type, s.op, s.name, cfg.kernel_label, "not_run", ""};
    std::vector<Step> emu_steps, kernel_steps;
    if (cfg.emu != nullptr) emu_steps = record_on(*cfg.emu, s);
    if (cfg.kernel != nullptr) kernel_steps = record_on(*cfg.kernel, s);
    if (cfg.emu != nullptr && cfg.kernel != nullptr) {
      row.detail = diff_steps(emu_steps, kernel_steps);
      row.status = row.detail.empty() ? "matches" : "differs";
      if (row.detail.empty()) row.detail = std::to_string(emu_steps.size()) + " steps equal";
      if (cfg.verbose && row.status == "differs") {
        fprintf(stderr, "== %s/%s/%s differs\n", s.type.c_str(), s.op.c_str(), s.name.c_str());
        for (size_t i = 0; i < std::max(emu_steps.size(), kernel_steps.size()); ++i) {
          fprintf(stderr, "  [%zu] emu:    %s\n", i, i < emu_steps.size() ? describe_step(emu_steps[i]).c_str() : "-");
          fprintf(stderr, "  [%zu] kernel: %s\n", i,
                  i < kernel_steps.size() ? describe_step(kernel_steps[i]).c_str() : "-");
        }
      }
    } else {
      row.detail = cfg.not_run_reason.empty() ? "only one backend ran" : cfg.not_run_reason;
      if (cfg.verbose) {
        const auto& steps = cfg.emu != nullptr ? emu_steps : kernel_steps;
        fprintf(stderr, "== %s/%s/%s (%s only)\n", s.type.c_str(), s.op.c_str(), s.name.c_str(),
                cfg.emu != nullptr ? "emu" : "kernel");
        for (const auto& st : steps) fprintf(stderr, "  %s\n", describe_step(st).c_str());
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string render_table(const std::vector<Row>& rows) {
  struct Cell {
    int matches = 0, differs = 0, not_run = 0;
  };
  std::map<std::pair<std::string, std::string>, Cell> cells;
  std::map<std::string, int> type_order;
  for (const Row& r : rows) {
    Cell& c = cells[{r.type, r.op}];
    if (r.status == "matches") ++c.matches;
    else if (r.status == "differs") ++c.differs;
    else ++c.not_run;
  }
  std::ostringstream out;
  char line[256];
  snprintf(line, sizeof(line), "%-18s %-26s %-10s %s\n", "map type", "operation", "scenarios", "result");
  out << line << std::string(72, '-') << "\n";
  int total_m = 0, total_d = 0, total_n = 0;
  for (const auto& [key, c] : cells) {
    std::string result;
    if (c.differs) result = "DIFFERS (" + std::to_string(c.differs) + ")";
    else if (c.not_run) result = c.matches ? "partly not run" : "not run";
    else result = "matches";
    snprintf(line, sizeof(line), "%-18s %-26s %-10d %s\n", key.first.c_str(), key.second.c_str(),
             c.matches + c.differs + c.not_run, result.c_str());
    out << line;
    total_m += c.matches;
    total_d += c.differs;
    total_n += c.not_run;
  }
  out << std::string(72, '-') << "\n";
  out << "scenarios: " << rows.size() << "  matches: " << total_m << "  differs: " << total_d
      << "  not run: " << total_n;
  if (!rows.empty()) out << "  (kernel: " << rows.front().kernel << ")";
  out << "\n";
  for (const Row& r : rows)
    if (r.status == "differs") out << "  DIFFERS " << r.type << "/" << r.op << "/" << r.name << ": " << r.detail << "\n";
  return out.str();
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\t': o += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          snprintf(buf, sizeof(buf), "\\u%04x", c);
          o += buf;
        } else {
          o += c;
        }
    }
  }
  return o;
}

std::string render_json(const std::vector<Row>& rows) {
  std::ostringstream out;
  out << "{\"rows\": [";
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    out << (i ? ",\n  " : "\n  ") << "{\"type\": \"" << json_escape(r.type) << "\", \"op\": \"" << json_escape(r.op)
        << "\", \"case\": \"" << json_escape(r.name) << "\", \"kernel\": \"" << json_escape(r.kernel)
        << "\", \"status\": \"" << r.status << "\", \"detail\": \"" << json_escape(r.detail) << "\"}";
  }
  out << "\n]}\n";
  return out.str();
}

namespace {

// A minimal JSON reader for render_json() documents: objects, arrays, strings
// (with the escapes json_escape writes, plus \/ \b \f \r and \uXXXX below
// 0x80), and bare scalars (numbers, true, false, null), which are skipped.
struct JsonReader {
  const std::string& t;
  size_t i = 0;
  std::string err;

  void ws() {
    while (i < t.size() && (t[i] == ' ' || t[i] == '\n' || t[i] == '\r' || t[i] == '\t')) ++i;
  }
  bool fail(const std::string& what) {
    if (err.empty()) err = what + " at offset " + std::to_string(i);
    return false;
  }
  bool eat(char c) {
    ws();
    if (i < t.size() && t[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  bool str(std::string* out) {
    ws();
    if (i >= t.size() || t[i] != '"') return fail("expected a string");
    ++i;
    out->clear();
    while (i < t.size() && t[i] != '"') {
      char c = t[i++];
      if (c != '\\') {
        *out += c;
        continue;
      }
      if (i >= t.size()) break;
      char e = t[i++];
      switch (e) {
        case 'n': *out += '\n'; break;
        case 't': *out += '\t'; break;
        case 'r': *out += '\r'; break;
        case 'b': *out += '\b'; break;
        case 'f': *out += '\f'; break;
        case 'u': {
          if (i + 4 > t.size()) return fail("short \\u escape");
          unsigned v = static_cast<unsigned>(strtoul(t.substr(i, 4).c_str(), nullptr, 16));
          i += 4;
          *out += static_cast<char>(v < 0x80 ? v : '?');
          break;
        }
        default: *out += e; break;
      }
    }
    if (i >= t.size()) return fail("unterminated string");
    ++i;
    return true;
  }
  // Skips any value.
  bool skip() {
    ws();
    if (i >= t.size()) return fail("unexpected end");
    if (t[i] == '"') {
      std::string ignored;
      return str(&ignored);
    }
    if (t[i] == '{' || t[i] == '[') {
      char close = t[i] == '{' ? '}' : ']';
      bool object = t[i] == '{';
      ++i;
      if (eat(close)) return true;
      do {
        if (object) {
          std::string k;
          if (!str(&k) || !eat(':')) return fail("bad object");
        }
        if (!skip()) return false;
      } while (eat(','));
      return eat(close) || fail("expected a closing bracket");
    }
    size_t start = i;
    while (i < t.size() && t[i] != ',' && t[i] != '}' && t[i] != ']' && t[i] != ' ' && t[i] != '\n') ++i;
    return i > start || fail("expected a value");
  }
  bool row(Row* r) {
    if (!eat('{')) return fail("expected a row object");
    if (eat('}')) return true;
    do {
      std::string k, v;
      if (!str(&k) || !eat(':')) return fail("bad row");
      ws();
      if (i < t.size() && t[i] == '"') {
        if (!str(&v)) return false;
        if (k == "type") r->type = v;
        else if (k == "op") r->op = v;
        else if (k == "case") r->name = v;
        else if (k == "kernel") r->kernel = v;
        else if (k == "status") r->status = v;
        else if (k == "detail") r->detail = v;
      } else if (!skip()) {
        return false;
      }
    } while (eat(','));
    return eat('}') || fail("expected '}'");
  }
};

}  // namespace

bool parse_json_rows(const std::string& text, std::vector<Row>* rows, std::string* error) {
  JsonReader j{text};
  bool found = false;
  rows->clear();
  if (!j.eat('{')) {
    j.fail("expected '{'");
  } else if (!j.eat('}')) {
    do {
      std::string key;
      if (!j.str(&key) || !j.eat(':')) {
        j.fail("bad document");
        break;
      }
      if (key != "rows") {
        if (!j.skip()) break;
        continue;
      }
      found = true;
      if (!j.eat('[')) {
        j.fail("expected '['");
        break;
      }
      if (j.eat(']')) continue;
      do {
        Row r;
        if (!j.row(&r)) break;
        rows->push_back(std::move(r));
      } while (j.eat(','));
      if (j.err.empty() && !j.eat(']')) j.fail("expected ']'");
      if (!j.err.empty()) break;
    } while (j.eat(','));
    if (j.err.empty() && !j.eat('}')) j.fail("expected '}'");
  }
  if (j.err.empty() && !found) j.err = "no \"rows\" array";
  if (!j.err.empty()) {
    if (error != nullptr) *error = j.err;
    return false;
  }
  return true;
}

}  // namespace bpfemu::conformance
