// The advisor's output: a ranked table with the semantics of each choice, a
// recommendation, and optionally an SVG chart drawn by gnuplot.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "advise/candidates.h"
#include "advise/replay.h"

namespace advise {

struct Row {
  Candidate cand;
  RunResult emu;
  RunResult kernel;
  size_t logical = 0;  // measured workload ops
  size_t lookups = 0;  // measured logical lookups
};

// Sorts rows best first: candidates that lose nothing (no lost lookups, no
// refused inserts) by cost, then the others by cost. Cost is the kernel's per-op
// cost when the kernel ran, else the emulator's.
void rank(std::vector<Row>& rows);
void print_report(FILE* out, const Workload& w, const std::vector<Row>& rows, bool kernel_wanted);
// Renders the rows as a chart (cost, memory, loss) with gnuplot: SVG, or PNG
// when the path ends in .png.
bool write_plot(const Workload& w, const std::vector<Row>& rows, const std::string& path, std::string* err);

}  // namespace advise
