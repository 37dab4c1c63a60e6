//! Output formats, one file each; each is `render(&Report, &mut dyn Write)`.

pub mod concise;
pub mod diagram;
pub mod github;
pub mod gitlab;
pub mod html;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod place;
pub mod record;
pub mod sarif;
pub mod sources;
pub mod tally;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

impl OutputFormat {
    /// Every format, with its name and a line of help (what `--format` lists).
    pub const ALL: &'static [(OutputFormat, &'static str, &'static str)] = &[
        (
            OutputFormat::Human,
            "human",
            "Terminal diagnostics with source snippets (miette), grouped per file",
        ),
        (
            OutputFormat::Json,
            "json",
            "The `portolan-audit/1` JSON contract",
        ),
        (
            OutputFormat::Sarif,
            "sarif",
            "SARIF 2.1.0, for code scanning (GitHub, GitLab, Azure DevOps)",
        ),
        (
            OutputFormat::Junit,
            "junit",
            "JUnit XML: a testsuite per file, a testcase per required flow",
        ),
        (
            OutputFormat::Markdown,
            "markdown",
            "Markdown for pull-request comments and change tickets",
        ),
        (
            OutputFormat::Html,
            "html",
            "One self-contained HTML page with a diagram per site, for change boards",
        ),
        (
            OutputFormat::Github,
            "github",
            "GitHub Actions workflow commands (`::error file=…,line=…::…`): inline PR annotations",
        ),
        (
            OutputFormat::Gitlab,
            "gitlab",
            "GitLab Code Quality JSON (`artifacts:reports:codequality`)",
        ),
        (
            OutputFormat::Concise,
            "concise",
            "One line per finding: `path:line:col: Z101 [error] message`",
        ),
    ];

    pub fn name(&self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(f, _, _)| f == self)
            .map(|(_, n, _)| *n)
            .unwrap_or("human")
    }

    /// Whether the format shows a flow's fix or a finding's help (`concise` and GitLab's Code
    /// Quality JSON show the message only): a run of formats that show none is audited without
    /// making fixes (`Config::without_fixes`).
    pub fn shows_fixes(&self) -> bool {
        !matches!(self, OutputFormat::Concise | OutputFormat::Gitlab)
    }

    pub fn from_name(name: &str) -> Option<OutputFormat> {
        Self::ALL
            .iter()
            .find(|(_, n, _)| n.eq_ignore_ascii_case(name))
            .map(|(f, _, _)| *f)
    }
}

/// Render `report` in `format`. `style` is for the human format only.
pub fn render(
    format: OutputFormat,
    report: &crate::engine::Report,
    out: &mut dyn std::io::Write,
    style: human::Style,
) -> std::io::Result<()> {
    match format {
        OutputFormat::Human => human::render(report, out, style),
        OutputFormat::Json => json::render(report, out),
        OutputFormat::Sarif => sarif::render(report, out),
        OutputFormat::Junit => junit::render(report, out),
        OutputFormat::Markdown => markdown::render(report, out),
        OutputFormat::Html => html::render(report, out),
        OutputFormat::Github => github::render(report, out),
        OutputFormat::Gitlab => gitlab::render(report, out),
        OutputFormat::Concise => concise::render(report, out),
    }
}
