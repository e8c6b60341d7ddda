//! Resident memory of the keyword index alone, built as `papergraph serve` builds it
//! (`Index::build`: a batch of 1,000 papers at a time on a thread of its own), from upstream
//! daily-list files:
//!
//!   cargo run --release --example index_mem -- DIR_OF_DAILY_LIST_JSON
//!
//! Prints the process's RSS after the build and after the index is dropped (what the index
//! costs the process), and the bytes each part of the index holds.
use papergraph::search::index::{DocText, Index};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn rss() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .filter(|l| {
            ["VmHWM", "VmRSS", "RssAnon"]
                .iter()
                .any(|k| l.starts_with(k))
        })
        .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(" kB, ")
        + " kB"
}

/// The papers of one daily-list file, numbered on from `next_id`; each author name gets the id
/// `author_ids` gave it first (as the database would).
fn docs_of(
    file: &std::path::Path,
    next_id: &mut i64,
    author_ids: &mut std::collections::HashMap<String, i64>,
) -> anyhow::Result<Vec<DocText>> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(file)?)?;
    let mut out = Vec::new();
    for e in v.as_array().map(Vec::as_slice).unwrap_or_default() {
        let p = &e["paper"];
        let text = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
        let names: Vec<&str> = p["authors"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|a| a["name"].as_str())
            .collect();
        let ids = names
            .iter()
            .map(|n| {
                let next = author_ids.len() as i64 + 1;
                *author_ids.entry((*n).to_owned()).or_insert(next)
            })
            .collect();
        let authors = names.join(", ");
        *next_id += 1;
        out.push(DocText {
            paper_id: *next_id,
            fields: [text("title"), text("summary"), authors, String::new()],
            author_ids: ids,
        });
    }
    Ok(out)
}

fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: index_mem DIR_OF_DAILY_LIST_JSON"))?;
    let mut files: Vec<_> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    // Papers in all, for sizing ahead (the server counts them in the database).
    let mut id = 0;
    let mut papers = 0;
    // Held from here on, so that the figures after it are the index's own.
    let mut authors = std::collections::HashMap::new();
    for f in &files {
        papers += docs_of(f, &mut id, &mut authors)?.len();
    }
    papergraph::alloc::give_back();
    println!("before: {}", rss());
    // As the server does: the texts are read a batch at a time while a thread builds.
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let builder = std::thread::spawn(move || Index::build(rx, papers));
    let mut id = 0;
    let mut batch = Vec::new();
    for f in &files {
        batch.extend(
            docs_of(f, &mut id, &mut authors)?
                .into_iter()
                .map(|d| (d.paper_id, Some(d))),
        );
        if batch.len() >= 1_000 {
            tx.send(std::mem::take(&mut batch))?;
            papergraph::alloc::give_back();
        }
    }
    tx.send(batch)?;
    drop(tx);
    let index = builder
        .join()
        .map_err(|_| anyhow::anyhow!("the builder panicked"))?;
    println!("built: {} papers, {} terms", index.len(), index.terms());
    println!("after the build: {}", rss());
    for (part, bytes) in index.breakdown() {
        println!("  {part}: {:.1} MB", bytes as f64 / 1e6);
    }
    println!("  in all: {:.1} MB", index.approx_bytes() as f64 / 1e6);
    drop(index);
    papergraph::alloc::give_back();
    println!("after dropping it: {}", rss());
    Ok(())
}
