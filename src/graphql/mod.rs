//! The GraphQL schema: roots, object types, inputs, DataLoaders, and the extension that gives
//! every error an `extensions.code`.
pub mod admin;
mod author;
mod batch;
mod compiled;
mod connection;
pub mod cost;
mod digest;
mod facets;
mod hub;
mod ids;
mod inputs;
mod live;
mod order;
mod organizations;
mod paper;
mod query;
pub mod scalars;
mod search;

use crate::error::Code;
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
pub use connection::listed_fields;
pub use inputs::PaperFilter;
pub use live::Subscription;
pub use query::Query;

/// The papergraph schema type.
pub type ApiSchema = Schema<Query, Mutation, Subscription>;

/// Depth limit: deep enough for GraphiQL's introspection query (its type references nest
/// `ofType` nine levels) and for `papers → authors → author → papers → authors → author`.
pub const MAX_DEPTH: usize = 20;

fn builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    bare_builder().extension(ErrorCodes)
}

/// The schema without the `ErrorCodes` extension. async-graphql runs every field of every object
/// through the extensions' resolve chain (looking the field up in the registry on the way) when a
/// schema has any extension; without one it calls the resolver directly, which saved a fifth of
/// the server's CPU per uncached daily-list request (bench/peer.sh's query, 525 -> 416 us).
fn bare_builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(Query::default(), Mutation::default(), Subscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(cost::MAX_COST)
}

/// The schema planned requests run on: [`bare_builder`]'s, validating in async-graphql's fast
/// mode (cycles, uploads, and the complexity and depth limits). A plan exists only for a request
/// (document, operation and variables) that passed strict validation on this same schema.
fn planned_builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    bare_builder().validation_mode(async_graphql::ValidationMode::Fast)
}

/// The schema with its database handle and keyword search index.
#[allow(clippy::too_many_arguments)]
pub fn build_schema(
    db: DatabaseConnection,
    direct: Option<Arc<crate::repo::direct::Direct>>,
    search: Arc<crate::search::SearchEngine>,
    digest: Option<Arc<crate::digest::service::DigestService>>,
    bus: Arc<crate::live::Bus>,
    introspection: bool,
    admin: admin::Admin,
    detail_refresh: crate::repo::details::Refresh,
) -> Executor {
    let limiter = Arc::new(digest::SubscribeLimiter::default());
    let suggester = crate::search::suggest::Suggester::new(db.clone());
    let with_data = |builder: SchemaBuilder<Query, Mutation, Subscription>| {
        let builder = if introspection {
            builder
        } else {
            builder.disable_introspection()
        };
        builder
            .data(db.clone())
            .data(connection::Reads(direct.clone()))
            .data(bus.clone())
            .data(admin.clone())
            .data(search.clone())
            .data(suggester.clone())
            .data(digest::Digests(digest.clone()))
            .data(limiter.clone())
            .data(detail_refresh)
            .finish()
    };
    Executor {
        schema: with_data(builder()),
        bare: with_data(planned_builder()),
        plans: Arc::default(),
        db,
        reads: connection::Reads(direct),
    }
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

fn set_code(e: &mut ServerError, code: Code) {
    if !has_code(e) {
        e.extensions
            .get_or_insert_with(Default::default)
            .set("code", code.as_str());
    }
}

/// Input coercion failures (bad scalars, wrong types, missing variables) are the caller's to fix.
fn is_input_error(message: &str) -> bool {
    [
        "Invalid value for argument",
        "Failed to parse",
        "Variable \"",
        "Invalid value",
        // An explicit or omitted-variable null for an argument that takes none.
        "Expected input type",
    ]
    .iter()
    .any(|m| message.contains(m))
}

#[async_graphql::async_trait::async_trait]
impl Extension for ErrorCodesExt {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let response = next.run(ctx).await;
        let kind = *self.kind.lock().unwrap_or_else(|e| e.into_inner());
        let cost = self.cost.load(std::sync::atomic::Ordering::Relaxed);
        finish(response, kind, (cost != u64::MAX).then_some(cost))
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
            *self.operations.lock().unwrap_or_else(|e| e.into_inner()) = operations(doc);
        }
        parsed.map_err(|mut e| {
            if e.message.contains("recursion depth") {
                e.message = format!("the query nests too deep ({}); flatten it", e.message);
                set_code(&mut e, Code::QueryTooDeep);
            }
            set_code(&mut e, Code::GraphqlParseFailed);
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
            kind_of(&ops, operation_name)
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
                    Code::BadUserInput
                } else if e.message.contains("too complex") {
                    e.message = format!(
                        "the query costs more than {} points (connections count their `first`/`last` items); ask for fewer items or fields",
                        cost::MAX_COST
                    );
                    Code::QueryTooComplex
                } else if e.message.contains("nested too deep") {
                    e.message = format!(
                        "the query nests deeper than {MAX_DEPTH} levels; flatten it"
                    );
                    Code::QueryTooDeep
                } else {
                    Code::GraphqlValidationFailed
                };
                set_code(e, code);
            }
            errors
        })?;
        let spent = result.complexity as u64;
        self.cost.store(spent, std::sync::atomic::Ordering::Relaxed);
        let cell = ctx.data_opt::<Arc<cost::CostCell>>().map(|c| &**c);
        charge(spent, cell, ctx.data_opt::<cost::Client>()).map_err(|e| vec![e])?;
        Ok(result)
    }
}

/// The operations of a parsed document: (name, type).
fn operations(doc: &ExecutableDocument) -> Vec<(Option<String>, &'static str)> {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    let name = |ty: OperationType| match ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    };
    match &doc.operations {
        DocumentOperations::Single(op) => vec![(None, name(op.node.ty))],
        DocumentOperations::Multiple(ops) => ops
            .iter()
            .map(|(n, op)| (Some(n.to_string()), name(op.node.ty)))
            .collect(),
    }
}

/// The type of the operation a request runs (none when the name matches none).
fn kind_of(
    ops: &[(Option<String>, &'static str)],
    operation_name: Option<&str>,
) -> Option<&'static str> {
    match (ops, operation_name) {
        ([(None, ty)], _) => Some(*ty),
        ([(_, ty)], None) => Some(*ty),
        (ops, Some(wanted)) => ops
            .iter()
            .find(|(n, _)| n.as_deref() == Some(wanted))
            .map(|(_, ty)| *ty),
        _ => None,
    }
}

/// Records a validated query's cost in the request's cell, and charges it to the client's
/// budget before it runs (the error to answer when the budget refuses it).
fn charge(
    spent: u64,
    cell: Option<&cost::CostCell>,
    client: Option<&cost::Client>,
) -> Result<(), ServerError> {
    use std::sync::atomic::Ordering::Relaxed;
    if let Some(cell) = cell {
        cell.0.store(spent, Relaxed);
        cell.2.store(true, Relaxed);
    }
    if let Some(client) = client
        && let Err(s) = client.limiter.spend(&client.key, spent.max(1))
    {
        if let Some(cell) = cell {
            cell.1.store(true, Relaxed);
        }
        return Err(rate_limited(spent, &s));
    }
    Ok(())
}

/// The error of a query the client's budget refused.
fn rate_limited(spent: u64, s: &cost::Standing) -> ServerError {
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
    ext.set("code", Code::RateLimited);
    ext.set("retryAfter", s.reset_in.as_secs().max(1));
    e.extensions = Some(ext);
    e
}

/// What every response gets on its way out: the operation and error metrics, `extensions.cost`
/// once the query was validated, and a code on every error that has none.
fn finish(mut response: Response, kind: Option<&'static str>, cost: Option<u64>) -> Response {
    let codes: Vec<&str> = response
        .errors
        .iter()
        .filter_map(|e| match e.extensions.as_ref()?.get("code")? {
            async_graphql::Value::String(c) => Some(c.as_str()),
            _ => None,
        })
        .collect();
    crate::metrics::graphql_operation(kind, &codes);
    if let Some(cost) = cost {
        response = response.extension("cost", async_graphql::Value::from(cost));
    }
    for e in &mut response.errors {
        let code = if is_input_error(&e.message) {
            Code::BadUserInput
        } else {
            Code::InternalServerError
        };
        set_code(e, code);
    }
    response
}

/// A request as the HTTP endpoint runs it, after its first run: the parsed document, what
/// validation found it costs, and its operation type.
struct Plan {
    doc: ExecutableDocument,
    cost: u64,
    kind: Option<&'static str>,
    /// The request compiled, when it asks only for what [`compiled`] takes.
    compiled: Option<compiled::Compiled>,
}

/// Plans by request (document, operation name and variables, which the cost can depend on).
#[derive(Default)]
struct Plans {
    map: std::collections::HashMap<String, Arc<Plan>>,
    /// Bytes of the keys (the documents are about as big again, parsed).
    bytes: usize,
}

/// Plans are forgotten all at once past this many bytes of keys.
const PLANS_MAX_BYTES: usize = 4 << 20;
/// Documents longer than this are not planned (they run through the full schema every time).
const PLAN_MAX_QUERY: usize = 16 << 10;

/// The schema, twice. `schema` has the `ErrorCodes` extension (parse and validation codes, the
/// cost that rate limiting charges, metrics); websockets use it, and HTTP requests on their first
/// run. A request that ran once is planned: its parsed document, its cost and its operation type
/// are kept, and its next runs go through `bare`, the same schema without the extension (see
/// [`bare_builder`]), charged and finished by the same code as the extension does. Validation
/// still runs on every request (async-graphql always validates), so a plan never lets through
/// what the schema would refuse. A planned request that asks only for paper lists is compiled
/// (see [`compiled`]): it runs without the schema, the same request that validated, with the same
/// variables, answered in the same bytes.
#[derive(Clone)]
pub struct Executor {
    pub schema: ApiSchema,
    bare: ApiSchema,
    plans: Arc<std::sync::Mutex<Plans>>,
    db: DatabaseConnection,
    reads: connection::Reads,
}

impl Executor {
    /// Runs one HTTP request. `key` is its [`request_key`]; `cost` is the request's
    /// [`cost::CostCell`] (also in its data); `client`, whose budget pays (also in its data).
    pub async fn execute(
        &self,
        mut request: async_graphql::Request,
        key: &str,
        cost: &cost::CostCell,
        client: Option<&cost::Client>,
    ) -> Executed {
        use std::sync::atomic::Ordering::Relaxed;
        let plan = {
            let plans = self.plans.lock().unwrap_or_else(|e| e.into_inner());
            plans.map.get(key).cloned()
        };
        if let Some(plan) = plan {
            if let Err(e) = charge(plan.cost, Some(cost), client) {
                let refused = Response::from_errors(vec![e]);
                return Executed {
                    response: finish(refused, plan.kind, Some(plan.cost)),
                    kind: plan.kind,
                    json: None,
                };
            }
            if let Some(compiled) = &plan.compiled {
                match compiled.run(&self.db, &self.reads).await {
                    Ok(json) => {
                        crate::metrics::graphql_operation(plan.kind, &[]);
                        return Executed {
                            response: Response::default(),
                            kind: plan.kind,
                            json: Some(json),
                        };
                    }
                    // The schema runs it again, and answers the error as it always does.
                    Err(e) => tracing::debug!(error = ?e, "a compiled request's read failed"),
                }
            }
            request.set_parsed_query(plan.doc.clone());
            let op = request.operation_name.clone();
            let mut response = self.bare.execute(request).await;
            in_document_order(&mut response, &plan.doc, op.as_deref());
            return Executed {
                response: finish(response, plan.kind, Some(plan.cost)),
                kind: plan.kind,
                json: None,
            };
        }
        let (query, op) = (request.query.clone(), request.operation_name.clone());
        let variables = request.variables.clone();
        let mut response = self.schema.execute(request).await;
        // What validated (and was not refused) is planned: its next runs skip the extension.
        // (The extension parsed the document too, but keeps it to itself.)
        let parsed = (cost.2.load(Relaxed) && !cost.1.load(Relaxed))
            .then(|| async_graphql::parser::parse_query(&query).ok())
            .flatten();
        let Some(doc) = parsed else {
            return Executed {
                response,
                kind: None,
                json: None,
            };
        };
        let kind = kind_of(&operations(&doc), op.as_deref());
        in_document_order(&mut response, &doc, op.as_deref());
        if query.len() <= PLAN_MAX_QUERY {
            let spent = cost.0.load(Relaxed);
            let plan = Arc::new(Plan {
                compiled: compiled::compile(&doc, op.as_deref(), &variables, spent),
                doc,
                cost: spent,
                kind,
            });
            let mut plans = self.plans.lock().unwrap_or_else(|e| e.into_inner());
            if plans.bytes + key.len() > PLANS_MAX_BYTES {
                *plans = Plans::default();
            }
            plans.bytes += key.len();
            plans.map.insert(key.to_owned(), plan);
        }
        Executed {
            response,
            kind,
            json: None,
        }
    }
}

/// Puts a response's objects in the document's order (see [`order`]).
fn in_document_order(response: &mut Response, doc: &ExecutableDocument, op: Option<&str>) {
    order::order_as_document(&mut response.data, doc, op);
}

/// A response, with the type of the operation that ran (`None` when the request did not get
/// past validation).
pub struct Executed {
    pub response: Response,
    pub kind: Option<&'static str>,
    /// The response already serialised (a compiled request's): `response` is then empty, and
    /// this is a clean answer (data, no errors) to send as it is.
    pub json: Option<Vec<u8>>,
}

/// What identifies a request: its operation name, variables (as JSON) and document. Plans are
/// kept by it, and the response cache's keys are made from it.
pub fn request_key(request: &async_graphql::Request) -> String {
    let variables = serde_json::to_string(&request.variables).unwrap_or_default();
    let op = request.operation_name.as_deref().unwrap_or("");
    let mut k = String::with_capacity(op.len() + variables.len() + request.query.len() + 2);
    for part in [op, variables.as_str(), request.query.as_str()] {
        k.push_str(part);
        k.push('\u{0}');
    }
    k
}
