//! Popularity over time (`trendingPapers`, `upvoteHistory`) and co-authors.
use chrono::{Duration, TimeZone, Utc};
use papergraph::entities::daily_list;
use papergraph::repo::import::import_daily_list;
use serde_json::json;

use crate::helpers::{author, day, paper, spawn_app};

#[tokio::test]
async fn trending_ranks_by_upvotes_gained_in_the_window() {
    let app = spawn_app().await;
    let t0 = Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap();
    let (mut a, mut b) = (paper(1, "2026-05-01", 10), paper(2, "2026-05-01", 50));
    // C is listed with the most upvotes and never gains another.
    let c = paper(3, "2026-05-01", 60);
    import_daily_list(
        &app.db,
        day("2026-05-01"),
        &[a.clone(), b.clone(), c.clone()],
        daily_list::Source::File,
        t0,
    )
    .await
    .unwrap();
    // Two days later A gained 30, B only 5.
    a.upvotes = 40;
    b.upvotes = 55;
    import_daily_list(
        &app.db,
        day("2026-05-01"),
        &[a.clone(), b.clone(), c.clone()],
        daily_list::Source::File,
        t0 + Duration::days(2),
    )
    .await
    .unwrap();
    // TRENDING follows velocity: A (+30 in the last day) above C (60, none gained since listing,
    // two days older) above B (+5).
    let d = app
        .data(
            r#"{ papers(orderBy: {field: TRENDING}) { nodes { arxivId } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        crate::helpers::ids(&d["papers"]),
        ["2601.00001", "2601.00003", "2601.00002"]
    );
    let q = r#"query($w: TrendingWindow!) { trendingPapers(window: $w, first: 2) { upvotesGained paper { arxivId upvotes upvoteHistory { upvotes } } } }"#;
    let day_ = app.data(q, json!({ "w": "DAY" })).await;
    assert_eq!(
        day_["trendingPapers"],
        json!([
            { "upvotesGained": 30, "paper": { "arxivId": "2601.00001", "upvotes": 40, "upvoteHistory": [{ "upvotes": 10 }, { "upvotes": 40 }] } },
            { "upvotesGained": 5, "paper": { "arxivId": "2601.00002", "upvotes": 55, "upvoteHistory": [{ "upvotes": 50 }, { "upvotes": 55 }] } },
        ])
    );
    // Over a week both were first seen inside the window: all their upvotes count.
    let week = app.data(q, json!({ "w": "WEEK" })).await;
    let order: Vec<_> = week["trendingPapers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["paper"]["arxivId"].clone(), t["upvotesGained"].clone()))
        .collect();
    assert_eq!(
        order,
        [
            (json!("2601.00003"), json!(60)),
            (json!("2601.00002"), json!(55))
        ]
    );
    assert_eq!(
        app.error_code(
            "{ trendingPapers(window: DAY, first: 500) { upvotesGained } }",
            json!({})
        )
        .await,
        "BAD_USER_INPUT"
    );
}

#[tokio::test]
async fn coauthors_come_with_their_shared_paper_counts() {
    let app = spawn_app().await;
    let mut papers = Vec::new();
    for (n, names) in [
        (1, vec!["Ada", "Grace", "Alan"]),
        (2, vec!["Ada", "Grace"]),
        (3, vec!["Grace", "Alan", "Ada", "Grace"]),
        (4, vec!["Hedy", "Alan"]),
    ] {
        let mut p = paper(n, "2026-05-02", 1);
        p.authors = names.into_iter().map(author).collect();
        papers.push(p);
    }
    app.import("2026-05-02", &papers).await;
    let d = app
        .data(
            r#"{ authors(search: "ada") { nodes { name coauthors { sharedPapers author { name paperCount } } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        d["authors"]["nodes"][0]["coauthors"],
        json!([
            { "sharedPapers": 3, "author": { "name": "Grace", "paperCount": 3 } },
            { "sharedPapers": 2, "author": { "name": "Alan", "paperCount": 3 } },
        ])
    );
    let d = app
        .data(r#"{ authors(search: "hedy") { nodes { coauthors(first: 1) { sharedPapers author { name } } } } }"#, json!({}))
        .await;
    assert_eq!(
        d["authors"]["nodes"][0]["coauthors"],
        json!([{ "sharedPapers": 1, "author": { "name": "Alan" } }])
    );
}

#[tokio::test]
async fn similar_papers_share_vocabulary_and_follow_new_papers() {
    let app = spawn_app().await;
    let texts = [
        (
            "Latent diffusion for images",
            "Denoising diffusion with a latent autoencoder generates images from noise.",
        ),
        (
            "Faster diffusion sampling",
            "Fewer denoising steps for latent diffusion samplers of images.",
        ),
        (
            "Video diffusion",
            "Temporal denoising diffusion generates coherent video frames from noise.",
        ),
        (
            "Speech recognition",
            "Acoustic encoder and phoneme decoder transcribe spoken audio.",
        ),
        (
            "Streaming speech",
            "Low latency acoustic models transcribe streaming spoken audio.",
        ),
        (
            "Graph networks",
            "Message passing over molecular graphs predicts chemical properties.",
        ),
    ];
    let mut papers = Vec::new();
    for (i, (t, a)) in texts.iter().enumerate() {
        let mut p = paper(i as u32 + 1, "2026-05-03", 1);
        p.title = t.to_string();
        p.abstract_text = a.to_string();
        papers.push(p);
    }
    app.import("2026-05-03", &papers).await;
    let written = papergraph::repo::similar::update(&app.db).await.unwrap();
    assert_eq!(written, 6);
    assert_eq!(
        papergraph::repo::similar::update(&app.db).await.unwrap(),
        0,
        "nothing new, nothing written"
    );
    let q = r#"query($id: String!) { paper(arxivId: $id) { similar(first: 3) { score paper { arxivId } } } }"#;
    let d = app.data(q, json!({ "id": "2601.00001" })).await;
    let sim = d["paper"]["similar"].as_array().unwrap();
    let ids: Vec<&str> = sim
        .iter()
        .map(|s| s["paper"]["arxivId"].as_str().unwrap())
        .collect();
    assert_eq!(&ids[..2], ["2601.00002", "2601.00003"], "{sim:?}");
    assert!(!ids.contains(&"2601.00006"));
    let scores: Vec<f64> = sim.iter().map(|s| s["score"].as_f64().unwrap()).collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]) && scores[0] <= 1.0 && scores[0] > 0.0,
        "{scores:?}"
    );
    let d = app.data(q, json!({ "id": "2601.00004" })).await;
    assert_eq!(d["paper"]["similar"][0]["paper"]["arxivId"], "2601.00005");

    // A new paper arrives: it gets neighbours, and becomes one of its neighbours' neighbours.
    let mut p = paper(7, "2026-05-04", 1);
    p.title = "Latent video diffusion".into();
    p.abstract_text = "Latent denoising diffusion of video frames from noise.".into();
    app.import("2026-05-04", &[p]).await;
    let written = papergraph::repo::similar::update(&app.db).await.unwrap();
    assert!(
        (2..=4).contains(&written),
        "the new paper and the diffusion papers only: {written}"
    );
    let d = app.data(q, json!({ "id": "2601.00007" })).await;
    let ids: Vec<&str> = d["paper"]["similar"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["paper"]["arxivId"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"2601.00003") && ids.contains(&"2601.00001"),
        "{ids:?}"
    );
    let d = app.data(q, json!({ "id": "2601.00003" })).await;
    assert_eq!(d["paper"]["similar"][0]["paper"]["arxivId"], "2601.00007");
    assert_eq!(
        app.error_code(
            r#"{ paper(arxivId: "2601.00001") { similar(first: 50) { score } } }"#,
            json!({})
        )
        .await,
        "BAD_USER_INPUT"
    );
}

#[tokio::test]
async fn cached_answers_do_not_outlive_runs_or_similar_passes() {
    let app = spawn_app().await;
    let mut papers = Vec::new();
    for (n, title) in [
        (1u32, "Sparse experts routing"),
        (2, "Sparse experts gating"),
        (3, "Learned routing of experts"),
        (4, "Protein folding kinetics"),
    ] {
        let mut p = paper(n, "2026-05-05", 1);
        p.title = title.into();
        p.abstract_text = title.into();
        papers.push(p);
    }
    app.import("2026-05-05", &papers).await;
    let q = r#"{ paper(arxivId: "2601.00001") { similar { paper { arxivId } } } syncStatus { lastRun { kind } } }"#;
    let before = app.data(q, json!({})).await;
    assert_eq!(before["paper"]["similar"], json!([]));
    assert_eq!(before["syncStatus"]["lastRun"], json!(null));
    assert_eq!(
        app.data(q, json!({})).await,
        before,
        "a repeat is served from the cache"
    );

    papergraph::repo::similar::update(&app.db).await.unwrap();
    let d = app.data(q, json!({})).await;
    assert_eq!(d["paper"]["similar"].as_array().unwrap().len(), 2, "{d}");

    use papergraph::entities::sync_run;
    use sea_orm::ActiveValue::{NotSet, Set};
    papergraph::repo::status::record_run(
        &app.db,
        sync_run::ActiveModel {
            id: NotSet,
            kind: Set(papergraph::entities::sync_run::Kind::Sync),
            started_at: Set(Utc::now()),
            finished_at: Set(Some(Utc::now())),
            status: Set(sync_run::Status::Ok),
            days_total: Set(1),
            days_ok: Set(1),
            days_failed: Set(0),
            papers_added: Set(0),
            papers_updated: Set(0),
            error: Set(None),
        },
    )
    .await
    .unwrap();
    let d = app.data(q, json!({})).await;
    assert_eq!(d["syncStatus"]["lastRun"]["kind"], "sync");
}

#[tokio::test]
async fn trending_by_github_stars_ranks_by_stars_gained_and_skips_papers_without_code() {
    let app = spawn_app().await;
    let t0 = Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap();
    // Papers 2 and 4 have repositories (6 and 12 stars); 1 has none.
    let (a, mut b, mut d) = (
        paper(1, "2026-05-01", 10),
        paper(2, "2026-05-01", 50),
        paper(4, "2026-05-01", 5),
    );
    let list = |ps: &[&papergraph::domain::DailyPaper]| {
        ps.iter().map(|p| (*p).clone()).collect::<Vec<_>>()
    };
    import_daily_list(
        &app.db,
        day("2026-05-01"),
        &list(&[&a, &b, &d]),
        daily_list::Source::File,
        t0,
    )
    .await
    .unwrap();
    // Two days later B gained 4 stars and D 100; B gained the most upvotes.
    b.github_stars = Some(10);
    b.upvotes = 90;
    d.github_stars = Some(112);
    d.upvotes = 6;
    import_daily_list(
        &app.db,
        day("2026-05-01"),
        &list(&[&a, &b, &d]),
        daily_list::Source::File,
        t0 + Duration::days(2),
    )
    .await
    .unwrap();
    let q = r#"query($by: TrendingBy) { trendingPapers(window: DAY, by: $by) { upvotesGained starsGained paper { arxivId } } }"#;
    let stars = app.data(q, json!({ "by": "GITHUB_STARS" })).await;
    assert_eq!(
        stars["trendingPapers"],
        json!([
            { "upvotesGained": 1, "starsGained": 100, "paper": { "arxivId": "2601.00004" } },
            { "upvotesGained": 40, "starsGained": 4, "paper": { "arxivId": "2601.00002" } },
        ])
    );
    // The default still ranks by upvotes, papers without code included.
    let up = app.data(q, json!({})).await;
    let order: Vec<_> = up["trendingPapers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["paper"]["arxivId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(order[0], "2601.00002");
    assert_eq!(
        app.error_code(
            "{ trendingPapers(window: DAY, by: FORKS) { starsGained } }",
            json!({})
        )
        .await,
        "BAD_USER_INPUT"
    );
    // A null where the argument takes none is the caller's error too, not an internal one.
    assert_eq!(
        app.error_code(
            "{ trendingPapers(window: DAY, first: null) { starsGained } }",
            json!({})
        )
        .await,
        "BAD_USER_INPUT"
    );
}

#[tokio::test]
async fn after_a_backfill_trending_lists_only_new_papers_until_old_ones_are_observed_again() {
    let app = spawn_app().await;
    let up = crate::upstream::FakeUpstream::start().await;
    let today = Utc::now().date_naive();
    let dates: Vec<String> = (0..60)
        .map(|back| (today - Duration::days(back)).to_string())
        .collect();
    for (seed, d) in dates.iter().enumerate() {
        up.set_day(d, crate::upstream::day_items(d, seed as u32, 3));
    }
    let all: Vec<&str> = dates.iter().map(String::as_str).collect();
    crate::sync::run(&app, crate::sync::config(&up), &all).await;
    let q = r#"{ trendingPapers(window: DAY, first: 100) { upvotesGained paper { arxivId dailyDate upvotes } } }"#;
    let listed = app.data(q, json!({})).await["trendingPapers"].clone();
    let listed = listed.as_array().unwrap();
    let yesterday = (today - Duration::days(1)).to_string();
    assert!(!listed.is_empty(), "the newest days' papers trend");
    for t in listed {
        let date = t["paper"]["dailyDate"].as_str().unwrap();
        assert!(
            date >= yesterday.as_str(),
            "only papers listed in the last day trend after a backfill, not {t}"
        );
        assert_eq!(
            t["upvotesGained"], t["paper"]["upvotes"],
            "a new paper counts from zero"
        );
    }
    // The upstream's figures move for a paper listed 30 days ago and one listed today; a sync
    // observes them again.
    let (old_day, new_day) = (&dates[30], &dates[0]);
    let mut old_items = crate::upstream::day_items(old_day, 30, 3);
    let old_before = old_items[1]["paper"]["upvotes"].as_i64().unwrap();
    old_items[1]["paper"]["upvotes"] = json!(old_before + 25);
    let old_id = old_items[1]["paper"]["id"].as_str().unwrap().to_string();
    up.set_day(old_day, old_items);
    let mut new_items = crate::upstream::day_items(new_day, 0, 3);
    let new_before = new_items[0]["paper"]["upvotes"].as_i64().unwrap();
    new_items[0]["paper"]["upvotes"] = json!(new_before + 7);
    let new_id = new_items[0]["paper"]["id"].as_str().unwrap().to_string();
    up.set_day(new_day, new_items);
    crate::sync::run(&app, crate::sync::config(&up), &[old_day, new_day]).await;
    let listed = app.data(q, json!({})).await["trendingPapers"].clone();
    let gained = |id: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["paper"]["arxivId"] == id)
            .map(|t| t["upvotesGained"].as_i64().unwrap())
    };
    assert_eq!(
        gained(&old_id),
        Some(25),
        "the old paper gained the difference"
    );
    assert_eq!(
        gained(&new_id),
        Some(new_before + 7),
        "a paper listed today counts from zero"
    );
    let old_listed: Vec<_> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["paper"]["dailyDate"].as_str().unwrap() < yesterday.as_str())
        .collect();
    assert_eq!(
        old_listed.len(),
        1,
        "only the re-observed old paper: {old_listed:?}"
    );
}
