// Drawing a PNG with Debian's gnuplot (package gnuplot-nox): the machinery
// `proxima plot` shares between its learning curves (plot_command.h) and its
// over-optimisation plot of RLHF runs (rlhf_plot.h).
//
// RenderPng writes each data block to its own file in a new temporary
// directory, asks `script` for the gnuplot script given those files' paths
// and the PNG to draw, runs `gnuplot` from PATH on the script (stdin from
// /dev/null, its output kept in the temporary directory and copied to `err`
// when it fails) and renames the finished image onto `out`. The image is
// drawn beside `out` under a temporary name, so a failed run leaves neither
// a partial image nor a changed `out`; the temporary directory is removed
// either way.
//
// RenderPng returns the command's exit status: 0 ok; 1 gnuplot failed or a
// file could not be written; 2 `out`'s directory does not exist or gnuplot
// is not installed. Its messages go to `err`, prefixed "proxima plot: ".
// Blocks (it waits for gnuplot); no locks; torch- and gRPC-free.
#ifndef PROXIMA_LEARNER_CLI_GNUPLOT_RENDER_H_
#define PROXIMA_LEARNER_CLI_GNUPLOT_RENDER_H_

#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace proxima {

// A gnuplot double-quoted string literal (backslash escapes are interpreted
// there, so backslashes and quotes are escaped; line breaks become spaces).
std::string GnuplotString(const std::string& s);

// The script's first lines: the pngcairo terminal (anti-aliased) at
// width × height pixels, falling back to png where gnuplot lacks it, with
// `set output` naming `png`.
std::string GnuplotPngPreamble(int width, int height, const std::string& png);

// Given the data files' paths (in `data`'s order) and the PNG to draw,
// the gnuplot script.
using GnuplotScriptFn =
    std::function<std::string(const std::vector<std::string>& data_files, const std::string& png)>;

int RenderPng(const std::vector<std::string>& data, const GnuplotScriptFn& script,
              const std::string& out, std::ostream& err);

}  // namespace proxima

#endif  // PROXIMA_LEARNER_CLI_GNUPLOT_RENDER_H_
