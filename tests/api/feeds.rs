//! Atom and RSS feeds: well-formed documents with the papers the GraphQL API lists for the same
//! filters, revalidation with 304, and clear 400s for bad parameters.
use serde_json::{Value, json};

use crate::helpers::{TestApp, author, paper, spawn_app};

/// The document parses as XML (quick-xml, checking end names) with one root element named
/// `root` and a declaration.
fn well_formed(xml: &str, root: &str) -> Result<(), String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let (mut depth, mut roots, mut declared) = (0usize, Vec::new(), false);
    loop {
        match reader
            .read_event()
            .map_err(|e| format!("{e} at {}", reader.buffer_position()))?
        {
            Event::Decl(_) => declared = true,
            Event::Start(t) => {
                if depth == 0 {
                    roots.push(String::from_utf8_lossy(t.name().as_ref()).into_owned());
                }
                depth += 1;
            }
            Event::Empty(t) if depth == 0 => {
                roots.push(String::from_utf8_lossy(t.name().as_ref()).into_owned())
            }
            Event::End(_) => depth -= 1,
            Event::Text(t) => {
                t.decode().map_err(|e| e.to_string())?;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !declared {
        return Err("no XML declaration".into());
    }
    if depth != 0 {
        return Err("unclosed elements".into());
    }
    if roots != [root] {
        return Err(format!("root elements {roots:?}"));
    }
    Ok(())
}

/// The arXiv ids of a feed's entries, in order.
fn feed_ids(xml: &str) -> Vec<String> {
    xml.split("<link>https://huggingface.co/papers/")
        .skip(1)
        .chain(xml.split("<id>https://huggingface.co/papers/").skip(1))
        .map(|s| s[..s.find('<').unwrap()].to_string())
        .collect()
}

async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut r = app.client.get(app.url(path));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.send().await.unwrap()
}

fn arxiv_ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|n| n["arxivId"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn atom_lists_what_the_api_lists_and_revalidates_with_304() {
    let app = spawn_app().await;
    app.import_samples().await;
    let path = "/feeds/papers.atom?minUpvotes=5&order=upvotes&limit=100";
    let r = get(&app, path, &[]).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/atom+xml")
    );
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let modified = r.headers()["last-modified"].to_str().unwrap().to_string();
    let body = r.text().await.unwrap();
    well_formed(&body, "feed").unwrap();
    let api = app
        .data(
            r#"{ papers(filter: {minUpvotes: 5}, orderBy: {field: UPVOTES}, first: 100) { nodes { arxivId } } }"#,
            json!({}),
        )
        .await;
    let expected = arxiv_ids(&api["papers"]["nodes"]);
    assert!(expected.len() > 5, "{expected:?}");
    assert_eq!(feed_ids(&body), expected);
    assert_eq!(body.matches("<entry>").count(), expected.len());

    let r = get(&app, path, &[("if-none-match", &etag)]).await;
    assert_eq!(r.status(), 304);
    assert_eq!(r.headers()["etag"].to_str().unwrap(), etag);
    assert!(r.text().await.unwrap().is_empty());
    let r = get(&app, path, &[("if-modified-since", &modified)]).await;
    assert_eq!(r.status(), 304);
    let r = get(&app, path, &[("if-none-match", "\"something-else\"")]).await;
    assert_eq!(r.status(), 200);

    // A new paper above the threshold changes the feed and its validator.
    let mut p = paper(900, "2026-04-02", 100_000);
    p.title = "A <b>bold</b> & new paper".into();
    p.authors = vec![author("Zoë O'Brien")];
    app.import("2026-04-02", &[p]).await;
    let r = get(&app, path, &[("if-none-match", &etag)]).await;
    assert_eq!(r.status(), 200);
    assert_ne!(r.headers()["etag"].to_str().unwrap(), etag);
    let body = r.text().await.unwrap();
    well_formed(&body, "feed").unwrap();
    assert_eq!(feed_ids(&body)[0], "2601.00900");
    assert!(body.contains("<title>A &lt;b&gt;bold&lt;/b&gt; &amp; new paper</title>"));
    assert!(body.contains("<author><name>Zoë O&apos;Brien</name></author>"));
}

#[tokio::test]
async fn rss_takes_a_keyword_query_and_the_date_filters() {
    let app = spawn_app().await;
    app.import_samples().await;
    let word = "diffusion";
    let r = get(&app, &format!("/feeds/papers.rss?q={word}&limit=10"), &[]).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/rss+xml")
    );
    let body = r.text().await.unwrap();
    well_formed(&body, "rss").unwrap();
    let api = app
        .data(
            r#"query($q: String!) { searchPapers(query: $q, first: 10) { edges { node { arxivId } } } }"#,
            json!({ "q": word }),
        )
        .await;
    let expected: Vec<String> = api["searchPapers"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["arxivId"].as_str().unwrap().to_string())
        .collect();
    assert!(!expected.is_empty());
    // Each RSS item names its link twice (link and guid).
    let ids = feed_ids(&body);
    assert_eq!(ids.len(), expected.len());
    assert_eq!(ids, expected);

    let r = get(&app, "/feeds/papers.rss?date=2026-01-30", &[]).await;
    let body = r.text().await.unwrap();
    let api = app
        .data(
            r#"{ papers(filter: {dailyDate: "2026-01-30"}, first: 100) { totalCount } }"#,
            json!({}),
        )
        .await;
    let n = api["papers"]["totalCount"].as_u64().unwrap() as usize;
    assert_eq!(body.matches("<item>").count(), n.min(30));
    let empty = get(&app, "/feeds/papers.atom?month=2020-01", &[]).await;
    assert_eq!(empty.status(), 200);
    let body = empty.text().await.unwrap();
    well_formed(&body, "feed").unwrap();
    assert_eq!(body.matches("<entry>").count(), 0);
}

#[tokio::test]
async fn bad_parameters_get_a_400_that_says_what_to_send() {
    let app = spawn_app().await;
    for (query, mentions) in [
        ("minUpvotes=many", "minUpvotes"),
        ("week=2026-W99", "week"),
        ("month=2026-13", "month"),
        ("date=tomorrow", "date"),
        ("order=random", "order"),
        ("limit=1000", "limit"),
        ("q=diffusion&order=upvotes", "relevance"),
        ("q=%22", "search query"),
        ("colour=blue", "unknown parameter"),
    ] {
        let r = get(&app, &format!("/feeds/papers.atom?{query}"), &[]).await;
        assert_eq!(r.status(), 400, "{query}");
        let text = r.text().await.unwrap();
        assert!(text.contains(mentions), "{query}: {text}");
    }
}
