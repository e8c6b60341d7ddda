//! Parsers of a paper's neighbourhood on the Hub: the linked repos of `/api/papers/{id}` and
//! `/api/arxiv/{id}/repos`, and the comments of `?field=comments` (nested or flat). Lenient by
//! item: whatever does not parse is dropped and counted, the rest kept; never a panic.
use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::parse::{timestamp, user_from_value};
use crate::domain::{HubRepo, LinkedList, PaperComment, PaperNeighbourhood, RepoKind};

/// Reads the neighbourhood out of a paper detail (a bare paper object).
pub fn parse_neighbourhood(body: &Value) -> Result<PaperNeighbourhood, String> {
    let Some(obj) = body.as_object() else {
        return Err("expected a paper object".into());
    };
    let mut out = PaperNeighbourhood::default();
    let keys = [
        ("linkedModels", "numTotalModels"),
        ("linkedDatasets", "numTotalDatasets"),
        ("linkedSpaces", "numTotalSpaces"),
    ];
    for (kind, (list, total)) in RepoKind::ALL.into_iter().zip(keys) {
        let repos = obj
            .get(list)
            .and_then(Value::as_array)
            .map(|items| repos_of(items, &mut out.skipped));
        let total = obj
            .get(total)
            .and_then(Value::as_i64)
            .map(|n| n.clamp(0, i64::from(i32::MAX)) as i32);
        out.linked[kind as usize] = LinkedList {
            // A total below the list's length is wrong; the list is what was seen.
            total: match (&repos, total) {
                (Some(r), Some(t)) => Some(t.max(r.len() as i32)),
                (Some(r), None) if obj.contains_key(list) => Some(r.len() as i32),
                (_, t) => t,
            },
            repos,
        };
    }
    out.comments = match obj.get("comments") {
        None => None,
        Some(Value::Array(items)) => Some(thread(items, &mut out.skipped)),
        Some(_) => {
            out.skipped += 1;
            None
        }
    };
    Ok(out)
}

/// Replaces the capped lists with the full ones of `/api/arxiv/{id}/repos`, keeping what only
/// the detail's items carry (a Space's `running`, a model's `gated`).
pub fn merge_full_lists(into: &mut PaperNeighbourhood, body: &Value) -> Result<(), String> {
    let Some(obj) = body.as_object() else {
        return Err("expected an object of repo lists".into());
    };
    for (kind, key) in RepoKind::ALL
        .into_iter()
        .zip(["models", "datasets", "spaces"])
    {
        let Some(items) = obj.get(key).and_then(Value::as_array) else {
            continue;
        };
        let mut full = repos_of(items, &mut into.skipped);
        let linked = &mut into.linked[kind as usize];
        // A full list shorter than the sample (the endpoint lagging) does not replace it.
        if linked.repos.as_ref().is_some_and(|s| s.len() > full.len()) {
            continue;
        }
        if let Some(sample) = &linked.repos {
            let by_id: HashMap<&str, &HubRepo> =
                sample.iter().map(|r| (r.id.as_str(), r)).collect();
            for r in &mut full {
                if let Some(s) = by_id.get(r.id.as_str()) {
                    r.gated = r.gated.take().or_else(|| s.gated.clone());
                    r.running = r.running.or(s.running);
                    r.emoji = r.emoji.take().or_else(|| s.emoji.clone());
                    r.pipeline_tag = r.pipeline_tag.take().or_else(|| s.pipeline_tag.clone());
                }
            }
        }
        linked.total = Some(linked.total.unwrap_or(0).max(full.len() as i32));
        linked.repos = Some(full);
    }
    Ok(())
}

fn repos_of(items: &[Value], skipped: &mut usize) -> Vec<HubRepo> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match repo(item) {
            Some(r) if seen.insert(r.id.clone()) => out.push(r),
            _ => *skipped += 1,
        }
    }
    out
}

fn repo(v: &Value) -> Option<HubRepo> {
    let id = text(v.get("id"))?;
    // `owner/name`; anything else is not a repo id.
    let (owner, name) = id.split_once('/')?;
    if owner.is_empty() || name.is_empty() {
        return None;
    }
    let count = |k: &str| v.get(k).and_then(Value::as_i64).map(|n| n.max(0));
    Some(HubRepo {
        author: text(v.get("author")).or_else(|| Some(owner.to_string())),
        downloads: count("downloads"),
        likes: count("likes"),
        pipeline_tag: text(v.get("pipeline_tag")),
        gated: match v.get("gated") {
            Some(Value::String(s)) if !s.is_empty() && s != "false" => Some(s.clone()),
            Some(Value::Bool(true)) => Some("auto".into()),
            _ => None,
        },
        last_modified: v
            .get("lastModified")
            .and_then(Value::as_str)
            .and_then(timestamp),
        emoji: text(v.get("emoji"))
            .or_else(|| text(v.get("cardData").and_then(|c| c.get("emoji")))),
        running: v.get("running").and_then(Value::as_bool),
        id,
    })
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The comments of a `comments` array, nested (`replies[]`) or flat (`data.parentCommentId`),
/// de-duplicated by id, threaded: top-level comments oldest first, each followed by its replies
/// oldest first; a reply whose parent is unknown stands at the top level.
fn thread(items: &[Value], skipped: &mut usize) -> Vec<PaperComment> {
    let mut all: Vec<PaperComment> = Vec::new();
    let mut seen = HashSet::new();
    let mut stack: Vec<(&Value, Option<String>)> = items.iter().rev().map(|v| (v, None)).collect();
    while let Some((v, parent)) = stack.pop() {
        let replies = v.get("replies").and_then(Value::as_array);
        match comment(v, parent) {
            Some(c) => {
                if let Some(replies) = replies {
                    stack.extend(replies.iter().rev().map(|r| (r, Some(c.hub_id.clone()))));
                }
                if seen.insert(c.hub_id.clone()) {
                    all.push(c);
                }
            }
            None => *skipped += 1,
        }
    }
    let known: HashSet<String> = all.iter().map(|c| c.hub_id.clone()).collect();
    for c in &mut all {
        if c.parent_id.as_ref().is_some_and(|p| !known.contains(p)) {
            c.parent_id = None;
        }
    }
    // Ties in time go by id, so that every shape of the same thread reads alike.
    let (mut top, replies): (Vec<_>, Vec<_>) = all.into_iter().partition(|c| c.parent_id.is_none());
    top.sort_by(|a, b| (a.created_at, &a.hub_id).cmp(&(b.created_at, &b.hub_id)));
    let mut children: HashMap<String, Vec<PaperComment>> = HashMap::new();
    for r in replies {
        children
            .entry(r.parent_id.clone().unwrap_or_default())
            .or_default()
            .push(r);
    }
    let mut out = Vec::new();
    // Replies of replies follow their own parent, depth first.
    let mut stack: Vec<PaperComment> = top.into_iter().rev().collect();
    while let Some(c) = stack.pop() {
        if let Some(mut kids) = children.remove(&c.hub_id) {
            kids.sort_by(|a, b| (a.created_at, &a.hub_id).cmp(&(b.created_at, &b.hub_id)));
            stack.extend(kids.into_iter().rev());
        }
        out.push(c);
    }
    out
}

fn comment(v: &Value, nested_parent: Option<String>) -> Option<PaperComment> {
    if v.get("type").and_then(Value::as_str) != Some("comment") {
        return None;
    }
    let hub_id = text(v.get("id"))?;
    let created_at = v
        .get("createdAt")
        .and_then(Value::as_str)
        .and_then(timestamp)?;
    let data = v.get("data");
    let flag = |k: &str| {
        data.and_then(|d| d.get(k))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    let latest = data.and_then(|d| d.get("latest"));
    let hidden = flag("hidden");
    let reactions = data
        .and_then(|d| d.get("reactions"))
        .and_then(Value::as_array)
        .map(|rs| {
            rs.iter()
                .filter_map(|r| {
                    let emoji = text(r.get("reaction"))?;
                    let count = r.get("count").and_then(Value::as_i64).or_else(|| {
                        r.get("users")
                            .and_then(Value::as_array)
                            .map(|u| u.len() as i64)
                    })?;
                    (count > 0).then_some((emoji, count))
                })
                .collect()
        })
        .unwrap_or_default();
    Some(PaperComment {
        parent_id: nested_parent.or_else(|| text(data.and_then(|d| d.get("parentCommentId")))),
        author: v.get("author").and_then(user_from_value),
        created_at,
        edited_at: if flag("edited") {
            latest
                .and_then(|l| l.get("updatedAt"))
                .and_then(Value::as_str)
                .and_then(timestamp)
        } else {
            None
        },
        body: if hidden {
            None
        } else {
            latest
                .and_then(|l| l.get("raw"))
                .and_then(Value::as_str)
                .map(str::to_string)
        },
        hidden,
        hidden_reason: if hidden {
            text(data.and_then(|d| d.get("hiddenReason")))
        } else {
            None
        },
        reactions,
        hub_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(rel: &str) -> Value {
        let path = format!("{}/fixtures/upstream/{rel}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    fn ids(l: &LinkedList) -> Vec<&str> {
        l.repos.iter().flatten().map(|r| r.id.as_str()).collect()
    }

    #[test]
    fn a_detail_gives_capped_lists_and_totals_and_the_full_list_completes_them() {
        let mut n = parse_neighbourhood(&sample("api/papers_2411.09702.json")).unwrap();
        let totals: Vec<_> = n.linked.iter().map(|l| l.total).collect();
        assert_eq!(totals, [Some(37), Some(3), Some(14)]);
        let lens: Vec<_> = n
            .linked
            .iter()
            .map(|l| l.repos.as_ref().map(Vec::len))
            .collect();
        assert_eq!(lens, [Some(10), Some(3), Some(10)]);
        assert!(n.linked[0].is_capped() && !n.linked[1].is_capped());
        assert_eq!(n.comments, None, "no comments key: comments unknown");
        let gated = n.linked[0].repos.as_ref().unwrap()[0].gated.clone();
        merge_full_lists(&mut n, &sample("api/arxiv_2411.09702_repos.json")).unwrap();
        let full = sample("api/arxiv_2411.09702_repos.json");
        for (kind, key) in RepoKind::ALL
            .into_iter()
            .zip(["models", "datasets", "spaces"])
        {
            let want: Vec<&str> = full[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap())
                .collect();
            assert_eq!(ids(&n.linked[kind as usize]), want, "{key}");
        }
        assert_eq!(n.linked[0].repos.as_ref().unwrap()[0].gated, gated);
        let space = &n.linked[2].repos.as_ref().unwrap()[0];
        assert_eq!(space.running, Some(true), "kept from the detail's item");
        assert!(space.likes.is_some(), "taken from the full list");
    }

    #[test]
    fn malformed_linked_lists_drop_what_does_not_parse_and_keep_the_rest() {
        let n = parse_neighbourhood(&sample("bad/papers_linked-malformed.json")).unwrap();
        assert_eq!(
            n.linked[0],
            LinkedList::default(),
            "an object and a string total"
        );
        assert_eq!(n.linked[1], LinkedList::default(), "null list, no total");
        assert_eq!(ids(&n.linked[2]), ["orbital-research/golden-compare"]);
        assert_eq!(n.linked[2].total, Some(1));
        assert_eq!(n.skipped, 2);
    }

    fn thread_of(rel: &str) -> Vec<PaperComment> {
        parse_neighbourhood(&sample(rel)).unwrap().comments.unwrap()
    }

    #[test]
    fn nested_and_flat_comments_give_the_same_thread() {
        let nested = thread_of("api/papers_2411.09702_field-comments.json");
        let flat = thread_of("bad/papers_2411.09702_field-comments_flat.json");
        assert_eq!(nested, flat);
        assert_eq!(nested.len(), 4);
        let shape: Vec<(bool, bool, bool)> = nested
            .iter()
            .map(|c| (c.parent_id.is_some(), c.author.is_none(), c.hidden))
            .collect();
        assert_eq!(
            shape,
            [
                (false, false, false),
                (true, false, false),
                (false, true, false),
                (true, false, true)
            ]
        );
        assert!(
            nested[0]
                .body
                .as_deref()
                .unwrap()
                .contains("A&amp;B <b>literal</b>")
        );
        assert_eq!(nested[0].reactions.len(), 2);
        assert!(nested[1].edited_at.is_some() && nested[0].edited_at.is_none());
        assert_eq!(nested[3].body, None, "hidden text is withheld");
        assert!(nested[3].hidden_reason.is_some());
    }

    #[test]
    fn malformed_comments_skip_non_comments_and_keep_orphans_at_the_top() {
        let c = thread_of("bad/papers_field-comments_malformed.json");
        let ids: Vec<&str> = c.iter().map(|c| c.hub_id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "69cee32e72015415fefc3f78",
                "69d039220b2ef0ef804a45cd",
                "69d03dd2c531823b36fef1e8"
            ],
            "the status change and the reply without a time are skipped"
        );
        let orphan = &c[1];
        assert!(orphan.parent_id.is_none() && orphan.author.is_none());
    }

    #[test]
    fn bodies_that_are_not_details_are_errors_and_odd_values_never_panic() {
        assert!(parse_neighbourhood(&Value::Null).is_err());
        for odd in [
            serde_json::json!({"linkedModels": [1, null, {"id": 3}, {"id": "x"}], "numTotalModels": -4}),
            serde_json::json!({"comments": [{"type": "comment", "id": "a", "createdAt": "2026-01-01T00:00:00Z", "replies": [{"type": "comment", "id": "a", "createdAt": "2026-01-01T00:00:00Z"}]}]}),
            serde_json::json!({"comments": {"x": 1}}),
        ] {
            let n = parse_neighbourhood(&odd).unwrap();
            assert!(n.linked[0].repos.as_ref().is_none_or(Vec::is_empty));
            assert!(n.comments.as_ref().is_none_or(|c| c.len() <= 1));
        }
    }
}
