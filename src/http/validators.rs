//! HTTP validators shared by every cacheable answer (GraphQL GET queries, feeds): a strong
//! `ETag` from the body's bytes, and `If-None-Match` as RFC 9110 reads it.
use axum::http::{HeaderMap, HeaderValue, header};
use sha2::{Digest, Sha256};

/// A strong entity tag for `body`: the first 128 bits of its SHA-256, quoted. The same bytes
/// give the same tag on every replica, so a CDN in front of several keeps its copies.
pub fn etag(body: &[u8]) -> HeaderValue {
    use std::fmt::Write as _;
    let digest = Sha256::digest(body);
    let mut tag = String::with_capacity(34);
    tag.push('"');
    for b in &digest[..16] {
        let _ = write!(tag, "{b:02x}");
    }
    tag.push('"');
    HeaderValue::from_str(&tag).unwrap_or_else(|_| HeaderValue::from_static("\"\""))
}

/// Whether the request's `If-None-Match` names `etag` (weakly compared, as GET requires) or is
/// `*`; `None` when the request has no `If-None-Match`.
pub fn if_none_match(headers: &HeaderMap, etag: &HeaderValue) -> Option<bool> {
    let tags = headers.get(header::IF_NONE_MATCH)?.to_str().ok()?;
    let etag = etag.to_str().ok()?;
    Some(
        tags.split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == etag || t == "*"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_compares_weakly_and_takes_lists_and_star() {
        let tag = etag(b"{\"data\":{}}");
        assert_eq!(tag.len(), 34);
        let mut h = HeaderMap::new();
        assert_eq!(if_none_match(&h, &tag), None);
        h.insert(header::IF_NONE_MATCH, tag.clone());
        assert_eq!(if_none_match(&h, &tag), Some(true));
        let listed = format!("\"x\", W/{}", tag.to_str().unwrap());
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&listed).unwrap(),
        );
        assert_eq!(if_none_match(&h, &tag), Some(true));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"other\""));
        assert_eq!(if_none_match(&h, &tag), Some(false));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert_eq!(if_none_match(&h, &tag), Some(true));
    }
}
