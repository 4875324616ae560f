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
        let mut cmd = Cli::command();
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

fn write_page(dir: &Path, name: &str, cmd: clap::Command) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd)
        .date("")
        .render(&mut buf)
        .with_context(|| format!("rendering the man page {name}"))?;
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, buf).with_context(|| format!("writing {}", path.display()))
}
