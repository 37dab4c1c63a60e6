//! The `portolan` binary: parse the command line, run, exit with the code the run chose.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(portolan::cli::run())
}
