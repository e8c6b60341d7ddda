//! The only place that builds SQL: plain async functions over `&impl ConnectionTrait`, shared by the
//! GraphQL resolvers, the CLI and the sync worker.
pub mod authors;
pub mod cursor;
pub mod direct;
pub mod import;
pub mod keyset;
pub mod papers;
pub mod rows;
pub mod search;
pub mod search_index;
pub mod similar;
pub mod status;

/// Escapes `%`, `_` and `!` for a `LIKE … ESCAPE '!'` pattern. (`!`, not a backslash, because
/// the two backends treat backslashes in string literals differently.)
pub(crate) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '!') {
            out.push('!');
        }
        out.push(c);
    }
    out
}
