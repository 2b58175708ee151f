#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace taec_cli {

// A registered subcommand and what to run once parsing succeeded; the action returns the
// process exit code.
struct Command {
  CLI::App* app;
  std::function<int()> action;
};

Command add_info_command(CLI::App& app);
Command add_decode_command(CLI::App& app);
Command add_encode_command(CLI::App& app);
Command add_bench_command(CLI::App& app);

}  // namespace taec_cli
