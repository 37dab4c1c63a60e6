//! Output formats, one file each; each is `render(&Report, &mut dyn Write)`.

pub mod concise;
pub mod github;
pub mod gitlab;
pub mod html;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;

use clap::ValueEnum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Terminal diagnostics with source snippets (miette), grouped per file.
    Human,
    /// The `portolan-audit/1` JSON contract.
    Json,
    /// SARIF 2.1.0, for code scanning (GitHub, GitLab, Azure DevOps).
    Sarif,
    /// JUnit XML: a testsuite per file, a testcase per required flow.
    Junit,
    /// Markdown for pull-request comments and change tickets.
    Markdown,
    /// One self-contained HTML page with a diagram per site, for change boards.
    Html,
    /// GitHub Actions workflow commands (`::error file=…,line=…::…`): inline PR annotations.
    Github,
    /// GitLab Code Quality JSON (`artifacts:reports:codequality`).
    Gitlab,
    /// One line per finding: `path:line:col: Z101 [error] message`.
    Concise,
}
