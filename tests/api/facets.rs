//! `facets` on `papers` and `searchPapers`: counts over the whole filtered (and searched) set.
use papergraph::domain::{HfUserRef, OrganizationRef};
use serde_json::{Value, json};

use crate::helpers::{author, paper, spawn_app};

fn pairs(v: &Value) -> Vec<(String, i64)> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|f| {
            (
                f["value"].as_str().unwrap().to_string(),
                f["count"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn p(list: &[(&str, i64)]) -> Vec<(String, i64)> {
    list.iter().map(|(v, n)| (v.to_string(), *n)).collect()
}

#[tokio::test]
async fn facets_count_the_whole_filtered_or_searched_set_not_the_page() {
    let app = spawn_app().await;
    let user = |name: &str| HfUserRef {
        username: name.into(),
        hf_id: None,
        fullname: None,
        avatar_url: None,
        is_pro: false,
        kind: Some("user".into()),
    };
    let org = |name: &str| OrganizationRef {
        name: name.into(),
        hf_id: None,
        fullname: None,
        avatar_url: None,
    };
    // Six papers on 2026-01-30 (a Friday, ISO week 5), three on 2026-02-02 (week 6).
    let mut all = Vec::new();
    for n in 1..=9u32 {
        let date = if n <= 6 { "2026-01-30" } else { "2026-02-02" };
        let mut x = paper(n, date, n as i32);
        x.organization = Some(org(if n % 3 == 0 { "beta" } else { "alpha" }));
        x.submitted_by = Some(user(if n <= 2 { "sam" } else { "kim" }));
        x.ai_keywords = if n % 2 == 0 {
            vec!["Diffusion".into(), "video".into()]
        } else {
            vec!["diffusion".into()]
        };
        if n >= 7 {
            x.title = format!("Retrieval study {n}");
        }
        all.push(x);
    }
    app.import("2026-01-30", &all[..6]).await;
    app.import("2026-02-02", &all[6..]).await;

    let facets = "facets {
        organizations { value count } aiKeywords { value count } authors(first: 2) { value count }
        submitters { value count } days: dailyDates { value count }
        weeks: dailyDates(bucket: WEEK) { value count } months: dailyDates(bucket: MONTH) { value count }
        hasCode { value count } }";
    // A page of one paper still counts all nine.
    let d = app
        .data(
            &format!("{{ papers(first: 1) {{ totalCount {facets} }} }}"),
            json!({}),
        )
        .await;
    let f = &d["papers"]["facets"];
    assert_eq!(d["papers"]["totalCount"], 9);
    assert_eq!(pairs(&f["organizations"]), p(&[("alpha", 6), ("beta", 3)]));
    // Keywords are counted lowercase, as the aiKeyword filter matches them.
    assert_eq!(
        pairs(&f["aiKeywords"]),
        p(&[("diffusion", 9), ("video", 4)])
    );
    // Every paper has "Shared Author"; ties among the rest go by name.
    assert_eq!(
        pairs(&f["authors"]),
        p(&[("Shared Author", 9), ("Author 1", 1)])
    );
    assert_eq!(pairs(&f["submitters"]), p(&[("kim", 7), ("sam", 2)]));
    assert_eq!(
        pairs(&f["days"]),
        p(&[("2026-01-30", 6), ("2026-02-02", 3)])
    );
    assert_eq!(pairs(&f["weeks"]), p(&[("2026-W05", 6), ("2026-W06", 3)]));
    assert_eq!(pairs(&f["months"]), p(&[("2026-01", 6), ("2026-02", 3)]));
    // Even-numbered papers have code.
    assert_eq!(pairs(&f["hasCode"]), p(&[("false", 5), ("true", 4)]));

    // A filter narrows every facet, and each value is what its filter takes.
    let d = app
        .data(
            &format!(
                r#"{{ papers(filter: {{organization: "beta", aiKeyword: "VIDEO"}}) {{ totalCount {facets} }} }}"#
            ),
            json!({}),
        )
        .await;
    let f = &d["papers"]["facets"];
    assert_eq!(d["papers"]["totalCount"], 1);
    assert_eq!(pairs(&f["organizations"]), p(&[("beta", 1)]));
    assert_eq!(pairs(&f["submitters"]), p(&[("kim", 1)]));
    assert_eq!(pairs(&f["hasCode"]), p(&[("true", 1), ("false", 0)]));

    // A search counts its matches only, within its filter.
    let d = app
        .data(
            &format!(
                r#"{{ searchPapers(query: "retrieval", first: 1) {{ totalCount {facets} }} }}"#
            ),
            json!({}),
        )
        .await;
    let f = &d["searchPapers"]["facets"];
    assert_eq!(d["searchPapers"]["totalCount"], 3);
    assert_eq!(pairs(&f["organizations"]), p(&[("alpha", 2), ("beta", 1)]));
    assert_eq!(pairs(&f["days"]), p(&[("2026-02-02", 3)]));
    assert_eq!(pairs(&f["hasCode"]), p(&[("false", 2), ("true", 1)]));
    assert_eq!(
        pairs(&f["authors"]),
        p(&[("Shared Author", 3), ("Author 7", 1)])
    );
    // A new author list counts at once, over a search and over a list alike.
    let mut changed = all[6].clone();
    changed.authors = vec![author("Zed New"), author("Author 8")];
    app.import("2026-02-02", &[changed, all[7].clone(), all[8].clone()])
        .await;
    for q in [
        r#"{ searchPapers(query: "retrieval") { facets { authors(first: 3) { value count } } } }"#,
        r#"{ papers(filter: {dailyDate: "2026-02-02"}) { facets { authors(first: 3) { value count } } } }"#,
    ] {
        let d = app.data(q, json!({})).await;
        let f = d.as_object().unwrap().values().next().unwrap();
        assert_eq!(
            pairs(&f["facets"]["authors"]),
            p(&[("Author 8", 2), ("Shared Author", 2), ("Author 9", 1)]),
            "{q}"
        );
    }
    let d = app
        .data(
            r#"{ searchPapers(query: "retrieval", filter: {submitter: "nobody"}) { totalCount facets { organizations { value } hasCode { value count } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        d["searchPapers"],
        json!({ "totalCount": 0, "facets": { "organizations": [], "hasCode": [
            { "value": "false", "count": 0 }, { "value": "true", "count": 0 } ] } })
    );

    // An omitted variable for `first` reads as not given (10 values at most).
    let d = app
        .data(
            "query($n: Int) { papers { facets { aiKeywords(first: $n) { value } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        d["papers"]["facets"]["aiKeywords"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // `first` bounds the values; outside 0..=100 is the caller's error.
    let d = app
        .data(
            "{ papers { facets { aiKeywords(first: 1) { value } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        d["papers"]["facets"]["aiKeywords"],
        json!([{ "value": "diffusion" }])
    );
    for q in [
        "{ papers { facets { authors(first: 101) { value } } } }",
        "{ papers { facets { dailyDates(first: -1) { value } } } }",
        "{ papers { facets { dailyDates(bucket: YEAR) { value } } } }",
    ] {
        assert_eq!(app.error_code(q, json!({})).await, "BAD_USER_INPUT", "{q}");
    }
}
