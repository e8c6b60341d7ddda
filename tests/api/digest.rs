//! `previewDigest`: the papers a digest with given interests would contain now.
use serde_json::{Value, json};

use crate::helpers::spawn_app;

const PREVIEW: &str = r#"query($i: DigestInterestsInput!) {
  previewDigest(input: $i) { from to papers { arxivId upvotes dailyDate title authors { name } } } }"#;

/// The token of the confirmation link in a captured mail (its quoted-printable text decoded:
/// soft line breaks, `=3D`).
pub fn confirmation_token(data: &str) -> String {
    let decoded = data.replace("=\n", "").replace("=3D", "=");
    decoded
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("http://papergraph.test/digest/confirm?token=")
        })
        .expect("the confirmation link is in the mail")
        .to_string()
}

/// An app with digests on, mailing to a fresh SMTP listener, links at http://papergraph.test.
pub async fn app_with_smtp() -> (crate::helpers::TestApp, crate::smtp::SmtpSink) {
    let sink = crate::smtp::SmtpSink::start().await;
    let service = papergraph::digest::service::DigestService::new(
        &sink.url(),
        "papergraph <digest@papergraph.test>",
        "http://papergraph.test",
    )
    .unwrap();
    let app = crate::helpers::spawn_app_with(papergraph::app::HttpOptions {
        digest: Some(std::sync::Arc::new(service)),
        ..papergraph::app::HttpOptions::default()
    })
    .await;
    (app, sink)
}

fn upvotes(papers: &Value) -> Vec<i64> {
    papers
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["upvotes"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_preview_holds_the_newest_days_matching_papers_most_upvoted_first() {
    let app = spawn_app().await;
    app.import_samples().await;
    // No interests: the newest day's most upvoted papers.
    let all = app.data(PREVIEW, json!({ "i": { "maxPapers": 5 } })).await["previewDigest"].clone();
    assert_eq!(all["from"], "2026-04-02");
    assert_eq!(all["to"], "2026-04-02");
    let top = app
        .data(
            r#"{ papers(filter: {dailyDate: "2026-04-02"}, orderBy: {field: UPVOTES}, first: 5) { nodes { upvotes } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(upvotes(&all["papers"]), upvotes(&top["papers"]["nodes"]));

    // A keyword: every paper matches it on that day, and the count agrees with the search.
    let word = all["papers"][0]["title"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .find(|w| w.len() > 6 && w.chars().all(char::is_alphabetic))
        .unwrap()
        .to_lowercase();
    let weekly = app
        .data(
            PREVIEW,
            json!({ "i": { "frequency": "WEEKLY", "keywords": [word], "maxPapers": 50 } }),
        )
        .await["previewDigest"]
        .clone();
    assert_eq!(weekly["from"], "2026-03-27");
    let search = app
        .data(
            r#"query($q: String!) { searchPapers(query: $q, filter: {dailyDateFrom: "2026-03-27", dailyDateTo: "2026-04-02"}, first: 50) { totalCount } }"#,
            json!({ "q": word }),
        )
        .await;
    let n = weekly["papers"].as_array().unwrap().len();
    assert!(n >= 1);
    assert_eq!(
        n as i64,
        search["searchPapers"]["totalCount"]
            .as_i64()
            .unwrap()
            .min(50)
    );
    let u = upvotes(&weekly["papers"]);
    assert!(u.windows(2).all(|w| w[0] >= w[1]), "{u:?}");

    // An author (folded) and a threshold.
    let name = all["papers"][0]["authors"][0]["name"]
        .as_str()
        .unwrap()
        .to_uppercase();
    let by_author = app
        .data(
            PREVIEW,
            json!({ "i": { "authors": [name], "minUpvotes": 1 } }),
        )
        .await["previewDigest"]
        .clone();
    assert!(
        by_author["papers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["arxivId"] == all["papers"][0]["arxivId"])
    );
    let none = app
        .data(PREVIEW, json!({ "i": { "minUpvotes": 1_000_000 } }))
        .await;
    assert_eq!(none["previewDigest"]["papers"], json!([]));
}

#[tokio::test]
async fn bad_interests_are_bad_user_input() {
    let app = spawn_app().await;
    for input in [
        json!({ "maxPapers": 0 }),
        json!({ "maxPapers": 51 }),
        json!({ "minUpvotes": -1 }),
        json!({ "keywords": ["\""] }),
        json!({ "authors": ["  "] }),
        json!({ "keywords": ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a10", "a11"] }),
    ] {
        assert_eq!(
            app.error_code(PREVIEW, json!({ "i": input })).await,
            "BAD_USER_INPUT",
            "{input}"
        );
    }
}

#[tokio::test]
async fn subscriptions_are_double_opt_in_with_hashed_single_use_tokens() {
    use chrono::{Duration, Utc};
    use papergraph::entities::digest_subscription as sub;
    use papergraph::repo::subscriptions::{self as subs, Mail, TokenError};
    use sea_orm::EntityTrait;

    let app = spawn_app().await;
    let db = &app.db;
    let t0 = Utc::now();
    let interests = r#"{"keywords":["diffusion"],"authors":[],"minUpvotes":0,"maxPapers":10}"#;
    let Mail::Confirm { email, token } =
        subs::subscribe(db, " Ana@Example.ORG ", "daily", interests, t0)
            .await
            .unwrap()
            .unwrap()
    else {
        panic!("a new address gets a confirmation");
    };
    assert_eq!(email, "Ana@example.org");
    // Within the hour, the same address (any case) gets no second mail.
    assert_eq!(
        subs::subscribe(
            db,
            "ana@example.org",
            "weekly",
            interests,
            t0 + Duration::minutes(5)
        )
        .await
        .unwrap()
        .unwrap(),
        Mail::None
    );
    assert!(
        subs::subscribe(db, "not-an-address", "daily", interests, t0)
            .await
            .unwrap()
            .is_err()
    );
    // Only hashes are stored.
    let rows = sub::Entity::find().all(db).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_ne!(rows[0].confirm_token_hash.as_deref(), Some(token.as_str()));
    assert_eq!(rows[0].status, "pending");

    // An expired link does not confirm; a fresh one (after the hour) does, once.
    assert_eq!(
        subs::confirm(db, &token, t0 + Duration::hours(49))
            .await
            .unwrap()
            .err(),
        Some(TokenError::Expired)
    );
    let Mail::Confirm { token, .. } = subs::subscribe(
        db,
        "ana@example.org",
        "weekly",
        interests,
        t0 + Duration::hours(49),
    )
    .await
    .unwrap()
    .unwrap() else {
        panic!("a pending address gets a new confirmation after the hour");
    };
    let (active, manage) = subs::confirm(db, &token, t0 + Duration::hours(50))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (active.status.as_str(), active.frequency.as_str()),
        ("active", "weekly")
    );
    assert_eq!(
        subs::confirm(db, &token, t0 + Duration::hours(50))
            .await
            .unwrap()
            .err(),
        Some(TokenError::Invalid),
        "confirmation tokens are single-use"
    );
    assert_eq!(
        subs::confirm(db, "made-up", t0).await.unwrap().err(),
        Some(TokenError::Invalid)
    );

    // The manage token changes interests and ends the subscription, then stops working.
    let changed = subs::update(db, &manage, "daily", "{}", t0 + Duration::hours(51))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.frequency, "daily");
    // Subscribing an active address rotates the manage link: the old one stops working.
    let Mail::Manage { token: rotated, .. } = subs::subscribe(
        db,
        "ANA@example.org",
        "daily",
        interests,
        t0 + Duration::hours(52),
    )
    .await
    .unwrap()
    .unwrap() else {
        panic!("an active address gets a manage link");
    };
    assert_eq!(
        subs::by_manage_token(db, &manage).await.unwrap().err(),
        Some(TokenError::Invalid)
    );
    subs::unsubscribe(db, &rotated, t0 + Duration::hours(53))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        subs::unsubscribe(db, &rotated, t0 + Duration::hours(53))
            .await
            .unwrap()
            .err(),
        Some(TokenError::Invalid)
    );
    let rows = sub::Entity::find().all(db).await.unwrap();
    assert_eq!(rows[0].status, "unsubscribed");
    assert!(rows[0].manage_token_hash.is_none());
}

#[tokio::test]
async fn a_confirmation_mail_reaches_a_real_smtp_listener_and_its_link_confirms() {
    use papergraph::digest::mailer::{Mailer, confirmation};
    use papergraph::repo::subscriptions::{self as subs, Mail};

    let app = spawn_app().await;
    let sink = crate::smtp::SmtpSink::start().await;
    let mailer = Mailer::new(&sink.url(), "papergraph <digest@papergraph.test>").unwrap();
    let now = chrono::Utc::now();
    let Mail::Confirm { email, token } =
        subs::subscribe(&app.db, "zoe@example.org", "daily", "{}", now)
            .await
            .unwrap()
            .unwrap()
    else {
        panic!("a new address gets a confirmation");
    };
    let link = format!("http://papergraph.test/digest/confirm?token={token}");
    mailer
        .send(&confirmation(&email, &link, subs::CONFIRM_TTL_HOURS))
        .await
        .unwrap();
    let got = sink.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].to, ["<zoe@example.org>"]);
    assert_eq!(got[0].from, "<digest@papergraph.test>");
    assert!(
        got[0]
            .data
            .contains("Subject: Confirm your papergraph digest")
    );
    assert!(got[0].data.contains("multipart/alternative"));
    assert!(got[0].data.contains("text/html"));
    // Follow the link out of the plain-text part (quoted-printable: soft breaks, `=3D`).
    let found = confirmation_token(&got[0].data);
    let (active, _) = subs::confirm(&app.db, &found, now).await.unwrap().unwrap();
    assert_eq!(active.status, "active");
    // An unreachable SMTP server is a clear error, not a hang or a panic.
    let dead = Mailer::new("smtp://127.0.0.1:1", "digest@papergraph.test").unwrap();
    let err = dead
        .send(&confirmation("zoe@example.org", &link, 48))
        .await
        .unwrap_err();
    assert!(err.contains("SMTP delivery failed"), "{err}");
    assert!(Mailer::new("ftp://nowhere", "digest@papergraph.test").is_err());
}

#[tokio::test]
async fn subscribing_through_graphql_mails_a_link_that_confirms_then_manage_and_unsubscribe() {
    let (app, sink) = app_with_smtp().await;
    app.import_samples().await;
    let subscribe =
        r#"mutation($i: SubscribeToDigestInput!) { subscribeToDigest(input: $i) { message } }"#;
    let input = json!({ "i": { "email": "Zoe@Example.org", "frequency": "WEEKLY", "keywords": ["diffusion"], "minUpvotes": 2 } });
    let first = app.data(subscribe, input.clone()).await;
    // A second request within the hour: the same answer, and no second mail.
    let again = app.data(subscribe, input).await;
    assert_eq!(first, again);
    let unknown = app
        .data(subscribe, json!({ "i": { "email": "nobody@example.org" } }))
        .await;
    assert_eq!(first, unknown, "the answer does not depend on the address");
    let mails = sink.messages();
    assert_eq!(mails.len(), 2, "one mail per address");
    let to_zoe = mails
        .iter()
        .find(|m| m.to == ["<Zoe@example.org>"])
        .expect("a mail to the normalised address");
    let token = confirmation_token(&to_zoe.data);

    // The link opens a page with a button; the GET alone confirms nothing.
    let link = app.url(&format!("/digest/confirm?token={token}"));
    let page = app.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("method=\"post\""));
    let pending =
        <papergraph::entities::digest_subscription::Entity as sea_orm::EntityTrait>::find()
            .all(&app.db)
            .await
            .unwrap();
    assert!(pending.iter().all(|s| s.status == "pending"));
    let confirm = r#"mutation($t: String!) { confirmDigestSubscription(token: $t) {
        email status frequency keywords minUpvotes maxPapers manageToken feedUrl } }"#;
    let sub = app.data(confirm, json!({ "t": token })).await["confirmDigestSubscription"].clone();
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["frequency"], "WEEKLY");
    assert_eq!(sub["keywords"], json!(["diffusion"]));
    assert_eq!(
        sub["feedUrl"],
        "http://papergraph.test/feeds/papers.atom?q=diffusion&minUpvotes=2"
    );
    let manage = sub["manageToken"].as_str().unwrap().to_string();
    assert_eq!(
        app.error_code(confirm, json!({ "t": token })).await,
        "INVALID_TOKEN",
        "a confirmation link works once"
    );

    let view = r#"query($t: String!) { digestSubscription(token: $t) { frequency maxPapers manageToken } }"#;
    let seen = app.data(view, json!({ "t": manage })).await;
    assert_eq!(seen["digestSubscription"]["manageToken"], Value::Null);
    let update = r#"mutation($t: String!, $i: UpdateDigestSubscriptionInput!) {
        updateDigestSubscription(token: $t, input: $i) { frequency maxPapers keywords } }"#;
    let updated = app
        .data(
            update,
            json!({ "t": manage, "i": { "frequency": "DAILY", "maxPapers": 3 } }),
        )
        .await;
    assert_eq!(
        updated["updateDigestSubscription"],
        json!({ "frequency": "DAILY", "maxPapers": 3, "keywords": ["diffusion"] })
    );
    assert_eq!(
        app.error_code(update, json!({ "t": manage, "i": { "maxPapers": 99 } }))
            .await,
        "BAD_USER_INPUT"
    );
    // The page's POST confirms too (the second address's link), once.
    let other_token = confirmation_token(
        &mails
            .iter()
            .find(|m| m.to == ["<nobody@example.org>"])
            .unwrap()
            .data,
    );
    let posted = app
        .client
        .post(app.url("/digest/confirm"))
        .form(&[("token", other_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    assert!(posted.text().await.unwrap().contains("manage-token"));
    let reposted = app
        .client
        .post(app.url("/digest/confirm"))
        .form(&[("token", other_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(reposted.status(), 400);

    let unsubscribe = r#"mutation($t: String!) { unsubscribeFromDigest(token: $t) { message } }"#;
    app.data(unsubscribe, json!({ "t": manage })).await;
    assert_eq!(
        app.error_code(view, json!({ "t": manage })).await,
        "INVALID_TOKEN"
    );
    assert_eq!(
        app.error_code(subscribe, json!({ "i": { "email": "not an address" } }))
            .await,
        "BAD_USER_INPUT"
    );
}

#[tokio::test]
async fn without_smtp_the_digest_mutations_say_digests_are_disabled() {
    let app = spawn_app().await;
    let code = app
        .error_code(
            r#"mutation { subscribeToDigest(input: {email: "a@example.org"}) { message } }"#,
            json!({}),
        )
        .await;
    assert_eq!(code, "DIGESTS_DISABLED");
    let code = app
        .error_code(
            r#"{ digestSubscription(token: "x") { status } }"#,
            json!({}),
        )
        .await;
    assert_eq!(code, "DIGESTS_DISABLED");
}

#[tokio::test]
async fn subscribe_requests_are_limited_per_client_address() {
    use papergraph::graphql::digest_limits::SUBSCRIBES_PER_CLIENT_HOUR;

    let (app, sink) = app_with_smtp().await;
    let subscribe =
        r#"mutation($e: String!) { subscribeToDigest(input: {email: $e}) { message } }"#;
    for n in 0..SUBSCRIBES_PER_CLIENT_HOUR {
        app.data(subscribe, json!({ "e": format!("reader{n}@example.org") }))
            .await;
    }
    assert_eq!(
        app.error_code(subscribe, json!({ "e": "one-more@example.org" }))
            .await,
        "RATE_LIMITED"
    );
    assert_eq!(sink.messages().len(), SUBSCRIBES_PER_CLIENT_HOUR as usize);
}
