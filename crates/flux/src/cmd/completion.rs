//! `flux completion <shell>`.

use clap_complete::Shell;

/// Flags of `flux completion`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to generate completions for.
    #[arg(value_enum)]
    pub shell: Shell,
}

pub fn run(args: Args, cmd: &mut clap::Command) {
    clap_complete::generate(args.shell, cmd, "flux", &mut std::io::stdout());
}
