//! E-mail addresses, checked once where they enter.

/// A checked address: trimmed, its domain lower-cased. Two addresses with the same [`key`]
/// (all lower-case) are the same subscriber.
///
/// [`key`]: Email::key
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    address: String,
    key: String,
}

impl Email {
    /// Checks and normalises an address; the error says what is wrong.
    pub fn parse(raw: &str) -> Result<Email, String> {
        let e = raw.trim();
        let bad = || {
            format!(
                "`{}` is not an email address like name@example.org",
                e.chars().take(80).collect::<String>()
            )
        };
        if e.len() > 254 || e.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = e.rsplit_once('@').ok_or_else(bad)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !local_ok || !domain_ok {
            return Err(bad());
        }
        let address = format!("{local}@{}", domain.to_ascii_lowercase());
        let key = address.to_ascii_lowercase();
        Ok(Email { address, key })
    }

    /// The address as written (domain lower-cased).
    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// The address all lower-case: what identifies a subscriber.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_and_normalised() {
        let e = Email::parse("  Ana.Gomez+ml@Example.ORG ").unwrap();
        assert_eq!(e.as_str(), "Ana.Gomez+ml@example.org");
        assert_eq!(e.key(), "ana.gomez+ml@example.org");
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.org",
            "ana@localhost",
            "ana@exa mple.org",
            "a..b@example.org",
            ".a@example.org",
            "ana@-example.org",
            "ana@example..org",
            "ana\u{0}@example.org",
            "ana@exämple.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Email::parse(&format!("{}@example.org", "a".repeat(65))).is_err());
    }
}
