//! Cost limits and rate limits: connection sizes multiply their subtree, over-limit queries are
//! refused before any database work, every answer reports its cost, and per-client budgets
//! answer 429 with `Retry-After` and `RateLimit-*` headers.
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

async fn post(
    app: &TestApp,
    query: &str,
    headers: &[(&str, &str)],
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut r = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .header("accept", "application/json");
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    let resp = r.json(&json!({ "query": query })).send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, resp.json().await.unwrap(), headers)
}

#[tokio::test]
async fn connection_sizes_multiply_the_cost_and_over_limit_queries_touch_no_data() {
    let app = spawn_app().await;
    app.import_samples().await;
    let cost = |v: &Value| v["extensions"]["cost"].as_u64().expect("extensions.cost");
    let (_, one, _) = post(&app, "{ papers(first: 1) { nodes { title } } }", &[]).await;
    let (_, hundred, _) = post(&app, "{ papers(first: 100) { nodes { title } } }", &[]).await;
    assert!(one["errors"].is_null(), "{one}");
    assert_eq!(
        cost(&hundred),
        100 * cost(&one) - 99,
        "first multiplies the subtree: {one} {hundred}"
    );
    let (_, authors, _) = post(
        &app,
        "{ papers(first: 10) { nodes { authors { name } } } }",
        &[],
    )
    .await;
    assert!(
        cost(&authors) > 10 * 10,
        "each paper's authors count as a list: {authors}"
    );

    // Nested connections: fine at depth, refused for their size, before any statement runs.
    let before = app.stats.statements();
    let (status, big, _) = post(
        &app,
        "{ papers(first: 100) { nodes { authors { author { papers(first: 100) { nodes { title } } } } } } }",
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        big["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{big}"
    );
    assert!(big["data"].is_null());
    assert_eq!(
        app.stats.statements(),
        before,
        "refused before any database work"
    );

    // Aliases add up.
    let aliases: String = (0..600)
        .map(|i| format!("a{i}: papers(first: 100) {{ totalCount }} "))
        .collect();
    let (_, bomb, _) = post(&app, &format!("{{ {aliases} }}"), &[]).await;
    assert_eq!(bomb["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX");

    // Depth (a cheap chain: one similar paper at each level).
    let mut deep = "title".to_string();
    for _ in 0..11 {
        deep = format!("similar(first: 1) {{ paper {{ {deep} }} }}");
    }
    let (_, too_deep, _) = post(
        &app,
        &format!("{{ papers(first: 1) {{ nodes {{ {deep} }} }} }}"),
        &[],
    )
    .await;
    assert_eq!(
        too_deep["errors"][0]["extensions"]["code"], "QUERY_TOO_DEEP",
        "{too_deep}"
    );
    // Nesting past the parser's recursion bound is the same error.
    let mut deeper = "title".to_string();
    for _ in 0..20 {
        deeper = format!("similar(first: 1) {{ paper {{ {deeper} }} }}");
    }
    let (_, parse_deep, _) = post(
        &app,
        &format!("{{ papers {{ nodes {{ {deeper} }} }} }}"),
        &[],
    )
    .await;
    assert_eq!(
        parse_deep["errors"][0]["extensions"]["code"], "QUERY_TOO_DEEP",
        "{parse_deep}"
    );
    assert_eq!(app.stats.statements(), before);
}

#[tokio::test]
async fn budgets_are_per_client_and_run_out_with_a_429() {
    let app = spawn_app_with(papergraph::app::HttpOptions {
        response_cache_bytes: 0,
        rate_limit: Some(papergraph::app::RateLimitOptions {
            budget: 150,
            window: std::time::Duration::from_secs(60),
            api_keys: vec!["secret-key".into()],
            key_budget: 10_000,
            trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        }),
        ..Default::default()
    })
    .await;
    app.import_samples().await;
    let q = "{ papers(first: 50) { nodes { title } } rateLimit { cost limit remaining resetAt } }";
    let (status, first, headers) = post(&app, q, &[]).await;
    assert_eq!(status, 200, "{first}");
    let rl = &first["data"]["rateLimit"];
    let cost = rl["cost"].as_i64().unwrap();
    assert!(cost > 100, "{rl}");
    assert_eq!(rl["limit"], 150);
    assert_eq!(rl["remaining"], 150 - cost);
    assert!(rl["resetAt"].is_string());
    assert_eq!(headers["ratelimit-limit"], "150");
    assert_eq!(
        headers["ratelimit-remaining"],
        (150 - cost).to_string().as_str()
    );

    // The second such query does not fit: refused before running, 429 with Retry-After.
    let (status, refused, headers) = post(&app, q, &[]).await;
    assert_eq!(status, 429, "{refused}");
    assert_eq!(refused["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    assert!(refused["data"].is_null());
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));

    // Someone else behind the trusted proxy has a budget of their own; a forged header from an
    // untrusted peer would not help (the peer here is the trusted 127.0.0.1).
    let (status, other, _) = post(&app, q, &[("x-forwarded-for", "203.0.113.7")]).await;
    assert_eq!(status, 200, "{other}");
    // A configured API key has its own, larger budget; an unknown key counts as no key.
    let (status, keyed, _) = post(&app, q, &[("x-api-key", "secret-key")]).await;
    assert_eq!(status, 200);
    assert_eq!(keyed["data"]["rateLimit"]["limit"], 10_000);
    let (status, _, _) = post(&app, q, &[("x-api-key", "guess")]).await;
    assert_eq!(status, 429);

    // GET is charged the same way.
    let get = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{ rateLimit { remaining } }")])
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert!(get.headers().contains_key("ratelimit-remaining"));
}
