//! The `dynamofs` binary: argument parsing and error reporting. Each
//! subcommand lives in `commands/` and is a thin layer over dynamofs-core.

use std::process::ExitCode;

use clap::Parser;

mod args;
mod commands;
mod helper;
mod json;
mod printer;

use args::{Cli, Command};
use printer::Printer;

fn main() -> ExitCode {
    let cli = Cli::parse_from(helper::argv());
    init_tracing(cli.global.verbose);
    let printer = Printer::new(cli.global.quiet, cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dynamofs: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Mkfs(a) => commands::mkfs::run(&cli.global, a, &printer).await,
            Command::Mount(a) => commands::mount::run(&cli.global, a, &printer).await,
            Command::Fsck(a) => commands::fsck::run(&cli.global, a, &printer).await,
            Command::Ls(a) => commands::ls::run(&cli.global, a, &printer).await,
            Command::Cp(a) => commands::cp::run(&cli.global, a, &printer).await,
            Command::Cat(a) => commands::files::run_cat(&cli.global, a, &printer).await,
            Command::Mkdir(a) => commands::files::run_mkdir(&cli.global, a, &printer).await,
            Command::Rm(a) => commands::files::run_rm(&cli.global, a, &printer).await,
            Command::Mv(a) => commands::files::run_mv(&cli.global, a, &printer).await,
            Command::Stat(a) => commands::files::run_stat(&cli.global, a, &printer).await,
            Command::Lock(a) => commands::lock::run(&cli.global, a, &printer).await,
            Command::Stats(a) => commands::stats::run(&cli.global, a, &printer).await,
            Command::Status(a) => commands::status::run(&cli.global, a, &printer).await,
            Command::Config(a) => commands::config::run(&cli.global, a, &printer).await,
            Command::Destroy(a) => commands::destroy::run(&cli.global, a, &printer).await,
            Command::Trash(a) => commands::trash::run(&cli.global, a, &printer).await,
            Command::Bench(a) => commands::bench::run(&cli.global, a, &printer).await,
            Command::Dump(a) => commands::dump::run_dump(&cli.global, a, &printer).await,
            Command::Load(a) => commands::dump::run_load(&cli.global, a, &printer).await,
            Command::GenerateDocs(a) => commands::docs::run(a),
        }
    });
    // Work still running here is not waited for: a mount detached lazily
    // on a signal leaves its FUSE session serving files that stay open
    // (after their data was stored), and it must not keep the process.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                // `dynamofs ls | head`: the reader left; not an error.
                return ExitCode::SUCCESS;
            }
            printer.error(&e);
            ExitCode::from(1)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        // Other crates' warnings (the AWS SDK's) are noise to a user.
        0 => "error,dynamofs=warn,dynamofs_core=warn,dynamofs_fuse=warn",
        1 => "info,dynamofs=debug,dynamofs_core=debug",
        _ => "debug",
    };
    // DYNAMOFS_LOG, else the Rust convention RUST_LOG, else -v.
    let filter = EnvFilter::try_from_env("DYNAMOFS_LOG")
        .or_else(|_| EnvFilter::try_from_env("RUST_LOG"))
        .unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
