//! `portolan completions SHELL`: a completion script for bash, zsh, fish or PowerShell, generated
//! from the same clap definitions as the parser.

use clap::Args;
use clap_complete::Shell;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, powershell (or elvish).
    #[arg(value_enum)]
    pub shell: Shell,
}

pub fn run(a: CompletionsArgs) -> u8 {
    let mut cmd = super::command();
    match super::write_stdout(|out| {
        clap_complete::generate(a.shell, &mut cmd, "portolan", out);
        Ok(())
    }) {
        Ok(()) => super::EXIT_CLEAN,
        Err(code) => code,
    }
}
