//! The page a confirmation link opens: `GET /digest/confirm?token=…` shows a button (a GET
//! changes nothing, so mail scanners that follow links confirm nothing); its `POST` confirms
//! and shows the manage token once. `…/digest/unsubscribe?token=…` is the one-click unsubscribe
//! of every digest mail (RFC 8058: mail clients `POST` it with `List-Unsubscribe=One-Click`; a
//! person's browser `GET`s a page with a button).
use std::collections::HashMap;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::domain::escape_markup as escape;
use crate::http::AppState;

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    (
        status,
        Html(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width\"><title>{t}</title></head>\
             <body style=\"font-family:sans-serif;max-width:40em;margin:3em auto\"><h1>{t}</h1>{body}</body></html>",
            t = escape(title)
        )),
    )
        .into_response()
}

pub async fn confirm_form(Query(q): Query<HashMap<String, String>>) -> Response {
    let Some(token) = q.get("token").filter(|t| !t.is_empty()) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Link incomplete",
            "<p>This link has no token. Open the whole link from the confirmation mail.</p>",
        );
    };
    page(
        StatusCode::OK,
        "Confirm your digest",
        &format!(
            "<form method=\"post\" action=\"/digest/confirm\"><input type=\"hidden\" name=\"token\" value=\"{}\">\
             <button type=\"submit\">Confirm the digest</button></form>",
            escape(token)
        ),
    )
}

pub async fn confirm(
    State(state): State<AppState>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let token = form.get("token").cloned().unwrap_or_default();
    match crate::repo::subscriptions::confirm(&state.db, &token, chrono::Utc::now()).await {
        Ok(Ok((m, manage))) => page(
            StatusCode::OK,
            "Digest confirmed",
            &format!(
                "<p>{} will receive the {} digest.</p><p>Keep this manage token: it shows, changes \
                     or ends the digest (<code>digestSubscription</code>, <code>updateDigestSubscription</code>, \
                     <code>unsubscribeFromDigest</code>) and is shown only now:</p><p><code id=\"manage-token\">{}</code></p>",
                escape(&m.email),
                escape(&m.frequency),
                escape(&manage)
            ),
        ),
        Ok(Err(e)) => page(
            StatusCode::BAD_REQUEST,
            "Not confirmed",
            &format!("<p>{}</p>", escape(&e.to_string())),
        ),
        Err(e) => {
            tracing::error!(error = %e, "could not confirm a digest subscription");
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again shortly",
                "<p>The database did not answer; reload this page in a minute.</p>",
            )
        }
    }
}

pub async fn unsubscribe_form(Query(q): Query<HashMap<String, String>>) -> Response {
    let Some(token) = q.get("token").filter(|t| !t.is_empty()) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Link incomplete",
            "<p>This link has no token. Open the whole unsubscribe link from the digest mail.</p>",
        );
    };
    page(
        StatusCode::OK,
        "Unsubscribe from the digest",
        &format!(
            "<form method=\"post\" action=\"/digest/unsubscribe?token={}\">\
             <input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
             <button type=\"submit\">Unsubscribe</button></form>",
            escape(token)
        ),
    )
}

/// RFC 8058 one-click unsubscribe: the token is in the URL, the body says
/// `List-Unsubscribe=One-Click` (not required, so a plain form post works too).
pub async fn unsubscribe(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let token = q.get("token").cloned().unwrap_or_default();
    let found =
        crate::repo::deliveries::subscription_of_unsubscribe_token(&state.db, token.trim()).await;
    let result = match found {
        Ok(Some(id)) => {
            crate::repo::subscriptions::unsubscribe_by_link(&state.db, id, chrono::Utc::now()).await
        }
        Ok(None) => Ok(None),
        Err(e) => Err(e),
    };
    match result {
        Ok(Some(m)) => page(
            StatusCode::OK,
            "Unsubscribed",
            &format!(
                "<p>No more digests go to {}. To receive them again, subscribe again.</p>",
                escape(&m.email)
            ),
        ),
        Ok(None) => page(
            StatusCode::BAD_REQUEST,
            "Not unsubscribed",
            "<p>This unsubscribe link is not valid. Use the whole link from a digest mail, or \
             unsubscribeFromDigest with your manage token.</p>",
        ),
        Err(e) => {
            tracing::error!(error = %e, "could not unsubscribe through a digest link");
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again shortly",
                "<p>The database did not answer; try the link again in a minute.</p>",
            )
        }
    }
}
