//! Integration tests of flux-apiserver (one test binary): kube-rs in-process, raw HTTP
//! bad-input cases, a durable child process killed with SIGKILL, and the real kubectl.

mod bad_input;
mod crd;
mod crd_rules;
mod deletion;
mod durability;
mod kube_crud;
mod kube_runtime;
mod kube_watch;
mod kubectl;
mod python_client;
mod rbac_defaults;
mod simulator;
mod ssa;
mod wire;

use flux_apiserver::ApiServer;

/// A fresh in-memory server and a kube client talking to it in-process.
pub fn in_process() -> anyhow::Result<(ApiServer, kube::Client)> {
    let server = ApiServer::in_memory()?;
    let client = kube::Client::new(server.router(), "default");
    Ok((server, client))
}

/// The kube-rs error's HTTP code and reason, if it is an API error.
pub fn api_error(err: &kube::Error) -> Option<(u16, String)> {
    match err {
        kube::Error::Api(status) => Some((status.code, status.reason.clone())),
        _ => None,
    }
}

/// A server listening on 127.0.0.1 (HTTPS, bearer token), served on the current runtime.
pub struct Listening {
    pub server: ApiServer,
    pub addr: std::net::SocketAddr,
    pub tls: flux_apiserver::TlsMaterial,
    pub dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Listening {
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(false).await
    }

    /// Start, optionally with the workload simulator.
    pub async fn start_with(simulator: bool) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let server = ApiServer::open(dir.path(), flux_apiserver::Durability::ProcessCrash)?;
        let tls = flux_apiserver::TlsMaterial::load_or_create(dir.path())?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        flux_apiserver::write_kubeconfig(&dir.path().join("kubeconfig"), addr, &tls)?;
        let (srv, material) = (server.clone(), tls.clone());
        let task = tokio::spawn(async move {
            let sim = simulator.then(|| srv.start_workload_simulator());
            let _ = srv.serve_tls(listener, &material).await;
            if let Some(sim) = sim {
                sim.abort();
            }
        });
        Ok(Self {
            server,
            addr,
            tls,
            dir,
            task,
        })
    }

    pub fn kubeconfig(&self) -> std::path::PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// A kube client built from the written kubeconfig (over HTTPS).
    pub async fn client(&self) -> anyhow::Result<kube::Client> {
        let config = self.kube_config().await?;
        Ok(kube::Client::try_from(config)?)
    }

    pub async fn kube_config(&self) -> anyhow::Result<kube::Config> {
        let kc = kube::config::Kubeconfig::read_from(self.kubeconfig())?;
        Ok(kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?)
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.task.abort();
    }
}
