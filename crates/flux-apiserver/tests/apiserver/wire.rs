//! Wire details: gzip responses for clients that accept them, and paged lists whose
//! continue tokens read one consistent snapshot (the first page's resourceVersion).

use std::io::Read;

use axum::body::Body;
use http::Request;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{Listening, in_process};

const CMS: &str = "/api/v1/namespaces/default/configmaps";

/// GET through the router: (code, content-encoding, body bytes).
async fn get(
    router: &axum::Router,
    path: &str,
    accept_encoding: Option<&str>,
) -> anyhow::Result<(u16, Option<String>, Vec<u8>)> {
    let mut req = Request::builder().method("GET").uri(path);
    if let Some(ae) = accept_encoding {
        req = req.header("accept-encoding", ae);
    }
    let resp = router.clone().oneshot(req.body(Body::empty())?).await?;
    let code = resp.status().as_u16();
    let encoding = resp
        .headers()
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await?;
    Ok((code, encoding, bytes.to_vec()))
}

fn gunzip(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(out)
}

async fn make_configmaps(api: &Api<ConfigMap>, n: usize, payload: usize) -> anyhow::Result<()> {
    let filler = "x".repeat(payload);
    for i in 0..n {
        let cm: ConfigMap = serde_json::from_value(
            json!({"metadata": {"name": format!("cm-{i:03}")}, "data": {"v": filler}}),
        )?;
        api.create(&PostParams::default(), &cm).await?;
    }
    Ok(())
}

#[tokio::test]
async fn large_responses_are_gzipped_when_accepted() -> anyhow::Result<()> {
    let (server, client) = in_process()?;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    make_configmaps(&api, 40, 4096).await?;
    let r = server.router();

    let (code, encoding, body) = get(&r, CMS, Some("gzip")).await?;
    assert_eq!((code, encoding.as_deref()), (200, Some("gzip")));
    let list: Value = serde_json::from_slice(&gunzip(&body)?)?;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(40));

    // Not asked for (or refused with q=0): plain.
    for ae in [None, Some("identity"), Some("gzip;q=0")] {
        let (code, encoding, body) = get(&r, CMS, ae).await?;
        assert_eq!((code, encoding), (200, None), "{ae:?}");
        let list: Value = serde_json::from_slice(&body)?;
        assert_eq!(list["items"].as_array().map(Vec::len), Some(40));
    }
    // Small answers stay plain even when gzip is accepted.
    let (code, encoding, _) = get(&r, &format!("{CMS}/cm-000"), Some("gzip")).await?;
    assert_eq!((code, encoding), (200, None));
    Ok(())
}

#[tokio::test]
async fn kube_client_over_https_reads_gzipped_lists() -> anyhow::Result<()> {
    let server = Listening::start().await?;
    let client = server.client().await?;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    make_configmaps(&api, 40, 4096).await?;
    let list = api.list(&ListParams::default()).await?;
    assert_eq!(list.items.len(), 40);
    Ok(())
}

#[tokio::test]
async fn continue_tokens_page_through_one_snapshot() -> anyhow::Result<()> {
    let (server, client) = in_process()?;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    make_configmaps(&api, 6, 1).await?;
    let first = api.list(&ListParams::default().limit(2)).await?;
    let rv = first.metadata.resource_version.clone();
    let names = |l: &kube::core::ObjectList<ConfigMap>| -> Vec<String> {
        l.items
            .iter()
            .filter_map(|c| c.metadata.name.clone())
            .filter(|n| n.starts_with("cm-"))
            .collect()
    };
    let mut seen = names(&first);
    assert_eq!(first.metadata.remaining_item_count, Some(4));
    // Changes after the first page do not show up in later pages.
    api.delete("cm-004", &DeleteParams::default()).await?;
    api.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "cm-999"}}))?,
    )
    .await?;
    let mut token = first.metadata.continue_.clone();
    while let Some(t) = token.filter(|t| !t.is_empty()) {
        let page = api
            .list(&ListParams::default().limit(2).continue_token(&t))
            .await?;
        assert_eq!(
            page.metadata.resource_version, rv,
            "every page has the first page's RV"
        );
        seen.extend(names(&page));
        token = page.metadata.continue_.clone();
    }
    assert_eq!(
        seen,
        ["cm-000", "cm-001", "cm-002", "cm-003", "cm-004", "cm-005"],
        "the snapshot of the first page"
    );
    // A fresh list sees the changes.
    let now = api.list(&ListParams::default()).await?;
    assert!(names(&now).contains(&"cm-999".to_string()));
    assert!(!names(&now).contains(&"cm-004".to_string()));

    // A token whose snapshot is gone (an old RV) is 410 Expired; a garbage token is 400.
    let r = server.router();
    use base64::Engine;
    let stale = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(r#"{"v":"meta.k8s.io/v1","rv":1,"start":"default\u0000cm-001"}"#);
    let (code, _, body) = get(&r, &format!("{CMS}?limit=2&continue={stale}"), None).await?;
    let status: Value = serde_json::from_slice(&body)?;
    assert_eq!((code, status["reason"].as_str()), (410, Some("Expired")));
    let (code, _, _) = get(&r, &format!("{CMS}?limit=2&continue=bm90LWpzb24"), None).await?;
    assert_eq!(code, 400);
    Ok(())
}

/// A write through the router: (code, Warning headers, body).
async fn write(
    router: &axum::Router,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> anyhow::Result<(u16, Vec<String>, Value)> {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .body(Body::from(body.to_string()))?;
    let resp = router.clone().oneshot(req).await?;
    let code = resp.status().as_u16();
    let warnings = resp
        .headers()
        .get_all("warning")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await?;
    Ok((
        code,
        warnings,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

#[tokio::test]
async fn field_validation_warns_by_default_and_catches_duplicate_fields() -> anyhow::Result<()> {
    let (server, _client) = in_process()?;
    let r = server.router();
    // No fieldValidation: Warn, as upstream.
    let (code, warnings, _) = write(
        &r,
        "POST",
        CMS,
        "application/json",
        r#"{"metadata": {"name": "a"}, "data": {"k": "v"}, "bogus": 1}"#,
    )
    .await?;
    assert_eq!(code, 201);
    assert_eq!(warnings, [r#"299 - "unknown field \"bogus\"""#]);
    // Duplicate keys: a warning by default, a 400 with Strict, silence with Ignore.
    let dup = r#"{"metadata": {"name": "b", "name": "b"}, "data": {"k": "v"}}"#;
    let (code, warnings, _) = write(&r, "POST", CMS, "application/json", dup).await?;
    assert_eq!(code, 201);
    assert_eq!(warnings, [r#"299 - "duplicate field \"metadata.name\"""#]);
    let strict = format!("{CMS}?fieldValidation=Strict");
    let dup_c = r#"{"metadata": {"name": "c", "name": "c"}, "data": {"k": "v"}, "bogus": 1}"#;
    let (code, _, status) = write(&r, "POST", &strict, "application/json", dup_c).await?;
    assert_eq!(code, 400);
    assert_eq!(
        status["message"],
        r#"strict decoding error: duplicate field "metadata.name", unknown field "bogus""#
    );
    let ignore = format!("{CMS}?fieldValidation=Ignore");
    let (code, warnings, _) = write(&r, "POST", &ignore, "application/json", dup_c).await?;
    assert_eq!((code, warnings.len()), (201, 0));
    // Patches: the body's unknown fields (strategic-merge directives are not fields).
    let (code, warnings, _) = write(
        &r,
        "PATCH",
        &format!("{CMS}/a"),
        "application/merge-patch+json",
        r#"{"dataa": {"x": "1"}}"#,
    )
    .await?;
    assert_eq!(code, 200);
    assert_eq!(warnings, [r#"299 - "unknown field \"dataa\"""#]);
    let (code, _, status) = write(
        &r,
        "PATCH",
        &format!("{CMS}/a?fieldValidation=Strict"),
        "application/merge-patch+json",
        r#"{"data": {"x": "1", "x": "2"}}"#,
    )
    .await?;
    assert_eq!(
        (code, status["message"].as_str()),
        (
            400,
            Some(r#"strict decoding error: duplicate field "data.x""#)
        )
    );
    let (code, warnings, _) = write(
        &r,
        "PATCH",
        &format!("{CMS}/a?fieldManager=t"),
        "application/apply-patch+yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\nextra: 1\n",
    )
    .await?;
    assert_eq!(code, 200);
    assert_eq!(warnings, [r#"299 - "unknown field \"extra\"""#]);
    Ok(())
}
