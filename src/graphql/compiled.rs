//! Compiled requests: a planned request whose document asks only for paper lists (`papers`) and
//! the fields of their papers that the listed columns answer is compiled once, into the page it
//! reads and the JSON it writes. Its next runs read that page and write the response straight
//! from the rows: no executor, no per-field futures, no intermediate `Value` tree.
//!
//! A compiled request answers exactly what the schema answers (the same bytes: keys in the order
//! asked, the same scalar formats, `extensions.cost`); the tests compare the two on every shape
//! this module takes. Anything it does not take (other root fields, arguments or fields,
//! directives, fields asked twice, type conditions other than the field's own type, a variable
//! left to its default) is not compiled and runs through the schema as before. So is a run whose
//! read fails: the schema runs it again and answers the error as it always does.
use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Field, OperationDefinition, OperationType, Selection,
    SelectionSet,
};
use async_graphql::{InputType, Name, Value, Variables};
use sea_orm::DatabaseConnection;

use super::connection::{PageRows, PaperConnection, Reading, Reads, paper_page};
use super::ids::GlobalId;
use super::inputs::{PaperFilter, PaperOrder};
use super::scalars::{Date, DateTime};
use crate::entities::paper;
use crate::repo::papers::{AuthorSlot, PaperColumns, PaperCriteria, Slice, SlotRead, Sort};
use async_graphql::ScalarType;

/// A request compiled: the lists it reads, in the order of the response's keys.
pub(super) struct Compiled {
    roots: Vec<Root>,
    cost: u64,
    /// The length of the last response written, to size the next one's buffer.
    last_len: AtomicUsize,
}

/// One `papers` field of the query root.
struct Root {
    key: Name,
    criteria: PaperCriteria,
    sort: Sort,
    slice: Slice,
    reading: Reading,
    fields: Vec<(Name, ConnField)>,
    /// Whether the response shows cursors (`edges` or `pageInfo`).
    cursors: bool,
}

enum ConnField {
    Typename,
    Nodes(Vec<(Name, PaperField)>),
    Edges(Vec<(Name, EdgeField)>),
    PageInfo(Vec<(Name, InfoField)>),
}

enum EdgeField {
    Typename,
    Cursor,
    Node(Vec<(Name, PaperField)>),
}

#[derive(Clone, Copy)]
enum InfoField {
    Typename,
    HasNextPage,
    HasPreviousPage,
    StartCursor,
    EndCursor,
}

enum PaperField {
    Typename,
    Id,
    ArxivId,
    Title,
    Abstract,
    AuthorCount,
    DailyDate,
    SubmittedAt,
    PublishedAt,
    Upvotes,
    NumComments,
    TrendingScore,
    GithubRepo,
    GithubStars,
    HfUrl,
    ArxivUrl,
    PdfUrl,
    Authors(Vec<(Name, SlotField)>),
}

#[derive(Clone, Copy)]
enum SlotField {
    Typename,
    Position,
    Name,
    Hidden,
    ClaimStatus,
}

/// Compiles a request that passed validation on the schema: its document, the operation it runs
/// and its variables. `None` when the request asks for anything this module does not take.
pub(super) fn compile(
    doc: &ExecutableDocument,
    operation: Option<&str>,
    variables: &Variables,
    cost: u64,
) -> Option<Compiled> {
    let op = operation_of(doc, operation)?;
    if op.ty != OperationType::Query || !op.directives.is_empty() {
        return None;
    }
    let mut roots = Vec::new();
    for field in fields(doc, &op.selection_set.node, "Query")? {
        if field.name.node != "papers" {
            return None;
        }
        roots.push(root(doc, op, field, variables)?);
    }
    if roots.is_empty() || !distinct(roots.iter().map(|r| &r.key)) {
        return None;
    }
    Some(Compiled {
        roots,
        cost,
        last_len: AtomicUsize::new(4096),
    })
}

/// The operation a request runs, as async-graphql picks it (`None`: it answers an error).
pub(super) fn operation_of<'a>(
    doc: &'a ExecutableDocument,
    operation: Option<&str>,
) -> Option<&'a OperationDefinition> {
    Some(match (&doc.operations, operation) {
        // (async-graphql refuses a name for an anonymous operation, after validation.)
        (DocumentOperations::Single(op), None) => &op.node,
        (DocumentOperations::Multiple(ops), Some(name)) => &ops.get(name)?.node,
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => &ops.values().next()?.node,
        _ => return None,
    })
}

/// The fields of a selection set, fragments spread in place; `None` when a fragment's type
/// condition is not `ty` or anything carries a directive.
fn fields<'a>(
    doc: &'a ExecutableDocument,
    set: &'a SelectionSet,
    ty: &str,
) -> Option<Vec<&'a Field>> {
    let mut out = Vec::new();
    spread(doc, set, Some(ty), &mut out, 0)?;
    Some(out)
}

/// Adds the fields of a selection set to `out`, fragments spread in place. With `only`, refuses
/// (`None`) a directive anywhere or a type condition other than `only`; without, takes every
/// field whatever its type condition and directives (for the order of keys, see
/// [`super::order`]).
pub(super) fn spread<'a>(
    doc: &'a ExecutableDocument,
    set: &'a SelectionSet,
    only: Option<&str>,
    out: &mut Vec<&'a Field>,
    depth: usize,
) -> Option<()> {
    if depth > 32 {
        return None;
    }
    let strict = only.is_some();
    let other_type = |on: &Name| only.is_some_and(|ty| on != ty);
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => {
                if strict && !f.node.directives.is_empty() {
                    return None;
                }
                out.push(&f.node);
            }
            Selection::FragmentSpread(s) => {
                let frag = &doc.fragments.get(&s.node.fragment_name.node)?.node;
                if strict
                    && (!s.node.directives.is_empty()
                        || !frag.directives.is_empty()
                        || other_type(&frag.type_condition.node.on.node))
                {
                    return None;
                }
                spread(doc, &frag.selection_set.node, only, out, depth + 1)?;
            }
            Selection::InlineFragment(i) => {
                if strict
                    && (!i.node.directives.is_empty()
                        || i.node
                            .type_condition
                            .as_ref()
                            .is_some_and(|t| other_type(&t.node.on.node)))
                {
                    return None;
                }
                spread(doc, &i.node.selection_set.node, only, out, depth + 1)?;
            }
        }
    }
    Some(())
}

/// Whether no two response keys are the same (the schema merges such fields; this module
/// leaves them to it).
fn distinct<'a>(keys: impl Iterator<Item = &'a Name>) -> bool {
    let mut seen = std::collections::HashSet::new();
    keys.into_iter().all(|k| seen.insert(k.as_str()))
}

/// A field's response key: its alias, else its name.
pub(super) fn response_key(f: &Field) -> &Name {
    &f.alias.as_ref().unwrap_or(&f.name).node
}

fn key(f: &Field) -> Name {
    response_key(f).clone()
}

/// A leaf field: no arguments, no selection.
fn leaf(f: &Field) -> bool {
    f.arguments.is_empty() && f.selection_set.node.items.is_empty()
}

/// The selection of an object field (of type `ty`), keyed; `None` when a field is not one `each`
/// takes, or a key is asked twice. (Validation has checked the fields' arguments: none of the
/// object fields taken has any.)
fn object<'a, T>(
    doc: &'a ExecutableDocument,
    f: &'a Field,
    ty: &str,
    each: impl Fn(&'a Field) -> Option<T>,
) -> Option<Vec<(Name, T)>> {
    let fs = fields(doc, &f.selection_set.node, ty)?;
    if fs.is_empty() || !distinct(fs.iter().map(|f| response_key(f))) {
        return None;
    }
    fs.into_iter().map(|f| Some((key(f), each(f)?))).collect()
}

fn root(
    doc: &ExecutableDocument,
    op: &OperationDefinition,
    f: &Field,
    variables: &Variables,
) -> Option<Root> {
    const NAMES: [&str; 6] = ["filter", "orderBy", "first", "after", "last", "before"];
    let mut args: [Option<Value>; 6] = Default::default();
    for (name, value) in &f.arguments {
        let i = NAMES.iter().position(|n| *n == name.node.as_str())?;
        let v = value.node.clone().into_const_with(|var| {
            variables
                .get(&var)
                .cloned()
                .or_else(|| {
                    let def = op
                        .variable_definitions
                        .iter()
                        .find(|d| d.node.name.node == var)?;
                    def.node.default_value.as_ref().map(|d| d.node.clone())
                })
                // A variable neither given nor defaulted is left to the schema.
                .ok_or(())
        });
        args[i] = Some(v.ok()?);
    }
    let [filter, order, first, after, last, before] = args;
    let filter = <Option<PaperFilter>>::parse(filter).ok()?;
    let order = <Option<PaperOrder>>::parse(order).ok()?;
    let first = <Option<i32>>::parse(first).ok()?;
    let after = <Option<String>>::parse(after).ok()?;
    let last = <Option<i32>>::parse(last).ok()?;
    let before = <Option<String>>::parse(before).ok()?;
    let criteria = filter.unwrap_or_default().criteria().ok()?;
    let (sort, slice) = paper_page(order, first, after, last, before).ok()?;
    let fields = object(doc, f, "PaperConnection", |c| {
        Some(match c.name.node.as_str() {
            "__typename" if leaf(c) => ConnField::Typename,
            "nodes" => ConnField::Nodes(object(doc, c, "Paper", paper_field(doc))?),
            "edges" => ConnField::Edges(object(doc, c, "PaperEdge", |e| {
                Some(match e.name.node.as_str() {
                    "__typename" if leaf(e) => EdgeField::Typename,
                    "cursor" if leaf(e) => EdgeField::Cursor,
                    "node" => EdgeField::Node(object(doc, e, "Paper", paper_field(doc))?),
                    _ => return None,
                })
            })?),
            "pageInfo" => ConnField::PageInfo(object(doc, c, "PageInfo", |i| {
                if !leaf(i) {
                    return None;
                }
                Some(match i.name.node.as_str() {
                    "__typename" => InfoField::Typename,
                    "hasNextPage" => InfoField::HasNextPage,
                    "hasPreviousPage" => InfoField::HasPreviousPage,
                    "startCursor" => InfoField::StartCursor,
                    "endCursor" => InfoField::EndCursor,
                    _ => return None,
                })
            })?),
            _ => return None,
        })
    })?;
    let papers = fields.iter().flat_map(|(_, c)| match c {
        ConnField::Nodes(p) => vec![p],
        ConnField::Edges(e) => e
            .iter()
            .filter_map(|(_, e)| match e {
                EdgeField::Node(p) => Some(p),
                _ => None,
            })
            .collect(),
        _ => vec![],
    });
    let shows_authors = papers
        .flat_map(|p| p.iter())
        .any(|(_, p)| matches!(p, PaperField::Authors(_)));
    let cursors = fields
        .iter()
        .any(|(_, c)| matches!(c, ConnField::Edges(_) | ConnField::PageInfo(_)));
    Some(Root {
        cursors,
        key: key(f),
        criteria,
        sort,
        slice,
        // Every field taken is answered by the listed columns and the slots' own columns.
        reading: Reading {
            columns: PaperColumns::Listed,
            authors: shows_authors.then_some(SlotRead::Own),
        },
        fields,
    })
}

/// The paper fields taken: those the listed columns answer (the page is read with them: the
/// schema's own list, `connection::listed_fields`, decides), and `authors` with the slots' own fields.
fn paper_field(doc: &ExecutableDocument) -> impl Fn(&Field) -> Option<PaperField> + '_ {
    move |f| {
        if !super::connection::is_listed_field(&f.name.node) {
            return None;
        }
        if f.name.node == "authors" {
            return Some(PaperField::Authors(object(doc, f, "PaperAuthor", |s| {
                if !leaf(s) {
                    return None;
                }
                Some(match s.name.node.as_str() {
                    "__typename" => SlotField::Typename,
                    "position" => SlotField::Position,
                    "name" => SlotField::Name,
                    "hidden" => SlotField::Hidden,
                    "claimStatus" => SlotField::ClaimStatus,
                    _ => return None,
                })
            })?));
        }
        if !leaf(f) {
            return None;
        }
        Some(match f.name.node.as_str() {
            "__typename" => PaperField::Typename,
            "id" => PaperField::Id,
            "arxivId" => PaperField::ArxivId,
            "title" => PaperField::Title,
            "abstract" => PaperField::Abstract,
            "authorCount" => PaperField::AuthorCount,
            "dailyDate" => PaperField::DailyDate,
            "submittedAt" => PaperField::SubmittedAt,
            "publishedAt" => PaperField::PublishedAt,
            "upvotes" => PaperField::Upvotes,
            "numComments" => PaperField::NumComments,
            "trendingScore" => PaperField::TrendingScore,
            "githubRepo" => PaperField::GithubRepo,
            "githubStars" => PaperField::GithubStars,
            "hfUrl" => PaperField::HfUrl,
            "arxivUrl" => PaperField::ArxivUrl,
            "pdfUrl" => PaperField::PdfUrl,
            _ => return None,
        })
    }
}

impl Compiled {
    /// Reads the request's pages and writes its response (`{"data":…,"extensions":{"cost":…}}`,
    /// as the schema serialises it). An error is a failed read: the caller runs the request
    /// through the schema, which answers it.
    pub(super) async fn run(
        &self,
        db: &DatabaseConnection,
        reads: &Reads,
    ) -> Result<Vec<u8>, crate::error::AppError> {
        let mut out = Vec::with_capacity(self.last_len.load(Relaxed) + 256);
        out.extend_from_slice(b"{\"data\":{");
        for (i, root) in self.roots.iter().enumerate() {
            let page = PaperConnection::read(
                db,
                reads,
                &root.criteria,
                root.sort,
                &root.slice,
                root.reading,
            )
            .await?;
            if i > 0 {
                out.push(b',');
            }
            write_key(&mut out, &root.key);
            write_connection(&mut out, root, &page);
        }
        let _ = write!(out, "}},\"extensions\":{{\"cost\":{}}}}}", self.cost);
        self.last_len.store(out.len(), Relaxed);
        Ok(out)
    }
}

fn write_key(out: &mut Vec<u8>, key: &Name) {
    // Names are `[_A-Za-z][_0-9A-Za-z]*`: nothing to escape.
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Writes `s` as a JSON string, escaped as serde_json (the schema's response serialiser) escapes
/// it: `"` and `\\`, the short forms `\b \f \n \r \t`, `\u00xx` for the other control
/// characters, nothing else. Eight bytes at a time while none of them needs it (serde_json looks
/// at every byte through a table: 8 % of the server's CPU on the daily list).
fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        if let Some(word) = bytes.get(i..i + 8) {
            let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
            if !word_needs_escape(word) {
                i += 8;
                continue;
            }
        }
        let b = bytes[i];
        let short = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            0x0c => b'f',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            0x00..=0x1f => b'u',
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[start..i]);
        out.push(b'\\');
        out.push(short);
        if short == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 0xf) as usize]]);
        }
        i += 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Whether any of the eight bytes of `w` is below 0x20, `"` or `\\` (exact: the classic
/// has-less and has-zero bit tricks).
fn word_needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
    let zero_of = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let quote = zero_of(w ^ (ONES * u64::from(b'"')));
    let backslash = zero_of(w ^ (ONES * u64::from(b'\\')));
    (below_space | quote | backslash) != 0
}

/// Writes a `Date` as the scalar does (`YYYY-MM-DD`), without its formatter's parsing of a
/// format string (years outside 0–9999 go through the scalar itself).
fn write_date(out: &mut Vec<u8>, d: chrono::NaiveDate) {
    use chrono::Datelike as _;
    if !(0..=9999).contains(&d.year()) {
        let _ = serde_json::to_writer(&mut *out, &ScalarType::to_value(&Date(d)));
        return;
    }
    let _ = write!(out, "\"{:04}-{:02}-{:02}\"", d.year(), d.month(), d.day());
}

/// Writes a `DateTime` as the scalar does (RFC 3339 in UTC with milliseconds and `Z`).
fn write_instant(out: &mut Vec<u8>, t: chrono::DateTime<chrono::Utc>) {
    use chrono::{Datelike as _, Timelike as _};
    if !(0..=9999).contains(&t.year()) || t.nanosecond() >= 1_000_000_000 {
        let _ = serde_json::to_writer(&mut *out, &ScalarType::to_value(&DateTime(t)));
        return;
    }
    let _ = write!(
        out,
        "\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z\"",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() / 1_000_000
    );
}

fn write_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => write_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

fn write_display(out: &mut Vec<u8>, v: impl std::fmt::Display) {
    let _ = write!(out, "{v}");
}

/// Writes `{…}` of `fields`, each by `each`.
fn write_object<T>(
    out: &mut Vec<u8>,
    fields: &[(Name, T)],
    mut each: impl FnMut(&mut Vec<u8>, &T),
) {
    out.push(b'{');
    for (i, (k, f)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_key(out, k);
        each(out, f);
    }
    out.push(b'}');
}

fn write_connection(out: &mut Vec<u8>, root: &Root, page: &PageRows) {
    let (rows, slots, has_next, has_previous) = page;
    // Cursors only when edges or pageInfo show them (a list of nodes never does).
    let cursors: Vec<String> = if root.cursors {
        rows.iter().map(|p| root.sort.cursor(p).encode()).collect()
    } else {
        Vec::new()
    };
    let slots_of = |i: usize| slots.as_ref().map_or(&[][..], |s| &s[i][..]);
    write_object(out, &root.fields, |out, f| match f {
        ConnField::Typename => write_str(out, "PaperConnection"),
        ConnField::Nodes(fields) => {
            out.push(b'[');
            for (i, p) in rows.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_paper(out, fields, p, slots_of(i));
            }
            out.push(b']');
        }
        ConnField::Edges(fields) => {
            out.push(b'[');
            for (i, p) in rows.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_object(out, fields, |out, e| match e {
                    EdgeField::Typename => write_str(out, "PaperEdge"),
                    EdgeField::Cursor => write_str(out, &cursors[i]),
                    EdgeField::Node(fields) => write_paper(out, fields, p, slots_of(i)),
                });
            }
            out.push(b']');
        }
        ConnField::PageInfo(fields) => write_object(out, fields, |out, i| match i {
            InfoField::Typename => write_str(out, "PageInfo"),
            InfoField::HasNextPage => write_display(out, has_next),
            InfoField::HasPreviousPage => write_display(out, has_previous),
            InfoField::StartCursor => write_opt_str(out, cursors.first().map(String::as_str)),
            InfoField::EndCursor => write_opt_str(out, cursors.last().map(String::as_str)),
        }),
    });
}

fn write_paper(
    out: &mut Vec<u8>,
    fields: &[(Name, PaperField)],
    p: &paper::Model,
    slots: &[AuthorSlot],
) {
    let scalar = |out: &mut Vec<u8>, v: Value| {
        let _ = serde_json::to_writer(&mut *out, &v);
    };
    write_object(out, fields, |out, f| match f {
        PaperField::Typename => write_str(out, "Paper"),
        PaperField::Id => write_str(out, &GlobalId::Paper(p.arxiv_id.clone()).encode()),
        PaperField::ArxivId => write_str(out, &p.arxiv_id),
        PaperField::Title => write_str(out, &p.title),
        PaperField::Abstract => write_str(out, &p.r#abstract),
        PaperField::AuthorCount => write_display(out, p.author_count),
        PaperField::DailyDate => match p.daily_date {
            Some(d) => write_date(out, d),
            None => out.extend_from_slice(b"null"),
        },
        PaperField::SubmittedAt => match p.submitted_at {
            Some(t) => write_instant(out, t),
            None => out.extend_from_slice(b"null"),
        },
        PaperField::PublishedAt => write_instant(out, p.published_at),
        PaperField::Upvotes => write_display(out, p.upvotes),
        PaperField::NumComments => write_display(out, p.num_comments),
        PaperField::TrendingScore => scalar(out, Value::from(p.trending_score)),
        PaperField::GithubRepo => write_opt_str(out, p.github_repo.as_deref()),
        PaperField::GithubStars => match p.github_stars {
            Some(n) => write_display(out, n),
            None => out.extend_from_slice(b"null"),
        },
        PaperField::HfUrl => write_str(out, &super::paper::hf_url(&p.arxiv_id)),
        PaperField::ArxivUrl => write_str(out, &super::paper::arxiv_url(&p.arxiv_id)),
        PaperField::PdfUrl => write_str(out, &super::paper::pdf_url(&p.arxiv_id)),
        PaperField::Authors(fields) => {
            out.push(b'[');
            for (i, s) in slots.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_object(out, fields, |out, f| match f {
                    SlotField::Typename => write_str(out, "PaperAuthor"),
                    SlotField::Position => write_display(out, s.position),
                    SlotField::Name => write_str(out, &s.name),
                    SlotField::Hidden => write_display(out, s.hidden),
                    SlotField::ClaimStatus => write_opt_str(out, s.claim_status.as_deref()),
                });
            }
            out.push(b']');
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The escaper writes what serde_json writes, for every ASCII byte at every position of a
    /// word, and for text around it.
    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let mut samples: Vec<String> = vec![
            String::new(),
            "plain".into(),
            "Zoë \"Quote\" O'Brien \\ 🚀 </script>".into(),
            "exactly8".into(),
            "sixteen bytes!!!".into(),
        ];
        for b in 0u8..0x80 {
            for at in 0..17 {
                let mut t = "x".repeat(at);
                t.push(b as char);
                t.push_str("ünï tail of some length");
                samples.push(t);
            }
        }
        samples.push("\u{7f}\u{80}\u{ffff}\u{10ffff}\u{1}\u{1f}".into());
        for s in samples {
            let mut out = Vec::new();
            write_str(&mut out, &s);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&s).unwrap(),
                "{s:?}"
            );
        }
    }

    /// Dates and instants are written as the scalars write them.
    #[test]
    fn dates_and_instants_are_written_as_the_scalars_write_them() {
        use chrono::TimeZone as _;
        let instants = [
            chrono::Utc.with_ymd_and_hms(2024, 6, 14, 0, 0, 0).unwrap(),
            chrono::Utc
                .timestamp_opt(1_718_323_200, 123_456_789)
                .unwrap(),
            chrono::Utc.timestamp_opt(0, 999_999_999).unwrap(),
            chrono::Utc
                .timestamp_opt(-62_135_596_800, 1_000_000)
                .unwrap(),
            chrono::Utc
                .with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
                .unwrap(),
            chrono::Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            chrono::Utc.with_ymd_and_hms(-1, 1, 1, 0, 0, 0).unwrap(),
        ];
        for t in instants {
            let mut out = Vec::new();
            write_instant(&mut out, t);
            let expected = serde_json::to_string(&ScalarType::to_value(&DateTime(t))).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), expected, "{t:?}");
            let mut out = Vec::new();
            write_date(&mut out, t.date_naive());
            let expected =
                serde_json::to_string(&ScalarType::to_value(&Date(t.date_naive()))).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), expected, "{t:?}");
        }
    }
}
