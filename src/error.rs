//! Error policy. `anyhow` in the CLI and jobs; `AppError` at the API boundary, where every error
//! carries an `extensions.code` and internal causes are logged, never shown to the caller.
use async_graphql::ErrorExtensions;

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

    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadUserInput(_) => "BAD_USER_INPUT",
            AppError::Internal(_) => "INTERNAL_SERVER_ERROR",
            AppError::Busy => "SERVER_BUSY",
            AppError::Unavailable => "DATABASE_UNAVAILABLE",
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
pub fn coded(message: impl Into<String>, code: &'static str) -> async_graphql::Error {
    async_graphql::Error::new(message.into()).extend_with(|_, ext| ext.set("code", code))
}

/// The result type of resolvers.
pub type ApiResult<T> = Result<T, async_graphql::Error>;
