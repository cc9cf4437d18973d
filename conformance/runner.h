// Runs scenarios on the emulator and on the kernel and compares them step by step.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "bpfemu/backend.h"
#include "conformance/scenario.h"

namespace bpfemu::conformance {

struct Row {
  std::string type;
  std::string op;
  std::string name;    // scenario name
  std::string kernel;  // kernel release or emulator profile compared against
  std::string status;  // "matches" | "differs" | "not_run"
  std::string detail;
};

struct RunConfig {
  Backend* emu = nullptr;     // may be null
  Backend* kernel = nullptr;  // may be null
  std::string kernel_label;   // e.g. "6.18.44" (used in rows)
  std::string not_run_reason; // why the kernel side did not run
  std::set<std::string> types;  // empty = all
  std::string name_filter;      // substring of scenario names; empty = all
  bool verbose = false;         // print both recordings of differing scenarios
};

// Compares two recordings; empty string when equal, else a description of the
// first differing step.
std::string diff_steps(const std::vector<Step>& emu, const std::vector<Step>& kernel);
std::string describe_step(const Step& s);

std::vector<Row> run_scenarios(const std::vector<Scenario>& scenarios, const RunConfig& cfg);

// Output helpers.
std::string render_table(const std::vector<Row>& rows);
std::string render_json(const std::vector<Row>& rows);
std::string json_escape(const std::string& s);
// Parses render_json() output (e.g. saved from a VM run) back into rows; false
// with *error set when the text is not such a document.
bool parse_json_rows(const std::string& text, std::vector<Row>* rows, std::string* error);

}  // namespace bpfemu::conformance
