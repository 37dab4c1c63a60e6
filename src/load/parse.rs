//! Parsing and lowering one input's text as its detected format: the one format dispatch
//! (`parse_as`), JSON inputs with what they attach (an ARM template's parameters file) and the
//! JSON-wide checks (duplicate keys).

use super::*;

/// The one format dispatch: parse and lower `src` as `format` (detected by the caller). A new
/// input format is one arm here (and its sniffing in `formats::detect`).
pub(super) fn parse_as(src: &SourceText, format: Format, names: &Resolver) -> Parsed {
    match format {
        Format::IptablesSave => {
            // every table is kept: `nat` rewrites what later stages see (`model::nat`)
            let dump = iptables::parse_parallel(&src.text, |_| true);
            let fam = iptables_lower::family_of(&dump);
            let lowered = iptables_lower::lower(&dump, src, fam);
            let mut issues = dump.issues;
            issues.extend(lowered.issues);
            Parsed {
                rulesets: vec![lowered.ruleset],
                issues,
            }
        }
        Format::NftablesText => crate::formats::nftables::parse_text(src),
        _ if json::looks_like_json(&src.text) => match json::parse(&src.text) {
            Ok(json) => match Format::of_json(&json) {
                Some(f) => parse_json(src, &json, f, names),
                None => Parsed::default(),
            },
            Err(e) => Parsed {
                rulesets: Vec::new(),
                issues: vec![ParseIssue {
                    kind: IssueKind::ParseError,
                    span: e.span,
                    message: e.message,
                    label: e.label,
                    help: None,
                }],
            },
        },
        Format::CloudFormation => cloudformation::parse_yaml(src, names),
        // netsh text, PowerShell CSV, registry rule strings: the Windows reader tells them apart
        _ => windows::parse_text(src, names),
    }
}

/// Parse a JSON document of a format [`Format::of_json`] recognised, with a Z001 for each key
/// an object repeats.
fn parse_json(src: &SourceText, json: &json::Json<'_>, format: Format, names: &Resolver) -> Parsed {
    parse_json_attached(src, json, format, names).0
}

/// [`parse_json`], with the AWS security groups the document attaches together.
pub(super) fn parse_json_attached(
    src: &SourceText,
    json: &json::Json<'_>,
    format: Format,
    names: &Resolver,
) -> (Parsed, Vec<aws::Attachment>) {
    let (mut parsed, attachments) = match format {
        Format::AzureNsg => (azure_with_parameters(src, json, names), Vec::new()),
        Format::AwsSecurityGroups | Format::CloudFormation => aws::parse_attached(src, json, names),
        Format::Terraform => terraform::parse_attached(src, json, names),
        Format::WindowsPowerShell => (windows::parse_json(src, json, names), Vec::new()),
        Format::NftablesJson => (crate::formats::nftables::parse_json(src, json), Vec::new()),
        _ => (Parsed::default(), Vec::new()),
    };
    parsed.issues.extend(duplicate_key_issues(src, json));
    (parsed, attachments)
}

/// Largest ARM parameters file read beside a template.
const MAX_PARAMETERS_FILE: u64 = 16 << 20;

/// An Azure document, with the parameters file beside it when it is an ARM template
/// (`azuredeploy.json` + `azuredeploy.parameters.json`): its values win over the defaults.
/// A parameters file named with `--arm-parameters` (the fact [`azure::PARAMETERS_FACT`]) is
/// used for every template instead; one that cannot be read is a Z001 on the template.
fn azure_with_parameters(src: &SourceText, json: &json::Json<'_>, names: &Resolver) -> Parsed {
    let template = json.get("resources").is_some();
    let given = names
        .fact(azure::PARAMETERS_FACT)
        .filter(|p| template && !p.is_empty())
        .map(std::path::PathBuf::from);
    let file = given.clone().or_else(|| {
        azure::parameters_file_of(Path::new(&src.name)).filter(|p| p.is_file() && template)
    });
    let read = file
        .as_ref()
        .map(|p| match read_bounded(p, MAX_PARAMETERS_FILE, true) {
            Ok(Read::Bytes(b)) => Ok(encoding::decode_owned(b).text),
            Ok(Read::TooBig(size, _)) => Err(format!(
                "larger than {} bytes",
                size.unwrap_or(MAX_PARAMETERS_FILE)
            )),
            Err(e) => Err(e.to_string()),
        });
    let name = file.map(|p| p.display().to_string()).unwrap_or_default();
    match read {
        Some(Ok(text)) => azure::parse_with(src, json, names, Some((name.as_str(), &text))),
        Some(Err(e)) => {
            let mut parsed = azure::parse_with(src, json, names, None);
            parsed.issues.push(ParseIssue {
                kind: IssueKind::ParseError,
                span: crate::model::Span::new(0, 0),
                message: format!(
                    "cannot read the parameters file {name} ({e}); the template's default values are used"
                ),
                label: "parameters file".into(),
                help: Some("check the path given to --arm-parameters".into()),
            });
            parsed
        }
        None => azure::parse_with(src, json, names, None),
    }
}

/// An ARM parameters file met on its own: nothing to audit; without its template beside it, a
/// note saying so.
pub(super) fn azure_parameters_alone(src: &SourceText, names: &Resolver) -> Parsed {
    let name = Path::new(&src.name);
    // named with --arm-parameters: read with every template
    if names
        .fact(azure::PARAMETERS_FACT)
        .is_some_and(|p| std::fs::canonicalize(p).ok() == std::fs::canonicalize(name).ok())
    {
        return Parsed::default();
    }
    let template = name
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| {
            let lower = n.to_ascii_lowercase();
            let at = lower.rfind(".parameters.")?;
            Some(format!("{}{}", &n[..at], &n[at + ".parameters".len()..]))
        })
        .map(|t| name.with_file_name(t));
    let mut parsed = Parsed::default();
    if !template.as_ref().is_some_and(|t| t.is_file()) {
        parsed.issues.push(ParseIssue {
            kind: IssueKind::Undecidable,
            span: crate::model::Span::new(0, 0),
            message: format!(
                "{} is an ARM parameters file: it holds no rules and is read only with its template ({}), which is not beside it",
                src.name,
                template
                    .map(|t| t.display().to_string())
                    .unwrap_or_else(|| "`<name>.json`".into())
            ),
            label: "parameters file".into(),
            help: Some(
                "put the template beside it as `<name>.json` and audit the template".into(),
            ),
        });
    }
    parsed
}

/// A Z001 for each key repeated in one object: which value counts depends on the reader.
fn duplicate_key_issues(src: &SourceText, json: &json::Json<'_>) -> Vec<ParseIssue> {
    json::duplicate_keys(json)
        .into_iter()
        .map(|(key, first, repeat)| {
            let (line, column) = src.line_col(first.start);
            ParseIssue {
            kind: IssueKind::ParseError,
            span: repeat,
            message: format!(
                "key `{key}` appears twice in one object (first at line {line}, column {column}); Portolan reads the last value, as most JSON readers do"
            ),
            label: "repeated key".into(),
            help: Some(
                "remove one of the two: which value a tool applies is not defined by JSON".into(),
            ),
        }
        })
        .collect()
}
