use super::*;

fn doc(id: i64, title: &str, abstract_: &str, authors: &str) -> DocText {
    DocText {
        paper_id: id,
        fields: [
            title.into(),
            abstract_.into(),
            authors.into(),
            String::new(),
        ],
        ..Default::default()
    }
}

fn page(index: &Index, q: &SearchQuery, after: Option<(f64, i64)>, n: usize) -> TopK {
    let mut top = TopK::new(after, n);
    index.evaluate(q, None, |id, s| top.offer(id, s));
    top
}

fn ids(index: &Index, q: &str) -> Vec<i64> {
    let q = SearchQuery::parse(q).unwrap();
    page(index, &q, None, 100)
        .into_sorted()
        .into_iter()
        .map(|h| h.0)
        .collect()
}

fn corpus() -> Index {
    let mut i = Index::default();
    i.upsert(&doc(
        1,
        "Vision Transformers at scale",
        "We scale a vision transformer.",
        "Ana Gómez",
    ));
    i.upsert(&doc(
        2,
        "Diffusion for video",
        "A transformer denoiser for video diffusion models.",
        "Bo Li",
    ));
    i.upsert(&doc(
        3,
        "Audio tokens",
        "Tokenizers and the vision of audio.",
        "Zoë Schölkopf",
    ));
    i
}

#[test]
fn stems_folds_and_weights_the_title_above_the_abstract() {
    let i = corpus();
    // Title match (1) above abstract match (2).
    assert_eq!(ids(&i, "transformer"), vec![1, 2]);
    assert_eq!(ids(&i, "TRANSFORMERS"), vec![1, 2]);
    assert_eq!(ids(&i, "scholkopf"), vec![3]);
    assert_eq!(ids(&i, "zoe"), vec![3]);
    assert!(ids(&i, "nothing").is_empty());
}

#[test]
fn phrases_exclusions_or_and_prefixes() {
    let i = corpus();
    assert_eq!(ids(&i, "\"vision transformer\""), vec![1]);
    assert_eq!(ids(&i, "\"transformer vision\""), Vec::<i64>::new());
    assert_eq!(ids(&i, "vision -audio"), vec![1]);
    assert_eq!(ids(&i, "video OR audio").len(), 2);
    assert_eq!(ids(&i, "token*"), vec![3]);
    assert_eq!(ids(&i, "transformer video"), vec![2]);
}

#[test]
fn replacing_a_text_forgets_the_old_one() {
    let mut i = corpus();
    i.upsert(&doc(2, "Sound", "Nothing about pictures.", "Bo Li"));
    assert_eq!(ids(&i, "diffusion"), Vec::<i64>::new());
    assert_eq!(ids(&i, "pictures"), vec![2]);
    assert_eq!(i.len(), 3);
    i.remove(3);
    assert_eq!(ids(&i, "audio"), Vec::<i64>::new());
    assert_eq!(i.len(), 2);
}

/// Every term's list in every segment.
fn lists(i: &Index) -> Vec<List<'_>> {
    i.parts()
        .flat_map(|part| (0..i.terms() as u32).filter_map(move |t| part.list(t)))
        .collect()
}

#[test]
fn compaction_keeps_every_live_match() {
    let mut i = Index::default();
    for round in 0..3 {
        for id in 0..1_500 {
            let title = if id % 2 == 0 {
                "even paper"
            } else {
                "odd paper"
            };
            i.upsert(&doc(id, title, &format!("round {round}"), ""));
        }
    }
    assert_eq!(i.len(), 1_500);
    assert_eq!(ids(&i, "even").len(), 100);
    let q = SearchQuery::parse("paper").unwrap();
    assert_eq!(page(&i, &q, None, 0).total, 1_500);
    assert_eq!(ids(&i, "\"round 2\"").len(), 100);
    assert!(ids(&i, "\"round 1\"").is_empty());
}

/// A small deterministic generator (no dependency for one test).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

#[test]
fn the_conjunction_path_ranks_exactly_like_the_bitset_path() {
    // Word frequencies from 1 in 2 to 1 in 64 papers, so some terms get bitsets and
    // others are probed by galloping; updates and removals leave dead slots.
    let vocab: Vec<String> = (0..400).map(|i| format!("w{i}x")).collect();
    let mut rng = Lcg(42);
    let text = |rng: &mut Lcg, n: usize| {
        (0..n)
            .map(|_| {
                // Word k with probability about (k + 1)^(1/3) - k^(1/3) (in 400^(1/3)).
                let r = rng.below(1 << 12) as usize;
                vocab[(400 * r * r * r) >> 36].as_str()
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    // One index in one open segment, the same papers cut into segments of 700.
    let mut i = Index::default();
    let mut cut = Index {
        segment_papers: 700,
        ..Index::default()
    };
    for id in 0..4_000 {
        let (t, a) = (text(&mut rng, 4), text(&mut rng, 30));
        i.upsert(&doc(id, &t, &a, ""));
        cut.upsert(&doc(id, &t, &a, ""));
    }
    for id in (0..4_000).step_by(7) {
        let (t, a) = (text(&mut rng, 4), text(&mut rng, 30));
        i.upsert(&doc(id, &t, &a, ""));
        cut.upsert(&doc(id, &t, &a, ""));
    }
    for id in (0..4_000).step_by(11) {
        i.remove(id);
        cut.remove(id);
    }
    assert!(i.dead > 0, "the test needs dead slots");
    assert!(
        lists(&i).iter().any(|l| l.dense.is_some())
            && lists(&i).iter().any(|l| l.dense.is_none() && l.n > 20),
        "the test needs both kinds of list"
    );
    assert!(
        cut.frozen.len() >= 4 && lists(&cut).iter().any(|l| l.dense.is_some()),
        "the test needs several segments"
    );
    let w = |k: usize| vocab[k].as_str();
    let queries = [
        w(0).to_string(),
        w(30).to_string(),
        format!("{} {}", w(0), w(1)),
        format!("{} {} {}", w(0), w(2), w(5)),
        format!("{} {}", w(3), w(25)),
        format!("{} {}", w(2), w(390)),
        format!("{} {} {}", w(300), w(350), w(1)),
        w(399).to_string(),
        format!("\"{} {}\"", w(0), w(1)),
        format!("\"{} {}\" {}", w(1), w(0), w(4)),
        format!("\"{} {} {}\"", w(0), w(0), w(1)),
        format!("{} -{}", w(0), w(1)),
        format!("{} {} -\"{} {}\"", w(0), w(3), w(1), w(2)),
        format!("{} nothingatall", w(0)),
    ];
    let allowed = |id: i64| id % 3 != 0;
    for text in queries {
        let q = SearchQuery::parse(&text).unwrap();
        for filter in [None, Some(&allowed as &dyn Fn(i64) -> bool)] {
            let mut fast = Vec::new();
            i.evaluate_by(&q, filter, |id, s| fast.push((id, s)), true);
            let mut slow = Vec::new();
            i.evaluate_by(&q, filter, |id, s| slow.push((id, s)), false);
            fast.sort_by_key(|h| h.0);
            slow.sort_by_key(|h| h.0);
            assert_eq!(fast, slow, "{text}");
            // Segments change nothing: the same matches with the same scores.
            for conjunctions in [true, false] {
                let mut segmented = Vec::new();
                cut.evaluate_by(&q, filter, |id, s| segmented.push((id, s)), conjunctions);
                segmented.sort_by_key(|h| h.0);
                assert_eq!(segmented, fast, "{text}, cut into segments");
            }
            if !text.contains("nothing") && filter.is_none() {
                assert!(!fast.is_empty(), "{text} should match");
            }
        }
    }
}

#[test]
fn sizing_ahead_and_packing_change_no_answer_and_keep_author_names_and_ids() {
    let vocab: Vec<String> = (0..300).map(|i| format!("v{i}y")).collect();
    let mut rng = Lcg(7);
    let mut text = |n: usize| {
        (0..n)
            .map(|_| {
                let r = rng.below(1 << 12) as usize;
                vocab[(300 * r * r) >> 24].as_str()
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let docs: Vec<DocText> = (0..3_000)
        .map(|id| DocText {
            author_ids: vec![id, id % 10 + 1_000_000],
            ..doc(
                id,
                &text(5),
                &text(40),
                &format!("Author {id}, Other {}", id * 7),
            )
        })
        .collect();
    let mut plain = Index::default();
    for d in &docs {
        plain.upsert(d);
    }
    let batches = docs
        .chunks(150)
        .map(|b| b.iter().map(|d| (d.paper_id, Some(d.clone()))).collect());
    let mut sized = Index::build(batches.clone(), docs.len());
    assert!(
        sized.approx_bytes() <= plain.approx_bytes(),
        "a packed index holds no more than one grown a list at a time"
    );
    assert_eq!((sized.frozen.len(), sized.open.len()), (1, 0));
    // The same load cut into segments of 400 papers: 7 frozen, none open.
    let small = Index {
        segment_papers: 400,
        ..Index::default()
    };
    let mut cut = Index::build_into(small, batches, docs.len());
    assert_eq!((cut.frozen.len(), cut.open.len()), (8, 0));
    let same = |a: &Index, b: &Index| {
        for q in [
            "v0y",
            "v1y v2y",
            "\"v0y v1y\"",
            "v3y -v0y",
            "v29y v1y v0y",
            "v299y",
        ] {
            let q = SearchQuery::parse(q).unwrap();
            let mut x = Vec::new();
            a.evaluate(&q, None, |id, s| x.push((id, s)));
            let mut y = Vec::new();
            b.evaluate(&q, None, |id, s| y.push((id, s)));
            assert_eq!(x, y);
        }
        for id in 0..3_000 {
            assert_eq!(a.authors_of(id), b.authors_of(id));
            assert_eq!(a.author_counts(&[id]), b.author_counts(&[id]));
        }
        let all: Vec<i64> = (0..3_000).collect();
        assert_eq!(a.author_counts(&all), b.author_counts(&all));
    };
    same(&plain, &sized);
    same(&plain, &cut);
    assert_eq!(sized.authors_of(42), Some("Author 42, Other 294"));
    let all: Vec<i64> = (0..3_000).collect();
    let counts = sized.author_counts(&all);
    assert_eq!(
        (counts.len(), counts[&42], counts[&1_000_002]),
        (3_010, 1, 300)
    );
    // Enough removals and replacements to compact both (dead slots over a quarter).
    for id in (0..3_000).step_by(2) {
        sized.remove(id);
        plain.remove(id);
        cut.remove(id);
    }
    for id in (1..3_000).step_by(4) {
        let d = DocText {
            author_ids: vec![2_000_000],
            ..doc(id, "renamed", "text", &format!("New {id}"))
        };
        sized.upsert(&d);
        plain.upsert(&d);
        cut.upsert(&d);
    }
    assert!(sized.dead < 1_500, "the test needs a compaction");
    assert_eq!(sized.dead, plain.dead);
    assert_eq!(cut.dead, plain.dead);
    same(&plain, &sized);
    same(&plain, &cut);
    assert_eq!(sized.authors_of(42), None);
    assert_eq!(sized.authors_of(43), Some("Author 43, Other 301"));
    assert_eq!(sized.authors_of(45), Some("New 45"));
    // Removed papers count for no one; a replaced paper counts for its new authors only.
    let counts = sized.author_counts(&all);
    assert_eq!(counts.get(&42), None);
    assert_eq!(
        (counts[&43], counts.get(&45), counts[&2_000_000]),
        (1, None, 750)
    );
    assert_eq!(counts.values().sum::<u32>(), 750 * 2 + 750);
    assert_eq!(ids(&sized, "renamed").len(), 100);
}

#[test]
fn a_segment_left_without_papers_is_dropped_and_the_others_still_answer() {
    let mut i = Index {
        segment_papers: 100,
        ..Index::default()
    };
    for id in 0..1_500 {
        let title = format!("common t{} alpha beta", id % 7);
        i.upsert(&doc(id, &title, "gamma", &format!("Name{id}")));
    }
    assert_eq!((i.frozen.len(), i.open_lo), (15, 1_500));
    // The first 1,200 papers go: at the 1,001st (past 1,000 dead slots and a quarter of the
    // live ones) a compaction drops the 10 segments left empty and rebuilds the partly dead
    // one; the next 199 stay dead slots.
    for id in 0..1_200 {
        i.remove(id);
    }
    assert_eq!(i.dead, 199, "the test needs a compaction");
    assert_eq!(i.frozen.len(), 5);
    assert_eq!(i.frozen[0].lo, 1_000);
    assert_eq!(i.len(), 300);
    let q = SearchQuery::parse("common").unwrap();
    let mut found = Vec::new();
    i.evaluate(&q, None, |id, _| found.push(id));
    found.sort_unstable();
    assert_eq!(found, (1_200..1_500).collect::<Vec<_>>());
    let mut t3 = ids(&i, "\"t3 alpha\" gamma");
    t3.sort_unstable();
    let want: Vec<i64> = (1_200..1_500).filter(|id| id % 7 == 3).collect();
    assert_eq!(t3, want);
    assert_eq!(ids(&i, "name1499"), vec![1_499]);
    assert!(ids(&i, "name1199").is_empty());
    // Later papers open a segment of their own and are found with the rest.
    for id in 2_000..2_150 {
        i.upsert(&doc(id, "common late", "gamma", ""));
    }
    assert_eq!(ids(&i, "late common").len(), 100);
    let q = SearchQuery::parse("common gamma").unwrap();
    assert_eq!(page(&i, &q, None, 10).total, 450);
}

/// A list of `n` postings, the slot of posting `i` `step(i)` past the one before (the first
/// past `from`), with frequency `i % 300` and the one position `i % 5`; and its slots.
fn postings(from: u32, n: u32, mut step: impl FnMut(u32) -> u32) -> (Postings, Vec<u32>) {
    let mut p = Postings::default();
    let mut slots = Vec::new();
    let mut slot = from;
    for i in 0..n {
        slot += step(i);
        slots.push(slot);
        p.push(slot, (i % 300) as f32, &[(i % 5) as Pos]);
    }
    (p, slots)
}

#[test]
fn slots_are_found_by_seeking_through_the_skips() {
    // Gaps of one to several varint bytes, over many skip blocks.
    let mut rng = Lcg(7);
    let (p, slots) = postings(0, 1_000, |i| match i % 4 {
        0 => 1,
        1 => 1 + rng.below(100) as u32,
        2 => 200 + rng.below(20_000) as u32,
        _ => 3_000_000 + rng.below(100) as u32,
    });
    let slot = slots[slots.len() - 1];
    let list = p.list();
    let mut c = Cursor::new(list);
    let decoded: Vec<u32> = std::iter::from_fn(|| c.advance()).collect();
    assert_eq!(decoded, slots);
    // Every posting, every third, the first of every block, the last of every fifth, and more.
    for (first, step) in [(0, 1), (0, 3), (0, 64), (SKIP - 1, 5 * SKIP), (0, 200)] {
        let mut c = Cursor::new(list);
        for (i, s) in slots.iter().enumerate().skip(first).step_by(step) {
            // A slot missing from the list is passed over, then the slot itself is found.
            if first == 0 && i > 0 && slots[i - 1] + 1 < *s {
                assert!(!c.seek(s - 1), "slot {} is not in the list", s - 1);
            }
            assert!(c.seek(*s), "slot {s} (posting {i}, step {step})");
            assert_eq!(c.decoded - 1, i);
            assert_eq!(list.wtf_of(i), (i % 300) as f32);
            assert_eq!(list.positions_of(i), &[(i % 5) as Pos | LAST]);
        }
        assert!(!c.seek(slot + 1));
    }
}

#[test]
fn a_list_with_a_bitset_is_read_through_it_without_its_gaps() {
    // Runs of near slots and stretches of whole empty words, from word 3 on.
    let mut rng = Lcg(11);
    let (p, slots) = postings(200, 3_000, |i| {
        1 + rng.below(if i % 500 < 250 { 3 } else { 300 }) as u32
    });
    let slot = slots[slots.len() - 1];
    let dense = Dense::build(p.list(), 3);
    let gapless = List {
        gaps: &[],
        dense: Some(dense.view()),
        ..p.list()
    };
    let decoded: Vec<(usize, u32)> = Cursor::new(gapless).collect();
    assert_eq!(
        decoded,
        slots.iter().copied().enumerate().collect::<Vec<_>>()
    );
    // Seeking lands where seeking through the gaps does, for slots in the list or not,
    // before the first, past the last.
    for step in [1, 2, 7, 64, 333] {
        let mut gaps = Cursor::new(p.list());
        let mut bits = Cursor::new(gapless);
        let mut target = 0;
        while target <= slot + 200 {
            assert_eq!(bits.seek(target), gaps.seek(target), "seek {target}");
            assert_eq!(bits.decoded, gaps.decoded, "seek {target}, step {step}");
            target += step;
        }
    }
}

#[test]
fn a_frequency_past_one_byte_is_kept_exactly() {
    // A title word 10 times counts 100; 30 times, 300 (past the byte, kept on the side).
    let mut i = Index::default();
    i.upsert(&doc(1, &"word ".repeat(10), "x", ""));
    i.upsert(&doc(2, &"word ".repeat(30), "x", ""));
    i.upsert(&doc(3, &"word ".repeat(26), "x", ""));
    let p = i.open[&i.term_of("word").unwrap()].list();
    assert_eq!(
        (0..3).map(|k| p.wtf_of(k)).collect::<Vec<_>>(),
        vec![100.0, 300.0, 260.0]
    );
    assert_eq!(p.big.len(), 2);
    assert_eq!(ids(&i, "word"), vec![2, 3, 1]);
}

#[test]
fn a_word_past_the_last_kept_position_is_found_but_not_as_a_phrase() {
    // An author list longer than positions reach: its last names are found as words.
    let mut authors = "name ".repeat(MAX_INDEX as usize + 10);
    authors.push_str("zeta omega");
    let mut i = Index::default();
    i.upsert(&doc(1, "t", "zeta alone", &authors));
    i.upsert(&doc(2, "t", "x", "zeta omega"));
    assert_eq!(ids(&i, "omega"), vec![2, 1]);
    let mut both = ids(&i, "zeta omega");
    both.sort_unstable();
    assert_eq!(both, vec![1, 2]);
    assert_eq!(ids(&i, "\"zeta omega\""), vec![2]);
    // Words within reach keep their positions.
    assert_eq!(ids(&i, "\"name name\""), vec![1]);
    assert_eq!(ids(&i, "\"zeta alone\""), vec![1]);
}

#[test]
fn pages_follow_each_other_without_gaps_or_repeats() {
    let mut i = Index::default();
    for id in 0..50 {
        let body = "word ".repeat((id % 7 + 1) as usize);
        i.upsert(&doc(id, "t", &body, ""));
    }
    let q = SearchQuery::parse("word").unwrap();
    let all = page(&i, &q, None, 100).into_sorted();
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let top = page(&i, &q, after, 7);
        assert_eq!(top.total, 50);
        let hits = top.into_sorted();
        if hits.is_empty() {
            break;
        }
        after = hits.last().map(|(id, s)| (*s, *id));
        paged.extend(hits);
    }
    assert_eq!(paged, all);
    assert_eq!(all.len(), 50);
}

#[test]
fn phrases_find_their_positions_across_position_blocks_and_compaction() {
    // 700 papers: more than ten blocks of postings for "alpha" and "beta", with varying
    // numbers of positions per posting (so block offsets vary).
    let text = |i: i64| {
        let filler = "filler ".repeat((i % 13) as usize);
        match i % 3 {
            0 => format!("{filler}alpha beta and alpha beta"),
            1 => format!("{filler}beta alpha"),
            _ => format!("alpha {filler}x beta"),
        }
    };
    let mut index = Index::default();
    for i in 0..700 {
        index.upsert(&doc(i, "t", &text(i), "a"));
    }
    let hits = |index: &Index| -> Vec<i64> {
        let q = SearchQuery::parse("\"alpha beta\"").unwrap();
        let mut ids: Vec<i64> = page(index, &q, None, 1_000)
            .into_sorted()
            .into_iter()
            .map(|h| h.0)
            .collect();
        ids.sort_unstable();
        ids
    };
    let expected: Vec<i64> = (0..700).filter(|i| i % 3 == 0).collect();
    assert_eq!(hits(&index), expected);
    // Every 5th paper gone, every 7th rewritten without the phrase, then squeezed out.
    for i in (0..700).step_by(5) {
        index.remove(i);
    }
    for i in (0..700).step_by(7) {
        if i % 5 != 0 {
            index.upsert(&doc(i, "t", "gamma delta", "a"));
        }
    }
    index.compact();
    let expected: Vec<i64> = (0..700)
        .filter(|i| i % 3 == 0 && i % 5 != 0 && i % 7 != 0)
        .collect();
    assert_eq!(hits(&index), expected);
}
