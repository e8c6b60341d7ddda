//! `recommendPapers`: more like these, less like those.
use serde_json::{Value, json};

use crate::helpers::{paper, spawn_app};

const Q: &str = "query($p: [String!]!, $n: [String!], $f: PaperFilter, $first: Int) {
    recommendPapers(positive: $p, negative: $n, filter: $f, first: $first) { score paper { arxivId } } }";

fn ids(v: &Value) -> Vec<String> {
    v["recommendPapers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["paper"]["arxivId"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn seeds_from_one_topic_recommend_that_topic_and_a_negative_seed_pushes_its_topic_down() {
    let app = spawn_app().await;
    // Two topics held apart: proteins (1-6) and galaxies (7-12), one more paper on neither.
    let proteins = [
        "Protein folding with structure prediction",
        "Predicting protein structure from sequence",
        "Protein structure design by folding models",
        "Folding proteins at scale with sequence models",
        "Protein sequence embeddings for structure",
        "Structure of folded protein complexes",
    ];
    let galaxies = [
        "Galaxy survey with a telescope array",
        "Telescope imaging of distant galaxy clusters",
        "A galaxy redshift survey from telescope data",
        "Survey telescopes find faint galaxy halos",
        "Galaxy morphology in telescope surveys",
        "Telescope survey of galaxy mergers",
    ];
    let mut papers = Vec::new();
    for (i, t) in proteins.iter().chain(galaxies.iter()).enumerate() {
        let mut p = paper(
            i as u32 + 1,
            if i % 2 == 0 {
                "2026-04-01"
            } else {
                "2026-04-08"
            },
            10,
        );
        p.title = t.to_string();
        p.abstract_text = format!("{t}. We study this in depth.");
        papers.push(p);
    }
    let mut other = paper(13, "2026-04-01", 10);
    other.title = "Quantum error correction codes".into();
    other.abstract_text = "Codes for qubits.".into();
    papers.push(other);
    // Odd-numbered papers listed on 2026-04-01, even-numbered ones on 2026-04-08.
    let (odd, even): (Vec<_>, Vec<_>) = papers
        .into_iter()
        .enumerate()
        .partition(|(i, _)| i % 2 == 0);
    app.import(
        "2026-04-01",
        &odd.into_iter().map(|(_, p)| p).collect::<Vec<_>>(),
    )
    .await;
    app.import(
        "2026-04-08",
        &even.into_iter().map(|(_, p)| p).collect::<Vec<_>>(),
    )
    .await;
    let id = |n: u32| format!("2601.{n:05}");
    let is_protein = |a: &str| (1..=6).any(|n| id(n) == a);

    // Two protein seeds: the other four protein papers come first, seeds left out.
    let d = app
        .data(Q, json!({ "p": [id(1), id(2)], "first": 4 }))
        .await;
    let got = ids(&d);
    assert_eq!(got.len(), 4, "{d}");
    assert!(got.iter().all(|a| is_protein(a)), "{got:?}");
    assert!(!got.contains(&id(1)) && !got.contains(&id(2)));
    let scores: Vec<f64> = d["recommendPapers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

    // Seeds from both topics; then with a negative galaxy seed, galaxies move down and a
    // protein paper leads.
    // The galaxy papers that are not seeds, each at its place (or past the end when left out).
    let galaxy_places = |got: &[String]| -> usize {
        (9..=12)
            .map(|n| got.iter().position(|a| *a == id(n)).unwrap_or(got.len()))
            .sum()
    };
    let both = ids(&app
        .data(Q, json!({ "p": [id(1), id(7)], "first": 100 }))
        .await);
    let pushed = ids(&app
        .data(
            Q,
            json!({ "p": [id(1), id(7)], "n": [id(8)], "first": 100 }),
        )
        .await);
    assert!(
        galaxy_places(&pushed) > galaxy_places(&both),
        "{both:?} then {pushed:?}"
    );
    assert!(is_protein(&pushed[0]), "{pushed:?}");
    assert!(!pushed.contains(&id(8)), "a negative seed is left out too");
    assert!(
        !both.contains(&id(13)),
        "nothing in common with the seeds: {both:?}"
    );

    // The filter narrows: only papers listed on 2026-04-08 (even-numbered).
    let d = app
        .data(
            Q,
            json!({ "p": [id(1)], "f": { "dailyDate": "2026-04-08" } }),
        )
        .await;
    let got = ids(&d);
    let even: Vec<String> = (1..=6).map(|k| id(2 * k)).collect();
    assert!(
        !got.is_empty() && got.iter().all(|a| even.contains(a)),
        "{got:?}"
    );
    let mut top: Vec<String> = got[..3].to_vec();
    top.sort();
    assert_eq!(
        top,
        [id(2), id(4), id(6)],
        "that day's protein papers first: {got:?}"
    );

    // Unknown seeds are ignored; no known positive seed, no recommendation.
    let d = app.data(Q, json!({ "p": ["2601.99999"] })).await;
    assert_eq!(d["recommendPapers"], json!([]));
    let d = app
        .data(Q, json!({ "p": ["2601.99999", id(1)], "first": 1 }))
        .await;
    assert!(is_protein(&ids(&d)[0]));

    // Bad input.
    let many: Vec<String> = (1..=101).map(|n| format!("2601.{n:05}")).collect();
    for (vars, what) in [
        (json!({ "p": [] }), "no positive seed"),
        (json!({ "p": many }), "over 100 seeds"),
        (json!({ "p": ["not an id"] }), "a malformed id"),
        (json!({ "p": [id(1)], "first": 101 }), "first over 100"),
    ] {
        assert_eq!(app.error_code(Q, vars).await, "BAD_USER_INPUT", "{what}");
    }
}
