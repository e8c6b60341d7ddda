//! The digest service a server runs when SMTP is configured: the mailer and the public address
//! that links in mail point to.
use super::mailer::Mailer;

pub struct DigestService {
    pub mailer: Mailer,
    /// e.g. `https://papers.example.org` (no trailing slash).
    pub public_url: String,
}

impl std::fmt::Debug for DigestService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestService")
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

impl DigestService {
    pub fn new(smtp_url: &str, from: &str, public_url: &str) -> Result<DigestService, String> {
        Ok(DigestService {
            mailer: Mailer::new(smtp_url, from)?,
            public_url: public_url.trim_end_matches('/').to_string(),
        })
    }

    /// The page that confirms a subscription (a GET shows a button; only the POST confirms, so
    /// mail scanners that follow links confirm nothing).
    pub fn confirm_link(&self, token: &str) -> String {
        format!("{}/digest/confirm?token={token}", self.public_url)
    }
}
