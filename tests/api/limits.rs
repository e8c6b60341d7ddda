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
        rate_limit: Some(papergraph::config::RateLimitOptions {
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

#[tokio::test]
async fn automatic_persisted_queries_and_long_queries() {
    use sha2::Digest as _;
    let app = spawn_app().await;
    app.import_samples().await;
    let query = "{ papers(first: 3) { totalCount } }";
    let hash: String = sha2::Sha256::digest(query.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let ext = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    // The hash alone, before the server has seen the document: PersistedQueryNotFound.
    let get = |e: Value| {
        let client = app.client.clone();
        let url = app.url("/graphql");
        async move {
            client
                .get(url)
                .query(&[("extensions", e.to_string())])
                .header("accept", "application/json")
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let miss = get(ext.clone()).await;
    assert_eq!(miss["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(
        miss["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );
    // The document with its hash registers it; then the hash alone runs it (GET, cacheable).
    let r: Value = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": query, "extensions": ext }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let total = r["data"]["papers"]["totalCount"].as_i64().unwrap();
    let hit = get(ext.clone()).await;
    assert_eq!(hit["data"]["papers"]["totalCount"], total, "{hit}");
    // A hash that is not the document's is refused.
    let (status, bad, _) = {
        let resp = app
            .client
            .post(app.url("/graphql"))
            .header("accept", "application/json")
            .json(&json!({ "query": "{ __typename }", "extensions": ext }))
            .send()
            .await
            .unwrap();
        (
            resp.status().as_u16(),
            resp.json::<Value>().await.unwrap(),
            (),
        )
    };
    assert_eq!(status, 400);
    assert_eq!(
        bad["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_HASH_MISMATCH"
    );

    // Over 64 KiB of query text: 413 with a code.
    let long = format!("{{ __typename {} }}", " ".repeat(70 * 1024));
    let (status, body, _) = post(&app, &long, &[]).await;
    assert_eq!(status, 413);
    assert_eq!(body["errors"][0]["extensions"]["code"], "QUERY_TOO_LONG");
}

/// A request of the hostile corpus: how it is sent.
enum Hostile {
    Post {
        content_type: &'static str,
        body: Vec<u8>,
    },
    Get(String),
}

#[tokio::test]
async fn a_hostile_corpus_gets_clear_4xx_or_coded_errors_and_the_server_stays_well() {
    let app = spawn_app().await;
    app.import_samples().await;
    let mut corpus: Vec<(String, Hostile)> = Vec::new();
    let json_post = |v: Value| Hostile::Post {
        content_type: "application/json",
        body: v.to_string().into_bytes(),
    };
    // Bad JSON and wrong shapes.
    for (i, b) in [
        "",
        "{",
        "}",
        "null",
        "[]",
        "[{}]",
        "\"query\"",
        "42",
        "{\"query\": 1}",
        "{\"query\": null}",
        "{\"query\": [\"{ a }\"]}",
        "{\"query\": \"{ __typename }\", \"variables\": \"x\"}",
        "{\"query\": \"{ __typename }\", \"variables\": [1]}",
        "{\"query\": \"{ __typename }\", \"extensions\": 5}",
        "{\"query\": \"{ __typename }\", \"operationName\": 7}",
        "{\"query\": \"{ __typename }\"",
        "\u{0}\u{1}\u{2}",
        "{\"query\": \"\\ud800\"}",
        "{\"query\": \"{ papers }\", \"variables\": {\"x\": }}",
        "{'query': '{ a }'}",
    ]
    .iter()
    .enumerate()
    {
        corpus.push((
            format!("json-{i}"),
            Hostile::Post {
                content_type: "application/json",
                body: b.as_bytes().to_vec(),
            },
        ));
    }
    // Wrong content types.
    for (i, ct) in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "application/xml",
        "",
        "application/graphql",
        "image/png",
        "application/json; charset=latin1x",
    ]
    .iter()
    .enumerate()
    {
        corpus.push((
            format!("ct-{i}"),
            Hostile::Post {
                content_type: ct,
                body: br#"{"query":"{ __typename }"}"#.to_vec(),
            },
        ));
    }
    // Syntax, validation and argument errors.
    for (i, q) in [
        "{",
        "}",
        "{ papers { nodes { nosuchfield } } }",
        "{ nosuchfield }",
        "query { papers(first: \"x\") { totalCount } }",
        "{ papers(first: -1) { totalCount } }",
        "{ papers(first: 1000000) { totalCount } }",
        "{ papers(first: 2147483648) { totalCount } }",
        "{ paper(arxivId: \"\") { title } }",
        "{ paper(arxivId: \"../../etc/passwd\") { title } }",
        "{ node(id: \"!!!\") { id } }",
        "{ papers(after: \"not-a-cursor\") { totalCount } }",
        "{ papers(filter: {week: \"2026-W99\"}) { totalCount } }",
        "{ papers(filter: {month: \"2026-13\"}) { totalCount } }",
        "{ papers(filter: {dailyDate: \"yesterday\"}) { totalCount } }",
        "{ searchPapers(query: \"\") { totalCount } }",
        "{ searchPapers(query: \"\\\"\") { totalCount } }",
        "mutation { nosuch }",
        "subscription { paperAdded { arxivId } }",
        "query A { __typename } query A { __typename }",
        "fragment F on Paper { ...F } { papers { nodes { ...F } } }",
        "{ papers { ...Missing } }",
        "{ __typename @skip }",
        "{ __typename @nosuch }",
        "query($x: Int!) { papers(first: $x) { totalCount } }",
        "{ authors(search: \"\\u0000\") { totalCount } }",
        "{ trendingPapers(window: FOREVER) { upvotesGained } }",
        "{ papers(orderBy: {field: NOPE}) { totalCount } }",
        "{ digestSubscription(token: \"x\") { email } }",
        "{ previewDigest(input: {maxPapers: 0}) { from } }",
    ]
    .iter()
    .enumerate()
    {
        corpus.push((format!("q-{i}"), json_post(json!({ "query": q }))));
    }
    // Nulls in non-null variables, huge and wrong variables.
    for (i, v) in [
        json!({ "x": null }),
        json!({ "x": "1" }),
        json!({ "x": 1.5 }),
        json!({ "x": [1, 2] }),
        json!({ "x": { "deep": { "deeper": [1, { "a": null }] } } }),
        json!({ "x": "9".repeat(100_000) }),
        json!({ "x": 1, "extra": "y".repeat(200_000) }),
    ]
    .into_iter()
    .enumerate()
    {
        corpus.push((
            format!("vars-{i}"),
            json_post(json!({ "query": "query($x: Int!) { papers(first: $x) { totalCount } }", "variables": v })),
        ));
    }
    // Deep nesting, alias and introspection bombs, long and odd documents.
    let mut deep = "__typename".to_string();
    for _ in 0..200 {
        deep = format!("papers {{ nodes {{ {deep} }} }}");
    }
    corpus.push((
        "deep-200".into(),
        json_post(json!({ "query": format!("{{ {deep} }}") })),
    ));
    let brackets = format!("{}{}", "{".repeat(5_000), "}".repeat(5_000));
    corpus.push(("brackets".into(), json_post(json!({ "query": brackets }))));
    let aliases: String = (0..2_000)
        .map(|i| format!("a{i}: papers(first: 100) {{ totalCount }} "))
        .collect();
    corpus.push((
        "aliases".into(),
        json_post(json!({ "query": format!("{{ {aliases} }}") })),
    ));
    let mut intro = "name".to_string();
    for _ in 0..12 {
        intro = format!("ofType {{ {intro} fields {{ type {{ {intro} }} }} }}");
    }
    corpus.push(("introspection-bomb".into(), json_post(json!({ "query": format!("{{ __schema {{ types {{ fields {{ type {{ {intro} }} }} }} }} }}") }))));
    let dup_fields: String = (0..5_000).map(|_| "__typename ").collect();
    corpus.push((
        "dup-fields".into(),
        json_post(json!({ "query": format!("{{ {dup_fields} }}") })),
    ));
    let frags: String = (0..50)
        .map(|i| format!("fragment F{i} on Query {{ ...F{} }} ", i + 1))
        .collect();
    corpus.push(("fragment-chain".into(), json_post(json!({ "query": format!("{{ ...F0 }} {frags} fragment F50 on Query {{ __typename }}") }))));
    for (i, q) in [
        "{ searchPapers(query: \"ＤＩＦＦＵＳＩＯＮ 🤖 \\u202e\") { totalCount } }",
        "{ authors(search: \"𝔘𝔫𝔦𝔠𝔬𝔡𝔢\") { totalCount } }",
        "{ papers(filter: {author: \"\\u00A0\"}) { totalCount } }",
        "# only a comment",
        "   ",
        "query Ω { __typename }",
    ]
    .iter()
    .enumerate()
    {
        corpus.push((format!("unicode-{i}"), json_post(json!({ "query": q }))));
    }
    // Oversized body (over the 1 MiB limit).
    corpus.push((
        "huge-body".into(),
        json_post(json!({ "query": "{ __typename }", "variables": { "x": "z".repeat(2 << 20) } })),
    ));
    // GET abuse.
    for (i, qs) in [
        "query=",
        "query=%7B",
        "query=mutation%20%7B%20__typename%20%7D",
        "variables=%7B",
        "query=%7B__typename%7D&variables=%5B%5D",
        "query=%7B__typename%7D&extensions=x",
        "query=%7B__typename%7D&operationName=Nope",
        "query=%FF%FE",
        "extensions=%7B%22persistedQuery%22%3A%7B%22sha256Hash%22%3A%22zz%22%7D%7D",
        "query=%7Bpapers(first%3A100000)%7BtotalCount%7D%7D",
    ]
    .iter()
    .enumerate()
    {
        corpus.push((format!("get-{i}"), Hostile::Get(qs.to_string())));
    }
    // More search syntax oddities.
    for (i, s) in [
        "*",
        "OR",
        "-",
        "\"\"",
        "a OR OR b",
        "NEAR(a b)",
        "title:x",
        "((",
        "a*b*",
        "-a -b -c",
    ]
    .iter()
    .enumerate()
    {
        corpus.push((format!("search-{i}"), json_post(json!({ "query": "query($q: String!) { searchPapers(query: $q) { totalCount } }", "variables": { "q": s } }))));
    }
    // Operation selection.
    for (i, (q, op)) in [
        ("query A { __typename } query B { __typename }", json!(null)),
        ("query A { __typename }", json!("B")),
        ("query A { __typename }", json!("")),
        ("{ __typename }", json!("A")),
        (
            "query A { __typename } mutation M { unsubscribeFromDigest(token: \"x\") { message } }",
            json!("M"),
        ),
        ("subscription S { paperAdded { arxivId } }", json!("S")),
    ]
    .into_iter()
    .enumerate()
    {
        corpus.push((
            format!("op-{i}"),
            json_post(json!({ "query": q.replace("\\\"", "\""), "operationName": op })),
        ));
    }
    assert!(corpus.len() >= 100, "{} requests", corpus.len());

    for (name, req) in &corpus {
        let resp = match req {
            Hostile::Post { content_type, body } => {
                let mut r = app
                    .client
                    .post(app.url("/graphql"))
                    .header("accept", "application/json");
                if !content_type.is_empty() {
                    r = r.header("content-type", *content_type);
                }
                r.body(body.clone()).send().await.unwrap()
            }
            Hostile::Get(qs) => app
                .client
                .get(format!("{}?{qs}", app.url("/graphql")))
                .header("accept", "application/json")
                .send()
                .await
                .unwrap(),
        };
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        assert!(status < 500, "{name}: {status} {text}");
        if status == 200 {
            let v: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {text}"));
            if let Some(errors) = v["errors"].as_array() {
                assert!(
                    errors
                        .iter()
                        .all(|e| e["extensions"]["code"].is_string() && e["message"].is_string()),
                    "{name}: an error without a code: {v}"
                );
            }
        } else {
            assert!((400..500).contains(&status), "{name}: {status}");
        }
    }
    // Still healthy, data intact.
    let d = app
        .data("{ papers(first: 1) { totalCount } }", json!({}))
        .await;
    assert!(d["papers"]["totalCount"].as_i64().unwrap() > 0);
}

#[tokio::test]
async fn subscriptions_spend_the_same_budget() {
    let app = spawn_app_with(papergraph::app::HttpOptions {
        rate_limit: Some(papergraph::config::RateLimitOptions {
            budget: 5,
            window: std::time::Duration::from_secs(60),
            api_keys: vec![],
            key_budget: 5,
            trusted_proxies: vec![],
        }),
        ..Default::default()
    })
    .await;
    let base = format!("http://{}", app.addr);
    let mut c = crate::live::WsClient::connect(&base, "graphql-transport-ws", true).await;
    let sub = "subscription { paperAdded { arxivId title upvotes } }";
    c.subscribe("1", sub, json!({})).await;
    crate::live::wait_subscribers(&base, 1).await;
    // The first (cost 4) fits in 5; the second does not, and is refused with the code.
    c.subscribe("2", sub, json!({})).await;
    let m = c.next().await;
    assert_eq!(m["id"], "2", "{m}");
    let code = match m["type"].as_str() {
        Some("error") => m["payload"][0]["extensions"]["code"].clone(),
        _ => m["payload"]["errors"][0]["extensions"]["code"].clone(),
    };
    assert_eq!(code, "RATE_LIMITED", "{m}");
}

/// After its first run a request is planned (parsed document, cost and operation type kept) and
/// runs on the schema without the extension: its answers, codes and charges must not change.
#[tokio::test]
async fn a_repeated_request_answers_and_is_charged_as_its_first_run() {
    let app = spawn_app_with(papergraph::app::HttpOptions {
        response_cache_bytes: 0,
        rate_limit: Some(papergraph::config::RateLimitOptions {
            budget: 100_000,
            window: std::time::Duration::from_secs(60),
            api_keys: vec![],
            key_budget: 100_000,
            trusted_proxies: vec![],
        }),
        ..Default::default()
    })
    .await;
    app.import_samples().await;
    let send = |query: &'static str, variables: Value| {
        let app = &app;
        async move {
            let resp = app
                .client
                .post(app.url("/graphql"))
                .header("content-type", "application/json")
                .header("accept", "application/json")
                .json(&json!({ "query": query, "variables": variables }))
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let remaining: i64 = resp.headers()["ratelimit-remaining"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            (status, resp.json::<Value>().await.unwrap(), remaining)
        }
    };
    let q = "query ($n: Int) { papers(first: $n) { nodes { arxivId title upvotes authors { name } } } }";
    let (s1, first, r1) = send(q, json!({ "n": 5 })).await;
    assert_eq!(s1, 200, "{first}");
    assert!(first["data"]["papers"]["nodes"].as_array().unwrap().len() > 1);
    let cost = first["extensions"]["cost"].as_i64().unwrap();
    assert!(cost > 5, "{first}");
    let mut last = r1;
    for _ in 0..2 {
        let (s, again, r) = send(q, json!({ "n": 5 })).await;
        assert_eq!(s, 200);
        assert_eq!(again, first, "a planned run answers as the first run");
        assert_eq!(last - r, cost, "a planned run is charged its cost");
        last = r;
    }
    // Other variables are another request, with their own cost.
    let (_, bigger, _) = send(q, json!({ "n": 50 })).await;
    let (_, bigger_again, _) = send(q, json!({ "n": 50 })).await;
    assert_eq!(bigger, bigger_again);
    assert!(
        bigger["extensions"]["cost"].as_i64().unwrap() > cost,
        "{bigger}"
    );

    // Errors keep their codes, in the resolvers' and the input coercion's vocabularies.
    let bad = "{ paper(arxivId: \"not-an-id\") { title } }";
    let (s, e1, _) = send(bad, json!({})).await;
    let (s2, e2, _) = send(bad, json!({})).await;
    assert_eq!((s, s2), (200, 200));
    assert_eq!(
        e1["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{e1}"
    );
    assert_eq!(e1, e2);
    let wrong = "query ($n: Int) { papers(first: $n) { totalCount } }";
    let (_, w1, _) = send(wrong, json!({ "n": "five" })).await;
    let (_, w2, _) = send(wrong, json!({ "n": "five" })).await;
    assert_eq!(
        w1["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{w1}"
    );
    assert_eq!(w1, w2);
    // A document that fails validation is never planned, and fails the same way every time.
    let invalid = "{ papers { nope } }";
    let (_, v1, _) = send(invalid, json!({})).await;
    let (_, v2, _) = send(invalid, json!({})).await;
    assert_eq!(
        v1["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
        "{v1}"
    );
    assert_eq!(v1, v2);
}
