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

use super::connection::{PageRows, PaperConnection, Reading, Reads, slice};
use super::ids::GlobalId;
use super::inputs::{PaperFilter, PaperOrder};
use crate::entities::paper;
use crate::repo::papers::{AuthorSlot, PaperColumns, PaperCriteria, Slice, SlotRead, Sort};

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
    let op = match (&doc.operations, operation) {
        // (async-graphql refuses a name for an anonymous operation, after validation.)
        (DocumentOperations::Single(op), None) => &op.node,
        (DocumentOperations::Multiple(ops), Some(name)) => &ops.get(name)?.node,
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => &ops.values().next()?.node,
        _ => return None,
    };
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

/// The fields of a selection set, fragments spread in place; `None` when a fragment's type
/// condition is not `ty` or anything carries a directive.
fn fields<'a>(
    doc: &'a ExecutableDocument,
    set: &'a SelectionSet,
    ty: &str,
) -> Option<Vec<&'a Field>> {
    let mut out = Vec::new();
    spread(doc, set, ty, &mut out, 0)?;
    Some(out)
}

fn spread<'a>(
    doc: &'a ExecutableDocument,
    set: &'a SelectionSet,
    ty: &str,
    out: &mut Vec<&'a Field>,
    depth: usize,
) -> Option<()> {
    if depth > 8 {
        return None;
    }
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => {
                if !f.node.directives.is_empty() {
                    return None;
                }
                out.push(&f.node);
            }
            Selection::FragmentSpread(s) => {
                if !s.node.directives.is_empty() {
                    return None;
                }
                let frag = &doc.fragments.get(&s.node.fragment_name.node)?.node;
                if frag.type_condition.node.on.node != ty || !frag.directives.is_empty() {
                    return None;
                }
                spread(doc, &frag.selection_set.node, ty, out, depth + 1)?;
            }
            Selection::InlineFragment(i) => {
                if !i.node.directives.is_empty()
                    || i.node
                        .type_condition
                        .as_ref()
                        .is_some_and(|t| t.node.on.node != ty)
                {
                    return None;
                }
                spread(doc, &i.node.selection_set.node, ty, out, depth + 1)?;
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

fn key(f: &Field) -> Name {
    f.alias.as_ref().unwrap_or(&f.name).node.clone()
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
    if fs.is_empty() || !distinct(fs.iter().map(|f| &f.alias.as_ref().unwrap_or(&f.name).node)) {
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
    let sort = order.unwrap_or_default().sort();
    let slice = slice(first, after, last, before, |c| sort.decode_cursor(c)).ok()?;
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
    Some(Root {
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

/// The paper fields taken: those the listed columns answer, and `authors` with the slots' own
/// fields.
fn paper_field(doc: &ExecutableDocument) -> impl Fn(&Field) -> Option<PaperField> + '_ {
    move |f| {
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

fn write_str(out: &mut Vec<u8>, s: &str) {
    // serde_json escapes strings as the schema's response serialiser does (it is the same one).
    let _ = serde_json::to_writer(&mut *out, s);
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
    let cursors: Vec<String> = rows.iter().map(|p| root.sort.cursor(p).encode()).collect();
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
    use super::scalars::{Date, DateTime};
    use async_graphql::ScalarType;
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
            Some(d) => scalar(out, ScalarType::to_value(&Date(d))),
            None => out.extend_from_slice(b"null"),
        },
        PaperField::SubmittedAt => match p.submitted_at {
            Some(t) => scalar(out, ScalarType::to_value(&DateTime(t))),
            None => out.extend_from_slice(b"null"),
        },
        PaperField::PublishedAt => scalar(out, ScalarType::to_value(&DateTime(p.published_at))),
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
