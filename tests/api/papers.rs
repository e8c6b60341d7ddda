//! Queries over the sample days: every filter, every order, id forms, nodes, authors, calendar.
use serde_json::{Value, json};

use crate::helpers::{fixture, ids, spawn_app};

/// The sample items with the day they were listed on, straight from the fixture files.
fn samples() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for date in ["2026-01-14", "2026-01-30", "2026-04-02"] {
        let body = std::fs::read(fixture(&format!("api/daily_papers_date-{date}.json"))).unwrap();
        let items: Vec<Value> = serde_json::from_slice(&body).unwrap();
        out.extend(items.into_iter().map(|i| (date.to_string(), i)));
    }
    out
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn expected(pred: impl Fn(&str, &Value) -> bool) -> Vec<String> {
    sorted(
        samples()
            .iter()
            .filter(|(d, i)| pred(d, i))
            .map(|(_, i)| i["paper"]["id"].as_str().unwrap().to_string())
            .collect(),
    )
}

const LIST: &str = "query($f: PaperFilter, $o: PaperOrder) {
  papers(filter: $f, orderBy: $o, first: 100) { totalCount nodes { arxivId upvotes } } }";

async fn filtered(app: &crate::helpers::TestApp, filter: Value) -> Vec<String> {
    let d = app.data(LIST, json!({ "f": filter })).await;
    let got = ids(&d["papers"]);
    assert_eq!(
        d["papers"]["totalCount"],
        json!(got.len()),
        "totalCount for {filter}"
    );
    sorted(got)
}

#[tokio::test]
async fn daily_list_by_upvotes_is_the_days_papers_most_upvoted_first() {
    let app = spawn_app().await;
    app.import_samples().await;
    let d = app
        .data(
            LIST,
            json!({ "f": { "dailyDate": "2026-01-30" }, "o": { "field": "UPVOTES" } }),
        )
        .await;
    let mut want: Vec<(i64, String)> = samples()
        .iter()
        .filter(|(d, _)| d == "2026-01-30")
        .map(|(_, i)| {
            (
                i["paper"]["upvotes"].as_i64().unwrap(),
                i["paper"]["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    want.sort_by_key(|w| std::cmp::Reverse(w.0));
    assert_eq!(
        ids(&d["papers"]),
        want.into_iter().map(|w| w.1).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn every_filter_selects_what_the_samples_say() {
    let app = spawn_app().await;
    app.import_samples().await;
    let cases: Vec<(Value, Vec<String>)> = vec![
        (
            json!({ "dailyDate": "2026-01-14" }),
            expected(|d, _| d == "2026-01-14"),
        ),
        (
            json!({ "dailyDateFrom": "2026-01-15", "dailyDateTo": "2026-04-01" }),
            expected(|d, _| d == "2026-01-30"),
        ),
        (
            json!({ "dailyDateFrom": "2026-01-30" }),
            expected(|d, _| d != "2026-01-14"),
        ),
        (
            json!({ "week": "2026-W03" }),
            expected(|d, _| d == "2026-01-14"),
        ),
        (
            json!({ "week": "2026-W05" }),
            expected(|d, _| d == "2026-01-30"),
        ),
        (json!({ "week": "2026-W10" }), vec![]),
        (
            json!({ "month": "2026-04" }),
            expected(|d, _| d == "2026-04-02"),
        ),
        (
            json!({ "month": "2026-01" }),
            expected(|d, _| d.starts_with("2026-01")),
        ),
        (
            json!({ "publishedFrom": "2026-01-01T00:00:00Z" }),
            expected(|_, i| i["paper"]["publishedAt"].as_str().unwrap() >= "2026-01-01"),
        ),
        (
            json!({ "publishedFrom": "2023-01-01T00:00:00+02:00", "publishedTo": "2023-12-31T23:59:59Z" }),
            expected(|_, i| {
                i["paper"]["publishedAt"]
                    .as_str()
                    .unwrap()
                    .starts_with("2023")
            }),
        ),
        (
            json!({ "minUpvotes": 50 }),
            expected(|_, i| i["paper"]["upvotes"].as_i64().unwrap() >= 50),
        ),
        (
            json!({ "author": "  jurgen   IYER " }),
            expected(|_, i| {
                i["paper"]["authors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a["name"] == "Jürgen Iyer")
            }),
        ),
        (
            json!({ "organization": "northwind-ml" }),
            expected(|_, i| i["organization"]["name"] == "northwind-ml"),
        ),
        (
            json!({ "organization": "NORTHWIND ML LAB" }),
            expected(|_, i| i["organization"]["name"] == "northwind-ml"),
        ),
        (
            json!({ "hasCode": true }),
            expected(|_, i| i["paper"]["githubRepo"].is_string()),
        ),
        (
            json!({ "hasCode": false }),
            expected(|_, i| !i["paper"]["githubRepo"].is_string()),
        ),
        (
            json!({ "month": "2026-01", "minUpvotes": 25, "hasCode": false }),
            expected(|d, i| {
                d.starts_with("2026-01")
                    && i["paper"]["upvotes"].as_i64().unwrap() >= 25
                    && !i["paper"]["githubRepo"].is_string()
            }),
        ),
        (
            json!({ "dailyDate": "2026-01-14", "week": "2026-W05" }),
            vec![],
        ),
    ];
    for (filter, want) in cases {
        assert_eq!(
            filtered(&app, filter.clone()).await,
            want,
            "filter {filter}"
        );
    }
    assert!(!expected(|_, i| i["paper"]["githubRepo"].is_string()).is_empty());
}

#[tokio::test]
async fn every_order_sorts_by_its_field_in_both_directions() {
    let app = spawn_app().await;
    app.import_samples().await;
    let q = "query($o: PaperOrder) { papers(orderBy: $o, first: 100) { nodes {
        arxivId trendingScore upvotes numComments githubStars publishedAt dailyDate } } }";
    for (field, key) in [
        ("TRENDING", "trendingScore"),
        ("UPVOTES", "upvotes"),
        ("COMMENTS", "numComments"),
        ("GITHUB_STARS", "githubStars"),
        ("PUBLISHED_AT", "publishedAt"),
        ("DAILY_DATE", "dailyDate"),
    ] {
        for dir in ["ASC", "DESC"] {
            let d = app
                .data(q, json!({ "o": { "field": field, "direction": dir } }))
                .await;
            let nodes = d["papers"]["nodes"].as_array().unwrap();
            assert_eq!(nodes.len(), 23);
            let keys: Vec<Value> = nodes.iter().map(|n| n[key].clone()).collect();
            for w in keys.windows(2) {
                let ord = cmp(&w[0], &w[1]);
                if dir == "DESC" {
                    assert!(ord.is_ge(), "{field} {dir}: {:?} before {:?}", w[0], w[1]);
                } else {
                    assert!(ord.is_le(), "{field} {dir}: {:?} before {:?}", w[0], w[1]);
                }
            }
        }
    }
    // Default order is DAILY_DATE DESC.
    let d = app
        .data("{ papers(first: 1) { nodes { dailyDate } } }", json!({}))
        .await;
    assert_eq!(d["papers"]["nodes"][0]["dailyDate"], "2026-04-02");
}

/// Orders JSON values as the API orders them: null lowest, numbers numerically, strings as text.
fn cmp(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => std::cmp::Ordering::Equal,
        (Value::Null, _) => std::cmp::Ordering::Less,
        (_, Value::Null) => std::cmp::Ordering::Greater,
        (Value::Number(x), Value::Number(y)) => x.as_f64().unwrap().total_cmp(&y.as_f64().unwrap()),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ => panic!("incomparable {a} {b}"),
    }
}

#[tokio::test]
async fn paper_accepts_every_id_form_and_rejects_garbage() {
    let app = spawn_app().await;
    app.import_samples().await;
    let q = "query($id: String!) { paper(arxivId: $id) { arxivId title hfUrl arxivUrl pdfUrl } }";
    for form in [
        "2601.25962",
        "2601.25962v2",
        "arXiv:2601.25962",
        "https://arxiv.org/abs/2601.25962v1",
        "https://arxiv.org/pdf/2601.25962",
        "https://huggingface.co/papers/2601.25962",
        "hf.co/papers/2601.25962",
    ] {
        let d = app.data(q, json!({ "id": form })).await;
        assert_eq!(d["paper"]["arxivId"], "2601.25962", "{form}");
        assert_eq!(d["paper"]["pdfUrl"], "https://arxiv.org/pdf/2601.25962");
    }
    let d = app.data(q, json!({ "id": "2601.99999" })).await;
    assert!(d["paper"].is_null(), "an unknown id is null, not an error");
    for bad in [
        "",
        "hello",
        "2601",
        "https://example.com/abs/2601.25962",
        "2613.00001",
    ] {
        assert_eq!(
            app.error_code(q, json!({ "id": bad })).await,
            "BAD_USER_INPUT",
            "{bad}"
        );
    }
}

#[tokio::test]
async fn nodes_round_trip_global_ids() {
    let app = spawn_app().await;
    app.import_samples().await;
    let d = app
        .data(
            r#"{ paper(arxivId: "2309.02481") { id authors { author { id name paperCount } } } }"#,
            json!({}),
        )
        .await;
    let paper_id = d["paper"]["id"].as_str().unwrap().to_string();
    let author = &d["paper"]["authors"][0]["author"];
    let author_id = author["id"].as_str().unwrap().to_string();
    let q = "query($ids: [ID!]!) { nodes(ids: $ids) { id __typename
        ... on Paper { arxivId } ... on Author { name } } }";
    let missing = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("Paper:2101.00001")
    };
    let d = app
        .data(q, json!({ "ids": [author_id, paper_id, missing] }))
        .await;
    let nodes = d["nodes"].as_array().unwrap();
    assert_eq!(nodes[0]["__typename"], "Author");
    assert_eq!(nodes[0]["name"], author["name"]);
    assert_eq!(nodes[1]["__typename"], "Paper");
    assert_eq!(nodes[1]["arxivId"], "2309.02481");
    assert!(nodes[2].is_null());
    let one = app
        .data(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": paper_id }),
        )
        .await;
    assert_eq!(one["node"]["id"], json!(paper_id));
    for bad in ["nope", "2309.02481", ""] {
        let code = app
            .error_code(
                "query($id: ID!) { node(id: $id) { id } }",
                json!({ "id": bad }),
            )
            .await;
        assert_eq!(code, "BAD_USER_INPUT", "{bad}");
    }
    let many: Vec<String> = (0..101).map(|_| paper_id.clone()).collect();
    assert_eq!(
        app.error_code(q, json!({ "ids": many })).await,
        "BAD_USER_INPUT"
    );
}

#[tokio::test]
async fn authors_search_folds_case_and_accents_and_lists_their_papers() {
    let app = spawn_app().await;
    app.import_samples().await;
    let mut want: Vec<String> = samples()
        .iter()
        .flat_map(|(_, i)| i["paper"]["authors"].as_array().unwrap().clone())
        .map(|a| a["name"].as_str().unwrap().to_string())
        .filter(|n| papergraph::domain::fold_for_search(n).contains("nguyen"))
        .collect();
    want.sort();
    want.dedup();
    assert!(
        want.iter().any(|n| n.contains('ễ')),
        "the samples hold an accented Nguyễn"
    );
    let d = app
        .data(
            r#"{ authors(search: "NGUYEN", first: 100) { totalCount nodes { name paperCount
                papers(orderBy: {field: UPVOTES}) { totalCount nodes { arxivId authors { name } } } } } }"#,
            json!({}),
        )
        .await;
    let mut got: Vec<String> = d["authors"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_string())
        .collect();
    got.sort();
    assert_eq!(got, want);
    assert_eq!(d["authors"]["totalCount"], json!(want.len()));
    for a in d["authors"]["nodes"].as_array().unwrap() {
        let papers = a["papers"]["nodes"].as_array().unwrap();
        assert_eq!(a["paperCount"], json!(papers.len()));
        assert_eq!(a["papers"]["totalCount"], json!(papers.len()));
        for p in papers {
            assert!(
                p["authors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x["name"] == a["name"])
            );
        }
    }
    // Most prolific first, and paging through authors works.
    let d = app
        .data(
            "{ authors(first: 3) { pageInfo { hasNextPage endCursor } nodes { paperCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(d["authors"]["pageInfo"]["hasNextPage"], true);
    let cursor = d["authors"]["pageInfo"]["endCursor"].as_str().unwrap();
    let next = app
        .data(
            "query($c: String) { authors(first: 3, after: $c) { nodes { name } } }",
            json!({ "c": cursor }),
        )
        .await;
    assert_eq!(next["authors"]["nodes"].as_array().unwrap().len(), 3);
    let code = app
        .error_code(
            r#"{ authors(first: 2, after: "bogus") { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
}

#[tokio::test]
async fn daily_calendar_and_sync_status_report_the_mirror() {
    let app = spawn_app().await;
    let d = app
        .data(
            "{ syncStatus { paperCount lastSuccessAt days { date } } }",
            json!({}),
        )
        .await;
    assert_eq!(d["syncStatus"]["paperCount"], 0);
    assert!(d["syncStatus"]["lastSuccessAt"].is_null());
    app.import_samples().await;
    let d = app
        .data(
            r#"{ dailyCalendar(from: "2026-01-01", to: "2026-12-31") { date count }
                 syncStatus { paperCount authorCount lastSuccessAt lagSeconds latestDailyDate
                   days(last: 2) { date status paperCount source } failedDays { date } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        d["dailyCalendar"],
        json!([
            { "date": "2026-01-14", "count": 7 },
            { "date": "2026-01-30", "count": 8 },
            { "date": "2026-04-02", "count": 8 },
        ])
    );
    let s = &d["syncStatus"];
    assert_eq!(s["paperCount"], 23);
    assert!(s["authorCount"].as_i64().unwrap() > 23);
    assert!(s["lastSuccessAt"].is_string());
    assert_eq!(s["latestDailyDate"], "2026-04-02");
    assert_eq!(s["days"].as_array().unwrap().len(), 2);
    assert_eq!(
        s["days"][0],
        json!({ "date": "2026-04-02", "status": "ok", "paperCount": 8, "source": "file" })
    );
    assert_eq!(s["failedDays"], json!([]));
    let code = app
        .error_code(
            r#"{ dailyCalendar(from: "2026-02-01", to: "2026-01-01") { date } }"#,
            json!({}),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
}

#[tokio::test]
async fn bad_input_is_answered_with_codes() {
    let app = spawn_app().await;
    app.import_samples().await;
    let cases = [
        (
            r#"{ papers(filter: {dailyDate: "2026-13-01"}) { totalCount } }"#,
            "BAD_USER_INPUT",
        ),
        (
            r#"{ papers(filter: {dailyDate: "yesterday"}) { totalCount } }"#,
            "BAD_USER_INPUT",
        ),
        (
            r#"{ papers(filter: {publishedFrom: "2026-01-01"}) { totalCount } }"#,
            "BAD_USER_INPUT",
        ),
        (
            r#"{ papers(filter: {week: "2026-3"}) { totalCount } }"#,
            "BAD_USER_INPUT",
        ),
        (
            r#"{ papers(filter: {week: "2025-W53"}) { totalCount } }"#,
            "BAD_USER_INPUT",
        ),
        (
            r#"{ papers(filter: {month: "2026-13"}) { totalCount } }"#,
            "BAD_USER_INPUT",
        ),
        (
            r#"{ papers(filter: {author: "  "}) { totalCount } }"#,
            "BAD_USER_INPUT",
        ),
        ("{ papers(first: 101) { totalCount } }", "BAD_USER_INPUT"),
        ("{ papers(last: 101) { totalCount } }", "BAD_USER_INPUT"),
        ("{ papers(first: -1) { totalCount } }", "BAD_USER_INPUT"),
        (
            "{ papers(first: 1, last: 1) { totalCount } }",
            "BAD_USER_INPUT",
        ),
        (
            r#"{ papers(first: 1, after: "not-a-cursor") { totalCount } }"#,
            "BAD_USER_INPUT",
        ),
        (
            r#"{ papers(last: 1, before: "!!!") { totalCount } }"#,
            "BAD_USER_INPUT",
        ),
        (
            r#"{ papers(orderBy: {field: LIKES}) { totalCount } }"#,
            "BAD_USER_INPUT",
        ),
        ("{ papers { nope } }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ papers(first: 1) { totalCount ", "GRAPHQL_PARSE_FAILED"),
        (
            r#"{ dailyCalendar(from: "2000-01-01", to: "2026-01-01") { date } }"#,
            "BAD_USER_INPUT",
        ),
    ];
    for (q, code) in cases {
        assert_eq!(app.error_code(q, json!({})).await, code, "{q}");
    }
    // A cursor from one order is refused by another.
    let d = app
        .data(
            "{ papers(orderBy: {field: UPVOTES}, first: 1) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let cursor = d["papers"]["pageInfo"]["endCursor"].as_str().unwrap();
    let code = app
        .error_code(
            "query($c: String) { papers(orderBy: {field: COMMENTS}, first: 1, after: $c) { totalCount } }",
            json!({ "c": cursor }),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    // Variables of the wrong type are the caller's error too.
    let code = app
        .error_code(
            "query($d: Date) { papers(filter: {dailyDate: $d}) { totalCount } }",
            json!({ "d": "2026-02-30" }),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
}

/// The hot reads decode rows by column position (`repo::rows`); they must read exactly what
/// sea-orm's derived, by-name decoding reads, NULLs included, on either backend.
#[tokio::test]
async fn rows_read_by_position_equal_the_derived_decoding() {
    use papergraph::entities::paper;
    use papergraph::repo::papers::{AuthorSlot, SlotRead};
    use papergraph::repo::rows::{AuthorSlotRow, PaperRow};
    use sea_orm::{EntityTrait, FromQueryResult, QueryOrder};

    let app = crate::helpers::spawn_app().await;
    app.import_samples().await;
    let derived = paper::Entity::find()
        .order_by_asc(paper::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    let by_position: Vec<paper::Model> = paper::Entity::find()
        .order_by_asc(paper::Column::Id)
        .into_model::<PaperRow>()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert!(derived.len() > 5);
    assert!(derived.iter().any(|p| p.github_repo.is_some()));
    assert!(derived.iter().any(|p| p.github_repo.is_none()));
    assert_eq!(by_position, derived);

    let ids: Vec<i64> = derived.iter().map(|p| p.id).collect();
    let q = papergraph::repo::papers::author_slot_select(&ids, SlotRead::Full);
    let stmt = app.db.get_database_backend().build(&q);
    let derived = AuthorSlot::find_by_statement(stmt.clone())
        .all(&app.db)
        .await
        .unwrap();
    let by_position = AuthorSlotRow::find_by_statement(stmt)
        .all(&app.db)
        .await
        .unwrap();
    assert!(derived.len() > 20);
    assert!(derived.iter().any(|s| s.hf_user_id.is_some()));
    assert_eq!(
        format!("{by_position:?}"),
        format!(
            "{:?}",
            derived
                .iter()
                .map(|s| AuthorSlotRow(s.clone()))
                .collect::<Vec<_>>()
        )
    );

    // Without the authors: the slots' own columns, the same as the full read's.
    let q = papergraph::repo::papers::author_slot_select(&ids, SlotRead::Own);
    let own = AuthorSlotRow::find_by_statement(app.db.get_database_backend().build(&q))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(own.len(), derived.len());
    for (AuthorSlotRow(o), d) in own.iter().zip(&derived) {
        assert_eq!(
            (o.author_name.as_deref(), o.author_paper_count),
            (None, None)
        );
        assert!(d.author_name.is_some() && d.author_paper_count.is_some());
        let mut o = o.clone();
        o.author_name = d.author_name.clone();
        o.author_paper_count = d.author_paper_count;
        assert_eq!(format!("{o:?}"), format!("{d:?}"));
    }
}

/// `page_with_authors` (one statement, the slots as JSON in a column) reads the same papers and
/// author slots as `page` followed by `author_slots`, on either backend, in every order.
#[tokio::test]
async fn a_page_with_its_authors_in_one_statement_equals_two_statements() {
    use papergraph::repo::papers::{self, PaperCriteria, Slice, SlotRead, Sort, SortField};

    let app = crate::helpers::spawn_app().await;
    app.import_samples().await;
    for (field, read) in [
        (SortField::Upvotes, SlotRead::Full),
        (SortField::PublishedAt, SlotRead::Full),
        (SortField::Trending, SlotRead::Full),
        (SortField::Upvotes, SlotRead::Own),
        (SortField::Trending, SlotRead::Own),
    ] {
        for descending in [true, false] {
            let sort = Sort { field, descending };
            let slice = Slice::Forward {
                first: 7,
                after: None,
            };
            let criteria = PaperCriteria::default();
            let two = papers::page(&app.db, &criteria, sort, &slice)
                .await
                .unwrap();
            let ids: Vec<i64> = two.rows.iter().map(|p| p.id).collect();
            let slots = papers::author_slots(&app.db, &ids, read).await.unwrap();
            let one = papers::page_with_authors(
                &app.db,
                &criteria,
                sort,
                &slice,
                papers::PaperColumns::All,
                read,
            )
            .await
            .unwrap();
            assert_eq!(one.rows.len(), 7);
            assert_eq!(
                (one.has_next_page, one.has_previous_page),
                (two.has_next_page, two.has_previous_page)
            );
            for ((p, s), q) in one.rows.iter().zip(&two.rows) {
                assert_eq!(p, q);
                let expected = slots.get(&q.id).cloned().unwrap_or_default();
                assert!(!expected.is_empty(), "paper {} has authors", q.id);
                assert_eq!(format!("{s:?}"), format!("{expected:?}"));
                assert!(
                    s.iter()
                        .all(|s| s.author_name.is_some() == (read == SlotRead::Full))
                );
            }
        }
    }
}

/// A list that shows only the names printed on its papers reads the author slots alone; one that
/// asks for `author` (directly, through `edges`, or through fragments) reads them with their
/// authors in the same number of statements, and both answer the same slots.
#[tokio::test]
async fn a_list_reads_author_entities_only_when_asked_for_them() {
    let app = crate::helpers::spawn_app().await;
    app.import_samples().await;
    let run = |q: &'static str| {
        let app = &app;
        async move {
            let before = app.stats.statements();
            let d = app.data(q, json!({})).await;
            (d, app.stats.statements() - before)
        }
    };
    let (names, names_n) = run(
        "{ papers(first: 30, orderBy: {field: UPVOTES}) { nodes { arxivId authors { name position } } } }",
    )
    .await;
    let (full, full_n) = run(
        "{ papers(first: 30, orderBy: {field: UPVOTES}) { nodes { arxivId authors { name position \
         author { name paperCount } } } } }",
    )
    .await;
    let (frag, frag_n) = run(
        "{ papers(first: 30, orderBy: {field: UPVOTES}) { edges { node { ...P } } } } \
         fragment P on Paper { arxivId authors { ...A } } \
         fragment A on PaperAuthor { name position author { name paperCount } }",
    )
    .await;
    assert_eq!(names_n, full_n, "the author entities come with the slots");
    assert_eq!(frag_n, full_n, "fragments are seen through");
    let full = full["papers"]["nodes"].as_array().unwrap().clone();
    let frag: Vec<Value> = frag["papers"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    assert_eq!(frag, full);
    let names = names["papers"]["nodes"].as_array().unwrap();
    assert_eq!(names.len(), full.len());
    let mut slots = 0;
    for (n, f) in names.iter().zip(&full) {
        assert_eq!(n["arxivId"], f["arxivId"]);
        let (na, fa) = (
            n["authors"].as_array().unwrap(),
            f["authors"].as_array().unwrap(),
        );
        assert_eq!(na.len(), fa.len());
        for (a, b) in na.iter().zip(fa) {
            assert_eq!((&a["name"], &a["position"]), (&b["name"], &b["position"]));
            assert!(b["author"]["name"].is_string());
            assert!(b["author"]["paperCount"].as_i64().unwrap() >= 1);
            slots += 1;
        }
    }
    assert!(slots > 20, "only {slots} author slots");
}

/// A page read with the listed columns holds the same values in them as a page of every column,
/// and empty values in the others.
#[tokio::test]
async fn a_page_of_the_listed_columns_equals_the_full_page_in_them() {
    use papergraph::repo::papers::{
        self, PaperColumns, PaperCriteria, Slice, SlotRead, Sort, SortField,
    };

    let app = crate::helpers::spawn_app().await;
    app.import_samples().await;
    let sort = Sort {
        field: SortField::Upvotes,
        descending: true,
    };
    let slice = Slice::Forward {
        first: 30,
        after: None,
    };
    let criteria = PaperCriteria::default();
    let all = papers::page_of(&app.db, &criteria, sort, &slice, PaperColumns::All)
        .await
        .unwrap();
    let listed = papers::page_of(&app.db, &criteria, sort, &slice, PaperColumns::Listed)
        .await
        .unwrap();
    let with_slots = papers::page_with_authors(
        &app.db,
        &criteria,
        sort,
        &slice,
        PaperColumns::Listed,
        SlotRead::Own,
    )
    .await
    .unwrap();
    assert!(all.rows.len() > 10);
    assert!(all.rows.iter().any(|p| p.ai_summary.is_some()));
    assert_eq!(listed.rows.len(), all.rows.len());
    assert_eq!(with_slots.rows.len(), all.rows.len());
    for ((l, (s, _)), a) in listed.rows.iter().zip(&with_slots.rows).zip(&all.rows) {
        assert_eq!(l, s);
        let mut expected = a.clone();
        // What `LISTED` leaves out reads as empty.
        expected.github_repo_added_by = None;
        expected.project_page = None;
        expected.ai_summary = None;
        expected.ai_summary_model = None;
        expected.ai_keywords = Default::default();
        expected.thumbnail_url = None;
        expected.media_urls = Default::default();
        expected.discussion_id = None;
        expected.withdrawn_at = None;
        expected.is_author_participating = false;
        expected.num_linked_models = None;
        expected.num_linked_datasets = None;
        expected.num_linked_spaces = None;
        expected.created_at = Default::default();
        assert_eq!(l, &expected);
    }
}

/// A list asking only for listed fields answers them as one asking for more; a field outside
/// them (here through a fragment) reads every column, so it is never answered empty.
#[tokio::test]
async fn a_list_reads_every_column_when_a_field_needs_it() {
    let app = crate::helpers::spawn_app().await;
    app.import_samples().await;
    let listed = app
        .data(
            "{ papers(first: 30) { nodes { arxivId title abstract upvotes githubRepo authorCount \
             authors { name } } } }",
            json!({}),
        )
        .await;
    let more = app
        .data(
            "{ papers(first: 30) { edges { node { arxivId title abstract upvotes githubRepo \
             authorCount authors { name } ...More } } } } \
             fragment More on Paper { aiSummary aiKeywords projectPage }",
            json!({}),
        )
        .await;
    let listed = listed["papers"]["nodes"].as_array().unwrap();
    let more: Vec<&Value> = more["papers"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .collect();
    assert_eq!(listed.len(), more.len());
    assert!(listed.len() > 10);
    for (l, m) in listed.iter().zip(&more) {
        for (k, v) in l.as_object().unwrap() {
            assert_eq!(&m[k], v, "{k}");
        }
    }
    assert!(more.iter().all(|m| m["aiSummary"].is_string()));
    assert!(
        more.iter()
            .all(|m| !m["aiKeywords"].as_array().unwrap().is_empty())
    );
    assert!(more.iter().any(|m| m["projectPage"].is_string()));
    // The one paper, read on its own (every column), agrees.
    let one = app
        .data(
            r#"{ paper(arxivId: "2311.14905") { aiSummary projectPage } }"#,
            json!({}),
        )
        .await;
    let m = more.iter().find(|m| m["arxivId"] == "2311.14905").unwrap();
    assert_eq!(m["aiSummary"], one["paper"]["aiSummary"]);
    assert_eq!(m["projectPage"], one["paper"]["projectPage"]);
}

/// `papersByArxivId` answers in the order asked, in any id form, null for an unknown id, twice
/// for an id given twice; an id it cannot read names its position, and 101 ids are refused.
#[tokio::test]
async fn papers_by_arxiv_id_answers_in_the_order_asked() {
    let app = spawn_app().await;
    let papers: Vec<_> = (1..=3u32)
        .map(|n| crate::helpers::paper(n, "2026-03-01", n as i32))
        .collect();
    app.import("2026-03-01", &papers).await;
    let q = "query($ids: [String!]!) { papersByArxivId(ids: $ids) { arxivId title upvotes authors { name } } }";
    let d = app
        .data(
            q,
            json!({ "ids": ["2601.00003v2", "https://arxiv.org/abs/2601.00001", "2601.99999", "arXiv:2601.00003"] }),
        )
        .await;
    let got: Vec<Value> = d["papersByArxivId"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["arxivId"].clone())
        .collect();
    assert_eq!(
        got,
        vec![
            json!("2601.00003"),
            json!("2601.00001"),
            Value::Null,
            json!("2601.00003")
        ]
    );
    assert_eq!(d["papersByArxivId"][0]["upvotes"], 3);
    assert_eq!(d["papersByArxivId"][1]["authors"][0]["name"], "Author 1");
    let empty = app.data(q, json!({ "ids": [] })).await;
    assert_eq!(empty["papersByArxivId"], json!([]));

    let bad = app
        .gql(q, json!({ "ids": ["2601.00001", "not an id"] }))
        .await;
    assert_eq!(bad["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert!(
        bad["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("ids[1]"),
        "{bad:#}"
    );
    let many: Vec<String> = (0..101).map(|n| format!("2601.{n:05}")).collect();
    assert_eq!(
        app.error_code(q, json!({ "ids": many })).await,
        "BAD_USER_INPUT"
    );
}

/// `submitter`, `aiKeyword` (whole keyword, any case, LIKE's wildcards taken literally),
/// `minGithubStars` and `hasProjectPage` narrow a list as they say, in GraphQL and in the feeds.
#[tokio::test]
async fn submitter_keyword_stars_and_project_page_filters() {
    let app = spawn_app().await;
    let keywords: [&[&str]; 4] = [
        &["Diffusion", "video"],
        &["diffusion models"],
        &["50%_off", "DIFFUSION"],
        &[],
    ];
    let papers: Vec<_> = (0..12u32)
        .map(|n| {
            let mut p = crate::helpers::paper(n, "2026-03-02", n as i32);
            p.ai_keywords = keywords[n as usize % 4]
                .iter()
                .map(|k| k.to_string())
                .collect();
            p.project_page = match n % 3 {
                0 => Some(format!("https://example.org/p{n}")),
                1 => Some(String::new()),
                _ => None,
            };
            p.submitted_by = Some(papergraph::domain::HfUserRef {
                username: if n % 2 == 0 { "AKhaliq" } else { "someone" }.into(),
                hf_id: None,
                fullname: None,
                avatar_url: None,
                is_pro: false,
                kind: Some("user".into()),
            });
            p
        })
        .collect();
    app.import("2026-03-02", &papers).await;
    let ids = |filter: Value| {
        let app = &app;
        async move {
            let d = app
                .data(
                    "query($f: PaperFilter) { papers(filter: $f, first: 100, orderBy: {field: UPVOTES, direction: ASC}) { nodes { arxivId } } }",
                    json!({ "f": filter }),
                )
                .await;
            d["papers"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["arxivId"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    let expect = |keep: &dyn Fn(u32) -> bool| -> Vec<String> {
        (0..12u32)
            .filter(|n| keep(*n))
            .map(|n| format!("2601.{n:05}"))
            .collect()
    };
    assert_eq!(
        ids(json!({"aiKeyword": "diffusion"})).await,
        expect(&|n| n % 4 == 0 || n % 4 == 2)
    );
    assert_eq!(
        ids(json!({"aiKeyword": "Diffusion Models"})).await,
        expect(&|n| n % 4 == 1)
    );
    assert_eq!(
        ids(json!({"aiKeyword": "50%_off"})).await,
        expect(&|n| n % 4 == 2)
    );
    assert_eq!(ids(json!({"aiKeyword": "50%"})).await, Vec::<String>::new());
    assert_eq!(
        ids(json!({"aiKeyword": "diff"})).await,
        Vec::<String>::new()
    );
    assert_eq!(
        ids(json!({"submitter": "akhaliq"})).await,
        expect(&|n| n % 2 == 0)
    );
    // `paper()` gives even papers 3n stars.
    assert_eq!(
        ids(json!({"minGithubStars": 12})).await,
        expect(&|n| n % 2 == 0 && n >= 4)
    );
    assert_eq!(
        ids(json!({"hasProjectPage": true})).await,
        expect(&|n| n % 3 == 0)
    );
    assert_eq!(
        ids(json!({"hasProjectPage": false})).await,
        expect(&|n| n % 3 != 0)
    );
    assert_eq!(
        ids(json!({"submitter": "AKHALIQ", "aiKeyword": "video", "hasProjectPage": true})).await,
        expect(&|n| n % 2 == 0 && n % 4 == 0 && n % 3 == 0)
    );
    for bad in [json!({"aiKeyword": " "}), json!({"submitter": ""})] {
        assert_eq!(
            app.error_code(
                "query($f: PaperFilter) { papers(filter: $f) { totalCount } }",
                json!({ "f": bad })
            )
            .await,
            "BAD_USER_INPUT"
        );
    }

    let feed = app
        .client
        .get(app.url("/feeds/papers.atom?submitter=akhaliq&aiKeyword=diffusion&hasProjectPage=true&limit=100"))
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), 200);
    let body = feed.text().await.unwrap();
    let wanted = expect(&|n| n % 2 == 0 && (n % 4 == 0 || n % 4 == 2) && n % 3 == 0);
    assert!(!wanted.is_empty());
    assert_eq!(body.matches("<entry>").count(), wanted.len(), "{body}");
    for id in &wanted {
        assert!(
            body.contains(&format!("https://huggingface.co/papers/{id}")),
            "{id}"
        );
    }
    let bad = app
        .client
        .get(app.url("/feeds/papers.rss?hasProjectPage=maybe"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

/// `HfUser.submittedPapers` and `Organization.papers` list what the matching filters list.
#[tokio::test]
async fn a_users_submissions_and_an_organizations_papers() {
    let app = spawn_app().await;
    let papers: Vec<_> = (0..9u32)
        .map(|n| {
            let mut p = crate::helpers::paper(n, "2026-03-03", n as i32);
            p.submitted_by = Some(papergraph::domain::HfUserRef {
                username: if n < 4 { "Alice" } else { "bob" }.into(),
                hf_id: None,
                fullname: None,
                avatar_url: None,
                is_pro: false,
                kind: Some("user".into()),
            });
            p
        })
        .collect();
    app.import("2026-03-03", &papers).await;
    let d = app
        .data(
            "{ papers(first: 9, orderBy: {field: UPVOTES, direction: ASC}) { nodes { arxivId
                submittedBy { username submittedPapers(first: 10, orderBy: {field: UPVOTES, direction: ASC}) { totalCount nodes { arxivId } } }
                organization { name papers(first: 10) { totalCount nodes { arxivId } } } } } }",
            json!({}),
        )
        .await;
    let nodes = d["papers"]["nodes"].as_array().unwrap();
    let alice = &nodes[0]["submittedBy"];
    assert_eq!(alice["username"], "Alice");
    assert_eq!(alice["submittedPapers"]["totalCount"], 4);
    let ids: Vec<&str> = alice["submittedPapers"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["arxivId"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["2601.00000", "2601.00001", "2601.00002", "2601.00003"]
    );
    assert_eq!(nodes[8]["submittedBy"]["submittedPapers"]["totalCount"], 5);
    // `paper()` gives every third paper to `synthetic-lab`.
    let lab = &nodes[0]["organization"];
    assert_eq!(lab["name"], "synthetic-lab");
    assert_eq!(lab["papers"]["totalCount"], 3);
    assert!(nodes[1]["organization"].is_null());
}
