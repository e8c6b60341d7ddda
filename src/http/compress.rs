//! Response compression. tower-http's `CompressionLayer` compresses what the routes answer,
//! negotiated by `Accept-Encoding`; a cached GraphQL answer keeps its compressed bytes beside
//! it ([`Encoded`]), compressed once with the same codecs and levels, so that a cache hit sends
//! bytes and compresses nothing (the layer leaves an answer that already has a
//! `Content-Encoding` alone).
use std::sync::OnceLock;

use async_compression::Level;
use async_compression::tokio::bufread::{BrotliEncoder, GzipEncoder, ZstdEncoder};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, header};
use tokio::io::AsyncReadExt;
use tower_http::compression::CompressionLayer;

/// Answers smaller than this are sent as they are (tower-http's default threshold).
pub const MIN_BYTES: usize = 32;

/// The compression layer every route goes through.
pub fn layer() -> CompressionLayer {
    CompressionLayer::new().zstd(true).br(true).gzip(true)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Zstd,
    Br,
    Gzip,
}

impl Encoding {
    const ALL: [Encoding; 3] = [Encoding::Zstd, Encoding::Br, Encoding::Gzip];

    fn token(self) -> &'static str {
        match self {
            Encoding::Zstd => "zstd",
            Encoding::Br => "br",
            Encoding::Gzip => "gzip",
        }
    }

    pub fn header(self) -> HeaderValue {
        HeaderValue::from_static(self.token())
    }

    /// The encoding to send for the request's `Accept-Encoding`: the one of highest q-value
    /// (ties: zstd, br, gzip); `None` for identity.
    pub fn negotiate(headers: &HeaderMap) -> Option<Encoding> {
        let accept = headers.get(header::ACCEPT_ENCODING)?.to_str().ok()?;
        let mut best: Option<(Encoding, u16)> = None;
        for item in accept.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1000), qvalue);
            let (Some(enc), Some(q)) = (
                Encoding::ALL
                    .into_iter()
                    .find(|e| e.token().eq_ignore_ascii_case(name)),
                q,
            ) else {
                continue;
            };
            let rank = |e: Encoding| Encoding::ALL.iter().position(|x| *x == e);
            if q > 0 && best.is_none_or(|(b, bq)| q > bq || (q == bq && rank(enc) < rank(b))) {
                best = Some((enc, q));
            }
        }
        best.map(|(e, _)| e)
    }

    /// `body` compressed as tower-http's layer compresses it (default levels; brotli at 4).
    pub async fn encode(self, body: &[u8]) -> std::io::Result<Bytes> {
        let mut out = Vec::with_capacity(body.len() / 4);
        match self {
            Encoding::Zstd => {
                ZstdEncoder::with_quality(body, Level::Default)
                    .read_to_end(&mut out)
                    .await?
            }
            Encoding::Br => {
                BrotliEncoder::with_quality(body, Level::Precise(4))
                    .read_to_end(&mut out)
                    .await?
            }
            Encoding::Gzip => {
                GzipEncoder::with_quality(body, Level::Default)
                    .read_to_end(&mut out)
                    .await?
            }
        };
        Ok(Bytes::from(out))
    }
}

/// A q-value in thousandths (`q=0.5` → 500); `None` when malformed.
fn qvalue(s: &str) -> Option<u16> {
    let v: f32 = s.trim().parse().ok()?;
    (0.0..=1.0)
        .contains(&v)
        .then(|| (v * 1000.0).round() as u16)
}

/// The compressed forms of one cached body, each made on first use.
#[derive(Default)]
pub struct Encoded([OnceLock<Bytes>; 3]);

impl Encoded {
    /// `body` in `encoding`, compressed now if this is the first time it is asked for.
    pub async fn get(&self, encoding: Encoding, body: &[u8]) -> std::io::Result<Bytes> {
        let slot = &self.0[Encoding::ALL
            .iter()
            .position(|e| *e == encoding)
            .unwrap_or_default()];
        if let Some(b) = slot.get() {
            return Ok(b.clone());
        }
        // Boxed: the encoders' state is kilobytes, which every request's future would otherwise
        // carry (and copy when it moves), though only a cache entry's first use compresses.
        let b = Box::pin(encoding.encode(body)).await?;
        Ok(slot.get_or_init(|| b).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> Option<Encoding> {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        Encoding::negotiate(&h)
    }

    #[test]
    fn negotiation_follows_q_values_then_prefers_zstd_br_gzip() {
        assert_eq!(Encoding::negotiate(&HeaderMap::new()), None);
        assert_eq!(accept("gzip, deflate, br"), Some(Encoding::Br));
        assert_eq!(accept("gzip, deflate, br, zstd"), Some(Encoding::Zstd));
        assert_eq!(accept("br;q=0.5, gzip"), Some(Encoding::Gzip));
        assert_eq!(accept("br;q=0, identity"), None);
        assert_eq!(accept("GZIP"), Some(Encoding::Gzip));
        assert_eq!(accept("deflate, *"), None);
        assert_eq!(accept("br;q=x, gzip;q=0.1"), Some(Encoding::Gzip));
    }
}
