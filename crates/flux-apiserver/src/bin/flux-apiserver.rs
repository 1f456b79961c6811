//! `flux-apiserver --data-dir DIR [--port PORT] [--no-workload-simulator]`: the embedded API server on its own
//! (what `flux dev --api-only` runs). Serves HTTPS on 127.0.0.1 until killed and writes
//! `DIR/kubeconfig`; prints `listening on https://ADDR` once ready.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!("usage: flux-apiserver --data-dir DIR [--port PORT] [--no-workload-simulator]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut data_dir: Option<PathBuf> = None;
    let mut port: u16 = 0;
    let mut simulator = true;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--data-dir" => data_dir = args.next().map(PathBuf::from),
            "--no-workload-simulator" => simulator = false,
            "--port" => match args.next().map(|p| p.parse::<u16>()) {
                Some(Ok(p)) => port = p,
                _ => return usage(),
            },
            _ => return usage(),
        }
    }
    let Some(dir) = data_dir else {
        return usage();
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("flux-apiserver: starting the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    match runtime.block_on(flux_apiserver::run_dev(&dir, addr, simulator, |local| {
        println!("listening on https://{local}");
    })) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("flux-apiserver: {err}");
            ExitCode::FAILURE
        }
    }
}
