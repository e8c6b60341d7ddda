//! The GraphQL schema: roots, object types, inputs, DataLoaders, and the extension that gives
//! every error an `extensions.code`.
pub mod admin;
mod author;
mod batch;
mod connection;
pub mod cost;
mod digest;
mod ids;
mod inputs;
mod live;
mod paper;
mod query;
pub mod scalars;
mod search;

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextRequest,
    NextValidation,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{
    Response, Schema, SchemaBuilder, ServerError, ServerResult, ValidationResult, Variables,
};
use sea_orm::DatabaseConnection;

pub use digest::{ClientAddr, Mutation};

/// Limits of the digest mutations.
pub mod digest_limits {
    pub use super::digest::SUBSCRIBES_PER_CLIENT_HOUR;
}
pub use inputs::PaperFilter;
pub use live::Subscription;
pub use query::Query;

/// The papergraph schema type.
pub type ApiSchema = Schema<Query, Mutation, Subscription>;

/// Depth limit: deep enough for GraphiQL's introspection query (its type references nest
/// `ofType` nine levels) and for `papers → authors → author → papers → authors → author`.
pub const MAX_DEPTH: usize = 20;

fn builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(Query::default(), Mutation::default(), Subscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(cost::MAX_COST)
        .extension(ErrorCodes)
}

/// The schema with its database handle and keyword search index.
pub fn build_schema(
    db: DatabaseConnection,
    search: Arc<crate::repo::search::SearchEngine>,
    digest: Option<Arc<crate::digest::service::DigestService>>,
    bus: Arc<crate::live::Bus>,
    introspection: bool,
    admin: admin::Admin,
) -> ApiSchema {
    let builder = if introspection {
        builder()
    } else {
        builder().disable_introspection()
    };
    builder
        .data(db)
        .data(bus)
        .data(admin)
        .data(search)
        .data(digest::Digests(digest))
        .data(digest::SubscribeLimiter::default())
        .finish()
}

/// The SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}

/// Adds `extensions.code` to errors that do not carry one, in Apollo's vocabulary:
/// `GRAPHQL_PARSE_FAILED`, `GRAPHQL_VALIDATION_FAILED`, `BAD_USER_INPUT`, `INTERNAL_SERVER_ERROR`.
struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExt {
            cost: std::sync::atomic::AtomicU64::new(u64::MAX),
            operations: std::sync::Mutex::new(Vec::new()),
            kind: std::sync::Mutex::new(None),
        })
    }
}

struct ErrorCodesExt {
    /// The request's cost once validated (`u64::MAX` before); reported in `extensions.cost`.
    cost: std::sync::atomic::AtomicU64,
    /// The parsed document's operations (name, type), for the metrics' operation type.
    operations: std::sync::Mutex<Vec<(Option<String>, &'static str)>>,
    /// The type of the operation executed (none when the request failed before).
    kind: std::sync::Mutex<Option<&'static str>>,
}

fn has_code(e: &ServerError) -> bool {
    e.extensions.as_ref().and_then(|x| x.get("code")).is_some()
}

fn set_code(e: &mut ServerError, code: &str) {
    if !has_code(e) {
        e.extensions
            .get_or_insert_with(Default::default)
            .set("code", code);
    }
}

/// Input coercion failures (bad scalars, wrong types, missing variables) are the caller's to fix.
fn is_input_error(message: &str) -> bool {
    [
        "Invalid value for argument",
        "Failed to parse",
        "Variable \"",
        "Invalid value",
    ]
    .iter()
    .any(|m| message.contains(m))
}

#[async_graphql::async_trait::async_trait]
impl Extension for ErrorCodesExt {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        let _ = ctx;
        let codes: Vec<&str> = response
            .errors
            .iter()
            .filter_map(|e| match e.extensions.as_ref()?.get("code")? {
                async_graphql::Value::String(c) => Some(c.as_str()),
                _ => None,
            })
            .collect();
        let kind = *self.kind.lock().unwrap_or_else(|e| e.into_inner());
        crate::metrics::graphql_operation(kind, &codes);
        let cost = self.cost.load(std::sync::atomic::Ordering::Relaxed);
        if cost != u64::MAX {
            response = response.extension("cost", async_graphql::Value::from(cost));
        }
        for e in &mut response.errors {
            let code = if is_input_error(&e.message) {
                "BAD_USER_INPUT"
            } else {
                "INTERNAL_SERVER_ERROR"
            };
            set_code(e, code);
        }
        response
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let parsed = next.run(ctx, query, variables).await;
        if let Ok(doc) = &parsed {
            use async_graphql::parser::types::{DocumentOperations, OperationType};
            let name = |ty: OperationType| match ty {
                OperationType::Query => "query",
                OperationType::Mutation => "mutation",
                OperationType::Subscription => "subscription",
            };
            let ops = match &doc.operations {
                DocumentOperations::Single(op) => vec![(None, name(op.node.ty))],
                DocumentOperations::Multiple(ops) => ops
                    .iter()
                    .map(|(n, op)| (Some(n.to_string()), name(op.node.ty)))
                    .collect(),
            };
            *self.operations.lock().unwrap_or_else(|e| e.into_inner()) = ops;
        }
        parsed.map_err(|mut e| {
            if e.message.contains("recursion depth") {
                e.message = format!("the query nests too deep ({}); flatten it", e.message);
                set_code(&mut e, "QUERY_TOO_DEEP");
            }
            set_code(&mut e, "GRAPHQL_PARSE_FAILED");
            e
        })
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let kind = {
            let ops = self.operations.lock().unwrap_or_else(|e| e.into_inner());
            match (ops.as_slice(), operation_name) {
                ([(None, ty)], _) => Some(*ty),
                ([(_, ty)], None) => Some(*ty),
                (ops, Some(wanted)) => ops
                    .iter()
                    .find(|(n, _)| n.as_deref() == Some(wanted))
                    .map(|(_, ty)| *ty),
                _ => None,
            }
        };
        *self.kind.lock().unwrap_or_else(|e| e.into_inner()) = kind;
        next.run(ctx, operation_name).await
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await.map_err(|mut errors| {
            for e in &mut errors {
                let code = if is_input_error(&e.message) {
                    "BAD_USER_INPUT"
                } else if e.message.contains("too complex") {
                    e.message = format!(
                        "the query costs more than {} points (connections count their `first`/`last` items); ask for fewer items or fields",
                        cost::MAX_COST
                    );
                    "QUERY_TOO_COMPLEX"
                } else if e.message.contains("nested too deep") {
                    e.message = format!(
                        "the query nests deeper than {MAX_DEPTH} levels; flatten it"
                    );
                    "QUERY_TOO_DEEP"
                } else {
                    "GRAPHQL_VALIDATION_FAILED"
                };
                set_code(e, code);
            }
            errors
        })?;
        let spent = result.complexity as u64;
        self.cost.store(spent, std::sync::atomic::Ordering::Relaxed);
        if let Some(cell) = ctx.data_opt::<Arc<cost::CostCell>>() {
            cell.0.store(spent, std::sync::atomic::Ordering::Relaxed);
        }
        // The caller's budget pays for the query before it runs.
        if let Some(client) = ctx.data_opt::<cost::Client>()
            && let Err(s) = client.limiter.spend(&client.key, spent.max(1))
        {
            if let Some(cell) = ctx.data_opt::<Arc<cost::CostCell>>() {
                cell.1.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            let mut e = ServerError::new(
                format!(
                    "rate limit: this query costs {spent} and {} of {} points are left in this window; retry in {} s",
                    s.remaining,
                    s.limit,
                    s.reset_in.as_secs().max(1)
                ),
                None,
            );
            let mut ext = async_graphql::ErrorExtensionValues::default();
            ext.set("code", "RATE_LIMITED");
            ext.set("retryAfter", s.reset_in.as_secs().max(1));
            e.extensions = Some(ext);
            return Err(vec![e]);
        }
        Ok(result)
    }
}
