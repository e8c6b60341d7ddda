//! Mail through SMTP (lettre): `smtp://host:port` (plain, for a local relay), `smtp://…?tls=required`
//! (STARTTLS) or `smtps://user:pass@host` (TLS), from `PAPERGRAPH_SMTP_URL`. Every mail is
//! multipart: plain text and HTML.
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// One outgoing mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Extra headers, e.g. `List-Unsubscribe`.
    pub headers: Vec<(String, String)>,
}

/// The SMTP connection settings and sender.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// A mailer for `smtp_url`, sending as `from` (e.g. `papergraph <digest@example.org>`).
    pub fn new(smtp_url: &str, from: &str) -> Result<Mailer, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|e| {
                format!("PAPERGRAPH_SMTP_URL is not a usable SMTP URL ({e}); use smtp://host:port, smtp://host:port?tls=required or smtps://user:pass@host")
            })?
            .timeout(Some(std::time::Duration::from_secs(30)))
            .build();
        let from = from.parse::<Mailbox>().map_err(|e| {
            format!("the sender `{from}` is not a mailbox ({e}); use name@example.org")
        })?;
        Ok(Mailer { transport, from })
    }

    /// Sends one mail; the error says what failed (for logs and retries).
    pub async fn send(&self, mail: &Outgoing) -> Result<(), String> {
        let to = mail
            .to
            .parse::<Mailbox>()
            .map_err(|e| format!("bad recipient: {e}"))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone());
        for (name, value) in &mail.headers {
            builder = builder.raw_header(HeaderValue::new(
                HeaderName::new_from_ascii(name.clone())
                    .map_err(|e| format!("header {name}: {e}"))?,
                value.clone(),
            ));
        }
        let message = builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(mail.text.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(mail.html.clone()),
                    ),
            )
            .map_err(|e| format!("could not build the message: {e}"))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("SMTP delivery failed: {e}"))
    }
}

/// The confirmation mail of a new subscription: one link, valid for the given hours.
pub fn confirmation(to: &str, link: &str, hours: i64) -> Outgoing {
    let escaped = link.replace('&', "&amp;").replace('"', "&quot;");
    Outgoing {
        to: to.to_string(),
        subject: "Confirm your papergraph digest".into(),
        text: format!(
            "Someone (hopefully you) asked for papergraph's digest of Daily Papers at this address.\n\n\
             Confirm within {hours} hours:\n{link}\n\n\
             If it was not you, ignore this mail: nothing is sent without confirmation.\n"
        ),
        html: format!(
            "<p>Someone (hopefully you) asked for papergraph's digest of Daily Papers at this address.</p>\
             <p><a href=\"{escaped}\">Confirm the digest</a> (within {hours} hours).</p>\
             <p>If it was not you, ignore this mail: nothing is sent without confirmation.</p>"
        ),
        headers: Vec::new(),
    }
}

/// The mail to an address that is subscribed already: its (new) manage token.
pub fn manage(to: &str, token: &str) -> Outgoing {
    Outgoing {
        to: to.to_string(),
        subject: "Your papergraph digest".into(),
        text: format!(
            "This address already receives papergraph's digest. To see, change or end it, use this \
             manage token with digestSubscription, updateDigestSubscription or \
             unsubscribeFromDigest:\n{token}\n\nEarlier manage tokens no longer work.\n"
        ),
        html: format!(
            "<p>This address already receives papergraph's digest. To see, change or end it, use \
             this manage token:</p><p><code>{token}</code></p><p>Earlier manage tokens no longer work.</p>"
        ),
        headers: Vec::new(),
    }
}

/// What a digest mail shows.
pub struct DigestContent<'a> {
    pub to: &'a str,
    pub frequency: super::Frequency,
    /// First listing day covered.
    pub from: chrono::NaiveDate,
    /// Last listing day covered.
    pub to_day: chrono::NaiveDate,
    /// Most upvoted first.
    pub papers: &'a [crate::entities::paper::Model],
    /// Author names per paper id, in order.
    pub authors: &'a std::collections::HashMap<i64, Vec<String>>,
    /// The keywords and authors followed (for the first line).
    pub follows: &'a [String],
    pub public_url: &'a str,
}

/// Authors shown per paper before "and N more".
const AUTHORS_SHOWN: usize = 5;
/// Characters of the abstract shown when a paper has no AI summary.
const ABSTRACT_CHARS: usize = 300;

fn author_line(names: &[String]) -> String {
    let mut s = names
        .iter()
        .take(AUTHORS_SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > AUTHORS_SHOWN {
        s.push_str(&format!(" and {} more", names.len() - AUTHORS_SHOWN));
    }
    s
}

fn summary(p: &crate::entities::paper::Model) -> String {
    match p.ai_summary.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(s) => s.trim().to_string(),
        None => {
            let a = p.r#abstract.trim();
            if a.chars().count() <= ABSTRACT_CHARS {
                a.to_string()
            } else {
                let cut: String = a.chars().take(ABSTRACT_CHARS).collect();
                format!("{}…", cut.trim_end())
            }
        }
    }
}

/// A digest mail: every paper with its title, authors, upvotes, summary and links, and a
/// one-click unsubscribe (`List-Unsubscribe` with `List-Unsubscribe-Post`, RFC 8058) pointing
/// at `unsubscribe_link`.
pub fn digest(c: &DigestContent<'_>, unsubscribe_link: &str) -> Outgoing {
    use std::fmt::Write as _;
    let esc = crate::domain::escape_markup;
    let n = c.papers.len();
    let papers_word = if n == 1 { "paper" } else { "papers" };
    let (subject, covers) = match c.frequency {
        super::Frequency::Daily => (
            format!("Daily Papers digest for {}: {n} {papers_word}", c.to_day),
            format!("Daily Papers of {}", c.to_day),
        ),
        super::Frequency::Weekly => (
            format!(
                "Weekly Papers digest, {} to {}: {n} {papers_word}",
                c.from, c.to_day
            ),
            format!("Daily Papers of {} to {}", c.from, c.to_day),
        ),
    };
    let matching = if c.follows.is_empty() {
        String::new()
    } else {
        format!(" matching {}", c.follows.join(", "))
    };
    let mut text = format!("{n} {papers_word} from {covers}{matching}, most upvoted first.\n\n");
    let mut html = format!(
        "<div style=\"font-family:sans-serif;max-width:42em\"><p>{n} {papers_word} from {}{}, most upvoted first.</p>",
        esc(&covers),
        esc(&matching)
    );
    for (i, p) in c.papers.iter().enumerate() {
        let names = c.authors.get(&p.id).map(Vec::as_slice).unwrap_or(&[]);
        let authors = author_line(names);
        let hf = format!("https://huggingface.co/papers/{}", p.arxiv_id);
        let arxiv = format!("https://arxiv.org/abs/{}", p.arxiv_id);
        let summary = summary(p);
        let _ = write!(
            text,
            "{}. {}\n   {}\n   {} upvotes · {} comments\n   {}\n   Paper: {hf}\n   arXiv: {arxiv}\n",
            i + 1,
            p.title,
            authors,
            p.upvotes,
            p.num_comments,
            summary
        );
        if let Some(code) = &p.github_repo {
            let _ = writeln!(text, "   Code: {code}");
        }
        text.push('\n');
        let _ = write!(
            html,
            "<h3 style=\"margin-bottom:0.2em\"><a href=\"{}\">{}</a></h3><p style=\"margin:0;color:#555\">{}</p>\
             <p style=\"margin:0.2em 0\">▲ {} upvotes · {} comments</p><p style=\"margin:0.2em 0\">{}</p>\
             <p style=\"margin:0.2em 0\"><a href=\"{}\">Paper</a> · <a href=\"{}\">arXiv</a>",
            esc(&hf),
            esc(&p.title),
            esc(&authors),
            p.upvotes,
            p.num_comments,
            esc(&summary),
            esc(&hf),
            esc(&arxiv)
        );
        if let Some(code) = &p.github_repo {
            let _ = write!(html, " · <a href=\"{}\">Code</a>", esc(code));
        }
        html.push_str("</p>");
    }
    let _ = write!(
        text,
        "--\nYou receive this because this address subscribed to papergraph's digest at {}.\n\
         Unsubscribe in one click: {unsubscribe_link}\n\
         Change what you receive with your manage token (updateDigestSubscription).\n",
        c.public_url
    );
    let _ = write!(
        html,
        "<hr><p style=\"color:#555;font-size:small\">You receive this because this address subscribed to \
         papergraph's digest at {}. <a href=\"{}\">Unsubscribe</a> in one click; change what you \
         receive with your manage token (<code>updateDigestSubscription</code>).</p></div>",
        esc(c.public_url),
        esc(unsubscribe_link)
    );
    Outgoing {
        to: c.to.to_string(),
        subject,
        text,
        html,
        headers: vec![
            ("List-Unsubscribe".into(), format!("<{unsubscribe_link}>")),
            (
                "List-Unsubscribe-Post".into(),
                "List-Unsubscribe=One-Click".into(),
            ),
        ],
    }
}
