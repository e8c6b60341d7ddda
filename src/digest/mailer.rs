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
