//! Error policy. `anyhow` in the CLI and jobs; `AppError` at the API boundary, where every error
//! carries an `extensions.code` and internal causes are logged, never shown to the caller.
use async_graphql::ErrorExtensions;

/// Every `extensions.code` the API answers: one vocabulary, in Apollo's style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// The caller sent something invalid; the message says what to send instead.
    BadUserInput,
    /// The HTTP request is not a GraphQL request (bad JSON, a missing query).
    BadRequest,
    /// The client's budget for this window is spent (`extensions.retryAfter`).
    RateLimited,
    /// Something failed on the server's side; the details are logged.
    InternalServerError,
    /// The database cannot be reached; retry after `Retry-After`.
    DatabaseUnavailable,
    /// Too many requests at once, or a database lock held past its timeout; retry shortly.
    ServerBusy,
    /// The document is longer than the server takes.
    QueryTooLong,
    /// The document nests deeper than the server takes.
    QueryTooDeep,
    /// The request body's media type is not JSON.
    UnsupportedMediaType,
    /// An admin mutation without `Authorization: Bearer`.
    Unauthenticated,
    /// A requested sync is already queued or running on this server.
    SyncInProgress,
    /// Another replica leads the sync and holds its lock.
    SyncBusy,
    /// A stored digest subscription cannot be read.
    SubscriptionUnreadable,
    /// The request ran longer than the server allows.
    RequestTimeout,
    /// The query costs more than one request may.
    QueryTooComplex,
    /// A persisted query's hash without its document, not seen before.
    PersistedQueryNotFound,
    /// A persisted query's hash that is not its document's.
    PersistedQueryHashMismatch,
    /// No media type the server answers in is acceptable.
    NotAcceptable,
    /// A mutation over GET, or another HTTP method.
    MethodNotAllowed,
    /// A digest token that is not valid (or used already).
    InvalidToken,
    /// The document does not validate against the schema.
    GraphqlValidationFailed,
    /// The document does not parse.
    GraphqlParseFailed,
    /// An admin mutation with a wrong token.
    Forbidden,
    /// A digest confirmation token past its time.
    ExpiredToken,
    /// Digests are off (no SMTP relay configured).
    DigestsDisabled,
    /// Admin mutations are off (no admin token configured).
    AdminDisabled,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::BadUserInput => "BAD_USER_INPUT",
            Code::BadRequest => "BAD_REQUEST",
            Code::RateLimited => "RATE_LIMITED",
            Code::InternalServerError => "INTERNAL_SERVER_ERROR",
            Code::DatabaseUnavailable => "DATABASE_UNAVAILABLE",
            Code::ServerBusy => "SERVER_BUSY",
            Code::QueryTooLong => "QUERY_TOO_LONG",
            Code::QueryTooDeep => "QUERY_TOO_DEEP",
            Code::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Code::Unauthenticated => "UNAUTHENTICATED",
            Code::SyncInProgress => "SYNC_IN_PROGRESS",
            Code::SyncBusy => "SYNC_BUSY",
            Code::SubscriptionUnreadable => "SUBSCRIPTION_UNREADABLE",
            Code::RequestTimeout => "REQUEST_TIMEOUT",
            Code::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Code::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Code::PersistedQueryHashMismatch => "PERSISTED_QUERY_HASH_MISMATCH",
            Code::NotAcceptable => "NOT_ACCEPTABLE",
            Code::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Code::InvalidToken => "INVALID_TOKEN",
            Code::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            Code::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            Code::Forbidden => "FORBIDDEN",
            Code::ExpiredToken => "EXPIRED_TOKEN",
            Code::DigestsDisabled => "DIGESTS_DISABLED",
            Code::AdminDisabled => "ADMIN_DISABLED",
        }
    }
}

impl From<Code> for async_graphql::Value {
    fn from(code: Code) -> Self {
        async_graphql::Value::from(code.as_str())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The API's error: each variant maps to one client-facing code. It deliberately has no
/// `Display`, so that it can only become a GraphQL error through the conversion below, which
/// attaches the code (async-graphql converts any `Display` type, without one).
#[derive(Debug)]
pub enum AppError {
    /// The caller sent something invalid; the message says what to send instead.
    BadUserInput(String),
    /// Something failed on our side (database, bug). Logged with details; the client sees a
    /// generic message.
    Internal(anyhow::Error),
    /// The server is overloaded (no database connection came free in time): retry shortly.
    Busy,
    /// The database cannot be reached: retry once it is back.
    Unavailable,
}

impl AppError {
    pub fn bad_input(msg: impl Into<String>) -> Self {
        AppError::BadUserInput(msg.into())
    }

    pub fn code(&self) -> Code {
        match self {
            AppError::BadUserInput(_) => Code::BadUserInput,
            AppError::Internal(_) => Code::InternalServerError,
            AppError::Busy => Code::ServerBusy,
            AppError::Unavailable => Code::DatabaseUnavailable,
        }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        if crate::repo::health::is_outage(&e) {
            tracing::warn!(error = %e, "the database cannot be reached");
            return AppError::Unavailable;
        }
        // Waiting too long for a pooled connection is load, not a bug.
        if matches!(&e, sea_orm::DbErr::ConnectionAcquire(_)) {
            tracing::warn!(error = %e, "no database connection came free in time");
            return AppError::Busy;
        }
        // SQLite's busy timeout ran out behind a long write elsewhere: also load, not a bug.
        if e.to_string().contains("database is locked") {
            tracing::warn!(error = %e, "the SQLite database stayed locked past the busy timeout");
            return AppError::Busy;
        }
        AppError::Internal(e.into())
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(e: AppError) -> Self {
        if let AppError::Internal(cause) = &e {
            tracing::error!(error = %format!("{cause:#}"), "internal error while resolving a request");
        }
        let code = e.code();
        let message = match &e {
            AppError::Internal(_) => {
                "internal error; the server logged the details, please retry later".to_string()
            }
            AppError::BadUserInput(m) => m.clone(),
            AppError::Busy => "the server is busy; retry in a second".to_string(),
            AppError::Unavailable => unavailable_message(),
        };
        let error = coded(message, code);
        match e {
            AppError::Unavailable => error.extend_with(|_, x| {
                x.set("retryAfter", crate::repo::health::RETRY_AFTER_SECS);
            }),
            _ => error,
        }
    }
}

/// What a request that needs the database is told while it cannot be reached.
pub fn unavailable_message() -> String {
    format!(
        "the database cannot be reached; retry in {} s (answers cached before the outage are still served)",
        crate::repo::health::RETRY_AFTER_SECS
    )
}

/// A GraphQL error with `extensions.code` (for codes beyond `AppError`'s, e.g. `INVALID_TOKEN`).
pub fn coded(message: impl Into<String>, code: Code) -> async_graphql::Error {
    async_graphql::Error::new(message.into()).extend_with(|_, ext| ext.set("code", code.as_str()))
}

/// The result type of resolvers.
pub type ApiResult<T> = Result<T, async_graphql::Error>;
