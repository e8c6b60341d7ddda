//! Digest queries: `previewDigest` shows what a digest with given interests would contain now,
//! so a frontend can show it before anyone subscribes.
use std::sync::Arc;

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use sea_orm::DatabaseConnection;

use super::paper::Paper;
use super::scalars::Date;
use crate::digest::{self, Frequency, Interests, StoredInterests};
use crate::error::{ApiResult, AppError, Code, coded};
use crate::search::SearchEngine;

/// How often a digest is sent.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum DigestFrequency {
    /// Each Daily Papers day's list.
    #[default]
    Daily,
    /// The seven listing days ending with the latest.
    Weekly,
}

/// What a digest follows. Papers match when they match any keyword (search syntax, as in
/// `searchPapers`) or have any of the authors; with neither, every paper of the period.
#[derive(InputObject, Clone, Debug)]
pub struct DigestInterestsInput {
    /// DAILY or WEEKLY.
    #[graphql(default)]
    pub frequency: DigestFrequency,
    /// Up to 10 search queries, e.g. `"diffusion"`, `"\"reinforcement learning\" -survey"`.
    #[graphql(default)]
    pub keywords: Vec<String>,
    /// Up to 10 author names (whole names, case- and accent-insensitive).
    #[graphql(default)]
    pub authors: Vec<String>,
    /// Only papers with at least this many upvotes.
    #[graphql(default)]
    pub min_upvotes: i32,
    /// At most this many papers (1–50), most upvoted first.
    #[graphql(default = 10)]
    pub max_papers: i32,
}

impl DigestInterestsInput {
    pub fn interests(&self) -> Result<Interests, AppError> {
        let frequency = self.frequency.into();
        let max_papers = u32::try_from(self.max_papers).unwrap_or(0);
        Interests::parse(
            frequency,
            &self.keywords,
            &self.authors,
            self.min_upvotes,
            max_papers,
        )
        .map_err(AppError::BadUserInput)
    }
}

/// The papers a digest would contain, and the listing days it covers.
#[derive(SimpleObject)]
pub struct DigestPreview {
    /// First listing day covered.
    pub from: Date,
    /// Last listing day covered (the newest stored day).
    pub to: Date,
    /// The papers, most upvoted first.
    pub papers: Vec<Paper>,
}

#[derive(Default)]
pub struct DigestQuery;

#[Object]
impl DigestQuery {
    /// The papers a digest with these interests would contain if it were sent now: from the
    /// newest stored Daily Papers day (DAILY) or the seven days ending with it (WEEKLY).
    async fn preview_digest(
        &self,
        ctx: &Context<'_>,
        input: DigestInterestsInput,
    ) -> ApiResult<DigestPreview> {
        let interests = input.interests()?;
        let db = ctx.data::<DatabaseConnection>()?;
        let engine = ctx.data::<Arc<SearchEngine>>()?;
        let today = chrono::Utc::now().date_naive();
        let day = digest::latest_day(db, today)
            .await
            .map_err(AppError::from)?
            .unwrap_or(today);
        let (from, to) = digest::period(interests.frequency, day);
        let rows = digest::build(db, engine, &interests, from, to)
            .await
            .map_err(AppError::from)?;
        Ok(DigestPreview {
            from: Date(from),
            to: Date(to),
            papers: Paper::page(db, rows),
        })
    }
}

/// The address a request came from (set by the HTTP layer).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub std::net::IpAddr);

/// Subscribe requests per client address and hour (on top of one mail per address an hour).
pub const SUBSCRIBES_PER_CLIENT_HOUR: u32 = 5;

/// Subscribe requests per client address in fixed one-hour windows (in this process).
pub struct SubscribeLimiter(crate::window::FixedWindow<std::net::IpAddr>);

impl Default for SubscribeLimiter {
    fn default() -> Self {
        SubscribeLimiter(crate::window::FixedWindow::new(
            u64::from(SUBSCRIBES_PER_CLIENT_HOUR),
            std::time::Duration::from_secs(3600),
        ))
    }
}

impl SubscribeLimiter {
    /// `Err(seconds to wait)` when the address is over its budget.
    fn spend(&self, ip: std::net::IpAddr) -> Result<(), u64> {
        self.0
            .spend(&ip, 1)
            .map(|_| ())
            .map_err(|s| s.reset_in.as_secs().max(1))
    }
}

/// The digest service, when SMTP is configured.
pub struct Digests(pub Option<Arc<crate::digest::service::DigestService>>);

fn service<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a Arc<crate::digest::service::DigestService>> {
    ctx.data::<Digests>()?.0.as_ref().ok_or_else(|| {
        coded(
            "email digests are disabled on this server: it has no SMTP relay (set PAPERGRAPH_SMTP_URL); feeds at /feeds/papers.atom need none",
            Code::DigestsDisabled,
        )
    })
}

fn token_error(e: crate::repo::subscriptions::TokenError) -> async_graphql::Error {
    use crate::repo::subscriptions::TokenError;
    let code = match e {
        TokenError::Invalid => Code::InvalidToken,
        TokenError::Expired => Code::ExpiredToken,
    };
    coded(e.to_string(), code)
}

impl From<DigestFrequency> for Frequency {
    fn from(f: DigestFrequency) -> Self {
        match f {
            DigestFrequency::Daily => Frequency::Daily,
            DigestFrequency::Weekly => Frequency::Weekly,
        }
    }
}

impl From<Frequency> for DigestFrequency {
    fn from(f: Frequency) -> Self {
        match f {
            Frequency::Daily => DigestFrequency::Daily,
            Frequency::Weekly => DigestFrequency::Weekly,
        }
    }
}

/// A stored subscription that cannot be read (edited by hand, or written by another version):
/// logged for the operator, and an error for the caller rather than a default.
fn unreadable(id: i64, error: String) -> async_graphql::Error {
    tracing::error!(subscription = id, %error, "a stored digest subscription is unreadable");
    coded(
        "this subscription's stored settings cannot be read; update it giving frequency, keywords, authors, minUpvotes and maxPapers, or unsubscribe and subscribe again",
        Code::SubscriptionUnreadable,
    )
}

/// Checks interests and gives what to store.
fn stored(input: &DigestInterestsInput) -> Result<(String, String), AppError> {
    input.interests()?;
    let s = StoredInterests {
        keywords: input.keywords.clone(),
        authors: input.authors.clone(),
        min_upvotes: input.min_upvotes,
        max_papers: input.max_papers,
    };
    let json = serde_json::to_string(&s).map_err(|e| AppError::Internal(e.into()))?;
    Ok((Frequency::from(input.frequency).as_str().to_string(), json))
}

/// Asks for a digest at an address. Every subscription starts with a confirmation mail.
#[derive(InputObject)]
pub struct SubscribeToDigestInput {
    /// Where to send the digest (a confirmation link goes there first).
    pub email: String,
    /// What the digest follows (the fields of `DigestInterestsInput`, inline).
    #[graphql(flatten)]
    pub interests: DigestInterestsInput,
}

/// Changes to a subscription; fields left out keep their value.
#[derive(InputObject)]
pub struct UpdateDigestSubscriptionInput {
    /// DAILY or WEEKLY.
    pub frequency: Option<DigestFrequency>,
    /// Up to 10 search queries (replaces the list).
    pub keywords: Option<Vec<String>>,
    /// Up to 10 author names (replaces the list).
    pub authors: Option<Vec<String>>,
    /// Only papers with at least this many upvotes.
    pub min_upvotes: Option<i32>,
    /// At most this many papers per digest (1–50).
    pub max_papers: Option<i32>,
}

/// The answer to `subscribeToDigest`: the same whether or not the address was known.
#[derive(SimpleObject)]
pub struct SubscribeToDigestPayload {
    /// What happens next (the same text for every address).
    pub message: String,
}

/// The answer to `unsubscribeFromDigest`.
#[derive(SimpleObject)]
pub struct UnsubscribeFromDigestPayload {
    /// Confirmation that no more digests go out.
    pub message: String,
}

/// A digest subscription, as its manage token shows it.
#[derive(SimpleObject)]
pub struct DigestSubscription {
    /// The address digests go to.
    pub email: String,
    /// `active` (or `pending` before confirmation).
    pub status: String,
    /// DAILY or WEEKLY.
    pub frequency: DigestFrequency,
    /// The search queries followed.
    pub keywords: Vec<String>,
    /// The author names followed.
    pub authors: Vec<String>,
    /// Only papers with at least this many upvotes.
    pub min_upvotes: i32,
    /// At most this many papers per digest.
    pub max_papers: i32,
    /// When the address confirmed.
    pub confirmed_at: Option<super::scalars::DateTime>,
    /// The token that manages this subscription (`digestSubscription`, `updateDigestSubscription`,
    /// `unsubscribeFromDigest`); given once, when the subscription is confirmed. Keep it.
    pub manage_token: Option<String>,
    /// An Atom feed of the same papers as the subscription's first interest, for feed readers.
    pub feed_url: String,
}

fn view(
    m: &crate::entities::digest_subscription::Model,
    manage_token: Option<String>,
    public_url: &str,
) -> ApiResult<DigestSubscription> {
    let i = StoredInterests::read(&m.interests).map_err(|e| unreadable(m.id, e))?;
    let frequency = Frequency::parse(&m.frequency).map_err(|e| unreadable(m.id, e))?;
    let mut params: Vec<(String, String)> = Vec::new();
    if let Some(k) = i.keywords.first() {
        params.push(("q".into(), k.clone()));
    } else if let Some(a) = i.authors.first() {
        params.push(("author".into(), a.clone()));
    }
    if i.min_upvotes > 0 {
        params.push(("minUpvotes".into(), i.min_upvotes.to_string()));
    }
    let base = format!("{public_url}/feeds/papers.atom");
    let feed_url = if params.is_empty() {
        base
    } else {
        reqwest::Url::parse_with_params(&base, &params)
            .map(String::from)
            .unwrap_or(base)
    };
    Ok(DigestSubscription {
        email: m.email.clone(),
        status: m.status.as_str().to_string(),
        frequency: frequency.into(),
        keywords: i.keywords,
        authors: i.authors,
        min_upvotes: i.min_upvotes,
        max_papers: i.max_papers,
        confirmed_at: m.confirmed_at.map(super::scalars::DateTime),
        manage_token,
        feed_url,
    })
}

#[derive(Default)]
pub struct DigestMutation;

#[Object]
impl DigestMutation {
    /// Asks for a digest at an address: a confirmation link is mailed (double opt-in), at most
    /// one mail per address an hour. The answer is the same whether or not the address is known.
    async fn subscribe_to_digest(
        &self,
        ctx: &Context<'_>,
        input: SubscribeToDigestInput,
    ) -> ApiResult<SubscribeToDigestPayload> {
        use crate::repo::subscriptions::{self as subs, Mail};
        let service = service(ctx)?;
        if let Some(ClientAddr(ip)) = ctx.data_opt::<ClientAddr>()
            && let Err(wait) = ctx.data::<Arc<SubscribeLimiter>>()?.spend(*ip)
        {
            return Err(coded(
                format!(
                    "too many subscribe requests from your address; try again in {} minutes",
                    wait.div_ceil(60)
                ),
                Code::RateLimited,
            ));
        }
        let (frequency, interests) = stored(&input.interests)?;
        let db = ctx.data::<DatabaseConnection>()?;
        let now = chrono::Utc::now();
        let mail = subs::subscribe(db, &input.email, &frequency, &interests, now)
            .await
            .map_err(AppError::from)?
            .map_err(AppError::BadUserInput)?;
        let outgoing = match mail {
            Mail::Confirm { email, token } => Some(crate::digest::mailer::confirmation(
                &email,
                &service.confirm_link(&token),
                subs::CONFIRM_TTL_HOURS,
            )),
            Mail::Manage { email, token } => Some(crate::digest::mailer::manage(&email, &token)),
            Mail::None => None,
        };
        if let Some(m) = outgoing
            && let Err(e) = service.mailer.send(&m).await
        {
            // The answer stays the same; the failure is ours to see.
            tracing::error!(error = %e, "could not send a digest subscription mail");
        }
        Ok(SubscribeToDigestPayload {
            message: "If the address can receive mail, a message is on its way: follow its link to confirm (or to manage an existing digest).".into(),
        })
    }

    /// Activates a subscription from the token of its confirmation link (single use, valid 48
    /// hours); the answer carries the manage token, once.
    async fn confirm_digest_subscription(
        &self,
        ctx: &Context<'_>,
        token: String,
    ) -> ApiResult<DigestSubscription> {
        let service = service(ctx)?;
        let db = ctx.data::<DatabaseConnection>()?;
        let (m, manage) = crate::repo::subscriptions::confirm(db, &token, chrono::Utc::now())
            .await
            .map_err(AppError::from)?
            .map_err(token_error)?;
        view(&m, Some(manage), &service.public_url)
    }

    /// Changes what a subscription follows and how often.
    async fn update_digest_subscription(
        &self,
        ctx: &Context<'_>,
        token: String,
        input: UpdateDigestSubscriptionInput,
    ) -> ApiResult<DigestSubscription> {
        let service = service(ctx)?;
        let db = ctx.data::<DatabaseConnection>()?;
        let current = crate::repo::subscriptions::by_manage_token(db, &token)
            .await
            .map_err(AppError::from)?
            .map_err(token_error)?;
        // Fields left out keep their stored value; unreadable stored settings can only be
        // replaced whole.
        let was = StoredInterests::read(&current.interests);
        let kept = || was.clone().map_err(|e| unreadable(current.id, e));
        let merged = DigestInterestsInput {
            frequency: match input.frequency {
                Some(f) => f,
                None => Frequency::parse(&current.frequency)
                    .map_err(|e| unreadable(current.id, e))?
                    .into(),
            },
            keywords: match input.keywords {
                Some(k) => k,
                None => kept()?.keywords,
            },
            authors: match input.authors {
                Some(a) => a,
                None => kept()?.authors,
            },
            min_upvotes: match input.min_upvotes {
                Some(n) => n,
                None => kept()?.min_upvotes,
            },
            max_papers: match input.max_papers {
                Some(n) => n,
                None => kept()?.max_papers,
            },
        };
        let (frequency, interests) = stored(&merged)?;
        let m = crate::repo::subscriptions::update(
            db,
            &token,
            &frequency,
            &interests,
            chrono::Utc::now(),
        )
        .await
        .map_err(AppError::from)?
        .map_err(token_error)?;
        view(&m, None, &service.public_url)
    }

    /// Ends a subscription; its manage token stops working.
    async fn unsubscribe_from_digest(
        &self,
        ctx: &Context<'_>,
        token: String,
    ) -> ApiResult<UnsubscribeFromDigestPayload> {
        service(ctx)?;
        let db = ctx.data::<DatabaseConnection>()?;
        crate::repo::subscriptions::unsubscribe(db, &token, chrono::Utc::now())
            .await
            .map_err(AppError::from)?
            .map_err(token_error)?;
        Ok(UnsubscribeFromDigestPayload {
            message: "Unsubscribed: no more digests go to this address.".into(),
        })
    }
}

/// The root of all mutations.
#[derive(async_graphql::MergedObject, Default)]
pub struct Mutation(DigestMutation, super::admin::AdminMutation);

#[derive(Default)]
pub struct DigestSubscriptionQuery;

#[Object]
impl DigestSubscriptionQuery {
    /// The active subscription of a manage token: what it receives and its feed.
    async fn digest_subscription(
        &self,
        ctx: &Context<'_>,
        token: String,
    ) -> ApiResult<DigestSubscription> {
        let service = service(ctx)?;
        let db = ctx.data::<DatabaseConnection>()?;
        let m = crate::repo::subscriptions::by_manage_token(db, &token)
            .await
            .map_err(AppError::from)?
            .map_err(token_error)?;
        view(&m, None, &service.public_url)
    }
}
