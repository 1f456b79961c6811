//! Bad input: each case gets the code and reason a real API server gives, and nothing
//! is stored.

use axum::body::Body;
use http::Request;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams};
use serde_json::Value;
use tower::ServiceExt;

use super::{Listening, api_error, in_process};

async fn call(
    router: &axum::Router,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> anyhow::Result<(u16, Value)> {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let resp = router.clone().oneshot(req.body(Body::from(body))?).await?;
    let code = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await?;
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok((code, value))
}

fn reason(v: &Value) -> &str {
    v["reason"].as_str().unwrap_or("")
}

const CMS: &str = "/api/v1/namespaces/default/configmaps";

#[tokio::test]
async fn malformed_bodies_wrong_types_and_names() -> anyhow::Result<()> {
    let (server, client) = in_process()?;
    let r = server.router();
    type Case<'a> = (&'a str, Option<&'a str>, &'a [u8], u16, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (
            "malformed JSON",
            Some("application/json"),
            b"{\"metadata\": {",
            400,
            "BadRequest",
        ),
        (
            "malformed YAML",
            Some("application/yaml"),
            b"metadata: [unclosed\n  name: x",
            400,
            "BadRequest",
        ),
        ("not an object", None, b"[1, 2]", 400, "BadRequest"),
        (
            "wrong apiVersion",
            None,
            br#"{"apiVersion":"v2","kind":"ConfigMap","metadata":{"name":"a"}}"#,
            400,
            "BadRequest",
        ),
        (
            "wrong kind",
            None,
            br#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"a"}}"#,
            400,
            "BadRequest",
        ),
        (
            "invalid name",
            None,
            br#"{"metadata":{"name":"Bad_Name"}}"#,
            422,
            "Invalid",
        ),
        ("no name", None, br#"{"metadata":{}}"#, 422, "Invalid"),
        (
            "bad label",
            None,
            br#"{"metadata":{"name":"a","labels":{"k":"has space"}}}"#,
            422,
            "Invalid",
        ),
        (
            "protobuf",
            Some("application/vnd.kubernetes.protobuf"),
            b"k8s\0",
            415,
            "UnsupportedMediaType",
        ),
        (
            "unknown media type",
            Some("text/csv"),
            b"a,b",
            415,
            "UnsupportedMediaType",
        ),
    ];
    for (what, ct, body, code, why) in cases {
        let (got, status) = call(&r, "POST", CMS, ct, body.to_vec()).await?;
        assert_eq!((got, reason(&status)), (code, why), "{what}: {status}");
        assert_eq!(status["kind"], "Status", "{what}");
        assert_eq!(status["code"], code, "{what}");
    }
    let (_, invalid) = call(
        &r,
        "POST",
        CMS,
        None,
        br#"{"metadata":{"name":"Bad_Name"}}"#.to_vec(),
    )
    .await?;
    assert_eq!(invalid["details"]["causes"][0]["field"], "metadata.name");
    assert!(invalid["message"].as_str().unwrap_or("").starts_with("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"));
    // YAML bodies work when well-formed.
    let (code, _) = call(
        &r,
        "POST",
        CMS,
        Some("application/yaml"),
        b"metadata:\n  name: from-yaml\ndata:\n  a: b\n".to_vec(),
    )
    .await?;
    assert_eq!(code, 201);
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let names: Vec<String> = api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect();
    assert_eq!(names, ["from-yaml"], "nothing partial was stored");
    Ok(())
}

#[tokio::test]
async fn unknown_paths_sizes_and_resource_versions() -> anyhow::Result<()> {
    let (server, client) = in_process()?;
    let r = server.router();
    for path in [
        "/api/v1/namespaces/default/widgets",
        "/apis/nope.io/v1/things",
        "/apis/apps/v9/deployments",
        "/nothing",
    ] {
        let (code, status) = call(&r, "GET", path, None, vec![]).await?;
        assert_eq!((code, reason(&status)), (404, "NotFound"), "{path}");
        assert_eq!(
            status["message"],
            "the server could not find the requested resource"
        );
    }
    let (code, status) = call(&r, "GET", &format!("{CMS}/missing"), None, vec![]).await?;
    assert_eq!(
        (code, status["message"].as_str()),
        (404, Some("configmaps \"missing\" not found"))
    );
    let (code, status) = call(
        &r,
        "PUT",
        "/apis/apps/v1/namespaces/default/deployments",
        None,
        b"{}".to_vec(),
    )
    .await?;
    assert_eq!((code, reason(&status)), (405, "MethodNotAllowed"));

    let big = format!(
        r#"{{"metadata":{{"name":"big"}},"data":{{"x":"{}"}}}}"#,
        "a".repeat(4 * 1024 * 1024)
    );
    let (code, status) = call(&r, "POST", CMS, None, big.into_bytes()).await?;
    assert_eq!((code, reason(&status)), (413, "RequestEntityTooLarge"));

    let (code, status) = call(
        &r,
        "GET",
        &format!("{CMS}?watch=1&resourceVersion=garbage"),
        None,
        vec![],
    )
    .await?;
    assert_eq!((code, reason(&status)), (422, "Invalid"), "{status}");
    assert_eq!(status["details"]["causes"][0]["field"], "resourceVersion");
    let (code, _) = call(
        &r,
        "GET",
        &format!("{CMS}?labelSelector=a%20in%20(b"),
        None,
        vec![],
    )
    .await?;
    assert_eq!(code, 400);
    let (code, status) = call(
        &r,
        "GET",
        &format!("{CMS}?fieldSelector=spec.nope%3D1"),
        None,
        vec![],
    )
    .await?;
    assert_eq!((code, reason(&status)), (400, "BadRequest"));
    let (code, _) = call(
        &r,
        "POST",
        &format!("{CMS}?dryRun=Yes"),
        None,
        br#"{"metadata":{"name":"a"}}"#.to_vec(),
    )
    .await?;
    assert_eq!(code, 400);
    let (code, _) = call(&r, "GET", &format!("{CMS}?continue=zz"), None, vec![]).await?;
    assert_eq!(code, 400);
    // A multi-byte character in a continue token is a 400, not a crash.
    let (code, _) = call(&r, "GET", &format!("{CMS}?continue=%C3%A9a"), None, vec![]).await?;
    assert_eq!(code, 400);
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    assert!(api.list(&ListParams::default()).await?.items.is_empty());
    let err = api.get("x").await.expect_err("missing");
    assert_eq!(api_error(&err), Some((404, "NotFound".to_string())));
    Ok(())
}

#[tokio::test]
async fn https_listener_requires_the_bearer_token() -> anyhow::Result<()> {
    let server = Listening::start().await?;
    // With the kubeconfig's token: works over HTTPS.
    let client = server.client().await?;
    let version = client.apiserver_version().await?;
    assert_eq!(version.git_version, "v1.33.1");
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    api.list(&ListParams::default()).await?;
    // Without a token: 401 Unauthorized.
    let mut config = server.kube_config().await?;
    config.auth_info.token = None;
    let anonymous: Api<ConfigMap> = Api::namespaced(kube::Client::try_from(config)?, "default");
    let err = anonymous
        .list(&ListParams::default())
        .await
        .expect_err("401");
    assert_eq!(api_error(&err), Some((401, "Unauthorized".to_string())));
    Ok(())
}
