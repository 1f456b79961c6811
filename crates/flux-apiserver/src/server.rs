//! The API server: state, the HTTP router (a `tower::Service`), and the HTTPS listener.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderValue, Method, StatusCode, header};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::discovery;
use crate::rbac::UserInfo;
use crate::request::{Query, ResourcePath, Route, decode_object, route};
use crate::resources::{Registry, ResourceDef};
use crate::status::ApiError;
use crate::store::{Durability, Store, StoreError};
use crate::tls::{TlsError, TlsMaterial};
use crate::verbs::{self, DeleteOptions};
use crate::watch;

/// Upstream's request body limit (3 MiB).
pub const DEFAULT_BODY_LIMIT: usize = 3 * 1024 * 1024;

/// The namespaces every cluster has.
pub const DEFAULT_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("opening the store: {0}")]
    Store(#[from] StoreError),
    #[error("preparing TLS: {0}")]
    Tls(#[from] TlsError),
    #[error("creating the default namespace {namespace}: {source}")]
    Bootstrap { namespace: String, source: ApiError },
    #[error("creating the bootstrap RBAC object {name}: {source}")]
    BootstrapPolicy { name: String, source: ApiError },
    #[error("binding {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("writing {path}: {source}")]
    WriteKubeconfig {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Shared state of one API server.
pub struct Api {
    pub store: Store,
    pub registry: Registry,
    pub body_limit: usize,
    /// What `/api` reports as the server address.
    pub server_address: parking_lot::RwLock<String>,
    /// The OpenAPI documents for a registry generation.
    openapi: parking_lot::Mutex<Option<(u64, Arc<crate::openapi::Index>)>>,
    /// Paged lists in progress: the snapshot each continue token reads from.
    pub(crate) list_snapshots: crate::verbs::ListSnapshots,
}

impl Api {
    fn new(store: Store) -> Result<Self, ServerError> {
        let api = Api {
            store,
            registry: Registry::new(),
            body_limit: DEFAULT_BODY_LIMIT,
            server_address: parking_lot::RwLock::new("127.0.0.1:6443".into()),
            openapi: parking_lot::Mutex::new(None),
            list_snapshots: crate::verbs::ListSnapshots::default(),
        };
        api.bootstrap()?;
        Ok(api)
    }

    /// Default namespaces, and serving the CRDs found in storage.
    fn bootstrap(&self) -> Result<(), ServerError> {
        let ns_def =
            self.registry
                .get("", "v1", "namespaces")
                .ok_or_else(|| ServerError::Bootstrap {
                    namespace: "default".into(),
                    source: ApiError::internal("namespaces are not registered"),
                })?;
        for ns in DEFAULT_NAMESPACES {
            let key = verbs::key(&ns_def, None, ns);
            if self.store.get(&key).is_none() {
                let obj =
                    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
                verbs::create(self, &ns_def, None, obj, &Query::default()).map_err(|source| {
                    ServerError::Bootstrap {
                        namespace: (*ns).to_string(),
                        source,
                    }
                })?;
            }
            verbs::ensure_default_service_account(self, ns);
        }
        // upstream's bootstrap policy (cluster-admin, admin, edit, view, ...), once.
        let q = Query {
            field_manager: Some("kube-apiserver".to_string()),
            ..Query::default()
        };
        for obj in crate::rbac::bootstrap_policy() {
            let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
            let name = obj
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let plural = if kind == "ClusterRole" {
                "clusterroles"
            } else {
                "clusterrolebindings"
            };
            let Some(def) = self.registry.get("rbac.authorization.k8s.io", "v1", plural) else {
                continue;
            };
            if self.store.get(&verbs::key(&def, None, &name)).is_none() {
                verbs::create(self, &def, None, obj, &q)
                    .map_err(|source| ServerError::BootstrapPolicy { name, source })?;
            }
        }
        let (crds, _) =
            self.store
                .list("apiextensions.k8s.io/customresourcedefinitions", None, None);
        for crd in crds {
            crate::crd::serve(self, &crd);
        }
        Ok(())
    }
}

/// An API server: storage plus the HTTP surface.
#[derive(Clone)]
pub struct ApiServer {
    api: Arc<Api>,
}

impl ApiServer {
    /// A server whose state lives only in memory.
    pub fn in_memory() -> Result<Self, ServerError> {
        Ok(Self {
            api: Arc::new(Api::new(Store::in_memory())?),
        })
    }

    /// A durable server with its database under `dir`.
    pub fn open(dir: &Path, durability: Durability) -> Result<Self, ServerError> {
        Ok(Self {
            api: Arc::new(Api::new(Store::open(dir, durability)?)?),
        })
    }

    pub fn api(&self) -> &Arc<Api> {
        &self.api
    }

    /// Start the workload simulator on the current tokio runtime (see [`crate::simulator`]);
    /// it runs until the returned task is aborted or the server is dropped.
    pub fn start_workload_simulator(&self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(crate::simulator::run(self.api.clone()))
    }

    /// The HTTP surface without authentication, as a `tower::Service` (in-process use:
    /// `kube::Client::new(server.router(), "default")`).
    pub fn router(&self) -> axum::Router {
        let api = self.api.clone();
        axum::Router::new().fallback(move |req: Request| {
            let api = api.clone();
            async move { handle(api, req).await }
        })
    }

    /// The HTTP surface behind bearer-token authentication.
    pub fn authenticated_router(&self, token: String) -> axum::Router {
        let token: Arc<str> = token.into();
        self.router().layer(axum::middleware::from_fn(
            move |req: Request, next: axum::middleware::Next| {
                let token = token.clone();
                async move {
                    if bearer_matches(&req, &token) {
                        let mut req = req;
                        req.extensions_mut().insert(crate::rbac::UserInfo::admin());
                        next.run(req).await
                    } else if is_public(req.uri().path()) {
                        next.run(req).await
                    } else {
                        error_response(&ApiError::unauthorized())
                    }
                }
            },
        ))
    }

    /// Serve HTTPS (HTTP/1.1 and HTTP/2) on `listener` until the task is dropped.
    pub async fn serve_tls(
        &self,
        listener: TcpListener,
        tls: &TlsMaterial,
    ) -> Result<(), ServerError> {
        if let Ok(addr) = listener.local_addr() {
            *self.api.server_address.write() = addr.to_string();
        }
        let acceptor = tls.acceptor()?;
        let service = self.authenticated_router(tls.token.clone());
        loop {
            let Ok((tcp, _peer)) = listener.accept().await else {
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let service = service.clone();
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(tcp).await else {
                    return;
                };
                let io = hyper_util::rt::TokioIo::new(stream);
                let hyper_service = hyper_util::service::TowerToHyperService::new(service);
                let builder = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                );
                let _ = builder.serve_connection(io, hyper_service).await;
            });
        }
    }
}

fn is_public(path: &str) -> bool {
    matches!(path, "/version" | "/healthz" | "/livez" | "/readyz")
}

fn bearer_matches(req: &Request, token: &str) -> bool {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .is_some_and(|t| constant_time_eq(t.trim().as_bytes(), token.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn json_response(code: u16, body: &Value) -> Response {
    json_response_typed(code, body, "application/json")
}

fn json_response_typed(code: u16, body: &Value, content_type: &'static str) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

pub fn error_response(err: &ApiError) -> Response {
    let mut resp = json_response(err.code, &err.to_status());
    if let Some(secs) = err.retry_after
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

async fn handle(api: Arc<Api>, req: Request) -> Response {
    let gzip = accepts_gzip(&req);
    let resp = match dispatch(api, req).await {
        Ok(resp) => resp,
        Err(err) => error_response(&err),
    };
    if gzip {
        gzip_response(resp).await
    } else {
        resp
    }
}

/// Responses at least this large are gzip-compressed for clients that accept it (the
/// apiserver's threshold); smaller ones and streams (watch) are sent as they are.
pub const GZIP_THRESHOLD_BYTES: u64 = 128 * 1024;

fn accepts_gzip(req: &Request) -> bool {
    header_str(req, header::ACCEPT_ENCODING).is_some_and(|v| {
        v.split(',').any(|part| {
            let mut pieces = part.split(';').map(str::trim);
            let coding = pieces.next().unwrap_or("");
            let refused = pieces.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            coding.eq_ignore_ascii_case("gzip") && !refused
        })
    })
}

async fn gzip_response(resp: Response) -> Response {
    use std::io::Write;
    let exact = axum::body::HttpBody::size_hint(resp.body()).exact();
    let large = exact.is_some_and(|n| n >= GZIP_THRESHOLD_BYTES);
    if !large || resp.headers().contains_key(header::CONTENT_ENCODING) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return error_response(&ApiError::internal("reading a response body failed"));
    };
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4),
        flate2::Compression::fast(),
    );
    let compressed = match encoder.write_all(&bytes).and_then(|()| encoder.finish()) {
        Ok(c) => c,
        Err(_) => return Response::from_parts(parts, Body::from(bytes)),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    parts
        .headers
        .insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    Response::from_parts(parts, Body::from(compressed))
}

fn header_str(req: &Request, name: header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

async fn read_body(req: Request, limit: usize) -> Result<Bytes, ApiError> {
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && len > limit
    {
        return Err(ApiError::request_entity_too_large(limit));
    }
    axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| ApiError::request_entity_too_large(limit))
}

/// The authenticated user (admin for in-process use), after impersonation.
fn request_user(api: &Api, req: &Request) -> Result<UserInfo, ApiError> {
    let real = req
        .extensions()
        .get::<UserInfo>()
        .cloned()
        .unwrap_or_else(UserInfo::admin);
    let user = req
        .headers()
        .get("impersonate-user")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let groups: Vec<String> = req
        .headers()
        .get_all("impersonate-group")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_string)
        .collect();
    crate::rbac::effective_user(api, real, user.as_deref(), groups)
}

async fn dispatch(api: Arc<Api>, req: Request) -> Result<Response, ApiError> {
    let path = req.uri().path().to_string();
    let user = request_user(&api, &req)?;
    let registry = &api.registry;
    let r = route(&path, |g, v, p| {
        registry.get(g, v, p).is_some_and(|d| d.namespaced)
    });
    let get_only = |m: &Method| -> Result<(), ApiError> {
        if m == Method::GET || m == Method::HEAD {
            Ok(())
        } else {
            Err(ApiError::method_not_allowed())
        }
    };
    let accept = header_str(&req, header::ACCEPT).map(str::to_string);
    if !matches!(r, Route::Resource(_)) {
        let attrs = crate::rbac::Attributes {
            verb: req.method().as_str().to_ascii_lowercase(),
            path: Some(path.clone()),
            ..Default::default()
        };
        if crate::rbac::authorize(&api, &user, &attrs).is_none() {
            return Err(crate::rbac::forbidden(&user, &attrs));
        }
    }
    match r {
        Route::Version => {
            get_only(req.method())?;
            Ok(json_response(200, &discovery::version_info()))
        }
        Route::Health => {
            let mut resp = Response::new(Body::from("ok"));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            Ok(resp)
        }
        Route::CoreGroup | Route::Groups => {
            get_only(req.method())?;
            let core = r == Route::CoreGroup;
            match discovery::wants_aggregated(accept.as_deref()) {
                Some(version) => {
                    let ct = if version == "v2" {
                        discovery::AGGREGATED_V2
                    } else {
                        discovery::AGGREGATED_V2BETA1
                    };
                    Ok(json_response_typed(
                        200,
                        &discovery::aggregated(&api.registry, core, version),
                        ct,
                    ))
                }
                None if core => Ok(json_response(
                    200,
                    &discovery::legacy_core(&api.server_address.read()),
                )),
                None => Ok(json_response(200, &discovery::legacy_groups(&api.registry))),
            }
        }
        Route::Group(g) => {
            get_only(req.method())?;
            discovery::legacy_group(&api.registry, &g)
                .map(|v| json_response(200, &v))
                .ok_or_else(ApiError::no_such_path)
        }
        Route::GroupVersion(g, v) => {
            get_only(req.method())?;
            discovery::legacy_resource_list(&api.registry, &g, &v)
                .map(|v| json_response(200, &v))
                .ok_or_else(ApiError::no_such_path)
        }
        Route::OpenApi(rest) => {
            get_only(req.method())?;
            openapi_response(&api, &rest, req.uri().query())
        }
        Route::Unknown => Err(ApiError::no_such_path()),
        Route::Resource(rp) => resource(api.clone(), rp, req, user).await,
    }
}

impl Api {
    fn openapi_index(&self) -> Arc<crate::openapi::Index> {
        let generation = self.registry.generation();
        let mut cache = self.openapi.lock();
        if let Some((g, index)) = cache.as_ref()
            && *g == generation
        {
            return index.clone();
        }
        let index = Arc::new(crate::openapi::build_index(&self.registry));
        *cache = Some((generation, index.clone()));
        index
    }
}

fn openapi_response(api: &Api, rest: &str, query: Option<&str>) -> Result<Response, ApiError> {
    if rest == "v3" {
        return Ok(json_response(200, &api.openapi_index().root()));
    }
    let Some(key) = rest.strip_prefix("v3/") else {
        // /openapi/v2 is protobuf-only for kubectl: answer 404 as the wire notes advise.
        return Err(ApiError::no_such_path());
    };
    let index = api.openapi_index();
    let (hash, bytes) = index
        .documents
        .get(key)
        .ok_or_else(ApiError::no_such_path)?;
    let asked = query
        .into_iter()
        .flat_map(|q| url::form_urlencoded::parse(q.as_bytes()))
        .find(|(k, _)| k == "hash")
        .map(|(_, v)| v.into_owned());
    let mut resp = Response::new(Body::from(bytes.as_ref().clone()));
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{hash}\"")) {
        headers.insert(header::ETAG, etag);
    }
    if asked.as_deref() == Some(hash.as_str()) {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, immutable"),
        );
        headers.insert(
            header::EXPIRES,
            HeaderValue::from_static("Fri, 01 Jan 2100 00:00:00 GMT"),
        );
    } else {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache, private"),
        );
    }
    Ok(resp)
}

async fn resource(
    api: Arc<Api>,
    rp: ResourcePath,
    req: Request,
    user: UserInfo,
) -> Result<Response, ApiError> {
    let def: Arc<ResourceDef> = api
        .registry
        .get(&rp.group, &rp.version, &rp.plural)
        .ok_or_else(ApiError::no_such_path)?;
    if rp.namespace.is_some() && !def.namespaced {
        return Err(ApiError::no_such_path());
    }
    if let Some(ns) = rp.namespace.as_deref()
        && ns.is_empty()
    {
        return Err(ApiError::no_such_path());
    }
    let mut q = Query::parse(req.uri().query())?;
    q.user_agent = header_str(&req, header::USER_AGENT).map(str::to_string);
    q.as_table = crate::table::wants_table(header_str(&req, header::ACCEPT));
    let ns = rp.namespace.as_deref();
    let name = rp.name.as_deref();
    let sub = rp.subresource.as_deref();
    let method = req.method().clone();
    if def.create_only && method != Method::POST {
        return Err(ApiError::method_not_allowed());
    }
    let content_type = header_str(&req, header::CONTENT_TYPE).map(str::to_string);
    let verb = match (&method, name) {
        (&Method::GET, Some(_)) => "get",
        (&Method::GET, None) if q.watch => "watch",
        (&Method::GET, None) => "list",
        (&Method::POST, _) => "create",
        (&Method::PUT, _) => "update",
        (&Method::PATCH, _) => "patch",
        (&Method::DELETE, Some(_)) => "delete",
        (&Method::DELETE, None) => "deletecollection",
        _ => "unknown",
    };
    let attrs = crate::rbac::Attributes {
        verb: verb.to_string(),
        api_group: def.group.clone(),
        resource: def.plural.clone(),
        subresource: sub.unwrap_or("").to_string(),
        name: name.unwrap_or("").to_string(),
        namespace: ns.unwrap_or("").to_string(),
        path: None,
    };
    if crate::rbac::authorize(&api, &user, &attrs).is_none() {
        return Err(crate::rbac::forbidden(&user, &attrs));
    }
    let mut warnings: Vec<String> = Vec::new();
    let mode = q.field_validation.as_deref();
    // Unknown and duplicate fields: Strict fails, Warn (the default) warns, Ignore drops.
    let body_problems = |def: &crate::resources::ResourceDef,
                         obj: &Value,
                         raw: &[u8],
                         json_body: bool|
     -> Result<Vec<String>, ApiError> {
        if mode == Some("Ignore") {
            return Ok(Vec::new());
        }
        let duplicates = if json_body {
            crate::field_validation::duplicate_fields(raw)
        } else {
            Vec::new()
        };
        let unknown: Vec<String> = crate::field_validation::unknown_fields(def, obj)
            .into_iter()
            .filter(|f| !f.split('.').any(|seg| seg.starts_with('$')))
            .collect();
        crate::field_validation::judge(mode, &duplicates, &unknown)
    };
    let is_json = |ct: Option<&str>| {
        matches!(
            crate::request::media_type(ct).as_str(),
            "application/json"
                | "*/*"
                | "text/plain"
                | "application/merge-patch+json"
                | "application/strategic-merge-patch+json"
        )
    };
    let answer = match (method, name) {
        (Method::GET, Some(name)) => {
            let answer = verbs::get(&api, &def, ns, name, sub)?;
            if q.as_table && sub.is_none() {
                let rv = answer.body.pointer("/metadata/resourceVersion").cloned();
                let include = crate::table::IncludeObject::parse(q.include_object.as_deref());
                let body = crate::table::table(
                    &def,
                    std::slice::from_ref(&answer.body),
                    json!({"resourceVersion": rv}),
                    include,
                );
                return Ok(json_response(200, &body));
            }
            answer
        }
        (Method::GET, None) if q.watch => {
            let rx = watch::start(api.clone(), def, rp.namespace.clone(), &q)?;
            let stream = futures::stream::unfold(rx, |mut rx| async move {
                rx.recv()
                    .await
                    .map(|b| (Ok::<Bytes, std::convert::Infallible>(b), rx))
            });
            let mut resp = Response::new(Body::from_stream(stream.boxed()));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            resp.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-cache, private"),
            );
            return Ok(resp);
        }
        (Method::GET, None) if !q.as_table => {
            let bytes = verbs::list_json(&api, &def, ns, &q)?;
            let mut resp = Response::new(Body::from(bytes));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            return Ok(resp);
        }
        (Method::GET, None) => {
            let answer = verbs::list(&api, &def, ns, &q)?;
            if q.as_table {
                let include = crate::table::IncludeObject::parse(q.include_object.as_deref());
                let items = answer.body["items"].as_array().cloned().unwrap_or_default();
                let body =
                    crate::table::table(&def, &items, answer.body["metadata"].clone(), include);
                return Ok(json_response(200, &body));
            }
            answer
        }
        (Method::POST, None) => {
            let body = read_body(req, api.body_limit).await?;
            let obj = decode_object(content_type.as_deref(), &body)?;
            if !def.create_only {
                warnings = body_problems(&def, &obj, &body, is_json(content_type.as_deref()))?;
            }
            if def.create_only {
                verbs::review(&api, &def, obj, &user)?
            } else {
                verbs::create(&api, &def, ns, obj, &q)?
            }
        }
        (Method::PUT, Some(name)) => {
            let body = read_body(req, api.body_limit).await?;
            let obj = decode_object(content_type.as_deref(), &body)?;
            if sub.is_none() {
                warnings = body_problems(&def, &obj, &body, is_json(content_type.as_deref()))?;
            }
            verbs::update(&api, &def, ns, name, sub, obj, &q)?
        }
        (Method::PATCH, Some(name)) => {
            let body = read_body(req, api.body_limit).await?;
            let media = crate::request::media_type(content_type.as_deref());
            if sub.is_none() && mode != Some("Ignore") {
                // The patch body names the fields it sets (merge, strategic, apply).
                let patch_obj: Option<Value> = match media.as_str() {
                    "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
                        serde_json::from_slice(&body).ok()
                    }
                    "application/apply-patch+yaml" => crate::request::decode_apply_body(&body).ok(),
                    _ => None,
                };
                if let Some(obj) = patch_obj.filter(Value::is_object) {
                    warnings = body_problems(&def, &obj, &body, is_json(Some(&media)))?;
                }
            }
            verbs::patch(
                &api,
                &def,
                ns,
                name,
                sub,
                verbs::PatchBody {
                    content_type: content_type.as_deref(),
                    body: &body,
                },
                &q,
            )?
        }
        (Method::DELETE, Some(name)) => {
            if sub.is_some() {
                return Err(ApiError::method_not_allowed());
            }
            let body = read_body(req, api.body_limit).await?;
            let opts = DeleteOptions::from_request(&body, &q)?;
            verbs::delete(&api, &def, ns, name, &opts)?
        }
        (Method::DELETE, None) => {
            let body = read_body(req, api.body_limit).await?;
            let opts = DeleteOptions::from_request(&body, &q)?;
            verbs::delete_collection(&api, &def, ns, &q, &opts)?
        }
        _ => return Err(ApiError::method_not_allowed()),
    };
    let mut resp = json_response(answer.code, &answer.body);
    for problem in warnings {
        // As upstream: `299 - "unknown field \"spec.foo\""`.
        let text = format!("299 - \"{}\"", problem.replace('"', "\\\""));
        if let Ok(v) = HeaderValue::from_str(&text) {
            resp.headers_mut().append(header::WARNING, v);
        }
    }
    Ok(resp)
}

/// A kubeconfig for a server at `server_url` (cluster CA, admin token).
pub fn kubeconfig(server_url: &str, ca_pem: &str, token: &str) -> String {
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem.as_bytes());
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: flux-dev
  cluster:
    server: {server_url}
    certificate-authority-data: {ca}
users:
- name: flux-dev-admin
  user:
    token: {token}
contexts:
- name: flux-dev
  context:
    cluster: flux-dev
    user: flux-dev-admin
    namespace: default
current-context: flux-dev
preferences: {{}}
"
    )
}

/// Write the kubeconfig for `addr` to `path` (mode 0600 on Unix).
pub fn write_kubeconfig(
    path: &Path,
    addr: SocketAddr,
    tls: &TlsMaterial,
) -> Result<(), ServerError> {
    let text = kubeconfig(&format!("https://{addr}"), &tls.ca_pem, &tls.token);
    crate::tls::write_private(path, text.as_bytes()).map_err(|source| {
        ServerError::WriteKubeconfig {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Start a durable HTTPS server for `flux dev --api-only`: opens `dir`, binds `addr`,
/// writes `dir/kubeconfig`, starts the workload simulator if asked, calls `on_ready` with the bound address, then serves until
/// the future is dropped.
pub async fn run_dev(
    dir: &Path,
    addr: SocketAddr,
    workload_simulator: bool,
    on_ready: impl FnOnce(SocketAddr),
) -> Result<(), ServerError> {
    let server = ApiServer::open(dir, Durability::ProcessCrash)?;
    let simulator = workload_simulator.then(|| server.start_workload_simulator());
    let tls = TlsMaterial::load_or_create(dir)?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| ServerError::Bind { addr, source })?;
    write_kubeconfig(&dir.join("kubeconfig"), local, &tls)?;
    on_ready(local);
    let served = server.serve_tls(listener, &tls).await;
    if let Some(task) = simulator {
        task.abort();
    }
    served
}
