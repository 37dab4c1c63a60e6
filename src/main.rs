//! The `portolan` binary: parse the command line, run, exit with the code the run chose.

use std::process::ExitCode;

mod allocator;

fn main() -> ExitCode {
    allocator::tune();
    ExitCode::from(portolan::cli::run())
}
