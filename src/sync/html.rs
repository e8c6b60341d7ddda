//! The HTML path: Daily Papers pages carry their data as JSON in a Svelte hydration island
//! (`div[data-target="DailyPapers"][data-props]`); html5ever decodes the attribute's entities, so
//! the JSON inside is the API's item format. When the island is missing, the visible cards
//! still give each paper's id, title and upvotes: the sync's last resort.
use scraper::{Html, Selector};

use super::parse::{ParsedList, parse_items};

/// Why a page could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HtmlError {
    #[error(
        "the page has no DailyPapers data island ({cards} paper cards visible); it may be a challenge page or a new layout"
    )]
    NoIsland { cards: usize },
    #[error("the page's DailyPapers data is not valid JSON ({0})")]
    BadIsland(String),
    #[error("the page's DailyPapers data has no `dailyPapers` list")]
    NoList,
}

/// A paper as the visible card shows it: id, title and upvotes only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    pub arxiv_id: String,
    pub title: String,
    pub upvotes: Option<i32>,
}

fn selector(css: &str) -> Option<Selector> {
    Selector::parse(css).ok()
}

/// What a list page gives: its data island, or, when the island is gone, its visible cards.
#[derive(Debug)]
pub enum DailyPage {
    Island(ParsedList),
    Cards(Vec<Card>),
}

/// Parses a `/papers/date/YYYY-MM-DD` page into the day's papers.
pub fn parse_daily_page(html: &str) -> Result<ParsedList, HtmlError> {
    island_of(&Html::parse_document(html))
}

/// [`parse_daily_page`], falling back to the visible cards when the page has no data island
/// (a page without either is still an error).
pub fn read_daily_page(html: &str) -> Result<DailyPage, HtmlError> {
    let doc = Html::parse_document(html);
    match island_of(&doc) {
        Ok(list) => Ok(DailyPage::Island(list)),
        Err(HtmlError::NoIsland { cards }) if cards > 0 => Ok(DailyPage::Cards(cards_in(&doc))),
        Err(e) => Err(e),
    }
}

fn island_of(doc: &Html) -> Result<ParsedList, HtmlError> {
    let island = selector(r#"div[data-target="DailyPapers"]"#).and_then(|s| {
        doc.select(&s)
            .find(|e| e.value().attr("data-props").is_some())
    });
    let Some(island) = island else {
        return Err(HtmlError::NoIsland {
            cards: cards_in(doc).len(),
        });
    };
    let props = island.value().attr("data-props").unwrap_or_default();
    let value: serde_json::Value =
        serde_json::from_str(props).map_err(|e| HtmlError::BadIsland(e.to_string()))?;
    let list = value
        .get("dailyPapers")
        .filter(|v| v.as_array().is_some_and(|a| !a.is_empty()))
        .or_else(|| value.get("searchResults"))
        .or_else(|| value.get("dailyPapers"))
        .and_then(|v| v.as_array())
        .ok_or(HtmlError::NoList)?;
    Ok(parse_items(list.clone()))
}

/// The visible paper cards of a list page.
pub fn parse_cards(html: &str) -> Vec<Card> {
    cards_in(&Html::parse_document(html))
}

fn cards_in(doc: &Html) -> Vec<Card> {
    let (Some(article), Some(link), Some(votes)) = (
        selector("article"),
        selector(r#"h3 > a[href^="/papers/"]"#),
        selector("div.shadow-alternate div.leading-none, label div.leading-none"),
    ) else {
        return Vec::new();
    };
    doc.select(&article)
        .filter_map(|card| {
            let a = card.select(&link).next()?;
            let id = a
                .value()
                .attr("href")?
                .trim_start_matches("/papers/")
                .to_string();
            let title = a
                .text()
                .collect::<String>()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let upvotes = card
                .select(&votes)
                .next()
                .and_then(|v| v.text().collect::<String>().trim().parse().ok());
            Some(Card {
                arxiv_id: id,
                title,
                upvotes,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::parse::parse_daily_list;

    fn fixture(rel: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/fixtures/upstream/{rel}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn the_html_and_json_samples_give_the_same_papers() {
        let from_html = parse_daily_page(&fixture("html/papers_date-2026-01-30.html")).unwrap();
        let from_api =
            parse_daily_list(fixture("api/daily_papers_date-2026-01-30.json").as_bytes()).unwrap();
        assert_eq!(from_html.papers.len(), 8);
        // The page carries one field the list API does not: the model of the AI summary.
        assert!(
            from_html
                .papers
                .iter()
                .all(|p| p.ai_summary_model.is_some())
        );
        let mut html = from_html.papers;
        for p in &mut html {
            p.ai_summary_model = None;
        }
        assert_eq!(html, from_api.papers);
    }

    #[test]
    fn both_escapings_decode_to_the_same_unicode() {
        let a = parse_daily_page(&fixture("bad/papers_date_unicode-entities.html")).unwrap();
        let b = parse_daily_page(&fixture(
            "bad/papers_date_unicode-entities_full-escaping.html",
        ))
        .unwrap();
        let json =
            parse_daily_list(fixture("bad/daily_papers_unicode-entities.json").as_bytes()).unwrap();
        assert_eq!(a.papers, b.papers);
        assert_eq!(a.papers[0].title, json.papers[0].title);
        assert!(a.papers[0].title.contains("A&amp;B"));
    }

    #[test]
    fn pages_without_a_usable_island_are_errors_that_say_why() {
        let missing =
            parse_daily_page(&fixture("bad/papers_date_missing-data-props.html")).unwrap_err();
        assert!(
            matches!(missing, HtmlError::NoIsland { cards: 8 }),
            "{missing}"
        );
        let broken =
            parse_daily_page(&fixture("bad/papers_date_malformed-data-props.html")).unwrap_err();
        assert!(matches!(broken, HtmlError::BadIsland(_)), "{broken}");
        assert!(matches!(
            parse_daily_page("<html><body>challenge</body></html>"),
            Err(HtmlError::NoIsland { cards: 0 })
        ));
    }

    #[test]
    fn cards_give_id_title_and_upvotes() {
        let cards = parse_cards(&fixture("bad/papers_date_missing-data-props.html"));
        let api =
            parse_daily_list(fixture("api/daily_papers_date-2026-01-30.json").as_bytes()).unwrap();
        assert_eq!(cards.len(), 8);
        for (card, paper) in cards.iter().zip(&api.papers) {
            assert_eq!(card.arxiv_id, paper.arxiv_id.as_str());
            assert_eq!(card.title, paper.title);
            assert_eq!(card.upvotes, Some(paper.upvotes));
        }
    }

    #[test]
    fn never_panics_on_mangled_pages() {
        let page = fixture("html/papers_date-2026-01-30.html");
        let bytes = page.as_bytes();
        let mut state = 0x1234_5678_9abc_def1_u64;
        for _ in 0..60 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let cut = (state as usize) % bytes.len();
            let _ = parse_daily_page(&String::from_utf8_lossy(&bytes[..cut]));
            let mut mangled = bytes.to_vec();
            for k in 0..16 {
                let i = ((state >> k) as usize) % mangled.len();
                mangled[i] = (state >> (k + 8)) as u8;
            }
            let _ = parse_daily_page(&String::from_utf8_lossy(&mangled));
        }
    }
}
