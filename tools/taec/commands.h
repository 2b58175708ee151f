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
Command add_pack_command(CLI::App& app);
Command add_verify_command(CLI::App& app);
Command add_validate_command(CLI::App& app);   // cmd_validate.cc
Command add_roundtrip_command(CLI::App& app);  // cmd_roundtrip.cc
Command add_export_command(CLI::App& app);     // cmd_export.cc (include/taec/taec_coreml.h)

}  // namespace taec_cli
