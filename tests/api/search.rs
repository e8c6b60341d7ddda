//! Keyword search: ranking, syntax, highlights, pagination, filters, hostile input, and an index
//! that follows every write.
use serde_json::{Value, json};

use crate::helpers::{TestApp, author, paper, spawn_app};

const SEARCH: &str = r#"query($q: String!, $f: PaperFilter, $first: Int, $after: String) {
  searchPapers(query: $q, filter: $f, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor score node { arxivId title } highlights { field fragment } }
  } }"#;

async fn search(app: &TestApp, q: &str) -> Value {
    app.data(SEARCH, json!({ "q": q, "first": 100 })).await["searchPapers"].clone()
}

/// `searchPapers` as another server (its base URL) answers it.
async fn search_on(app: &TestApp, base: &str, q: &str, first: i32) -> Value {
    let v = app
        .gql_at(base, SEARCH, json!({ "q": q, "first": first }))
        .await;
    v["data"]["searchPapers"].clone()
}

fn found(conn: &Value) -> Vec<String> {
    conn["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["arxivId"].as_str().unwrap().to_string())
        .collect()
}

/// A small corpus with known words: ids 2601.00001…
async fn corpus(app: &TestApp) {
    let texts = [
        // (title, abstract, authors, keywords, date)
        (
            "Vision Transformer for images",
            "We scale attention to pixels.",
            "Ada Lovelace",
            "vision",
            "2026-02-02",
        ),
        (
            "Diffusion models revisited",
            "A transformer denoiser generates images.",
            "Grace Hopper",
            "generation",
            "2026-02-02",
        ),
        (
            "Speech recognition at scale",
            "Audio tokens and a survey of transformers.",
            "Alan Turing",
            "speech",
            "2026-02-03",
        ),
        (
            "Graph neural networks",
            "Message passing without attention.",
            "José Núñez",
            "graphs",
            "2026-02-03",
        ),
        (
            "Reinforcement learning from feedback",
            "Reward models & <b>policies</b>.",
            "Ada Lovelace",
            "rlhf",
            "2026-02-04",
        ),
        (
            "Tokenization matters",
            "Tokenizers and tokenized vision inputs.",
            "Grace Hopper",
            "tokens",
            "2026-02-04",
        ),
    ];
    for (i, (title, abs, who, kw, date)) in texts.iter().enumerate() {
        let mut p = paper(i as u32 + 1, date, 10 * (i as i32 + 1));
        p.title = title.to_string();
        p.abstract_text = abs.to_string();
        p.authors = vec![author(who)];
        p.ai_keywords = vec![kw.to_string()];
        app.import(date, &[p]).await;
    }
}

#[tokio::test]
async fn ranks_stems_and_understands_phrases_exclusions_or_and_prefixes() {
    let app = spawn_app().await;
    corpus(&app).await;
    // Stemming: "transformers" finds "Transformer" (title) and "transformer(s)" (abstracts); the
    // title match ranks first.
    let r = search(&app, "transformers").await;
    let got = found(&r);
    assert_eq!(got.len(), 3, "{r:#}");
    assert_eq!(
        got[0], "2601.00001",
        "a title match ranks above abstract matches"
    );
    assert_eq!(r["totalCount"], 3);
    let scores: Vec<f64> = r["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    assert!(scores[0] > 0.0);

    // All words must match.
    assert_eq!(found(&search(&app, "transformer images").await).len(), 2);
    // A phrase keeps its order.
    assert_eq!(
        found(&search(&app, "\"transformer denoiser\"").await),
        ["2601.00002"]
    );
    assert!(found(&search(&app, "\"denoiser transformer\"").await).is_empty());
    // Exclusion.
    let got = found(&search(&app, "transformer -survey").await);
    assert_eq!(got.len(), 2);
    assert!(!got.contains(&"2601.00003".to_string()));
    // OR.
    let mut got = found(&search(&app, "speech OR graph").await);
    got.sort();
    assert_eq!(got, ["2601.00003", "2601.00004"]);
    // Prefix.
    let got = found(&search(&app, "token*").await);
    assert!(
        got.contains(&"2601.00006".to_string()) && got.contains(&"2601.00003".to_string()),
        "{got:?}"
    );
    // Authors and keywords are searched; author names ignore accents and case on SQLite.
    assert_eq!(found(&search(&app, "hopper").await).len(), 2);
    assert_eq!(found(&search(&app, "rlhf").await), ["2601.00005"]);
    assert_eq!(found(&search(&app, "Núñez").await), ["2601.00004"]);
}

#[tokio::test]
async fn highlights_mark_matches_and_escape_the_rest() {
    let app = spawn_app().await;
    corpus(&app).await;
    let r = search(&app, "vision").await;
    let first = &r["edges"][0];
    assert_eq!(first["node"]["arxivId"], "2601.00001");
    let hs = first["highlights"].as_array().unwrap();
    let title = hs
        .iter()
        .find(|h| h["field"] == "title")
        .expect("title highlight");
    assert_eq!(
        title["fragment"],
        "<mark>Vision</mark> Transformer for images"
    );
    assert!(hs.iter().any(|h| h["field"] == "aiKeywords"));
    assert!(!hs.iter().any(|h| h["field"] == "authors"), "{hs:?}");

    let r = search(&app, "reward").await;
    let abs = r["edges"][0]["highlights"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["field"] == "abstract")
        .unwrap()
        .clone();
    let frag = abs["fragment"].as_str().unwrap();
    assert!(frag.contains("<mark>Reward</mark>"), "{frag}");
    // The text's `<b>` is escaped (SQLite) or dropped as markup (PostgreSQL's parser), never raw.
    assert!(
        frag.contains("&amp;") && !frag.contains("<b>"),
        "escaped: {frag}"
    );
}

#[tokio::test]
async fn pages_are_stable_and_filters_combine() {
    let app = spawn_app().await;
    // 30 papers share a word; some twice, so scores tie and differ.
    for n in 1..=30u32 {
        let mut p = paper(
            n,
            if n % 2 == 0 {
                "2026-03-02"
            } else {
                "2026-03-03"
            },
            n as i32,
        );
        p.title = format!("Sparse experts number {n}");
        p.abstract_text = if n % 3 == 0 {
            "sparse sparse routing".into()
        } else {
            "routing".into()
        };
        app.import(
            if n % 2 == 0 {
                "2026-03-02"
            } else {
                "2026-03-03"
            },
            &[p],
        )
        .await;
    }
    let all = search(&app, "sparse").await;
    assert_eq!(all["totalCount"], 30);
    let all_ids = found(&all);
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let d = app
            .data(SEARCH, json!({ "q": "sparse", "first": 7, "after": after }))
            .await["searchPapers"]
            .clone();
        assert_eq!(d["totalCount"], 30);
        paged.extend(found(&d));
        if !d["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = d["pageInfo"]["endCursor"].as_str().map(str::to_string);
    }
    assert_eq!(
        paged, all_ids,
        "pages concatenate to the full ranking, no gaps or repeats"
    );

    let d = app
        .data(
            SEARCH,
            json!({ "q": "sparse", "f": { "dailyDate": "2026-03-02", "minUpvotes": 10 }, "first": 100 }),
        )
        .await["searchPapers"]
        .clone();
    let mut got = found(&d);
    got.sort();
    let mut want: Vec<String> = (10..=30)
        .filter(|n| n % 2 == 0)
        .map(|n| format!("2601.{n:05}"))
        .collect();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(d["totalCount"], json!(want.len()));

    // A cursor of another search is refused.
    let cursor = all["edges"][0]["cursor"].as_str().unwrap();
    assert_eq!(
        app.error_code(SEARCH, json!({ "q": "routing", "after": cursor }))
            .await,
        "BAD_USER_INPUT"
    );
}

#[tokio::test]
async fn the_index_follows_every_write() {
    let app = spawn_app().await;
    let mut p = paper(1, "2026-04-01", 5);
    p.abstract_text = "An old idea about quasicrystals.".into();
    app.import("2026-04-01", std::slice::from_ref(&p)).await;
    assert_eq!(found(&search(&app, "quasicrystals").await), ["2601.00001"]);

    p.abstract_text = "A new idea about metamaterials.".into();
    p.authors = vec![author("Hedy Lamarr")];
    p.upvotes = 6;
    app.import("2026-04-01", std::slice::from_ref(&p)).await;
    assert_eq!(found(&search(&app, "metamaterials").await), ["2601.00001"]);
    assert!(
        found(&search(&app, "quasicrystals").await).is_empty(),
        "the old text is gone"
    );
    assert_eq!(found(&search(&app, "lamarr").await), ["2601.00001"]);
    assert!(
        found(&search(&app, "\"shared author\"").await).is_empty(),
        "old authors are gone"
    );
}

#[tokio::test]
async fn another_server_on_the_same_database_finds_what_was_written_after_it_started() {
    let app = spawn_app().await;
    let mut p = paper(1, "2026-04-01", 5);
    p.abstract_text = "An old idea about quasicrystals.".into();
    app.import("2026-04-01", std::slice::from_ref(&p)).await;
    let other = app.second_server().await;
    let find = async |q: &str| found(&search_on(&app, &other, q, 100).await);
    assert_eq!(find("quasicrystals").await, ["2601.00001"]);
    assert!(find("metamaterials").await.is_empty());
    p.abstract_text = "A new idea about metamaterials.".into();
    app.import("2026-04-01", std::slice::from_ref(&p)).await;
    let mut q = paper(2, "2026-04-01", 3);
    q.title = "Metamaterials at scale".into();
    app.import("2026-04-01", &[p.clone(), q]).await;
    // The second server's index learns both writes from `search_changes`, not from the first.
    assert_eq!(find("metamaterials").await, ["2601.00002", "2601.00001"]);
    assert!(find("quasicrystals").await.is_empty());
}

/// Queries a user could type (or an attacker could send): each gets results or BAD_USER_INPUT.
pub const HOSTILE: &[&str] = &[
    "",
    " ",
    "\t\n",
    "*",
    "**",
    "\"",
    "\"\"",
    "\"\"\"",
    "'",
    "''",
    "-",
    "--",
    "-vision",
    "- vision",
    "NOT",
    "NOT vision",
    "vision NOT",
    "AND",
    "OR",
    "OR OR",
    "vision OR",
    "OR vision",
    "vision AND",
    "NEAR(vision transformer)",
    "NEAR(vision transformer, 2)",
    "vision NEAR transformer",
    "title:vision",
    "abstract:attention",
    "{title abstract}: vision",
    "^vision",
    "vision^",
    "(vision",
    "vision)",
    "((((((",
    "))))",
    "vision*",
    "*vision",
    "v*",
    "vi*",
    "a* b* c*",
    "\"unclosed phrase",
    "phrase\" stray",
    "vision -\"transformer denoiser\"",
    "+vision",
    "vision++",
    "%",
    "_",
    "%vision%",
    "vision'; DROP TABLE papers; --",
    "1' OR '1'='1",
    "\\",
    "\\\"",
    "@@",
    "!!",
    "&&",
    "||",
    "<->",
    "vision <-> transformer",
    "vision & transformer",
    "vision | !images",
    ":*",
    "vision:*",
    "vision:A",
    "$1",
    "?",
    "??",
    "null",
    "NULL",
    "0",
    "-1",
    "1e308",
    "🙂",
    "模型 视觉",
    "Ünïcödé",
    "\u{0}",
    "\u{200b}",
    "e\u{301}",
    "ﬁne",
    "İstanbul",
    "ß",
    "a",
    "the",
    "of the and",
    "\u{E000}vision\u{E001}",
    "<mark>vision</mark>",
    "&amp;",
    "vision\u{0}transformer",
];

#[tokio::test]
async fn hostile_queries_get_results_or_bad_user_input() {
    let app = spawn_app().await;
    corpus(&app).await;
    let generated = [
        "x".repeat(255),
        "x ".repeat(200),
        "ab ".repeat(17),
        "vision ".repeat(16),
    ];
    let all: Vec<&str> = HOSTILE
        .iter()
        .copied()
        .chain(generated.iter().map(String::as_str))
        .collect();
    assert!(all.len() >= 50);
    for q in all {
        let v = app.gql(SEARCH, json!({ "q": q, "first": 5 })).await;
        match v.get("errors") {
            None => {
                let conn = &v["data"]["searchPapers"];
                assert!(conn["totalCount"].is_number(), "{q:?}: {v}");
                assert_eq!(
                    conn["totalCount"].as_u64().unwrap() > 5,
                    conn["pageInfo"]["hasNextPage"].as_bool().unwrap(),
                    "{q:?}"
                );
            }
            Some(errs) => {
                assert_eq!(
                    errs[0]["extensions"]["code"], "BAD_USER_INPUT",
                    "{q:?}: {v}"
                );
                let msg = errs[0]["message"].as_str().unwrap();
                assert!(msg.contains("query"), "{q:?}: {msg}");
            }
        }
    }
    // Specific answers.
    for (q, code) in [
        ("", "BAD_USER_INPUT"),
        ("*", "BAD_USER_INPUT"),
        ("-vision", "BAD_USER_INPUT"),
    ] {
        assert_eq!(
            app.error_code(SEARCH, json!({ "q": q })).await,
            code,
            "{q:?}"
        );
    }
    let long = "x".repeat(300);
    let v = app.gql(SEARCH, json!({ "q": long })).await;
    assert!(
        v["errors"][0]["message"].as_str().unwrap().contains("256"),
        "{v}"
    );
    assert_eq!(
        found(&search(&app, "vision'; DROP TABLE papers; --").await).len(),
        0
    );
    assert_eq!(
        search(&app, "vision").await["totalCount"],
        2,
        "nothing was dropped"
    );
}

/// A server starting on a database of over a thousand papers builds its index a page of papers
/// at a time, sized ahead: every page is in it, author names are highlighted, and writes after
/// the build still reach it.
#[tokio::test]
async fn a_server_starting_on_many_papers_indexes_them_all_and_follows_later_writes() {
    let app = spawn_app().await;
    let papers: Vec<_> = (1..=1_250)
        .map(|n| {
            let mut p = paper(n, "2026-04-02", 1);
            p.abstract_text = format!("Common words about marker{n} and the rest.");
            if n == 1_234 {
                p.authors = vec![author("Zelda Quasimodo")];
            }
            p
        })
        .collect();
    app.import("2026-04-02", &papers).await;
    let other = app.second_server().await;
    let find = async |q: &str| search_on(&app, &other, q, 5).await;
    let all = find("common words").await;
    assert_eq!(all["totalCount"], 1_250, "{all}");
    for (q, id) in [("marker1", "2601.00001"), ("marker1249", "2601.01249")] {
        assert_eq!(found(&find(q).await), [id], "{q}");
    }
    let r = find("quasimodo").await;
    assert_eq!(found(&r), ["2601.01234"]);
    let authors = r["edges"][0]["highlights"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["field"] == "authors")
        .cloned()
        .unwrap_or_default();
    assert_eq!(authors["fragment"], "Zelda <mark>Quasimodo</mark>", "{r}");

    let mut p = papers[9].clone();
    p.abstract_text = "Now about zeppelins.".into();
    app.import("2026-04-02", std::slice::from_ref(&p)).await;
    assert_eq!(found(&find("zeppelins").await), ["2601.00010"]);
    assert!(found(&find("marker10").await).is_empty());
    assert_eq!(find("common words").await["totalCount"], 1_249);
}
