//! The order of a response's fields. async-graphql resolves an object's fields concurrently and
//! enters each in the response as it finishes, so a field that waits on the database
//! (`totalCount`, a root field) can land after the fields asked after it, and one request could
//! answer different bytes from run to run. The GraphQL spec orders a response's fields as the
//! document does; this puts them back in that order.
use async_graphql::parser::types::{ExecutableDocument, Field, SelectionSet};
use async_graphql::{Name, Value};

use super::compiled::{operation_of, response_key, spread};

/// Puts every object of a response's `data` in the document's order of its fields (a compiled
/// request writes them so already). Objects already in order (most) are checked in one pass.
pub(super) fn order_as_document(
    data: &mut Value,
    doc: &ExecutableDocument,
    operation: Option<&str>,
) {
    let Some(op) = operation_of(doc, operation) else {
        return;
    };
    let mut fields = Vec::new();
    all_fields(doc, &op.selection_set.node, &mut fields);
    order_value(data, doc, &fields, &mut Vec::new());
}

fn same_key(f: &Field, k: &Name) -> bool {
    let own = response_key(f);
    // Response keys are clones of the document's names: the same string, most often.
    std::ptr::eq(own.as_str(), k.as_str()) || own == k
}

/// The fields of `set`, fragments spread in place whatever their type conditions and directives
/// (only the order of the keys present is wanted).
fn all_fields<'a>(doc: &'a ExecutableDocument, set: &'a SelectionSet, out: &mut Vec<&'a Field>) {
    // Lenient: it refuses nothing but a fragment missing from the document (validated away).
    let _ = spread(doc, set, None, out, 0);
}

/// The sub-fields asked under each key met so far at one level; the items of a list share it.
type SubFields<'a> = Vec<(Name, Vec<&'a Field>)>;

fn order_value<'a>(
    value: &mut Value,
    doc: &'a ExecutableDocument,
    fields: &[&'a Field],
    subs: &mut SubFields<'a>,
) {
    match value {
        Value::List(items) => {
            for v in items {
                order_value(v, doc, fields, subs);
            }
        }
        Value::Object(map) => {
            // In order when each key is found at or after the previous key's field.
            let mut at = 0;
            let ordered =
                map.keys()
                    .all(|k| match fields[at..].iter().position(|f| same_key(f, k)) {
                        Some(i) => {
                            at += i;
                            true
                        }
                        None => false,
                    });
            if !ordered {
                let rank = |k: &Name| {
                    fields
                        .iter()
                        .position(|f| same_key(f, k))
                        .unwrap_or(usize::MAX)
                };
                map.sort_by(|a, _, b, _| rank(a).cmp(&rank(b)));
            }
            for (k, v) in map.iter_mut() {
                if !matches!(v, Value::Object(_) | Value::List(_)) {
                    continue;
                }
                let i = match subs.iter().position(|(n, _)| n == k) {
                    Some(i) => i,
                    None => {
                        // The sub-fields of every field with this key (fields of one key merge).
                        let mut sub = Vec::new();
                        for f in fields.iter().filter(|f| same_key(f, k)) {
                            all_fields(doc, &f.selection_set.node, &mut sub);
                        }
                        subs.push((k.clone(), sub));
                        subs.len() - 1
                    }
                };
                order_value(v, doc, &subs[i].1, &mut Vec::new());
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: &Value) -> Vec<String> {
        match v {
            Value::Object(m) => m.keys().map(|k| k.to_string()).collect(),
            _ => vec![],
        }
    }

    /// Keys come back in the document's order at every level, through aliases, fragments and
    /// lists; values are untouched.
    #[test]
    fn objects_take_the_order_of_the_document() {
        let doc = async_graphql::parser::parse_query(
            "query Q { a: papers { totalCount nodes { ...F t: title } } dailyCalendar { date } } \
             fragment F on Paper { id authors { name position } }",
        )
        .unwrap();
        let data = serde_json::json!({
            "dailyCalendar": [{ "date": "d" }],
            "a": {
                "nodes": [
                    { "t": "x", "authors": [{ "position": 0, "name": "n" }], "id": "1" },
                    { "id": "2", "t": "y", "authors": [] }
                ],
                "totalCount": 2
            }
        });
        let mut v = Value::from_json(data.clone()).unwrap();
        order_as_document(&mut v, &doc, Some("Q"));
        assert_eq!(keys(&v), ["a", "dailyCalendar"]);
        let Value::Object(root) = &v else { panic!() };
        let conn = &root["a"];
        assert_eq!(keys(conn), ["totalCount", "nodes"]);
        let Value::Object(c) = conn else { panic!() };
        let Value::List(nodes) = &c["nodes"] else {
            panic!()
        };
        for n in nodes {
            assert_eq!(keys(n), ["id", "authors", "t"]);
        }
        let Value::Object(first) = &nodes[0] else {
            panic!()
        };
        let Value::List(authors) = &first["authors"] else {
            panic!()
        };
        assert_eq!(keys(&authors[0]), ["name", "position"]);
        // The same values, in another order.
        assert_eq!(v.into_json().unwrap(), data);
    }
}
