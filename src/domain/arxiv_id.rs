//! `ArxivId`: the paper key, an arXiv identifier without its version.
use std::fmt;

/// An arXiv identifier without version, e.g. `2401.12345` or `hep-th/9901001`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct ArxivId(String);

impl ArxivId {
    /// Accepts `2401.12345`, `2401.12345v2`, `arXiv:2401.12345`, `https://arxiv.org/abs/…`,
    /// `https://arxiv.org/pdf/….pdf` and `https://huggingface.co/papers/…` (or `hf.co/papers/…`).
    pub fn parse(input: &str) -> Result<Self, String> {
        let raw = input.trim();
        if raw.is_empty() {
            return Err("an arXiv id is required, e.g. 2401.12345".into());
        }
        let mut s = raw;
        for scheme in ["https://", "http://"] {
            if let Some(rest) = s.strip_prefix(scheme) {
                s = rest;
            }
        }
        s = s.strip_prefix("www.").unwrap_or(s);
        s = s.split(['?', '#']).next().unwrap_or(s);
        s = s.trim_end_matches('/');
        for prefix in [
            "arxiv.org/abs/",
            "arxiv.org/pdf/",
            "huggingface.co/papers/",
            "hf.co/papers/",
            "arXiv:",
            "arxiv:",
        ] {
            if let Some(rest) = s.strip_prefix(prefix) {
                s = rest;
                break;
            }
        }
        let s = s.strip_suffix(".pdf").unwrap_or(s);
        let s = strip_version(s);
        if is_modern(s) || is_legacy(s) {
            Ok(Self(s.to_string()))
        } else {
            Err(format!(
                "`{}` is not an arXiv id; use a form like 2401.12345, 2401.12345v2 or https://arxiv.org/abs/2401.12345",
                truncate(raw, 80)
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ArxivId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn strip_version(s: &str) -> &str {
    if let Some(pos) = s.rfind('v') {
        let (head, tail) = (&s[..pos], &s[pos + 1..]);
        if !head.is_empty() && !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) {
            return head;
        }
    }
    s
}

/// `YYMM.NNNN` (2007-2014) or `YYMM.NNNNN` (2015 on).
fn is_modern(s: &str) -> bool {
    let Some((yymm, num)) = s.split_once('.') else {
        return false;
    };
    yymm.len() == 4
        && yymm.bytes().all(|b| b.is_ascii_digit())
        && (4..=5).contains(&num.len())
        && num.bytes().all(|b| b.is_ascii_digit())
        && matches!(yymm[2..].parse::<u8>(), Ok(1..=12))
}

/// `archive(.SUBJ)/YYMMNNN`, e.g. `hep-th/9901001` or `math.GT/0309136`.
fn is_legacy(s: &str) -> bool {
    let Some((archive, num)) = s.split_once('/') else {
        return false;
    };
    !archive.is_empty()
        && archive
            .bytes()
            .all(|b| b.is_ascii_alphabetic() || b == b'-' || b == b'.')
        && num.len() == 7
        && num.bytes().all(|b| b.is_ascii_digit())
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        s.chars().take(max).collect::<String>() + "…"
    }
}

#[cfg(test)]
mod tests {
    use super::ArxivId;

    #[test]
    fn accepts_every_documented_form() {
        for input in [
            "2401.12345",
            "2401.12345v2",
            " 2401.12345v12 ",
            "arXiv:2401.12345",
            "https://arxiv.org/abs/2401.12345",
            "https://arxiv.org/abs/2401.12345v3",
            "http://www.arxiv.org/pdf/2401.12345v1.pdf",
            "https://huggingface.co/papers/2401.12345",
            "https://huggingface.co/papers/2401.12345/",
            "https://hf.co/papers/2401.12345?foo=bar#x",
        ] {
            assert_eq!(
                ArxivId::parse(input).unwrap().as_str(),
                "2401.12345",
                "{input}"
            );
        }
        assert_eq!(ArxivId::parse("0704.0001").unwrap().as_str(), "0704.0001");
        assert_eq!(
            ArxivId::parse("hep-th/9901001v2").unwrap().as_str(),
            "hep-th/9901001"
        );
    }

    #[test]
    fn rejects_what_is_not_an_id() {
        for input in [
            "",
            " ",
            "2401",
            "2413.12345",
            "2401.123",
            "2401.123456",
            "v2",
            "abc",
            "2401.12345vx",
            "https://example.com/2401.12345",
            "../../etc/passwd",
            "2401.12345v",
        ] {
            assert!(ArxivId::parse(input).is_err(), "{input}");
        }
    }
}
