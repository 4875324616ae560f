//! Shell completions and man pages, generated from the clap definitions so
//! they cannot drift from the real options (a test fails when the
//! committed copies are stale).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::CommandFactory;
use clap_complete::Shell;

use crate::args::{Cli, GenerateDocsArgs};

pub fn run(args: &GenerateDocsArgs) -> anyhow::Result<ExitCode> {
    generate(&args.out)?;
    Ok(ExitCode::SUCCESS)
}

/// Write completions/ and man/ under `root`.
pub fn generate(root: &Path) -> anyhow::Result<()> {
    let comp = root.join("completions");
    let man = root.join("man");
    for d in [&comp, &man] {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::Elvish,
        Shell::PowerShell,
    ] {
        let mut cmd = to_complete();
        clap_complete::generate_to(shell, &mut cmd, "dynamofs", &comp)
            .with_context(|| format!("writing {shell} completions"))?;
    }
    let cmd = Cli::command();
    write_page(&man, "dynamofs", cmd.clone())?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("dynamofs-{}", sub.get_name());
        let page = sub
            .clone()
            .name(name.clone())
            .version(cmd.get_version().unwrap_or_default().to_string());
        write_page(&man, &name, page)?;
    }
    Ok(())
}

/// The command line as completions offer it: without the hidden
/// subcommands (clap_complete lists them), and with the mount options'
/// names after `mount -o`.
fn to_complete() -> clap::Command {
    let cli = Cli::command();
    let mut cmd = clap::Command::new("dynamofs")
        .version(env!("CARGO_PKG_VERSION"))
        .propagate_version(true)
        .args(cli.get_arguments().cloned());
    for sub in cli.get_subcommands().filter(|s| !s.is_hide_set()) {
        let sub = if sub.get_name() == "mount" {
            sub.clone().mut_arg("options", |a| {
                a.value_parser(clap::builder::PossibleValuesParser::new(
                    super::mount::KNOWN,
                ))
            })
        } else {
            sub.clone()
        };
        cmd = cmd.subcommand(sub);
    }
    cmd
}

fn write_page(dir: &Path, name: &str, cmd: clap::Command) -> anyhow::Result<()> {
    let man = clap_mangen::Man::new(cmd.clone()).date("");
    let mut buf = Vec::new();
    let rendered = (|| -> std::io::Result<()> {
        man.render_title(&mut buf)?;
        man.render_name_section(&mut buf)?;
        man.render_synopsis_section(&mut buf)?;
        man.render_description_section(&mut buf)?;
        if cmd.get_arguments().any(|a| !a.is_hide_set()) {
            man.render_options_section(&mut buf)?;
        }
        if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
            man.render_subcommands_section(&mut buf)?;
        }
        if cmd.get_after_help().is_some() || cmd.get_after_long_help().is_some() {
            man.render_extra_section(&mut buf)?;
        }
        buf.extend_from_slice(exit_status(name).as_bytes());
        buf.extend_from_slice(ENVIRONMENT.as_bytes());
        if cmd.get_version().is_some() {
            man.render_version_section(&mut buf)?;
        }
        buf.extend_from_slice(see_also(name).as_bytes());
        Ok(())
    })();
    rendered.with_context(|| format!("rendering the man page {name}"))?;
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, buf).with_context(|| format!("writing {}", path.display()))
}

/// What every command reads from its environment (roff).
const ENVIRONMENT: &str = r#".SH ENVIRONMENT
.TP
\fBAWS_REGION\fR, \fBAWS_PROFILE\fR, \fBAWS_ACCESS_KEY_ID\fR, \fBAWS_SECRET_ACCESS_KEY\fR, \fBAWS_SESSION_TOKEN\fR
Credentials and region for aws: sources, as for the AWS CLI (also ~/.aws/config and ~/.aws/credentials, and instance or container roles). A source's REGION and \-\-profile take precedence.
.TP
\fBAWS_ENDPOINT_URL_DYNAMODB\fR, \fBAWS_ENDPOINT_URL\fR
A DynamoDB\-compatible endpoint (DynamoDB Local, LocalStack, moto) when \-\-endpoint is not given.
.TP
\fBDYNAMOFS_LOG\fR, \fBRUST_LOG\fR
The log filter (DYNAMOFS_LOG first), e.g. DYNAMOFS_LOG=dynamofs=debug; a mount's background server inherits it.
.TP
\fBXDG_STATE_HOME\fR, \fBXDG_RUNTIME_DIR\fR
Where a background mount writes its log when \-o log= is not given: $XDG_STATE_HOME/dynamofs (else ~/.local/state/dynamofs, else $XDG_RUNTIME_DIR/dynamofs), /var/log/dynamofs for root.
.TP
\fBDYNAMOFS_FAULTS\fR
Testing only: inject store faults (throttles, timeouts, conflicts, lost responses) at the given rates; inert when unset.
"#;

/// Exit status by page (roff).
fn exit_status(name: &str) -> String {
    let body = match name {
        "dynamofs-fsck" => "As fsck(8): 0 clean, 1 errors corrected, 4 errors left uncorrected, 8 operational error (bad source, missing table, network).",
        "dynamofs-status" => "0 when both tables are usable, 1 when one is not (missing, being created, or of another layout) or on an error.",
        "dynamofs-ls" | "dynamofs-cat" | "dynamofs-stat" | "dynamofs-rm" | "dynamofs-mkdir"
        | "dynamofs-mv" | "dynamofs-cp" => {
            "0 on success, 1 when any operand failed (each failure is reported and the others are done), 2 on a usage error."
        }
        "dynamofs-dump" => "0 on success, 1 on an error or when an entry could not be read (each is reported and left out; the rest is dumped), 2 on a usage error.",
        _ => "0 on success, 1 on an error (reported on standard error with what to do), 2 on a usage error.",
    };
    format!(".SH \"EXIT STATUS\"\n{body}\n")
}

/// Related pages (roff): the main page lists every subcommand's; each
/// subcommand's names the main page.
fn see_also(name: &str) -> String {
    let mut refs: Vec<String> = if name == "dynamofs" {
        Cli::command()
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(|s| format!("dynamofs\\-{}(1)", s.get_name()))
            .collect()
    } else {
        vec!["dynamofs(1)".to_string()]
    };
    if name == "dynamofs" || name == "dynamofs-mount" {
        refs.extend([
            "fusermount3(1)".into(),
            "mount(8)".into(),
            "fstab(5)".into(),
        ]);
    }
    if name == "dynamofs-fsck" {
        refs.push("fsck(8)".into());
    }
    format!(".SH \"SEE ALSO\"\n{}\n", refs.join(", "))
}
