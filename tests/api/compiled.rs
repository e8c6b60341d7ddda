//! Compiled requests (src/graphql/compiled.rs): a planned request that asks only for paper lists
//! runs without the schema. Its answer must be the schema's, byte for byte, for every shape it
//! takes; every shape it leaves alone still answers through the schema.
use serde_json::{Value, json};

use crate::helpers::*;

/// Sends a request; its status, body bytes, and whether it ran compiled.
async fn send(app: &TestApp, query: &str, variables: &Value) -> (u16, String, bool) {
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let compiled = resp
        .headers()
        .get("x-papergraph-plan")
        .is_some_and(|v| v == "compiled");
    (status, resp.text().await.unwrap(), compiled)
}

async fn app_with_papers() -> TestApp {
    let app = spawn_app_with(papergraph::app::HttpOptions {
        response_cache_bytes: 0,
        ..Default::default()
    })
    .await;
    app.import_samples().await;
    // Strings that need escaping, and papers with and without code, on one day.
    let mut tricky = paper(1, "2026-02-02", 9);
    tricky.title =
        "Quotes \" and \\ backslashes, tabs\tand a newline\nin a title; ünïcödé 🚀".into();
    tricky.abstract_text = "Control \u{1} characters and </script> stay text.".into();
    tricky.authors.push(author("Zoë \"Quote\" O'Brien"));
    app.import(
        "2026-02-02",
        &[tricky, paper(2, "2026-02-02", 9), paper(3, "2026-02-02", 4)],
    )
    .await;
    app
}

/// The first run of a request goes through the schema (it is planned then); the next runs of a
/// compiled one do not. Both must answer the same bytes.
#[tokio::test]
async fn a_compiled_request_answers_the_bytes_the_schema_answers() {
    let app = app_with_papers().await;
    let all_fields = "__typename id arxivId title abstract authorCount dailyDate submittedAt \
                      publishedAt upvotes numComments trendingScore githubRepo githubStars hfUrl \
                      arxivUrl pdfUrl authors { __typename position name hidden claimStatus }";
    let cases: Vec<(String, Value)> = vec![
        // bench/peer.sh's daily list.
        (
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/bench/daily-list.graphql"))
                .unwrap(),
            json!({ "d": "2026-01-30" }),
        ),
        (
            format!("{{ papers(first: 50) {{ __typename nodes {{ {all_fields} }} pageInfo {{ __typename hasNextPage hasPreviousPage startCursor endCursor }} }} }}"),
            json!({}),
        ),
        (
            format!("query ($d: Date) {{ papers(filter: {{dailyDate: $d}}) {{ edges {{ __typename cursor node {{ {all_fields} }} }} }} }}"),
            json!({ "d": "2026-02-02" }),
        ),
        // Aliases, several lists, orders, variables with defaults, fragments.
        (
            "query Two($n: Int = 3, $o: PaperOrderField = GITHUB_STARS) { \
               top: papers(orderBy: {field: UPVOTES}, first: $n) { nodes { ...Card } } \
               code: papers(filter: {hasCode: true}, orderBy: {field: $o, direction: ASC}, first: 4) { \
                 pageInfo { endCursor hasNextPage } edges { c: cursor node { ... on Paper { t: title stars: githubStars } } } } } \
             fragment Card on Paper { arxivId title authors { ...Who } upvotes } \
             fragment Who on PaperAuthor { name position }"
                .into(),
            json!({}),
        ),
        (
            "query ($f: PaperFilter, $last: Int) { papers(filter: $f, last: $last, orderBy: {field: TRENDING}) { nodes { arxivId trendingScore publishedAt } pageInfo { hasPreviousPage startCursor } } }".into(),
            json!({ "f": { "dailyDateFrom": "2026-01-01", "minUpvotes": 1 }, "last": 2 }),
        ),
        // An empty page.
        (
            "{ papers(filter: {dailyDate: \"1999-01-01\"}) { nodes { title } pageInfo { startCursor endCursor hasNextPage } } }".into(),
            json!({}),
        ),
    ];
    for (query, variables) in &cases {
        let (s1, first, c1) = send(&app, query, variables).await;
        assert_eq!(s1, 200, "{first}");
        assert!(!c1, "a first run goes through the schema");
        assert!(first.contains("\"data\""), "{first}");
        assert!(!first.contains("\"errors\""), "{query}: {first}");
        for _ in 0..2 {
            let (s, again, compiled) = send(&app, query, variables).await;
            assert_eq!(s, 200);
            assert!(compiled, "{query} was not compiled");
            assert_eq!(again, first, "{query}");
        }
    }
    // Root fields answer in the document's order, on every run (async-graphql enters them as
    // they finish; the server puts them back in order).
    let (_, two, _) = send(&app, &cases[3].0, &cases[3].1).await;
    assert!(two.find("\"top\"") < two.find("\"code\""), "{two}");
    // The escaping case really was on the page.
    let (_, day, _) = send(&app, &cases[2].0, &cases[2].1).await;
    assert!(day.contains(r#"Quotes \" and \\ backslashes"#), "{day}");
    assert!(day.contains(r#"Zoë \"Quote\" O'Brien"#), "{day}");
}

/// What compiling does not take runs through the schema as before, and answers as its first run.
#[tokio::test]
async fn what_is_not_compiled_answers_through_the_schema() {
    let app = app_with_papers().await;
    let cases = [
        // Fields outside the listed columns, relations to other rows, counts.
        "{ papers(first: 3) { nodes { arxivId aiKeywords } } }",
        "{ papers(first: 3) { nodes { authors { author { name paperCount } } } } }",
        "{ papers(first: 3) { nodes { organization { name } } } }",
        "{ papers(first: 3) { totalCount nodes { title } } }",
        // Other root fields beside a list.
        "{ papers(first: 2) { nodes { title } } dailyCalendar(from: \"2026-01-01\", to: \"2026-12-31\") { date count } }",
        // Directives and fields asked twice.
        "{ papers(first: 2) { nodes { title @include(if: true) } } }",
        "{ papers(first: 2) { nodes { title title } } }",
        "{ papers(first: 2) { nodes { title ... on Node { id } } } }",
    ];
    for query in cases {
        let (s1, first, _) = send(&app, query, &json!({})).await;
        assert_eq!(s1, 200, "{first}");
        assert!(!first.contains("\"errors\""), "{query}: {first}");
        let (s, again, compiled) = send(&app, query, &json!({})).await;
        assert_eq!(s, 200);
        assert!(!compiled, "{query} was compiled");
        assert_eq!(again, first, "{query}");
        if query.contains("totalCount") {
            // `totalCount` waits on its own statement and finishes after `nodes`.
            assert!(
                first.find("\"totalCount\"") < first.find("\"nodes\""),
                "{first}"
            );
        }
        if query.contains("dailyCalendar") {
            // In the document's order, whichever root field finished first.
            assert!(
                first.find("\"papers\"") < first.find("\"dailyCalendar\""),
                "{first}"
            );
        }
    }
    // An operation name that names no operation fails every time (it is checked after
    // validation, so the request is planned).
    for query in [
        "{ papers(first: 2) { nodes { title } } }",
        "query A { papers(first: 2) { nodes { title } } }",
    ] {
        for _ in 0..3 {
            let resp = app
                .client
                .post(app.url("/graphql"))
                .header("accept", "application/json")
                .json(&json!({ "query": query, "operationName": "B" }))
                .send()
                .await
                .unwrap();
            assert!(resp.headers().get("x-papergraph-plan").is_none());
            let v: Value = resp.json().await.unwrap();
            assert!(
                v["errors"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains("Unknown operation"),
                "{v}"
            );
            assert!(v["data"].is_null(), "{v}");
        }
    }
    // A variable left out (no default) is left to the schema too.
    let q = "query ($n: Int) { papers(first: $n) { nodes { title } } }";
    send(&app, q, &json!({})).await;
    let (_, _, compiled) = send(&app, q, &json!({})).await;
    assert!(!compiled);
    // A request whose arguments the resolver refuses is answered by it, with its code.
    let q = "{ papers(first: 500) { nodes { title } } }";
    for _ in 0..2 {
        let (s, body, compiled) = send(&app, q, &json!({})).await;
        assert_eq!(s, 200);
        assert!(!compiled);
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            v["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{v}"
        );
    }
}

/// A compiled request whose read fails is run again through the schema, which answers the
/// error with its code (no 500, no half-written body); once the table is back, it answers again.
#[tokio::test]
async fn a_failed_compiled_read_answers_through_the_schema() {
    use sea_orm::ConnectionTrait as _;
    let app = app_with_papers().await;
    let q = "{ papers(first: 5) { nodes { arxivId title authors { name } } } }";
    let (_, first, _) = send(&app, q, &json!({})).await;
    let (_, again, compiled) = send(&app, q, &json!({})).await;
    assert!(compiled);
    assert_eq!(again, first);
    app.db
        .execute_unprepared("ALTER TABLE paper_authors RENAME TO paper_authors_away")
        .await
        .unwrap();
    let (s, body, compiled) = send(&app, q, &json!({})).await;
    assert_eq!(s, 200, "{body}");
    assert!(!compiled, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(v["errors"][0]["extensions"]["code"].is_string(), "{v}");
    app.db
        .execute_unprepared("ALTER TABLE paper_authors_away RENAME TO paper_authors")
        .await
        .unwrap();
    let (_, back, compiled) = send(&app, q, &json!({})).await;
    assert!(compiled);
    assert_eq!(back, first);
}

/// Every field a list answers from its listed columns (`listed_fields`) answers what a read of
/// every column answers: a field listed there whose column the listed read leaves out would show
/// an empty value, the epoch or 0 here.
#[tokio::test]
async fn every_listed_field_answers_as_a_full_read_does() {
    let app = app_with_papers().await;
    let select: Vec<String> = papergraph::graphql::listed_fields()
        .map(|f| match f {
            "authors" => "authors { name position }".to_string(),
            "organization" => "organization { name fullname }".to_string(),
            "submittedBy" => "submittedBy { username }".to_string(),
            "similar" => "similar(first: 2) { score paper { arxivId } }".to_string(),
            "upvoteHistory" => "upvoteHistory { upvotes }".to_string(),
            "linkedModels" => "linkedModels { id }".to_string(),
            "linkedDatasets" => "linkedDatasets { id }".to_string(),
            "linkedSpaces" => "linkedSpaces { id }".to_string(),
            "comments" => "comments { totalCount nodes { id } }".to_string(),
            scalar => scalar.to_string(),
        })
        .collect();
    let fields = select.join(" ");
    // `aiSummary` is not among them: the second list reads every column.
    let listed = format!("{{ papers(first: 50) {{ nodes {{ {fields} }} }} }}");
    let full = format!("{{ papers(first: 50) {{ nodes {{ {fields} aiSummary }} }} }}");
    let a = app.data(&listed, json!({})).await;
    let mut b = app.data(&full, json!({})).await;
    for n in b["papers"]["nodes"].as_array_mut().unwrap() {
        n.as_object_mut().unwrap().remove("aiSummary");
    }
    let (a, b) = (
        a["papers"]["nodes"].as_array().unwrap(),
        b["papers"]["nodes"].as_array().unwrap(),
    );
    assert!(!a.is_empty());
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        for (field, value) in x.as_object().unwrap() {
            assert_eq!(
                value, &y[field],
                "`{field}` of {} differs between a listed and a full read",
                x["arxivId"]
            );
        }
    }
}
