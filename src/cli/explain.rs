//! `portolan explain CODE`: a check's documentation (what it finds, why it matters, an example,
//! the fix): the same text SARIF rules carry. `portolan explain --list` lists every code.

use clap::Args;

use crate::checks;

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A finding code (`Z101`) or name (`required-flow-blocked`).
    #[arg(required_unless_present = "list")]
    pub code: Option<String>,
    /// List every code with its name, severity and summary.
    #[arg(long)]
    pub list: bool,
}

pub fn run(a: ExplainArgs) -> u8 {
    let res = super::write_stdout(|out| {
        if a.list {
            for c in checks::ALL {
                writeln!(
                    out,
                    "{}  {:<26} {:<8} {}",
                    c.code,
                    c.name,
                    c.severity.name(),
                    c.summary
                )?;
            }
            return Ok(());
        }
        match a.code.as_deref().and_then(checks::find) {
            Some(c) => {
                writeln!(out, "{} {} ({})\n", c.code, c.name, c.severity.name())?;
                out.write_all(c.doc.as_bytes())
            }
            None => Ok(()),
        }
    });
    if let Err(code) = res {
        return code;
    }
    if !a.list && a.code.as_deref().and_then(checks::find).is_none() {
        eprintln!(
            "portolan: no check is called `{}`; `portolan explain --list` lists them",
            a.code.unwrap_or_default()
        );
        return super::EXIT_USAGE;
    }
    super::EXIT_CLEAN
}
