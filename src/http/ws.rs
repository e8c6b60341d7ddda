//! GraphQL subscriptions over websockets at `/graphql/ws`: the `graphql-transport-ws` protocol
//! (graphql-ws) and the legacy `graphql-ws` one (subscriptions-transport-ws), chosen by the
//! `Sec-WebSocket-Protocol` header. A client that stops reading is dropped after
//! [`SEND_TIMEOUT`] rather than holding up anything; when the server shuts down, every socket gets
//! a close frame (1001, going away).
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, WebSocketProtocols, WsMessage};
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt, future};

use crate::http::AppState;

/// How long one message may wait for a client to take it before the client is dropped.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes a socket reads at once.
const READ_BUFFER: usize = 4 * 1024;
/// The largest message a client may send (a subscribe with its variables).
pub const MAX_MESSAGE: usize = 256 * 1024;
/// How long a client has to send `connection_init`.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The first subprotocol the client offers that we speak; `graphql-transport-ws` when it names
/// none.
fn protocol(headers: &HeaderMap) -> WebSocketProtocols {
    headers
        .get_all(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| p.trim().parse::<WebSocketProtocols>().ok())
        .unwrap_or(WebSocketProtocols::GraphQLWS)
}

pub async fn graphql_ws(
    State(state): State<AppState>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let protocol = protocol(&headers);
    // Subscriptions are charged to the same budget as queries (their cost once, at subscribe).
    let peer = peer.map(|axum::Extension(axum::extract::ConnectInfo(addr))| addr.ip());
    let client = super::graphql::client(&state, &headers, peer);
    // Small buffers: tungstenite's 128 KiB read and write buffers made an idle subscriber cost
    // ~150 KB (bench/live.sh). Messages here are small (one operation or one event).
    upgrade
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| serve(socket, state, protocol, client))
}

async fn serve(
    socket: WebSocket,
    state: AppState,
    protocol: WebSocketProtocols,
    client: Option<crate::graphql::cost::Client>,
) {
    let mut closing = state.closing.subscribe();
    if *closing.borrow() {
        return;
    }
    crate::metrics::websocket(1);
    state.open_sockets.send_modify(|n| *n += 1);
    struct Closed(std::sync::Arc<tokio::sync::watch::Sender<usize>>);
    impl Drop for Closed {
        fn drop(&mut self) {
            crate::metrics::websocket(-1);
            self.0.send_modify(|n| *n = n.saturating_sub(1));
        }
    }
    let _closed = Closed(state.open_sockets.clone());
    let (mut sink, stream) = socket.split();
    // graphql-transport-ws: a `subscribe` before `connection_init` closes with 4401, a second
    // `connection_init` with 4429 (async-graphql closes with 1011 / accepts them). The input
    // ends there, and the loop below sends the close frame.
    let violation: Arc<Mutex<Option<(u16, &'static str)>>> = Arc::default();
    let check = violation.clone();
    let mut initialised = false;
    let strict = protocol == WebSocketProtocols::GraphQLWS;
    let input = stream
        .take_while(|r| future::ready(r.is_ok()))
        .filter_map(|r| {
            future::ready(match r {
                Ok(m @ (Message::Text(_) | Message::Binary(_))) => Some(m.into_data()),
                _ => None,
            })
        })
        .take_while(move |data| {
            if !strict {
                return future::ready(true);
            }
            #[derive(serde::Deserialize)]
            struct Kind<'a> {
                #[serde(rename = "type", borrow)]
                kind: Option<&'a str>,
            }
            let kind = serde_json::from_slice::<Kind<'_>>(data)
                .ok()
                .and_then(|k| k.kind);
            let broken = match kind {
                Some("connection_init") if initialised => {
                    Some((4429, "Too many initialisation requests"))
                }
                Some("connection_init") => {
                    initialised = true;
                    None
                }
                Some("subscribe") if !initialised => Some((4401, "Unauthorized")),
                _ => None,
            };
            if let Some(b) = broken {
                *check.lock().unwrap_or_else(|e| e.into_inner()) = Some(b);
            }
            future::ready(broken.is_none())
        });
    // No inactivity timeout: graphql-ws clients do not ping unless asked to, and an idle
    // subscriber is the normal case.
    let mut data = async_graphql::Data::default();
    if let Some(client) = client {
        data.insert(client);
    }
    let output = async_graphql::http::WebSocket::new(state.schema.schema.clone(), input, protocol)
        .connection_data(data);
    futures_util::pin_mut!(output);
    // The protocol's first answer is the acknowledgement of `connection_init`.
    let init = tokio::time::sleep(INIT_TIMEOUT);
    futures_util::pin_mut!(init);
    let mut acknowledged = false;
    loop {
        let item = tokio::select! {
            item = output.next() => {
                acknowledged = true;
                item
            }
            _ = &mut init, if !acknowledged => {
                let _ = tokio::time::timeout(
                    SEND_TIMEOUT,
                    sink.send(Message::Close(Some(CloseFrame {
                        code: 4408,
                        reason: "Connection initialisation timeout".into(),
                    }))),
                )
                .await;
                return;
            }
            _ = closing.changed() => {
                let _ = tokio::time::timeout(
                    SEND_TIMEOUT,
                    sink.send(Message::Close(Some(CloseFrame {
                        code: 1001,
                        reason: "the server is shutting down".into(),
                    }))),
                )
                .await;
                return;
            }
        };
        let message = match item {
            Some(WsMessage::Text(text)) => Message::Text(text.into()),
            Some(WsMessage::Close(code, reason)) => Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })),
            None => {
                let broken = *violation.lock().unwrap_or_else(|e| e.into_inner());
                if let Some((code, reason)) = broken {
                    let frame = Message::Close(Some(CloseFrame {
                        code,
                        reason: reason.into(),
                    }));
                    let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(frame)).await;
                }
                return;
            }
        };
        let close = matches!(message, Message::Close(_));
        match tokio::time::timeout(SEND_TIMEOUT, sink.send(message)).await {
            Ok(Ok(())) if !close => {}
            Ok(Ok(())) | Ok(Err(_)) => return,
            Err(_) => {
                tracing::info!("dropping a websocket client that stopped reading");
                return;
            }
        }
    }
}
