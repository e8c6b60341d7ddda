//! Incremental polling: `Paper.updatedAt`, `updatedSince` and `orderBy: UPDATED_AT`.
use chrono::{Duration, TimeZone, Utc};
use papergraph::entities::daily_list;
use papergraph::repo::import::import_daily_list;
use serde_json::{Value, json};

use crate::helpers::{day, paper, spawn_app};

const POLL: &str = "query($since: DateTime, $after: String) {
    papers(filter: {updatedSince: $since}, orderBy: {field: UPDATED_AT, direction: ASC}, first: 10, after: $after) {
        nodes { arxivId upvotes updatedAt } pageInfo { hasNextPage endCursor } } }";

/// Pages from `after` to the end; returns (arXiv id, upvotes) in order, the last cursor, and the
/// `updatedAt` of each.
async fn poll(
    app: &crate::helpers::TestApp,
    since: &str,
    mut after: Value,
    between_pages: &mut dyn FnMut(usize) -> Option<Vec<papergraph::domain::DailyPaper>>,
) -> (Vec<(String, i64)>, Value, Vec<String>) {
    let mut seen = Vec::new();
    let mut stamps = Vec::new();
    for page in 0.. {
        let d = app
            .data(POLL, json!({ "since": since, "after": after }))
            .await;
        let c = &d["papers"];
        for n in c["nodes"].as_array().unwrap() {
            seen.push((
                n["arxivId"].as_str().unwrap().to_string(),
                n["upvotes"].as_i64().unwrap(),
            ));
            stamps.push(n["updatedAt"].as_str().unwrap().to_string());
        }
        if !c["pageInfo"]["endCursor"].is_null() {
            after = c["pageInfo"]["endCursor"].clone();
        }
        if let Some(changed) = between_pages(page) {
            let at = Utc.with_ymd_and_hms(2026, 5, 1, 13, 0, 0).unwrap()
                + Duration::minutes(page as i64);
            import_daily_list(
                &app.db,
                day("2026-05-01"),
                &changed,
                daily_list::Source::File,
                at,
            )
            .await
            .unwrap();
        }
        if c["pageInfo"]["hasNextPage"] != true {
            break;
        }
    }
    (seen, after, stamps)
}

#[tokio::test]
async fn a_poller_sees_every_change_once_even_while_a_sync_writes_between_its_pages() {
    let app = spawn_app().await;
    let t0 = Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap();
    let mut papers: Vec<_> = (1..=30u32)
        .map(|n| paper(n, "2026-05-01", n as i32))
        .collect();
    import_daily_list(
        &app.db,
        day("2026-05-01"),
        &papers,
        daily_list::Source::File,
        t0,
    )
    .await
    .unwrap();

    // After the first page, a sync changes paper 5 (already seen) and paper 25 (not yet).
    papers[4].upvotes = 500;
    papers[24].upvotes = 2500;
    let changed = papers.clone();
    let mut once = Some(changed);
    let (seen, cursor, stamps) = poll(&app, "2026-01-01T00:00:00Z", Value::Null, &mut |page| {
        if page == 0 { once.take() } else { None }
    })
    .await;
    let id = |n: u32| format!("2601.{n:05}");
    let mut expected: Vec<(String, i64)> = (1..=30u32)
        .filter(|n| *n != 25)
        .map(|n| (id(n), i64::from(n)))
        .collect();
    // Paper 5 as first seen, then both changes at their new place, in id order.
    expected.push((id(5), 500));
    expected.push((id(25), 2500));
    assert_eq!(seen, expected);
    // Stamps never go back.
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "{stamps:?}");

    // Nothing changed since: the next poll from the last cursor is empty.
    let (again, cursor, _) = poll(&app, "2026-01-01T00:00:00Z", cursor, &mut |_| None).await;
    assert!(again.is_empty(), "{again:?}");

    // One more change (paper 7); a list re-imported with its other papers as they were does
    // not move them.
    papers[6].upvotes = 700;
    import_daily_list(
        &app.db,
        day("2026-05-01"),
        &papers,
        daily_list::Source::File,
        t0 + Duration::hours(3),
    )
    .await
    .unwrap();
    let (next, _, next_stamps) = poll(&app, "2026-01-01T00:00:00Z", cursor, &mut |_| None).await;
    assert_eq!(next, [(id(7), 700)]);

    // `updatedSince` alone finds it too, and `updatedAt` answers through the schema and the
    // compiled list alike.
    let d = app
        .data(
            "query($s: DateTime) { papers(filter: {updatedSince: $s}) { totalCount nodes { arxivId updatedAt } } }",
            json!({ "s": next_stamps[0] }),
        )
        .await;
    assert_eq!(d["papers"]["totalCount"], 1);
    assert_eq!(
        d["papers"]["nodes"][0]["updatedAt"],
        next_stamps[0].as_str()
    );
    assert_eq!(
        app.error_code(
            r#"{ papers(filter: {updatedSince: "yesterday"}) { totalCount } }"#,
            json!({})
        )
        .await,
        "BAD_USER_INPUT"
    );
}
