//! Command-line definitions (clap derive), one file per subcommand, and [`run`], which the binary
//! calls and maps to an exit code.

pub mod audit;
pub mod catalog;
pub mod completions;
pub mod diff;
pub mod explain;
pub mod fix;
pub mod init;
pub mod man;
pub mod merge;
pub mod query;
pub mod schema;
mod stdin;
mod stream;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// Exit codes: 0 clean, 1 findings at or above `--fail-on`, 2 bad usage or unreadable input.
pub const EXIT_CLEAN: u8 = 0;
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "portolan",
    version,
    about = "Audit firewall exports against the Zerto port requirements",
    long_about = "Portolan reads firewall exports (iptables, Windows Firewall, Azure NSGs, AWS security groups, \
                  CloudFormation and Terraform plans), works out exactly which packets they let through, and checks them against the network requirements of a Zerto \
                  deployment."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit firewall files or directories against the Zerto requirements.
    Audit(Box<audit::AuditArgs>),
    /// Print the Zerto port requirements.
    Catalog(catalog::CatalogArgs),
    /// What a change does to the required flows: audit OLD and NEW (files, directories, or the
    /// working tree and a git revision) and report flows newly blocked or allowed, findings added
    /// or fixed, and the rules added, removed or moved that caused it.
    Diff(Box<diff::DiffArgs>),
    /// Explain a finding code: what it finds, why it matters, an example, the fix.
    Explain(explain::ExplainArgs),
    /// Which rules decide a region of traffic, with the full trace of each piece.
    Query(query::QueryArgs),
    /// The smallest native change that admits each blocked or partly blocked required flow.
    Fix(Box<fix::FixArgs>),
    /// A shell completion script (bash, zsh, fish, powershell) on standard output.
    Completions(completions::CompletionsArgs),
    /// A manual page (roff) on standard output: `portolan man | man -l -`; `portolan man audit`
    /// for a subcommand's page.
    Man(man::ManArgs),
    /// The JSON Schema of `portolan.toml`, for editors (taplo, Even Better TOML).
    Schema(schema::SchemaArgs),
    /// Put the JSON reports of the jobs of `audit --shard K/N` together into the whole run's
    /// report, in any format, with the whole run's exit code.
    Merge(merge::MergeArgs),
    /// Write a commented `portolan.toml` for the firewall files of a directory.
    Init(init::InitArgs),
}

/// `--version`: the crate version, the catalogue's version and the seed tables it was built from.
pub fn version_text() -> String {
    let cat = crate::catalog::Catalog::embedded();
    let mut docs: Vec<(&str, Vec<&str>)> = Vec::new();
    for s in &cat.sources {
        match docs.iter_mut().find(|(d, _)| *d == s.document) {
            Some((_, tables)) => tables.push(&s.table),
            None => docs.push((&s.document, vec![&s.table])),
        }
    }
    let mut text = format!(
        "{}\ncatalogue {} ({} requirements)",
        env!("CARGO_PKG_VERSION"),
        cat.version,
        cat.requirements.len()
    );
    for (doc, tables) in docs {
        text.push_str(&format!("\n  seed {doc}: {}", tables.join(", ")));
    }
    text
}

/// The clap command, with the long version built from the embedded catalogue; the parser, the
/// completions and the man page all come from it.
pub fn command() -> clap::Command {
    Cli::command().long_version(version_text())
}

/// Stack size of the threads that evaluate: deep chains and long runs of undecidable rules nest
/// evaluation; this is address space, only touched pages are used.
pub(crate) const STACK: usize = 1 << 30;

/// Parse the command line, run, and return the exit code (on a thread with a large stack, as
/// are rayon's workers).
pub fn run() -> u8 {
    let _ = rayon::ThreadPoolBuilder::new()
        .stack_size(STACK)
        .build_global();
    // read the embedded catalogue (a TOML parse, 1.5 ms: a tenth of a typical host's audit) on
    // a worker while the command line is parsed and the inputs are read
    rayon::spawn(|| {
        crate::catalog::Catalog::embedded();
    });
    match std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(run_here)
    {
        Ok(h) => h.join().unwrap_or(EXIT_USAGE),
        Err(_) => run_here(),
    }
}

fn run_here() -> u8 {
    // the long version names the catalogue: build it only when it is asked for
    let asks_version = std::env::args_os().any(|a| a == "--version" || a == "-V");
    let cmd = if asks_version {
        command()
    } else {
        Cli::command()
    };
    let cli = match cmd
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                EXIT_USAGE
            } else {
                EXIT_CLEAN
            };
        }
    };
    match cli.command {
        Command::Audit(a) => audit::run(*a),
        Command::Catalog(c) => catalog::run(c),
        Command::Diff(d) => diff::run(*d),
        Command::Explain(e) => explain::run(e),
        Command::Query(q) => query::run(q),
        Command::Fix(f) => fix::run(*f),
        Command::Completions(c) => completions::run(c),
        Command::Man(m) => man::run(m),
        Command::Merge(m) => merge::run(m),
        Command::Schema(s) => schema::run(s),
        Command::Init(i) => init::run(i),
    }
}

/// Write to stdout, treating a closed pipe (`| head`) as success.
pub(crate) fn write_stdout(
    f: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<(), u8> {
    // stdout is line-buffered: a pretty-printed report of millions of lines would be as many
    // write calls (an eighth of a 50 MB security-group audit's time)
    let stdout = std::io::stdout();
    let mut lock = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    match f(&mut lock).and_then(|_| std::io::Write::flush(&mut lock)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(EXIT_CLEAN),
        Err(e) => {
            eprintln!("portolan: cannot write the output: {e}");
            Err(EXIT_USAGE)
        }
    }
}
