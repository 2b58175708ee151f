// taec: compile, run and inspect TAESD-family autoencoders (see README.md).
#include <CLI/CLI.hpp>
#include <csignal>
#include <exception>
#include <new>
#include <vector>

#include "cli_util.h"
#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"taec — Tiny AutoEncoder Compiler: TAESD/TAEF1/TAEF2 decoders and encoders on CPU"};
  app.set_version_flag("--version", std::string("taec ") + taec_version());
  app.require_subcommand(1);
  // Outputs may be pipes (`--video /dev/stdout | player`): a reader that goes away must turn into
  // a write error naming the file, not a silent death by SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  const std::vector<taec_cli::Command> commands = {
      taec_cli::add_info_command(app),
      taec_cli::add_decode_command(app),
      taec_cli::add_encode_command(app),
      taec_cli::add_bench_command(app),
      taec_cli::add_pack_command(app),
      taec_cli::add_verify_command(app),
      taec_cli::add_validate_command(app),
      taec_cli::add_roundtrip_command(app),
      taec_cli::add_export_command(app),
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return taec_cli::kExitBadInput;
  }
  for (const auto& command : commands) {
    if (!command.app->parsed()) continue;
    try {
      return command.action();
    } catch (const taec::Error& e) {
      return taec_cli::fail(e.status(), e.what());
    } catch (const std::bad_alloc&) {
      // Input-sized buffers of the CLI itself (a batch's outputs): exit 1 naming what ran.
      return taec_cli::fail(TAEC_ERR_OUT_OF_MEMORY, "out of memory running `" + taec_cli::command_line(argc, argv) + "`");
    } catch (const std::exception& e) {
      return taec_cli::fail(TAEC_ERR_INTERNAL, "internal error running `" + taec_cli::command_line(argc, argv) + "`: " + e.what());
    }
  }
  return taec_cli::kExitBadInput;
}
