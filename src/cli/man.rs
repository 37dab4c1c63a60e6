//! `portolan man [SUBCOMMAND]`: a manual page (roff) on standard output, generated from the same
//! clap definitions as the parser: `portolan(1)`, or `portolan-audit(1)` etc. for a subcommand.
//! `portolan man | man -l -` reads it; packagers install each as `portolan[-SUB].1`.

use clap::Args;

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The page of this subcommand (`audit`, `diff`, ...) instead of the main page.
    pub subcommand: Option<String>,
}

pub fn run(a: ManArgs) -> u8 {
    let cmd = super::command();
    let page = match &a.subcommand {
        None => cmd,
        Some(name) => {
            let Some(sub) = cmd.find_subcommand(name).cloned() else {
                let names: Vec<&str> = cmd.get_subcommands().map(|s| s.get_name()).collect();
                eprintln!(
                    "portolan: no subcommand `{name}`; one of: {}",
                    names.join(", ")
                );
                return super::EXIT_USAGE;
            };
            let version = cmd.get_version().unwrap_or_default().to_string();
            sub.name(format!("portolan-{name}"))
                .bin_name(format!("portolan {name}"))
                .version(version)
        }
    };
    let man = clap_mangen::Man::new(page);
    match super::write_stdout(|out| man.render(out)) {
        Ok(()) => super::EXIT_CLEAN,
        Err(code) => code,
    }
}
