//! The ceiling for a cached response: an axum server that answers every `GET`/`POST /graphql`
//! with the same bytes, read once from a file (a response papergraph gave), with the same
//! content type. Nothing is parsed, looked up or serialised, so wrk against it measures HTTP on
//! this machine and nothing else.
//!
//! With `STATIC_CONTENT_ENCODING=zstd` (say) the file holds bytes so encoded, and every answer
//! says so in `Content-Encoding`. With `STATIC_READ_BODY=1` it also reads each request's body
//! before answering, as a server answering a POST must: hyper's body channel then wakes the
//! connection's task once more.
//!
//! `cargo run --release --example static_bytes -- BODY_FILE [BIND=127.0.0.1:18090]`
use axum::body::Bytes;
use axum::http::HeaderValue;
use axum::http::header::{CONTENT_ENCODING, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::get;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(file) = args.next() else {
        eprintln!("usage: static_bytes BODY_FILE [BIND]");
        std::process::exit(2);
    };
    let bind = args.next().unwrap_or_else(|| "127.0.0.1:18090".into());
    let body = Bytes::from(std::fs::read(&file)?);
    let encoding = match std::env::var("STATIC_CONTENT_ENCODING") {
        Ok(e) if !e.is_empty() => match HeaderValue::from_str(&e) {
            Ok(v) => Some(v),
            Err(_) => {
                eprintln!("STATIC_CONTENT_ENCODING is not a header value: {e:?}");
                std::process::exit(2);
            }
        },
        _ => None,
    };
    let answer = move || {
        let body = body.clone();
        let encoding = encoding.clone();
        async move {
            let mut r = ([(CONTENT_TYPE, "application/json")], body).into_response();
            if let Some(e) = encoding {
                r.headers_mut().insert(CONTENT_ENCODING, e);
            }
            r
        }
    };
    let app = if std::env::var_os("STATIC_READ_BODY").is_some_and(|v| v == "1") {
        let read = move |request: Bytes| {
            let answer = answer.clone();
            async move {
                drop(request);
                answer().await
            }
        };
        axum::Router::new().route("/graphql", get(read.clone()).post(read))
    } else {
        axum::Router::new().route("/graphql", get(answer.clone()).post(answer))
    };
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    eprintln!("serving {file} on http://{bind}/graphql");
    axum::serve(listener, app).await
}
