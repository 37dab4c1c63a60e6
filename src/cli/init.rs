//! `portolan init [DIR]`: scan DIR with the audit's loader and write a commented `portolan.toml`
//! skeleton: the environment guessed from the formats found, one `[[firewall]]` per firewall
//! file, a `[[site]]` whose role addresses are commented-out TODOs (until filled in, peers are
//! "any address", as the audit says), and example facts. Never overwrites an existing file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::catalog::Environment;
use crate::engine::InputFile;
use crate::formats::detect::Format;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The directory to scan and to write `portolan.toml` into.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}

/// The environment a file's format suggests.
fn environment_of(file: &InputFile) -> Option<Environment> {
    Some(match file.format? {
        Format::IptablesSave | Format::NftablesText | Format::NftablesJson => Environment::Vsphere,
        Format::AzureNsg => Environment::Azure,
        Format::AwsSecurityGroups | Format::CloudFormation => Environment::Aws,
        Format::Terraform => {
            let azure = file
                .rulesets
                .iter()
                .filter_map(|r| r.name.as_deref())
                .any(|n| n.contains("azurerm_"));
            if azure {
                Environment::Azure
            } else {
                Environment::Aws
            }
        }
        Format::WindowsNetsh
        | Format::WindowsPowerShell
        | Format::WindowsRegistry
        | Format::WindowsHive => Environment::Hyperv,
    })
}

/// The role a file of this environment most likely guards.
fn guessed_role(env: Option<Environment>) -> &'static str {
    match env {
        Some(Environment::Azure | Environment::Aws) => "zca",
        _ => "zvm",
    }
}

/// The roles whose addresses a site of this environment usually lists, with a placeholder
/// from the documentation ranges (RFC 5737) and what to fill in.
fn role_lines(env: Environment) -> &'static [(&'static str, &'static str, &'static str)] {
    match env {
        Environment::Azure | Environment::Aws => &[
            ("zca", "192.0.2.10", "the Zerto Cloud Appliance"),
            (
                "zvm",
                "198.51.100.10",
                "the ZVM of the peer (on-premises) site",
            ),
            ("vra", "198.51.100.21-198.51.100.24", "the peer site's VRAs"),
            (
                "admin-client",
                "203.0.113.0/24",
                "where administrators connect from",
            ),
        ],
        Environment::Hyperv | Environment::HypervLegacy => &[
            ("zvm", "192.0.2.10", "the ZVM"),
            ("vra", "192.0.2.21-192.0.2.24", "the VRAs"),
            ("scvmm", "192.0.2.5", "SCVMM"),
            ("hyperv-host", "192.0.2.32/28", "the Hyper-V hosts"),
            (
                "admin-client",
                "203.0.113.0/24",
                "where administrators connect from",
            ),
        ],
        _ => &[
            ("zvm", "192.0.2.10", "the ZVM"),
            ("vra", "192.0.2.21-192.0.2.24", "the VRAs"),
            ("vcenter", "192.0.2.5", "vCenter"),
            ("esxi", "192.0.2.32/28", "the ESXi hosts"),
            (
                "admin-client",
                "203.0.113.0/24",
                "where administrators connect from",
            ),
        ],
    }
}

/// A TOML basic string.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// `path` relative to `dir`, with forward slashes.
fn relative(dir: &Path, path: &str) -> String {
    let p = Path::new(path);
    let rel = p.strip_prefix(dir).unwrap_or(p);
    rel.to_string_lossy().replace('\\', "/")
}

/// The skeleton for these files (found under `dir`); `None` when none is a firewall.
pub fn skeleton(dir: &Path, files: &[InputFile]) -> Option<(String, Environment, usize)> {
    let firewalls: Vec<&InputFile> = files
        .iter()
        .filter(|f| f.format.is_some() && !f.failed)
        .collect();
    if firewalls.is_empty() {
        return None;
    }
    let mut counts: Vec<(Environment, usize)> = Environment::ALL.iter().map(|e| (*e, 0)).collect();
    for f in &firewalls {
        if let Some(e) = environment_of(f) {
            if let Some(c) = counts.iter_mut().find(|(x, _)| *x == e) {
                c.1 += 1;
            }
        }
    }
    // the most common; ties go to the earlier environment in the catalogue's order
    let (env, n) = counts
        .iter()
        .copied()
        .fold((Environment::Vsphere, 0), |best, c| {
            if c.1 > best.1 {
                c
            } else {
                best
            }
        });
    let others: Vec<String> = counts
        .iter()
        .filter(|(e, c)| *c > 0 && *e != env)
        .map(|(e, c)| format!("{e} ({c} file{})", if *c == 1 { "" } else { "s" }))
        .collect();

    let mut t = String::new();
    let _ = writeln!(
        t,
        "# portolan.toml — written by `portolan init`; fill in the TODOs, then run `portolan audit`.\n\
         # Firewall paths are relative to this file. `portolan schema` prints the JSON Schema of\n\
         # this file for editors; `portolan explain CODE` explains a finding.\n"
    );
    let _ = writeln!(
        t,
        "# The Zerto environment (vsphere, hyperv, azure, aws, msp, hyperv-legacy), guessed from\n\
         # the formats found: {n} of {} file(s) suggest {env}.",
        firewalls.len()
    );
    if !others.is_empty() {
        let _ = writeln!(t, "# Also found: {}.", others.join(", "));
    }
    let _ = writeln!(t, "environment = {}\n", quoted(env.as_str()));
    let _ = writeln!(
        t,
        "# Directory scans (`portolan audit DIR`) can be narrowed with globs:\n\
         # include = [\"fw/**\"]\n\
         # exclude = [\"**/old/**\"]\n"
    );
    let _ = writeln!(
        t,
        "# Answers to the catalogue's conditions; unset, a conditional requirement is reported as\n\
         # conditional (a warning). `portolan catalog --env {env}` shows the conditions,\n\
         # `portolan catalog --facts` every fact with its type and values.\n\
         [facts]\n\
         # zvm_version = \"10.0\"       # TODO: the Zerto version of this site\n\
         # peer_zvm_version = \"10.0\"  # TODO: the version of the paired site\n\
         # ltr = \"none\"               # long-term retention: none, nfs or smb\n\
         # zcm = false\n\
         # vba = false\n\
         # phase = \"operate\"          # or \"install\"\n"
    );
    let _ = writeln!(
        t,
        "# Default ports changed at install time, by short name or requirement id:\n\
         # [ports]\n\
         # zvm_api = 9669\n"
    );
    let _ = writeln!(
        t,
        "# TODO: the addresses of each role at this site. Until a role has addresses, its peers are\n\
         # \"any address\" and the audit says so. The examples are documentation addresses\n\
         # (RFC 5737): replace them, then uncomment.\n\
         [[site]]\n\
         name = \"main\"\n\
         [site.roles]"
    );
    for (role, addr, what) in role_lines(env) {
        let _ = writeln!(t, "# {role} = [{}]  # TODO: {what}", quoted(addr));
    }
    t.push('\n');
    for f in &firewalls {
        let fenv = environment_of(f);
        let format = f.format.map(|x| x.name()).unwrap_or("unknown");
        let _ = writeln!(t, "# {format}");
        let _ = writeln!(t, "[[firewall]]");
        let _ = writeln!(t, "path = {}", quoted(&relative(dir, &f.path)));
        let _ = writeln!(t, "site = \"main\"");
        let _ = writeln!(
            t,
            "guards = {}  # TODO: which role does this firewall guard? (`host:ROLE` or `boundary` with `between = [\"a\", \"b\"]`)",
            quoted(&format!("host:{}", guessed_role(fenv)))
        );
        let names: Vec<&str> = f
            .rulesets
            .iter()
            .filter_map(|r| r.name.as_deref())
            .collect();
        let windows = fenv == Some(Environment::Hyperv);
        if names.len() > 1 && !windows {
            let list: Vec<String> = names.iter().map(|n| quoted(n)).collect();
            let _ = writeln!(
                t,
                "# TODO: keep the firewalls of this file in front of the host (NSGs apply in series,\n\
                 # security groups as a union), or split this entry into one per firewall.\n\
                 policies = [{}]",
                list.join(", ")
            );
        }
        t.push('\n');
    }
    Some((t, env, firewalls.len()))
}

pub fn run(a: InitArgs) -> u8 {
    let target = a.dir.join(super::audit::CONFIG_NAME);
    if target.exists() {
        eprintln!(
            "portolan: {} exists already; not overwriting it (move it away to start again)",
            target.display()
        );
        return super::EXIT_USAGE;
    }
    if !a.dir.is_dir() {
        eprintln!("portolan: {} is not a directory", a.dir.display());
        return super::EXIT_USAGE;
    }
    let files = crate::engine::load(
        std::slice::from_ref(&a.dir),
        &crate::formats::Resolver::default(),
    );
    let Some((text, env, n)) = skeleton(&a.dir, &files) else {
        eprintln!(
            "portolan: no firewall export found in {} (iptables-save, Windows Firewall, Azure NSG, AWS security group, CloudFormation or Terraform files)",
            a.dir.display()
        );
        return super::EXIT_USAGE;
    };
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&target)
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()));
    if let Err(e) = written {
        eprintln!("portolan: cannot write {}: {e}", target.display());
        return super::EXIT_USAGE;
    }
    let res = super::write_stdout(|out| {
        writeln!(
            out,
            "wrote {}: environment {env}, {n} firewall file(s):",
            target.display()
        )?;
        for f in files.iter().filter(|f| f.format.is_some() && !f.failed) {
            writeln!(
                out,
                "  {}  ({})",
                relative(&a.dir, &f.path),
                f.format.map(|x| x.name()).unwrap_or("")
            )?;
        }
        writeln!(
            out,
            "next: fill in the TODOs (role addresses, what each firewall guards, facts), then run `portolan audit`"
        )
    });
    match res {
        Ok(()) => super::EXIT_CLEAN,
        Err(code) => code,
    }
}
