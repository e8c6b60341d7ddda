//! GraphQL over HTTP: methods, media types and status codes; GraphiQL; health checks.
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn get_runs_queries_and_refuses_mutations() {
    let app = spawn_app().await;
    app.import_samples().await;
    let resp = app
        .client
        .get(app.url("/graphql"))
        .query(&[
            (
                "query",
                "query Q($d: Date) { papers(filter: {dailyDate: $d}) { totalCount } }",
            ),
            ("variables", r#"{"d": "2026-01-14"}"#),
            ("operationName", "Q"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()[CONTENT_TYPE], "application/json");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["data"]["papers"]["totalCount"], 7);

    let resp = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "mutation { x }")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "POST");

    let resp = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{ __typename }"), ("variables", "[1]")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = app.client.get(app.url("/graphql")).send().await.unwrap();
    assert_eq!(
        resp.status(),
        400,
        "GET without a query and without text/html is a bad request"
    );
}

#[tokio::test]
async fn post_checks_media_types_and_bodies() {
    let app = spawn_app().await;
    let post = |ct: &'static str, accept: &'static str, body: &'static str| {
        app.client
            .post(app.url("/graphql"))
            .header(CONTENT_TYPE, ct)
            .header(ACCEPT, accept)
            .body(body)
            .send()
    };
    let r = post(
        "text/plain",
        "application/json",
        r#"{"query":"{ __typename }"}"#,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 415);
    let r = post("application/json", "application/json", "{not json")
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["errors"][0]["extensions"]["code"], "BAD_REQUEST");
    let r = post(
        "application/json",
        "application/json",
        r#"{"query":"{ __typename }","variables":"x"}"#,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    let r = post(
        "application/json",
        "text/plain",
        r#"{"query":"{ __typename }"}"#,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 406);

    // The GraphQL-over-HTTP media type: 200 for executed requests, 400 for unparseable documents.
    let r = post(
        "application/json; charset=utf-8",
        "application/graphql-response+json",
        r#"{"query":"{ __typename }"}"#,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()[CONTENT_TYPE],
        "application/graphql-response+json"
    );
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({ "data": { "__typename": "Query" }, "extensions": { "cost": 0 } })
    );
    let r = post(
        "application/json",
        "application/graphql-response+json, application/json;q=0.9",
        r#"{"query":"{"}"#,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    let r = post("application/json", "application/json", r#"{"query":"{"}"#)
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "legacy application/json keeps 200 for request errors"
    );

    let huge = format!(
        r#"{{"query":"{{ __typename }}","variables":{{"x":"{}"}}}}"#,
        "a".repeat(2 * 1024 * 1024)
    );
    let r = app
        .client
        .post(app.url("/graphql"))
        .header(CONTENT_TYPE, "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
}

#[tokio::test]
async fn graphiql_is_served_from_the_binary_under_a_strict_csp() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(app.url("/graphql"))
        .header(ACCEPT, "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-eval") && !csp.contains("cdn"),
        "{csp}"
    );
    let html = r.text().await.unwrap();
    let scripts: Vec<&str> = html
        .split("src=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
        .collect();
    assert_eq!(scripts.len(), 4);
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external assets"
    );
    for src in scripts
        .iter()
        .copied()
        .chain(["/graphiql/graphiql.min.css"])
    {
        let r = app.client.get(app.url(src)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{src}");
        let ct = r.headers()[CONTENT_TYPE].to_str().unwrap().to_string();
        assert!(
            ct.starts_with("text/javascript") || ct.starts_with("text/css"),
            "{src}: {ct}"
        );
        assert!(r.bytes().await.unwrap().len() > 100);
    }
    assert_eq!(
        app.client
            .get(app.url("/graphiql/../Cargo.toml"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection());
    assert_eq!(r.headers()["location"], "/graphql");
}

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ready");
    app.db.clone().close().await.unwrap();
    let r = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 503, "readiness fails when the database is gone");
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200, "liveness does not depend on the database");
}

#[tokio::test]
async fn the_response_cache_never_serves_an_answer_older_than_the_last_commit() {
    let app = spawn_app().await;
    app.import_fixture("api/daily_papers_date-2026-01-30.json", "2026-01-30")
        .await;
    let q = "{ papers(filter: {dailyDate: \"2026-01-30\"}, orderBy: {field: UPVOTES}, first: 1) { nodes { arxivId upvotes } } }";
    let base = app.url("");
    let get = || crate::helpers::cached_get(&app.client, &base, q);
    // Other tests in this process commit too (the data generation is process-wide), so a hit
    // may take a retry; it must come, and it must equal the miss.
    let (c1, v1) = get().await;
    let mut hit = None;
    for _ in 0..50 {
        let (c, v) = get().await;
        if c == "hit" {
            hit = Some(v);
            break;
        }
    }
    assert_eq!(c1, "miss");
    assert_eq!(hit.expect("a repeated query is served from the cache"), v1);
    let top = v1["data"]["papers"]["nodes"][0]["arxivId"]
        .as_str()
        .unwrap()
        .to_string();

    // A newer copy of the day with more upvotes for its top paper: the next answer shows them.
    let body = std::fs::read(crate::helpers::fixture(
        "api/daily_papers_date-2026-01-30.json",
    ))
    .unwrap();
    let mut items: Vec<Value> = serde_json::from_slice(&body).unwrap();
    for item in &mut items {
        if item["paper"]["id"] == json!(top) {
            item["paper"]["upvotes"] = json!(999);
        }
    }
    papergraph::sync::files::import_body(
        &app.db,
        &serde_json::to_vec(&items).unwrap(),
        Some("2026-01-30".parse().unwrap()),
    )
    .await
    .unwrap();
    let (c3, v3) = get().await;
    assert_eq!(c3, "miss");
    assert_eq!(
        v3["data"]["papers"]["nodes"][0],
        json!({ "arxivId": top, "upvotes": 999 })
    );

    // Errors are never cached.
    let bad = "{ papers(first: 500) { totalCount } }";
    for _ in 0..2 {
        let r = app
            .client
            .get(app.url("/graphql"))
            .query(&[("query", bad)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["x-papergraph-cache"], "miss");
    }
}

/// A query sent by GET carries a strong `ETag` of its bytes (the same from the cache as from a
/// fresh execution) and the configured `Cache-Control`; `If-None-Match` with it answers `304`
/// without a body until a write changes the answer. POST answers carry no validator.
#[tokio::test]
async fn get_answers_carry_an_etag_and_answer_304_until_the_data_changes() {
    let app = crate::helpers::spawn_app_with(papergraph::app::HttpOptions {
        http_cache_max_age_secs: 120,
        ..Default::default()
    })
    .await;
    app.import_samples().await;
    let q =
        "{ papers(filter: {dailyDate: \"2026-01-14\"}) { totalCount nodes { arxivId upvotes } } }";
    let get = |tag: Option<String>| {
        let mut r = app.client.get(app.url("/graphql")).query(&[("query", q)]);
        if let Some(t) = tag {
            r = r.header("if-none-match", t);
        }
        r.send()
    };
    let first = get(None).await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["x-papergraph-cache"], "miss");
    assert_eq!(first.headers()["cache-control"], "public, max-age=120");
    let tag = first.headers()["etag"].to_str().unwrap().to_string();
    assert!(tag.starts_with('"') && tag.len() == 34, "{tag}");
    let body = first.bytes().await.unwrap();

    // The cached bytes have the same tag. (The data generation is the process's: another
    // test's write may turn a request into a miss, whose bytes and tag are the same again.)
    let mut hits = 0;
    for _ in 0..50 {
        let again = get(None).await.unwrap();
        let cache = again.headers()["x-papergraph-cache"].clone();
        assert_eq!(again.headers()["etag"], tag.as_str(), "{cache:?}");
        assert_eq!(again.bytes().await.unwrap(), body);
        if cache == "hit" {
            hits += 1;
            if hits == 2 {
                break;
            }
        }
    }
    assert_eq!(hits, 2, "the answer never came from the cache");

    let revalidated = get(Some(tag.clone())).await.unwrap();
    assert_eq!(revalidated.status(), 304);
    assert_eq!(revalidated.headers()["etag"], tag.as_str());
    assert_eq!(
        revalidated.headers()["cache-control"],
        "public, max-age=120"
    );
    assert!(revalidated.headers().get(CONTENT_TYPE).is_none());
    assert!(revalidated.bytes().await.unwrap().is_empty());
    let weak_in_a_list = get(Some(format!("\"nope\", W/{tag}"))).await.unwrap();
    assert_eq!(weak_in_a_list.status(), 304);
    assert_eq!(get(Some("\"nope\"".into())).await.unwrap().status(), 200);

    // A write that changes the answer: the old tag no longer matches.
    let mut p = crate::helpers::paper(77, "2026-01-14", 5);
    p.title = "A paper added after the first answer".into();
    app.import("2026-01-14", &[p]).await;
    let changed = get(Some(tag.clone())).await.unwrap();
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers()["etag"], tag.as_str());

    // Errors are not validated, and POST answers carry no tag.
    let bad = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{ paper(arxivId: \"nope\") { title } }")])
        .send()
        .await
        .unwrap();
    assert!(bad.headers().get("etag").is_none());
    let post = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": q }))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 200);
    assert!(post.headers().get("etag").is_none());
}

async fn decode(encoding: &str, body: &[u8]) -> Vec<u8> {
    use async_compression::tokio::bufread::{BrotliDecoder, GzipDecoder, ZstdDecoder};
    use tokio::io::AsyncReadExt;
    let mut out = Vec::new();
    match encoding {
        "br" => BrotliDecoder::new(body).read_to_end(&mut out).await,
        "zstd" => ZstdDecoder::new(body).read_to_end(&mut out).await,
        "gzip" => GzipDecoder::new(body).read_to_end(&mut out).await,
        other => panic!("unexpected encoding {other}"),
    }
    .unwrap();
    out
}

/// Answers are compressed as `Accept-Encoding` asks (zstd, br, gzip) and decode to the same
/// bytes; a cached answer is sent from its kept compressed bytes (the same bytes on every hit);
/// uncached answers, feeds and GraphiQL's assets go through the compression layer.
#[tokio::test]
async fn answers_are_compressed_as_the_client_asks_and_decode_to_the_same_json() {
    let app = spawn_app().await;
    app.import_samples().await;
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    let q = json!({ "query": "{ papers(first: 20) { nodes { arxivId title abstract upvotes authors { name } } } }" });
    let post = |encoding: &'static str| {
        let mut r = raw.post(app.url("/graphql")).json(&q);
        if !encoding.is_empty() {
            r = r.header("accept-encoding", encoding);
        }
        r.send()
    };
    // Until the writes after the import have settled and the answer is served from the cache.
    let mut tries = 0;
    let plain = loop {
        let r = post("").await.unwrap();
        assert!(r.headers().get("content-encoding").is_none());
        if r.headers()["x-papergraph-cache"] == "hit" {
            break r.bytes().await.unwrap();
        }
        tries += 1;
        assert!(tries < 50, "the answer never came from the cache");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(plain.len() > 2000);
    for (asked, sent) in [
        ("br", "br"),
        ("gzip, deflate, br, zstd", "zstd"),
        ("gzip", "gzip"),
        ("br;q=0.2, gzip;q=0.9", "gzip"),
    ] {
        let first = post(asked).await.unwrap();
        assert_eq!(first.headers()["content-encoding"], sent, "{asked}");
        let first = first.bytes().await.unwrap();
        assert!(
            first.len() < plain.len() / 2,
            "{sent}: {} of {}",
            first.len(),
            plain.len()
        );
        assert_eq!(
            decode(sent, &first).await,
            plain,
            "{sent} decodes to the same bytes"
        );
        // Two hits in a row send the same kept bytes. (The data generation is the process's:
        // other tests' writes may make one of them a miss, so a few tries.)
        let mut compared = false;
        for _ in 0..50 {
            let (a, b) = (post(asked).await.unwrap(), post(asked).await.unwrap());
            if a.headers()["x-papergraph-cache"] == "hit"
                && b.headers()["x-papergraph-cache"] == "hit"
            {
                assert_eq!(a.bytes().await.unwrap(), b.bytes().await.unwrap(), "{sent}");
                compared = true;
                break;
            }
        }
        assert!(compared, "{sent}: never two hits in a row");
    }

    // Not cached (an error answer), a feed and GraphiQL's script: the layer compresses them.
    let uncached = raw
        .post(app.url("/graphql"))
        .header("accept-encoding", "br")
        .json(&json!({ "query": format!("{{ paper(arxivId: \"{}\") {{ title }} }}", "x".repeat(3000)) }))
        .send()
        .await
        .unwrap();
    assert_eq!(uncached.headers()["content-encoding"], "br");
    assert_eq!(uncached.headers()["x-papergraph-cache"], "miss");
    let v: Value =
        serde_json::from_slice(&decode("br", &uncached.bytes().await.unwrap()).await).unwrap();
    assert_eq!(v["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    for path in ["/feeds/papers.atom", "/graphiql/graphiql.min.js"] {
        let r = raw
            .get(app.url(path))
            .header("accept-encoding", "zstd")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-encoding"], "zstd", "{path}");
        let decoded = decode("zstd", &r.bytes().await.unwrap()).await;
        let identity = raw
            .get(app.url(path))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(decoded, identity, "{path}");
    }
}
