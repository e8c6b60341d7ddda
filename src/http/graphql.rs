//! GraphQL over HTTP (the GraphQL-over-HTTP spec): media types, status codes, GET for queries only.
use crate::error::Code;
use axum::body::Bytes;
use axum::extract::{Query, State, rejection::QueryRejection};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sha2::Digest as _;

use super::cache::{CacheKey, Cached};
use super::compress::Encoding;
use crate::events;
use crate::http::AppState;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// The media type the client accepts for the response.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Accept {
    GraphqlResponseJson,
    Json,
}

fn negotiate(headers: &HeaderMap) -> Option<Accept> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(Accept::Json);
    };
    let types = || {
        accept
            .split(',')
            .map(|t| t.split(';').next().unwrap_or("").trim())
    };
    if types().any(|t| t.eq_ignore_ascii_case(GRAPHQL_RESPONSE_JSON)) {
        Some(Accept::GraphqlResponseJson)
    } else if types().any(|t| {
        [JSON, "*/*", "application/*", ""]
            .iter()
            .any(|m| t.eq_ignore_ascii_case(m))
    }) {
        Some(Accept::Json)
    } else {
        None
    }
}

/// A response carrying only request errors (nothing was executed).
fn request_error(status: StatusCode, accept: Accept, message: &str, code: Code) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code.as_str() } }]
    });
    (
        status,
        [(header::CONTENT_TYPE, media_of(accept))],
        body.to_string(),
    )
        .into_response()
}

fn not_acceptable() -> Response {
    request_error(
        StatusCode::NOT_ACCEPTABLE,
        Accept::Json,
        "send `Accept: application/graphql-response+json` or `application/json`",
        Code::NotAcceptable,
    )
}

fn media_of(accept: Accept) -> &'static str {
    match accept {
        Accept::GraphqlResponseJson => GRAPHQL_RESPONSE_JSON,
        Accept::Json => JSON,
    }
}

fn respond(status: StatusCode, media: &'static str, body: Bytes, cache: &'static str) -> Response {
    let mut r = (status, [(header::CONTENT_TYPE, media)], body).into_response();
    r.headers_mut()
        .insert("x-papergraph-cache", HeaderValue::from_static(cache));
    r
}

/// How the answer travels: whether it is validated (a GET, whose clean query answers carry an
/// `ETag`, and `Cache-Control` when configured) and the encoding the client takes.
#[derive(Clone, Copy)]
struct Delivery {
    validate: bool,
    encoding: Option<Encoding>,
}

/// Answers from the response cache when it can, else executes and caches a clean query result.
async fn execute(
    state: &AppState,
    request: async_graphql::Request,
    accept: Accept,
    client: Option<crate::graphql::cost::Client>,
    delivery: Delivery,
) -> Response {
    let request_key = crate::graphql::request_key(&request);
    let key = state
        .cache
        .enabled()
        .then(|| CacheKey::new(&request_key, media_of(accept)));
    if state.health.is_up()
        && let Some(hit) = key.as_ref().and_then(|k| state.cache.get(k))
    {
        return answer_hit(state, hit, accept, client.as_ref(), delivery).await;
    }
    // Boxed: a hit (above) never builds this future, which is kilobytes.
    let keys = Keys { request_key, key };
    Box::pin(execute_queued(
        state, request, keys, accept, client, delivery,
    ))
    .await
}

/// The request's key (`crate::graphql::request_key`) and its response cache key (`None`: the
/// cache is off).
struct Keys {
    request_key: String,
    key: Option<CacheKey>,
}

/// A cached answer, charged one point of a rate-limited client's budget.
async fn answer_hit(
    state: &AppState,
    hit: Cached,
    accept: Accept,
    client: Option<&crate::graphql::cost::Client>,
    delivery: Delivery,
) -> Response {
    let Some(client) = client else {
        return answer(state, hit, "hit", delivery).await;
    };
    if let Some(refused) = budget_spent(client, accept) {
        return refused;
    }
    let _ = client.limiter.spend(&client.key, 1);
    let mut r = answer(state, hit, "hit", delivery).await;
    rate_headers(&mut r, client, false);
    r
}

/// The answer to a client whose budget is spent (before anything runs), if it is.
fn budget_spent(client: &crate::graphql::cost::Client, accept: Accept) -> Option<Response> {
    let s = client.limiter.peek(&client.key);
    if s.remaining > 0 {
        return None;
    }
    let mut r = request_error(
        StatusCode::TOO_MANY_REQUESTS,
        accept,
        &format!(
            "rate limit: the {} points of this window are spent; retry in {} s",
            s.limit,
            s.reset_in.as_secs().max(1)
        ),
        Code::RateLimited,
    );
    rate_headers(&mut r, client, true);
    Some(r)
}

/// Executes in turn with the others (a bounded number at once), within the request timeout.
async fn execute_queued(
    state: &AppState,
    request: async_graphql::Request,
    keys: Keys,
    accept: Accept,
    client: Option<crate::graphql::cost::Client>,
    delivery: Delivery,
) -> Response {
    // A bounded number execute at once (a few per pooled connection); the rest wait up to
    // QUEUE_WAIT, then are told to come back, instead of piling up on the pool.
    let permit = match state.inflight.try_acquire() {
        Ok(p) => Ok(p),
        // No timer for a request that finds a free turn (most do).
        Err(_) => {
            match Box::pin(tokio::time::timeout(QUEUE_WAIT, state.inflight.acquire())).await {
                Ok(Ok(p)) => Ok(p),
                _ => Err(()),
            }
        }
    };
    let Ok(_permit) = permit else {
        return unavailable_for(
            accept,
            "the server is busy; retry in a second",
            Code::ServerBusy,
            1,
        );
    };
    match tokio::time::timeout(
        state.request_timeout,
        execute_limited(state, request, keys, accept, client, delivery),
    )
    .await
    {
        Ok(r) => r,
        Err(_) => {
            tracing::warn!(
                timeout_secs = state.request_timeout.as_secs(),
                "a GraphQL request ran out of time"
            );
            unavailable_for(
                accept,
                &format!(
                    "the request took longer than {} s and was stopped; ask for less, or retry",
                    state.request_timeout.as_secs()
                ),
                Code::RequestTimeout,
                1,
            )
        }
    }
}

async fn execute_limited(
    state: &AppState,
    request: async_graphql::Request,
    keys: Keys,
    accept: Accept,
    client: Option<crate::graphql::cost::Client>,
    delivery: Delivery,
) -> Response {
    let cost = std::sync::Arc::new(crate::graphql::cost::CostCell::default());
    let request = request.data(cost.clone());
    let Some(client) = client else {
        return execute_unlimited(state, request, keys, accept, &cost, None, delivery).await;
    };
    // An empty budget is refused before anything else.
    if let Some(refused) = budget_spent(&client, accept) {
        return refused;
    }
    let request = request.data(client.clone());
    let mut response =
        execute_unlimited(state, request, keys, accept, &cost, Some(&client), delivery).await;
    let refused = response.status() == StatusCode::TOO_MANY_REQUESTS;
    rate_headers(&mut response, &client, refused);
    response
}

async fn execute_unlimited(
    state: &AppState,
    request: async_graphql::Request,
    keys: Keys,
    accept: Accept,
    cost: &crate::graphql::cost::CostCell,
    client: Option<&crate::graphql::cost::Client>,
    delivery: Delivery,
) -> Response {
    let Keys { request_key, key } = keys;
    // While the database cannot be reached: what was cached before (stale: other replicas may
    // have written since), else a quick 503.
    let unavailable = || match key.as_ref().and_then(|k| state.cache.get_stale(k)) {
        Some(stale) => respond(stale.status, stale.media, stale.body, "stale"),
        None => database_unavailable(accept),
    };
    if !state.health.is_up() {
        return unavailable();
    }
    let generation = events::generation();
    tracing::Span::current().record(
        "operation",
        request.operation_name.as_deref().unwrap_or("anonymous"),
    );
    let mut health = state.health.subscribe();
    let executed = tokio::select! {
        // Boxed: this future is most of a handler's size, and a cache hit (which never runs it)
        // would otherwise copy it with the handler's future at every move.
        executed = Box::pin(state.schema.execute(request, &request_key, cost, client)) => executed,
        // The database went away while this request waited on it: answer now, not at the
        // pool's acquire timeout.
        _ = health.wait_for(|up| !*up) => return unavailable(),
    };
    let crate::graphql::Executed {
        response,
        kind,
        json,
    } = executed;
    if response.errors.iter().any(|e| {
        e.extensions
            .as_ref()
            .and_then(|x| x.get("code"))
            .is_some_and(|c| *c == async_graphql::Value::from(Code::DatabaseUnavailable))
    }) {
        state.health.suspect();
        return unavailable();
    }
    // A compiled request's answer comes serialised: data without errors, as the schema writes it.
    let compiled = json.is_some();
    let (status, media, body) = match json {
        Some(body) => (StatusCode::OK, media_of(accept), body),
        None => match serialise(&response, accept, cost.refused()) {
            Ok(answer) => answer,
            Err(e) => {
                tracing::error!(error = %e, "could not serialise a GraphQL response");
                return request_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    accept,
                    "internal error",
                    Code::InternalServerError,
                );
            }
        },
    };
    let body = Bytes::from(body);
    let clean = response.errors.is_empty() && kind == Some("query");
    let mut r = if clean && (delivery.validate || key.is_some()) {
        let etag = super::validators::etag(&body);
        let entry = Cached::new(generation, status, media, body, etag);
        if let Some(key) = key {
            state.cache.put(key, entry.clone());
        }
        answer(state, entry, "miss", delivery).await
    } else {
        respond(status, media, body, "miss")
    };
    if compiled {
        r.headers_mut()
            .insert("x-papergraph-plan", HeaderValue::from_static("compiled"));
    }
    r
}

/// A clean query answer: compressed from the entry's kept bytes when the client takes an
/// encoding, and for a GET, cacheable by HTTP (its `ETag`, `Vary: accept`, as the media type is
/// negotiated, and `Cache-Control` when the operator set a max age).
async fn answer(
    state: &AppState,
    entry: Cached,
    cache: &'static str,
    delivery: Delivery,
) -> Response {
    let encoded = match delivery.encoding {
        Some(e) if entry.body.len() >= super::compress::MIN_BYTES => {
            match entry.encoded.get(e, &entry.body).await {
                Ok(bytes) => Some((e, bytes)),
                Err(error) => {
                    tracing::warn!(%error, "could not compress a cached answer; sending it as it is");
                    None
                }
            }
        }
        _ => None,
    };
    let mut r = match encoded {
        Some((e, bytes)) => {
            let mut r = respond(entry.status, entry.media, bytes, cache);
            let h = r.headers_mut();
            h.insert(header::CONTENT_ENCODING, e.header());
            h.append(header::VARY, HeaderValue::from_static("accept-encoding"));
            r
        }
        None => respond(entry.status, entry.media, entry.body, cache),
    };
    if delivery.validate {
        let h = r.headers_mut();
        h.insert(header::ETAG, entry.etag);
        h.append(header::VARY, HeaderValue::from_static("accept"));
        if let Some(v) = &state.http_cache_control {
            h.insert(header::CACHE_CONTROL, v.clone());
        }
    }
    r
}

/// `304 Not Modified` for `r` when the request's `If-None-Match` names its `ETag`: its headers
/// (validator, caching, rate limit) without the body.
fn not_modified(headers: &HeaderMap, r: Response) -> Response {
    let matched = r
        .headers()
        .get(header::ETAG)
        .and_then(|tag| super::validators::if_none_match(headers, tag))
        .unwrap_or(false);
    if !matched {
        return r;
    }
    let (mut parts, _) = r.into_parts();
    parts.status = StatusCode::NOT_MODIFIED;
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::empty())
}

/// The answer while the database cannot be reached: 503 with `Retry-After`.
fn database_unavailable(accept: Accept) -> Response {
    unavailable_for(
        accept,
        &crate::error::unavailable_message(),
        Code::DatabaseUnavailable,
        crate::repo::health::RETRY_AFTER_SECS,
    )
}

/// 503 with `Retry-After: secs`: nothing was executed, and a retry then may succeed.
fn unavailable_for(accept: Accept, message: &str, code: Code, secs: u64) -> Response {
    let mut r = request_error(StatusCode::SERVICE_UNAVAILABLE, accept, message, code);
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    r
}

/// A response's status, media type and body. `rate_limited`: the client's budget refused the
/// query (before it ran).
fn serialise(
    response: &async_graphql::Response,
    accept: Accept,
    rate_limited: bool,
) -> serde_json::Result<(StatusCode, &'static str, Vec<u8>)> {
    // With the new media type, a request that never reached execution answers 4xx.
    let not_executed = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let (status, media) = match accept {
        // 429 whatever the media type.
        _ if rate_limited => (StatusCode::TOO_MANY_REQUESTS, media_of(accept)),
        Accept::GraphqlResponseJson if not_executed => {
            (StatusCode::BAD_REQUEST, GRAPHQL_RESPONSE_JSON)
        }
        Accept::GraphqlResponseJson => (StatusCode::OK, GRAPHQL_RESPONSE_JSON),
        Accept::Json => (StatusCode::OK, JSON),
    };
    // A request that failed before execution (parse or validation) has no `data` entry at all
    // (GraphQL spec, "Response Format"; the graphql-http audit's 5E5B and D586).
    let body = if not_executed {
        let mut v = serde_json::to_value(response)?;
        if let Some(o) = v.as_object_mut() {
            o.remove("data");
        }
        serde_json::to_vec(&v)?
    } else {
        serde_json::to_vec(response)?
    };
    Ok((status, media, body))
}

/// How long a request waits for a turn to execute before it is answered `SERVER_BUSY`.
const QUEUE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The longest query document accepted.
pub const MAX_QUERY_BYTES: usize = 64 * 1024;

/// Automatic persisted queries (Apollo's protocol): the documents seen with their SHA-256, so a
/// client may send only `extensions.persistedQuery.sha256Hash`. At most [`PERSISTED_MAX`],
/// the least used going first.
#[derive(Debug)]
pub struct PersistedQueries(moka::sync::Cache<String, std::sync::Arc<str>>);

/// Documents kept at most.
const PERSISTED_MAX: u64 = 10_000;

impl Default for PersistedQueries {
    fn default() -> Self {
        Self(moka::sync::Cache::new(PERSISTED_MAX))
    }
}

impl PersistedQueries {
    fn get(&self, hash: &str) -> Option<std::sync::Arc<str>> {
        self.0.get(hash)
    }

    fn put(&self, hash: String, query: &str) {
        self.0
            .entry(hash)
            .or_insert_with(|| std::sync::Arc::from(query));
    }
}

/// The document to run: the one sent (remembered under its hash when the request names one), or
/// the one remembered for the hash alone. `Err` is the answer to send instead.
fn document(
    state: &AppState,
    query: Option<String>,
    extensions: Option<&serde_json::Value>,
    accept: Accept,
) -> Result<Option<String>, Box<Response>> {
    let query = query.filter(|q| !q.trim().is_empty());
    if query.as_ref().is_some_and(|q| q.len() > MAX_QUERY_BYTES) {
        return Err(Box::new(request_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            accept,
            &format!("the query is longer than {MAX_QUERY_BYTES} bytes"),
            Code::QueryTooLong,
        )));
    }
    let Some(hash) = extensions
        .and_then(|e| e.get("persistedQuery"))
        .and_then(|p| p.get("sha256Hash"))
        .and_then(|h| h.as_str())
        .map(|h| h.to_ascii_lowercase())
    else {
        return Ok(query);
    };
    match query {
        Some(q) => {
            let digest = sha2::Sha256::digest(q.as_bytes());
            let actual: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            if actual != hash {
                return Err(Box::new(request_error(
                    StatusCode::BAD_REQUEST,
                    accept,
                    "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query",
                    Code::PersistedQueryHashMismatch,
                )));
            }
            state.persisted.put(hash, &q);
            Ok(Some(q))
        }
        None => match state.persisted.get(&hash) {
            Some(q) => Ok(Some(q.to_string())),
            // Apollo clients look for this message, then send the document with its hash.
            None => Err(Box::new(request_error(
                StatusCode::OK,
                accept,
                "PersistedQueryNotFound",
                Code::PersistedQueryNotFound,
            ))),
        },
    }
}

/// The client a request is charged to: a configured API key (`X-API-Key`), else the peer
/// address, or with a trusted proxy in front, the nearest untrusted `X-Forwarded-For` address.
pub(crate) fn client(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<std::net::IpAddr>,
) -> Option<crate::graphql::cost::Client> {
    let limits = state.limits.as_ref()?;
    if let Some(key) = headers.get("x-api-key").and_then(|v| v.to_str().ok())
        && limits.options.api_keys.iter().any(|k| k == key.trim())
    {
        let digest = sha2::Sha256::digest(key.trim().as_bytes());
        let id: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        return Some(crate::graphql::cost::Client {
            key: format!("key:{id}"),
            limiter: limits.by_key.clone(),
        });
    }
    let mut addr = peer;
    if let Some(p) = peer
        && limits.options.trusted_proxies.contains(&p)
    {
        let hops: Vec<std::net::IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|h| h.trim().parse().ok())
            .collect();
        if let Some(first_untrusted) = hops
            .iter()
            .rev()
            .find(|h| !limits.options.trusted_proxies.contains(h))
        {
            addr = Some(*first_untrusted);
        }
    }
    Some(crate::graphql::cost::Client {
        key: format!(
            "ip:{}",
            addr.map_or_else(|| "unknown".into(), |a| a.to_string())
        ),
        limiter: limits.by_address.clone(),
    })
}

/// `RateLimit-*` headers (IETF draft) and, when refused, `Retry-After`.
fn rate_headers(response: &mut Response, client: &crate::graphql::cost::Client, refused: bool) {
    let s = client.limiter.peek(&client.key);
    let reset = s.reset_in.as_secs().max(1);
    let h = response.headers_mut();
    let mut set = |name: &'static str, v: String| {
        if let Ok(v) = header::HeaderValue::from_str(&v) {
            h.insert(name, v);
        }
    };
    set("ratelimit-limit", s.limit.to_string());
    set("ratelimit-remaining", s.remaining.to_string());
    set("ratelimit-reset", reset.to_string());
    set(
        "ratelimit-policy",
        format!("{};w={}", s.limit, client.limiter.window.as_secs()),
    );
    if refused {
        set("retry-after", reset.to_string());
    }
}

/// `POST /graphql` with a JSON body `{query, operationName, variables, extensions}`.
pub async fn graphql_post(
    State(state): State<AppState>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(accept) = negotiate(&headers) else {
        return not_acceptable();
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case(JSON) && !media.eq_ignore_ascii_case(GRAPHQL_RESPONSE_JSON) {
        return request_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            accept,
            "send the request body as JSON with `Content-Type: application/json`",
            Code::UnsupportedMediaType,
        );
    }
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return request_error(
                StatusCode::BAD_REQUEST,
                accept,
                &format!(
                    "the body is not a GraphQL request ({e}); send {{\"query\": \"…\", \"variables\": {{…}}}}"
                ),
                Code::BadRequest,
            );
        }
    };
    let mut request = request;
    let extensions = (!request.extensions.is_empty())
        .then(|| serde_json::to_value(&request.extensions).ok())
        .flatten();
    match document(
        &state,
        Some(std::mem::take(&mut request.query)),
        extensions.as_ref(),
        accept,
    ) {
        Ok(Some(q)) => request.query = q,
        Ok(None) => {
            return request_error(
                StatusCode::BAD_REQUEST,
                accept,
                "`query` is empty",
                Code::BadRequest,
            );
        }
        Err(r) => return *r,
    }
    let peer = peer.map(|axum::Extension(axum::extract::ConnectInfo(addr))| addr.ip());
    let request = match peer {
        Some(ip) => request.data(crate::graphql::ClientAddr(ip)),
        None => request,
    };
    let request = match headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        Some(token) => request.data(crate::graphql::admin::Bearer(token.trim().to_string())),
        None => request,
    };
    let client = client(&state, &headers, peer);
    let delivery = Delivery {
        validate: false,
        encoding: Encoding::negotiate(&headers),
    };
    execute(&state, request, accept, client, delivery).await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetParams {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

/// `GET /graphql?query=…`: queries only; a browser without `query` gets GraphiQL.
pub async fn graphql_get(
    State(state): State<AppState>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    params: Result<Query<GetParams>, QueryRejection>,
) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let params = match params {
        Ok(Query(p)) => p,
        Err(e) => {
            return request_error(
                StatusCode::BAD_REQUEST,
                Accept::Json,
                &e.body_text(),
                Code::BadRequest,
            );
        }
    };
    let extensions = params
        .extensions
        .as_deref()
        .filter(|e| !e.is_empty())
        .and_then(|e| serde_json::from_str::<serde_json::Value>(e).ok());
    let query = if extensions.is_some() {
        match document(
            &state,
            params.query.clone(),
            extensions.as_ref(),
            negotiate(&headers).unwrap_or(Accept::Json),
        ) {
            Ok(q) => q,
            Err(r) => return *r,
        }
    } else {
        params.query.clone()
    };
    if query.as_ref().is_some_and(|q| q.len() > MAX_QUERY_BYTES) {
        return request_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            negotiate(&headers).unwrap_or(Accept::Json),
            &format!("the query is longer than {MAX_QUERY_BYTES} bytes"),
            Code::QueryTooLong,
        );
    }
    let Some(query) = query.filter(|q| !q.trim().is_empty()) else {
        if wants_html && state.graphiql {
            return super::graphiql::page();
        }
        return request_error(
            StatusCode::BAD_REQUEST,
            negotiate(&headers).unwrap_or(Accept::Json),
            "missing `query` parameter: GET /graphql?query={...}",
            Code::BadRequest,
        );
    };
    let Some(accept) = negotiate(&headers) else {
        return not_acceptable();
    };
    if is_mutation(&query, params.operation_name.as_deref()) {
        let mut r = request_error(
            StatusCode::METHOD_NOT_ALLOWED,
            accept,
            "mutations must be sent with POST",
            Code::MethodNotAllowed,
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    let mut request = async_graphql::Request::new(query);
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    if let Some(vars) = params.variables.filter(|v| !v.is_empty()) {
        match serde_json::from_str::<serde_json::Value>(&vars) {
            Ok(v @ serde_json::Value::Object(_)) => {
                request = request.variables(async_graphql::Variables::from_json(v));
            }
            _ => {
                return request_error(
                    StatusCode::BAD_REQUEST,
                    accept,
                    "`variables` must be a JSON object",
                    Code::BadRequest,
                );
            }
        }
    }
    if let Some(ext) = params.extensions.filter(|v| !v.is_empty())
        && !matches!(
            serde_json::from_str::<serde_json::Value>(&ext),
            Ok(serde_json::Value::Object(_))
        )
    {
        return request_error(
            StatusCode::BAD_REQUEST,
            accept,
            "`extensions` must be a JSON object",
            Code::BadRequest,
        );
    }
    let peer = peer.map(|axum::Extension(axum::extract::ConnectInfo(addr))| addr.ip());
    let client = client(&state, &headers, peer);
    let delivery = Delivery {
        validate: true,
        encoding: Encoding::negotiate(&headers),
    };
    let r = execute(&state, request, accept, client, delivery).await;
    not_modified(&headers, r)
}

/// Whether the operation that would run is a mutation (or subscription), which GET may not run.
fn is_mutation(query: &str, operation_name: Option<&str>) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    // Either needs its keyword in the document. Parsing it was 9 % of the server's CPU for a GET
    // of the daily list (perf, wrk c=8), and the request parses it again, once it is planned
    // not at all.
    if !query.contains("mutation") && !query.contains("subscription") {
        return false;
    }
    let Ok(doc) = async_graphql::parser::parse_query(query) else {
        return false;
    };
    let ty = match &doc.operations {
        DocumentOperations::Single(op) => Some(op.node.ty),
        DocumentOperations::Multiple(ops) => match operation_name {
            Some(name) => ops.get(name).map(|op| op.node.ty),
            None if ops.len() == 1 => ops.values().next().map(|op| op.node.ty),
            None => None,
        },
    };
    matches!(
        ty,
        Some(OperationType::Mutation | OperationType::Subscription)
    )
}

#[cfg(test)]
mod tests {
    use super::is_mutation;

    #[test]
    fn a_mutation_or_subscription_is_found_with_or_without_the_keyword_shortcut() {
        assert!(!is_mutation("{ papers { totalCount } }", None));
        assert!(!is_mutation("query Q { mutationCount: __typename }", None));
        assert!(is_mutation("mutation { x }", None));
        assert!(is_mutation(
            "  subscription S { paperAdded { arxivId } }",
            None
        ));
        let two = "query A { __typename } mutation B { x }";
        assert!(!is_mutation(two, Some("A")));
        assert!(is_mutation(two, Some("B")));
        assert!(
            !is_mutation(two, None),
            "ambiguous: the request fails later"
        );
        assert!(
            !is_mutation("mutation {", None),
            "unparsable: the request fails later"
        );
    }
}
