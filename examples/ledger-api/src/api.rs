//! HTTP: routes, auth, input validation (clear 4xx with a JSON error body, never a 500 for a
//! client mistake unless a fault says so), and the ledger's rules.

use crate::db;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use example_support::{ApiError, ApiResult, Faults, invalid, not_found, object, reply as ok, text};
use rusqlite::Connection;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub struct App {
    pub db: Mutex<Connection>,
    pub faults: Faults,
    pub token: String,
}

type Shared = Arc<App>;

pub fn router(app: Shared) -> Router {
    let protected = Router::new()
        .route("/accounts", post(create_account).get(list_accounts))
        .route("/accounts/{id}", get(get_account).put(put_account))
        .route("/accounts/{id}/transactions", get(account_transactions))
        .route("/accounts/{id}/snapshots", get(account_snapshots))
        .route("/transactions/{id}", get(get_transaction))
        .route("/obligations", get(list_obligations))
        .route("/obligations/{key}", get(get_obligation))
        .route("/tools/record_transaction_bundle", post(record_transaction_bundle))
        .route("/tools/record_balance_snapshot", post(record_balance_snapshot))
        .route("/tools/create_or_update_obligation", post(create_or_update_obligation))
        .nest_service("/mcp", crate::mcp::streamable_http(app.clone()))
        .route_layer(middleware::from_fn_with_state(app.clone(), require_token));
    example_support::around(protected, include_str!("../openapi.json")).with_state(app)
}

async fn require_token(State(app): State<Shared>, request: Request, next: Next) -> Response {
    if app.faults.on("auth-not-enforced") {
        return next.run(request).await;
    }
    if example_support::has_bearer(request.headers(), &app.token) {
        return next.run(request).await;
    }
    example_support::unauthorized()
}

fn integer(body: &Map<String, Value>, field: &str) -> Result<i64, ApiError> {
    match body.get(field) {
        Some(v) => v.as_i64().ok_or_else(|| invalid(format!("{field} must be an integer (minor units)"))),
        None => Err(invalid(format!("{field} is required"))),
    }
}

/// `YYYY-MM-DD` with a real month and day.
fn date<'a>(body: &'a Map<String, Value>, field: &str) -> Result<&'a str, ApiError> {
    let d = text(body, field)?;
    let b = d.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let shaped =
        b.len() == 10 && b[4] == b'-' && b[7] == b'-' && digits(0..4) && digits(5..7) && digits(8..10);
    let valid = shaped && {
        let year: u32 = d[0..4].parse().unwrap_or(0);
        let month: u32 = d[5..7].parse().unwrap_or(0);
        let day: u32 = d[8..10].parse().unwrap_or(0);
        let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => 0,
        };
        (1..=days).contains(&day)
    };
    if valid { Ok(d) } else { Err(invalid(format!("{field} must be a date as YYYY-MM-DD, got {d:?}"))) }
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn lock(app: &App) -> std::sync::MutexGuard<'_, Connection> {
    example_support::lock(&app.db)
}

/// Name, type and currency of an account body, validated.
fn account_fields(body: &Map<String, Value>) -> Result<(&str, &str, &str), ApiError> {
    let name = text(body, "name")?;
    let kind = text(body, "type")?;
    if !["asset", "liability", "equity", "income", "expense"].contains(&kind) {
        return Err(invalid(format!(
            "type must be one of asset, liability, equity, income, expense; got {kind:?}"
        )));
    }
    let currency = text(body, "currency")?;
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(invalid(format!("currency must be a 3-letter ISO code like \"USD\", got {currency:?}")));
    }
    Ok((name, kind, currency))
}

/// `PUT /accounts/{code}`: create or update the account with this code (idempotent).
async fn put_account(
    State(app): State<Shared>,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let body = object(&headers, &body)?;
    let (name, kind, currency) = account_fields(&body)?;
    let conn = lock(&app);
    let (id, created) = db::upsert_account(&conn, &code, name, kind, currency)?;
    let account = db::account(&conn, &id)?.ok_or_else(|| not_found("account", &id))?;
    ok(if created { StatusCode::CREATED } else { StatusCode::OK }, account)
}

async fn create_account(State(app): State<Shared>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let body = object(&headers, &body)?;
    let code = text(&body, "code")?;
    let (name, kind, currency) = account_fields(&body)?;
    let conn = lock(&app);
    let id = new_id();
    if !db::insert_account(&conn, &id, code, name, kind, currency)? {
        return Err(ApiError(
            StatusCode::CONFLICT,
            "duplicate_code",
            format!("an account with code {code:?} exists"),
        ));
    }
    let account = db::account(&conn, &id)?.ok_or_else(|| not_found("account", &id))?;
    ok(StatusCode::CREATED, account)
}

async fn list_accounts(State(app): State<Shared>) -> ApiResult {
    ok(StatusCode::OK, read_accounts(&app)?)
}

/// The chart of accounts.
pub fn read_accounts(app: &App) -> Result<Value, ApiError> {
    let conn = lock(app);
    let items = db::accounts(&conn)?;
    Ok(json!({"count": items.len(), "items": items}))
}

async fn get_account(State(app): State<Shared>, Path(id): Path<String>) -> ApiResult {
    ok(StatusCode::OK, read_account(&app, &id)?)
}

/// An account with its balance.
pub fn read_account(app: &App, id: &str) -> Result<Value, ApiError> {
    let conn = lock(app);
    db::account(&conn, id)?.ok_or_else(|| not_found("account", id))
}

async fn account_transactions(State(app): State<Shared>, Path(id): Path<String>) -> ApiResult {
    ok(StatusCode::OK, read_account_transactions(&app, &id)?)
}

/// The transactions that post to an account.
pub fn read_account_transactions(app: &App, id: &str) -> Result<Value, ApiError> {
    let conn = lock(app);
    if !db::account_exists(&conn, id)? {
        return Err(not_found("account", id));
    }
    let items = db::account_transactions(&conn, id)?;
    Ok(json!({"count": items.len(), "items": items}))
}

async fn account_snapshots(State(app): State<Shared>, Path(id): Path<String>) -> ApiResult {
    ok(StatusCode::OK, read_account_snapshots(&app, &id)?)
}

/// The balance snapshots recorded for an account.
pub fn read_account_snapshots(app: &App, id: &str) -> Result<Value, ApiError> {
    let conn = lock(app);
    if !db::account_exists(&conn, id)? {
        return Err(not_found("account", id));
    }
    let items = db::snapshots(&conn, id)?;
    Ok(json!({"count": items.len(), "items": items}))
}

async fn get_transaction(State(app): State<Shared>, Path(id): Path<String>) -> ApiResult {
    ok(StatusCode::OK, read_transaction(&app, &id)?)
}

/// A transaction with its postings.
pub fn read_transaction(app: &App, id: &str) -> Result<Value, ApiError> {
    let conn = lock(app);
    db::transaction(&conn, id)?.ok_or_else(|| not_found("transaction", id))
}

/// The `obligations-hang` fault: reads of obligations never answer.
pub async fn maybe_hang(app: &App) {
    if app.faults.on("obligations-hang") {
        std::future::pending::<()>().await;
    }
}

async fn list_obligations(State(app): State<Shared>, Query(q): Query<HashMap<String, String>>) -> ApiResult {
    maybe_hang(&app).await;
    let conn = lock(&app);
    let items = db::obligations(&conn, q.get("key").map(String::as_str))?;
    ok(StatusCode::OK, json!({"count": items.len(), "items": items}))
}

async fn get_obligation(State(app): State<Shared>, Path(key): Path<String>) -> ApiResult {
    maybe_hang(&app).await;
    ok(StatusCode::OK, read_obligation(&app, &key)?)
}

/// An obligation by its key (callers apply `maybe_hang` first).
pub fn read_obligation(app: &App, key: &str) -> Result<Value, ApiError> {
    let conn = lock(app);
    db::obligation(&conn, key)?.ok_or_else(|| not_found("obligation", key))
}

async fn record_transaction_bundle(State(app): State<Shared>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let (status, value) = bundle(&app, &object(&headers, &body)?)?;
    ok(status, value)
}

/// What a tool answers: a status (its HTTP one; over MCP, success or a tool error) and a body.
pub type ToolResult = Result<(StatusCode, Value), ApiError>;

/// Record balanced double-entry postings. Positive amounts are debits, negative are credits.
pub fn bundle(app: &App, body: &Map<String, Value>) -> ToolResult {
    let key = text(body, "idempotency_key")?;
    let date = date(body, "date")?;
    let description = match body.get("description") {
        None | Some(Value::Null) => "",
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(invalid("description must be a string")),
    };
    let Some(Value::Array(raw)) = body.get("postings") else {
        return Err(invalid("postings is required: a list of {account_id, amount_minor}"));
    };
    if raw.len() < 2 {
        return Err(invalid("a bundle needs at least two postings"));
    }
    let mut postings = Vec::with_capacity(raw.len());
    for (i, p) in raw.iter().enumerate() {
        let Value::Object(p) = p else {
            return Err(invalid(format!("postings[{i}] must be an object")));
        };
        let account = text(p, "account_id").map_err(|e| invalid(format!("postings[{i}]: {}", e.2)))?;
        let amount = integer(p, "amount_minor").map_err(|e| invalid(format!("postings[{i}]: {}", e.2)))?;
        if amount == 0 {
            return Err(invalid(format!("postings[{i}].amount_minor must not be zero")));
        }
        postings.push((account.to_string(), amount));
    }
    let sum: i64 = postings.iter().map(|(_, a)| a).sum();
    if sum != 0 && !app.faults.on("unbalanced-accepted") {
        return Err(ApiError(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unbalanced",
            format!("postings must sum to zero; they sum to {sum}"),
        ));
    }
    let conn = lock(app);
    for (i, (account, _)) in postings.iter().enumerate() {
        if !db::account_exists(&conn, account)? {
            if app.faults.on("unknown-account-500") {
                return Err(ApiError(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "FOREIGN KEY constraint failed".into(),
                ));
            }
            return Err(ApiError(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_account",
                format!("postings[{i}].account_id {account:?} is not an account"),
            ));
        }
    }
    let fingerprint = json!({"date": date, "description": description, "postings": raw}).to_string();
    if !app.faults.on("idempotency-ignored")
        && let Some((existing, previous)) = db::transaction_by_key(&conn, key)?
    {
        if previous != fingerprint {
            return Err(ApiError(
                StatusCode::CONFLICT,
                "idempotency_conflict",
                format!("idempotency key {key:?} was used for a different bundle"),
            ));
        }
        let tx = db::transaction(&conn, &existing)?.ok_or_else(|| not_found("transaction", &existing))?;
        return Ok((StatusCode::OK, with(tx, "replayed", json!(true))));
    }
    let id = new_id();
    db::insert_transaction(&conn, &id, key, &fingerprint, date, description, &postings)?;
    let tx = db::transaction(&conn, &id)?.ok_or_else(|| not_found("transaction", &id))?;
    Ok((StatusCode::CREATED, with(tx, "replayed", json!(false))))
}

fn with(mut value: Value, key: &str, extra: Value) -> Value {
    if let Value::Object(map) = &mut value {
        map.insert(key.to_string(), extra);
    }
    value
}

async fn record_balance_snapshot(State(app): State<Shared>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let (status, value) = snapshot(&app, &object(&headers, &body)?)?;
    ok(status, value)
}

/// Record an observed balance and report how far it is from the ledger's own balance.
pub fn snapshot(app: &App, body: &Map<String, Value>) -> ToolResult {
    let account = text(body, "account_id")?;
    let date = date(body, "date")?;
    let observed = integer(body, "balance_minor")?;
    if app.faults.on("crash-on-snapshot") {
        eprintln!("thread 'main' panicked at src/api.rs: snapshot ledger lookup failed: index out of bounds");
        std::process::exit(101);
    }
    let conn = lock(app);
    if !db::account_exists(&conn, account)? {
        return Err(ApiError(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_account",
            format!("account_id {account:?} is not an account"),
        ));
    }
    let ledger = db::balance(&conn, account, Some(date))?;
    let id = new_id();
    if !app.faults.on("snapshot-not-persisted") {
        db::insert_snapshot(&conn, &id, account, date, observed, ledger)?;
    }
    Ok((
        StatusCode::CREATED,
        json!({
            "id": id,
            "account_id": account,
            "date": date,
            "balance_minor": observed,
            "ledger_balance_minor": ledger,
            "difference_minor": observed - ledger,
        }),
    ))
}

async fn create_or_update_obligation(
    State(app): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let (status, value) = obligation(&app, &object(&headers, &body)?)?;
    ok(status, value)
}

/// Create an obligation, or update the one with the same key.
pub fn obligation(app: &App, body: &Map<String, Value>) -> ToolResult {
    let key = text(body, "key")?;
    let name = text(body, "name")?;
    let amount = integer(body, "amount_minor")?;
    if amount <= 0 {
        return Err(invalid(format!("amount_minor must be positive, got {amount}")));
    }
    let due = date(body, "due_date")?;
    let account = match body.get("account_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return Err(invalid("account_id must be a string")),
    };
    let status = match body.get("status") {
        None | Some(Value::Null) => "open",
        Some(Value::String(s)) if s == "open" || s == "paid" => s.as_str(),
        Some(other) => {
            return Err(invalid(format!("status must be \"open\" or \"paid\", got {other}")));
        }
    };
    let conn = lock(app);
    if let Some(a) = account
        && !db::account_exists(&conn, a)?
    {
        return Err(ApiError(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_account",
            format!("account_id {a:?} is not an account"),
        ));
    }
    let input =
        db::ObligationInput { key, name, amount_minor: amount, due_date: due, account_id: account, status };
    let existing = db::obligation(&conn, key)?;
    let created = existing.is_none() || app.faults.on("obligation-upsert-duplicates");
    if created {
        db::insert_obligation(&conn, &new_id(), &input)?;
    } else {
        db::update_obligation(&conn, &input)?;
    }
    let o = db::obligation(&conn, key)?.ok_or_else(|| not_found("obligation", key))?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, with(o, "created", json!(created))))
}
