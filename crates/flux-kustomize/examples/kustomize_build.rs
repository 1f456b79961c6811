//! `kustomize_build DIR [--load-restrictor=…]`: the engine alone, for checking it against
//! fixtures without building the whole `flux` CLI.

use std::io::Write as _;
use std::path::PathBuf;

use flux_kustomize::{BuildOptions, DiskFs, LoadRestrictor};

fn main() -> std::process::ExitCode {
    let mut dir = None;
    let mut opts = BuildOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let value = if a == "--load-restrictor" {
            args.next()
        } else {
            a.strip_prefix("--load-restrictor=").map(str::to_string)
        };
        match value {
            Some(v) if v == "LoadRestrictionsNone" => opts.load_restrictor = LoadRestrictor::None,
            Some(v) if v == "LoadRestrictionsRootOnly" => {
                opts.load_restrictor = LoadRestrictor::RootOnly
            }
            Some(v) => {
                eprintln!("Error: invalid --load-restrictor {v:?}");
                return std::process::ExitCode::from(2);
            }
            None => dir = Some(PathBuf::from(a)),
        }
    }
    let Some(dir) = dir else {
        eprintln!("usage: kustomize_build DIR [--load-restrictor=LoadRestrictionsNone]");
        return std::process::ExitCode::from(2);
    };
    match flux_kustomize::build_to_yaml(&DiskFs, &dir, &opts) {
        Ok(out) => {
            let mut so = std::io::stdout().lock();
            if so
                .write_all(out.as_bytes())
                .and_then(|_| so.flush())
                .is_err()
            {
                return std::process::ExitCode::from(1);
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("Error: {e}");
            std::process::ExitCode::from(1)
        }
    }
}
