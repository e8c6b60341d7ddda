//! Nothing lost, nothing misleading: writes that meet another writer, and a database that goes away.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sea_orm::ActiveModelTrait;
use sea_orm::ActiveValue::{NotSet, Set};
use serde_json::{Value, json};

use crate::digest::{app_with_smtp, confirmation_token};

const SUBSCRIBE: &str =
    r#"mutation($i: SubscribeToDigestInput!) { subscribeToDigest(input: $i) { message } }"#;
const CONFIRM: &str =
    r#"mutation($t: String!) { confirmDigestSubscription(token: $t) { status manageToken } }"#;
const UPDATE: &str = r#"mutation($t: String!, $i: UpdateDigestSubscriptionInput!) {
    updateDigestSubscription(token: $t, input: $i) { frequency } }"#;
const UNSUBSCRIBE: &str =
    r#"mutation($t: String!) { unsubscribeFromDigest(token: $t) { message } }"#;

/// Another process's writer, as a sync beside the server is: short write transactions back to
/// back, every tenth held for over a second, until `stop`.
fn churn(opts: papergraph::config::DbOpts, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<u32> {
    tokio::spawn(async move {
        let (writer, _) = papergraph::app::connect(&opts).await.unwrap();
        let mut n = 0u32;
        while !stop.load(Ordering::Acquire) {
            let txn = papergraph::repo::begin_write(&writer).await.unwrap();
            papergraph::entities::sync_run::ActiveModel {
                id: NotSet,
                kind: Set("churn".into()),
                started_at: Set(chrono::Utc::now()),
                finished_at: Set(None),
                status: Set("running".into()),
                days_total: Set(0),
                days_ok: Set(0),
                days_failed: Set(0),
                papers_added: Set(0),
                papers_updated: Set(0),
                error: Set(None),
            }
            .insert(&txn)
            .await
            .unwrap();
            let hold = if n % 10 == 5 { 1200 } else { 30 };
            tokio::time::sleep(Duration::from_millis(hold)).await;
            txn.commit().await.unwrap();
            n += 1;
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        n
    })
}

#[tokio::test]
async fn digest_mutations_answer_normally_while_another_writer_holds_the_database() {
    let (app, sink) = app_with_smtp().await;
    let stop = Arc::new(AtomicBool::new(false));
    let writer = churn(app.opts.clone(), stop.clone());
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Five addresses, each through subscribe, confirm, update and unsubscribe: 20 calls, the
    // five chains at once.
    let chains = (0..5).map(|i| {
        let (app, sink) = (&app, &sink);
        async move {
            let email = format!("user{i}@example.org");
            let answer = |v: Value, what: &str| {
                assert!(v.get("errors").is_none(), "{what} for {email}: {v:#}");
                v["data"].clone()
            };
            answer(
                app.gql(SUBSCRIBE, json!({ "i": { "email": email } })).await,
                "subscribe",
            );
            let deadline = Instant::now() + Duration::from_secs(20);
            let mail = loop {
                let to = format!("<{email}>");
                if let Some(m) = sink.messages().into_iter().find(|m| m.to == [to.clone()]) {
                    break m;
                }
                assert!(Instant::now() < deadline, "no confirmation mail to {email}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            };
            let token = confirmation_token(&mail.data);
            let confirmed = answer(app.gql(CONFIRM, json!({ "t": token })).await, "confirm");
            assert_eq!(confirmed["confirmDigestSubscription"]["status"], "active");
            let manage = confirmed["confirmDigestSubscription"]["manageToken"]
                .as_str()
                .unwrap()
                .to_string();
            let updated = answer(
                app.gql(
                    UPDATE,
                    json!({ "t": manage, "i": { "frequency": "WEEKLY" } }),
                )
                .await,
                "update",
            );
            assert_eq!(updated["updateDigestSubscription"]["frequency"], "WEEKLY");
            answer(
                app.gql(UNSUBSCRIBE, json!({ "t": manage })).await,
                "unsubscribe",
            );
        }
    });
    futures_util::future::join_all(chains).await;
    stop.store(true, Ordering::Release);
    let commits = writer.await.unwrap();
    assert!(commits >= 1, "the other writer committed meanwhile");
    let ended = <papergraph::entities::digest_subscription::Entity as sea_orm::EntityTrait>::find()
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(ended.len(), 5);
    assert!(
        ended.iter().all(|s| s.status == "unsubscribed"),
        "{ended:?}"
    );
}

#[tokio::test]
async fn damaged_stored_subscriptions_are_errors_not_defaults() {
    use papergraph::digest::subscriptions;
    use papergraph::entities::digest_subscription;
    use sea_orm::EntityTrait;
    let (app, _sink) = app_with_smtp().await;
    let now = chrono::Utc::now();
    let interests = r#"{"keywords":["diffusion"],"authors":[],"minUpvotes":3,"maxPapers":10}"#;
    let subscriptions::Mail::Confirm { token, .. } =
        subscriptions::subscribe(&app.db, "ana@example.org", "weekly", interests, now)
            .await
            .unwrap()
            .unwrap()
    else {
        panic!("a new address gets a confirmation")
    };
    let (m, manage) = subscriptions::confirm(&app.db, &token, now)
        .await
        .unwrap()
        .unwrap();
    let damage = async |frequency: &str, interests: &str| {
        let mut a: digest_subscription::ActiveModel = digest_subscription::Entity::find_by_id(m.id)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .into();
        a.frequency = Set(frequency.into());
        a.interests = Set(interests.into());
        a.update(&app.db).await.unwrap();
        papergraph::events::data_changed();
    };
    let view =
        r#"query($t: String!) { digestSubscription(token: $t) { frequency keywords minUpvotes } }"#;
    assert_eq!(
        app.data(view, json!({ "t": manage })).await["digestSubscription"],
        json!({ "frequency": "WEEKLY", "keywords": ["diffusion"], "minUpvotes": 3 })
    );
    // An unknown frequency is not read as DAILY.
    damage("hourly", interests).await;
    assert_eq!(
        app.error_code(view, json!({ "t": manage })).await,
        "SUBSCRIPTION_UNREADABLE"
    );
    // Unreadable interests are not an empty subscription, and are not merged into one.
    damage("weekly", r#"{"keywords": ["diff"#).await;
    assert_eq!(
        app.error_code(view, json!({ "t": manage })).await,
        "SUBSCRIPTION_UNREADABLE"
    );
    assert_eq!(
        app.error_code(
            UPDATE,
            json!({ "t": manage, "i": { "frequency": "DAILY" } })
        )
        .await,
        "SUBSCRIPTION_UNREADABLE"
    );
    // Given whole, the settings replace what was damaged.
    let whole = json!({ "t": manage, "i": { "frequency": "DAILY", "keywords": ["video"],
        "authors": [], "minUpvotes": 0, "maxPapers": 5 } });
    assert_eq!(
        app.data(UPDATE, whole).await["updateDigestSubscription"]["frequency"],
        "DAILY"
    );
    assert_eq!(
        app.data(view, json!({ "t": manage })).await["digestSubscription"],
        json!({ "frequency": "DAILY", "keywords": ["video"], "minUpvotes": 0 })
    );
}
