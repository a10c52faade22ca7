//! The ledger plugin: smoke scenarios for a double-entry ledger API operated by agents through
//! tool endpoints (`examples/ledger-api` is the reference service).
//!
//! What it knows that a generic tool does not: postings must balance, an idempotency key must
//! never record a bundle twice, an upsert by key must not duplicate, a balance snapshot's
//! difference is the observed balance minus the ledger's balance as of its date.
//!
//! Scenarios that check balances create their own accounts, so they can run concurrently.
//! Each scenario meant to catch a class of bug carries a `fault:<name>` tag naming it.

use serde_json::{Value, json};
use smoke_plugin::{
    CheckInput, ConfigKind, Info, Plan, PlanError, PlanInput, Plugin, Scenario, Seed, Step, Verdict, ids,
};

struct Ledger;

const BUNDLE: &str = "/tools/record_transaction_bundle";
const SNAPSHOT: &str = "/tools/record_balance_snapshot";
const OBLIGATION: &str = "/tools/create_or_update_obligation";
/// Reads answer in milliseconds; a read that takes seconds is a hang, not slowness.
const READ_TIMEOUT_MS: u32 = 3_000;

/// Every request carries the configured token, by reference: the plan never holds the secret.
fn authed(step: Step) -> Step {
    step.bearer("{{config.token}}")
}

fn post(path: &str, body: Value) -> Step {
    authed(Step::post(path).json(body))
}

fn get(path: &str) -> Step {
    authed(Step::get(path)).timeout_ms(READ_TIMEOUT_MS)
}

fn posting(account: &str, amount: i64) -> Value {
    json!({"account_id": format!("{{{{{account}}}}}"), "amount_minor": amount})
}

/// A step creating an account dedicated to one scenario, capturing its id as `capture`.
fn own_account(code: &str, name: &str, kind: &str, capture: &str) -> Step {
    post("/accounts", json!({"code": code, "name": name, "type": kind, "currency": "USD"}))
        .named(&format!("create account {code}"))
        .expect_status(201)
        .expect_eq("/balance_minor", 0)
        .capture(capture, "/id")
}

/// The chart of accounts the scenarios use. `PUT /accounts/{code}` creates or updates, so the
/// seeds work whether or not the service was seeded with the standard chart beforehand.
fn seeds() -> Vec<Seed> {
    let chart = [
        ("cash", "1000", "Cash", "asset"),
        ("bank", "1100", "Checking account", "asset"),
        ("card", "2000", "Credit card", "liability"),
        ("equity", "3000", "Opening balances", "equity"),
        ("groceries", "5000", "Groceries", "expense"),
    ];
    chart
        .iter()
        .map(|(key, code, name, kind)| {
            Seed::new(
                &format!("account.{key}"),
                authed(
                    Step::put(&format!("/accounts/{code}"))
                        .json(json!({"name": name, "type": kind, "currency": "USD"})),
                )
                .named(&format!("ensure account {code} {name}"))
                .expect_status(201)
                .expect_status(200)
                .expect_eq("/code", *code)
                .capture(&format!("{key}_id"), "/id"),
            )
            .describe(&format!("chart of accounts: {code} {name} ({kind})"))
        })
        .collect()
}

fn accounts() -> Vec<Scenario> {
    vec![
        Scenario::happy_path("ledger.accounts.create", "POST /accounts")
            .describe("a new account is created with a zero balance and reads back")
            .step(own_account("9100", "Petty cash", "asset", "petty_id"))
            .step(
                get("/accounts/{{petty_id}}")
                    .named("read it back")
                    .expect_status(200)
                    .expect_eq("/id", "{{petty_id}}")
                    .expect_eq("/code", "9100")
                    .expect_eq("/type", "asset"),
            ),
        Scenario::happy_path("ledger.accounts.upsert", "PUT /accounts/{code}")
            .describe("putting an account by code creates it once, then updates it in place")
            .step(
                authed(Step::put("/accounts/9500"))
                    .json(json!({"name": "Travel", "type": "expense", "currency": "USD"}))
                    .named("create by code")
                    .expect_status(201)
                    .capture("travel_id", "/id"),
            )
            .step(
                authed(Step::put("/accounts/9500"))
                    .json(json!({"name": "Travel and lodging", "type": "expense", "currency": "USD"}))
                    .named("update by code")
                    .expect_status(200)
                    .expect_eq("/id", "{{travel_id}}")
                    .expect_eq("/name", "Travel and lodging"),
            ),
        Scenario::business_rule("ledger.accounts.duplicate-code", "POST /accounts")
            .describe("a second account with an existing code is refused with 409")
            .step(
                post(
                    "/accounts",
                    json!({"code": "1000", "name": "Cash again", "type": "asset", "currency": "USD"}),
                )
                .expect_status(409)
                .expect_eq("/error", "duplicate_code"),
            ),
        Scenario::validation_error("ledger.accounts.create.invalid-type", "POST /accounts")
            .describe("an account type outside the five double-entry types is refused")
            .step(
                post(
                    "/accounts",
                    json!({"code": "9199", "name": "Bad", "type": "banana", "currency": "USD"}),
                )
                .expect_status(422)
                .expect_eq("/error", "validation_error"),
            ),
        Scenario::happy_path("ledger.accounts.list", "GET /accounts")
            .describe("the chart of accounts lists the seeded accounts")
            .step(get("/accounts").expect_status(200).expect_exists("/items/4/id").expect_exists("/count")),
        Scenario::happy_path("ledger.accounts.get", "GET /accounts/{id}")
            .describe("a seeded account reads back by id")
            .step(get("/accounts/{{cash_id}}").expect_status(200).expect_eq("/code", "1000")),
        Scenario::not_found("ledger.accounts.get.not-found", "GET /accounts/{id}")
            .describe("an unknown account id is a 404")
            .step(
                get(&format!("/accounts/{}", ids::missing(1)))
                    .expect_status(404)
                    .expect_eq("/error", "not_found"),
            ),
        Scenario::validation_error("ledger.accounts.upsert.invalid-type", "PUT /accounts/{code}")
            .describe("putting an account of a type outside the five double-entry types is refused")
            .step(
                authed(Step::put("/accounts/9501"))
                    .json(json!({"name": "Bad", "type": "banana", "currency": "USD"}))
                    .expect_status(422)
                    .expect_eq("/error", "validation_error"),
            ),
        Scenario::happy_path("ledger.accounts.transactions", "GET /accounts/{id}/transactions")
            .describe("an account lists the transactions that touched it")
            .depends_on("ledger.bundle.record")
            .step(
                get("/accounts/{{savings_id}}/transactions")
                    .expect_status(200)
                    .expect_eq("/items/0/id", "{{opening_tx_id}}"),
            ),
        Scenario::happy_path("ledger.transactions.get", "GET /transactions/{id}")
            .describe("a recorded transaction reads back by id with its postings")
            .depends_on("ledger.bundle.record")
            .step(
                get("/transactions/{{opening_tx_id}}")
                    .expect_status(200)
                    .expect_eq("/id", "{{opening_tx_id}}")
                    .expect_len("/postings", 2),
            ),
        Scenario::not_found("ledger.accounts.transactions.not-found", "GET /accounts/{id}/transactions")
            .describe("transactions of an unknown account are a 404")
            .step(get(&format!("/accounts/{}/transactions", ids::missing(2))).expect_status(404)),
    ]
}

fn bundles() -> Vec<Scenario> {
    vec![
        Scenario::happy_path("ledger.bundle.record", "POST /tools/record_transaction_bundle")
            .describe("a balanced bundle is recorded and moves the account's balance by exactly its amount")
            .step(own_account("9200", "Savings", "asset", "savings_id"))
            .step(
                post(
                    BUNDLE,
                    json!({
                        "idempotency_key": ids::seed(101),
                        "date": "2026-01-05",
                        "description": "opening deposit",
                        "postings": [posting("savings_id", 100_000), posting("equity_id", -100_000)],
                    }),
                )
                .named("record the bundle")
                .expect_status(201)
                .expect_eq("/replayed", false)
                .expect_len("/postings", 2)
                .capture("opening_tx_id", "/id"),
            )
            .step(
                get("/transactions/{{opening_tx_id}}")
                    .named("read the transaction back")
                    .expect_status(200)
                    .expect_eq("/idempotency_key", ids::seed(101))
                    .expect_eq("/postings/0/amount_minor", 100_000),
            )
            .step(
                get("/accounts/{{savings_id}}")
                    .named("balance reflects the bundle")
                    .expect_status(200)
                    .expect_eq("/balance_minor", 100_000),
            )
            .step(
                get("/accounts/{{savings_id}}/transactions")
                    .named("the account lists the transaction")
                    .expect_status(200)
                    .expect_len("/items", 1)
                    .expect_eq("/items/0/id", "{{opening_tx_id}}"),
            ),
        Scenario::validation_error("ledger.bundle.unbalanced", "POST /tools/record_transaction_bundle")
            .describe("postings that do not sum to zero are refused")
            .tag("fault:unbalanced-accepted")
            .step(
                post(
                    BUNDLE,
                    json!({
                        "idempotency_key": ids::seed(102),
                        "date": "2026-01-06",
                        "postings": [posting("cash_id", 10_000), posting("equity_id", -9_000)],
                    }),
                )
                .expect_status(422)
                .expect_eq("/error", "unbalanced"),
            ),
        Scenario::validation_error("ledger.bundle.unknown-account", "POST /tools/record_transaction_bundle")
            .describe("a posting to an account that does not exist is refused with 422, not a server error")
            .tag("fault:unknown-account-500")
            .step(
                post(
                    BUNDLE,
                    json!({
                        "idempotency_key": ids::seed(103),
                        "date": "2026-01-06",
                        "postings": [
                            {"account_id": ids::missing(3), "amount_minor": 500},
                            posting("equity_id", -500),
                        ],
                    }),
                )
                .expect_status(422)
                .expect_eq("/error", "unknown_account"),
            ),
        Scenario::validation_error("ledger.bundle.malformed", "POST /tools/record_transaction_bundle")
            .describe("a body that is not JSON is a 400")
            .step(
                authed(Step::post(BUNDLE))
                    .header("content-type", "application/json")
                    .text("{\"idempotency_key\": ")
                    .expect_status(400)
                    .expect_eq("/error", "malformed_json"),
            ),
        Scenario::validation_error("ledger.bundle.missing-date", "POST /tools/record_transaction_bundle")
            .describe("a bundle without a date is refused with a message naming the field")
            .step(
                post(
                    BUNDLE,
                    json!({
                        "idempotency_key": ids::seed(104),
                        "postings": [posting("cash_id", 100), posting("equity_id", -100)],
                    }),
                )
                .expect_status(422)
                .expect_eq("/message", "date is required"),
            ),
        idempotent_repost(),
        Scenario::business_rule(
            "ledger.bundle.idempotency-conflict",
            "POST /tools/record_transaction_bundle",
        )
        .describe("reusing an idempotency key for a different bundle is a 409")
        .tag("fault:idempotency-ignored")
        .step(
            post(
                BUNDLE,
                json!({
                    "idempotency_key": ids::seed(106),
                    "date": "2026-02-02",
                    "postings": [posting("groceries_id", 2_500), posting("card_id", -2_500)],
                }),
            )
            .named("first use of the key")
            .expect_status(201),
        )
        .step(
            post(
                BUNDLE,
                json!({
                    "idempotency_key": ids::seed(106),
                    "date": "2026-02-02",
                    "postings": [posting("groceries_id", 9_900), posting("card_id", -9_900)],
                }),
            )
            .named("same key, different bundle")
            .expect_status(409)
            .expect_eq("/error", "idempotency_conflict"),
        ),
        Scenario::not_found("ledger.transactions.get.not-found", "GET /transactions/{id}")
            .describe("an unknown transaction id is a 404")
            .step(get(&format!("/transactions/{}", ids::missing(4))).expect_status(404)),
    ]
}

fn idempotent_repost() -> Scenario {
    let bundle = json!({
        "idempotency_key": ids::seed(105),
        "date": "2026-02-01",
        "description": "transfer in",
        "postings": [posting("brokerage_id", 40_000), posting("equity_id", -40_000)],
    });
    Scenario::business_rule("ledger.bundle.idempotent-repost", "POST /tools/record_transaction_bundle")
        .describe("re-posting with the same idempotency key returns the original transaction and records nothing new")
        .tag("fault:idempotency-ignored")
        .step(own_account("9300", "Brokerage", "asset", "brokerage_id"))
        .step(post(BUNDLE, bundle.clone()).named("first post").expect_status(201).capture("first_tx_id", "/id"))
        .step(
            post(BUNDLE, bundle)
                .named("re-post with the same key")
                .expect_status(200)
                .expect_eq("/id", "{{first_tx_id}}")
                .expect_eq("/replayed", true),
        )
        .step(
            get("/accounts/{{brokerage_id}}")
                .named("balance counts the bundle once")
                .expect_status(200)
                .expect_eq("/balance_minor", 40_000),
        )
        .step(
            get("/accounts/{{brokerage_id}}/transactions")
                .named("one transaction, not two")
                .expect_status(200)
                .expect_len("/items", 1),
        )
}

/// The argument for `check` on a snapshot response.
fn snapshot_check(expected_ledger: i64) -> Value {
    json!({"rule": "snapshot-difference", "expected_ledger": expected_ledger})
}

fn snapshots() -> Vec<Scenario> {
    vec![
        Scenario::happy_path("ledger.snapshot.record", "POST /tools/record_balance_snapshot")
            .describe("a snapshot reports its difference to the ledger balance and is persisted")
            .tag("fault:snapshot-not-persisted")
            .tag("fault:crash-on-snapshot")
            .step(own_account("9400", "Wallet", "asset", "wallet_id"))
            .step(
                post(
                    BUNDLE,
                    json!({
                        "idempotency_key": ids::seed(107),
                        "date": "2026-01-10",
                        "postings": [posting("wallet_id", 25_000), posting("equity_id", -25_000)],
                    }),
                )
                .named("fund the account")
                .expect_status(201),
            )
            .step(
                post(
                    SNAPSHOT,
                    json!({"account_id": "{{wallet_id}}", "date": "2026-01-31", "balance_minor": 24_000}),
                )
                .named("record an observed balance 10.00 short")
                .expect_status(201)
                .expect_eq("/ledger_balance_minor", 25_000)
                .check(snapshot_check(25_000))
                .capture("snapshot_id", "/id"),
            )
            .step(
                get("/accounts/{{wallet_id}}/snapshots")
                    .named("the snapshot is stored")
                    .expect_status(200)
                    .expect_len("/items", 1)
                    .expect_eq("/items/0/id", "{{snapshot_id}}")
                    .expect_eq("/items/0/difference_minor", -1_000),
            ),
        Scenario::business_rule("ledger.snapshot.as-of-date", "POST /tools/record_balance_snapshot")
            .describe("a snapshot dated before a transaction does not count it")
            .depends_on("ledger.snapshot.record")
            .step(
                post(
                    SNAPSHOT,
                    json!({"account_id": "{{wallet_id}}", "date": "2025-12-31", "balance_minor": 0}),
                )
                .expect_status(201)
                .check(snapshot_check(0)),
            ),
        Scenario::validation_error("ledger.snapshot.unknown-account", "POST /tools/record_balance_snapshot")
            .describe("a snapshot of an unknown account is refused")
            .step(
                post(
                    SNAPSHOT,
                    json!({"account_id": ids::missing(5), "date": "2026-01-31", "balance_minor": 1}),
                )
                .expect_status(422)
                .expect_eq("/error", "unknown_account"),
            ),
        Scenario::validation_error("ledger.snapshot.invalid-date", "POST /tools/record_balance_snapshot")
            .describe("a date that does not exist (February 30th) is refused")
            .step(
                post(
                    SNAPSHOT,
                    json!({"account_id": "{{cash_id}}", "date": "2026-02-30", "balance_minor": 1}),
                )
                .expect_status(422)
                .expect_eq("/error", "validation_error"),
            ),
        Scenario::happy_path("ledger.snapshots.list", "GET /accounts/{id}/snapshots")
            .describe("an account lists its recorded snapshots")
            .depends_on("ledger.snapshot.record")
            .step(get("/accounts/{{wallet_id}}/snapshots").expect_status(200).expect_exists("/items/0/id")),
        Scenario::not_found("ledger.snapshots.list.not-found", "GET /accounts/{id}/snapshots")
            .describe("snapshots of an unknown account are a 404")
            .step(get(&format!("/accounts/{}/snapshots", ids::missing(6))).expect_status(404)),
    ]
}

fn obligations() -> Vec<Scenario> {
    let rent = |amount: i64| {
        json!({"key": "rent-2026-03", "name": "March rent", "amount_minor": amount, "due_date": "2026-03-01",
               "account_id": "{{bank_id}}"})
    };
    vec![
        Scenario::business_rule("ledger.obligation.upsert", "POST /tools/create_or_update_obligation")
            .describe("posting an obligation twice under one key updates it instead of adding a second")
            .tag("fault:obligation-upsert-duplicates")
            .tag("fault:obligations-hang")
            .step(
                post(OBLIGATION, rent(150_000))
                    .named("create")
                    .expect_status(201)
                    .expect_eq("/created", true),
            )
            .step(
                post(OBLIGATION, rent(155_000))
                    .named("update by key")
                    .expect_status(200)
                    .expect_eq("/created", false)
                    .expect_eq("/amount_minor", 155_000),
            )
            .step(
                get("/obligations")
                    .query("key", "rent-2026-03")
                    .named("exactly one obligation under the key")
                    .expect_status(200)
                    .expect_eq("/count", 1)
                    .expect_eq("/items/0/amount_minor", 155_000),
            ),
        Scenario::happy_path("ledger.obligation.create", "POST /tools/create_or_update_obligation")
            .describe("a new obligation is stored and reads back by key")
            .step(
                post(
                    OBLIGATION,
                    json!({"key": "insurance-2026", "name": "Car insurance", "amount_minor": 62_000,
                           "due_date": "2026-06-15"}),
                )
                .expect_status(201)
                .expect_eq("/status", "open"),
            )
            .step(
                get("/obligations/insurance-2026")
                    .named("read it back")
                    .expect_status(200)
                    .expect_eq("/name", "Car insurance")
                    .expect_eq("/amount_minor", 62_000),
            ),
        Scenario::happy_path("ledger.obligations.list", "GET /obligations")
            .describe("obligations list as a collection")
            .step(get("/obligations").expect_status(200).expect_exists("/items").expect_exists("/count")),
        Scenario::validation_error(
            "ledger.obligation.invalid-amount",
            "POST /tools/create_or_update_obligation",
        )
        .describe("an obligation must be for a positive amount")
        .step(
            post(
                OBLIGATION,
                json!({"key": "bad", "name": "Bad", "amount_minor": -5, "due_date": "2026-03-01"}),
            )
            .expect_status(422)
            .expect_eq("/error", "validation_error"),
        ),
        Scenario::happy_path("ledger.obligation.get", "GET /obligations/{key}")
            .describe("an obligation reads back by its key")
            .depends_on("ledger.obligation.create")
            .step(get("/obligations/insurance-2026").expect_status(200).expect_eq("/key", "insurance-2026")),
        Scenario::not_found("ledger.obligation.get.not-found", "GET /obligations/{key}")
            .describe("an unknown obligation key is a 404")
            .step(get(&format!("/obligations/{}", ids::missing(7))).expect_status(404)),
    ]
}

fn auth() -> Vec<Scenario> {
    vec![
        Scenario::auth("ledger.auth.missing-token", "GET /accounts")
            .describe("reads without a bearer token are refused")
            .tag("fault:auth-not-enforced")
            .step(
                Step::get("/accounts")
                    .expect_status(401)
                    .expect_eq("/error", "unauthorized")
                    .expect_header("www-authenticate", "Bearer"),
            ),
        Scenario::auth("ledger.auth.wrong-token", "POST /tools/record_transaction_bundle")
            .describe("writes with a wrong bearer token are refused and record nothing")
            .tag("fault:auth-not-enforced")
            .step(
                Step::post(BUNDLE)
                    .bearer("not-the-token")
                    .json(json!({
                        "idempotency_key": ids::seed(108),
                        "date": "2026-01-07",
                        "postings": [posting("cash_id", 100), posting("equity_id", -100)],
                    }))
                    .expect_status(401),
            ),
    ]
}

/// The same ledger driven as an agent drives it: through its MCP tools. The chart of accounts
/// comes from the service's own seeding (as in the original story: reset, migrate, chart); each
/// scenario that reads a balance posts to an account no other scenario touches, so they run
/// concurrently and every balance is exact.
mod mcp {
    use super::*;

    /// Reads answer in milliseconds; a read that takes seconds is a hang.
    fn read(tool: &str, arguments: Value) -> Step {
        Step::tool_call(tool, arguments).timeout_ms(READ_TIMEOUT_MS)
    }

    fn bundle(key: &str, date: &str, postings: Value) -> Value {
        json!({"idempotency_key": key, "date": date, "postings": postings})
    }

    /// Find the chart's accounts by code, as an agent would before posting.
    pub fn seeds() -> Vec<Seed> {
        let chart =
            [("cash", "1000"), ("bank", "1100"), ("card", "2000"), ("equity", "3000"), ("groceries", "5000")];
        let mut step =
            read("list_accounts", json!({})).named("read the chart of accounts").expect_exists("/count");
        for (i, (key, code)) in chart.iter().enumerate() {
            step = step
                .expect_eq(&format!("/items/{i}/code"), *code)
                .capture(&format!("{key}_id"), &format!("/items/{i}/id"));
        }
        vec![Seed::new("mcp.chart", step).describe("the chart of accounts, as list_accounts shows it")]
    }

    pub fn scenarios() -> Vec<Scenario> {
        let tool = |name: &str| format!("tool {name}");
        vec![
            Scenario::happy_path("ledger.mcp.bundle.record", &tool("record_transaction_bundle"))
                .describe("a balanced bundle recorded through the tool is persisted and moves the balance by exactly its amount")
                .step(
                    Step::tool_call(
                        "record_transaction_bundle",
                        bundle(&ids::seed(201), "2026-01-05", json!([posting("cash_id", 100_000), posting("equity_id", -100_000)])),
                    )
                    .named("record the bundle")
                    .expect_eq("/replayed", false)
                    .expect_len("/postings", 2)
                    .capture("mcp_tx_id", "/id"),
                )
                .step(
                    read("get_transaction", json!({"transaction_id": "{{mcp_tx_id}}"}))
                        .named("read the transaction back")
                        .expect_eq("/id", "{{mcp_tx_id}}")
                        .expect_eq("/idempotency_key", ids::seed(201))
                        .expect_eq("/postings/0/amount_minor", 100_000),
                )
                .step(
                    read("get_account", json!({"account_id": "{{cash_id}}"}))
                        .named("the balance reflects the bundle")
                        .expect_eq("/balance_minor", 100_000),
                )
                .step(
                    read("list_account_transactions", json!({"account_id": "{{cash_id}}"}))
                        .named("the account lists the transaction")
                        .expect_len("/items", 1)
                        .expect_eq("/items/0/id", "{{mcp_tx_id}}"),
                ),
            Scenario::validation_error("ledger.mcp.bundle.unbalanced", &tool("record_transaction_bundle"))
                .describe("postings that do not sum to zero are refused as a tool error")
                .tag("fault:unbalanced-accepted")
                .step(
                    Step::tool_call(
                        "record_transaction_bundle",
                        bundle(&ids::seed(202), "2026-01-06", json!([posting("cash_id", 10_000), posting("equity_id", -9_000)])),
                    )
                    .expect_tool_error()
                    .expect_eq("/error", "unbalanced")
                    .expect_eq("/status", 422),
                ),
            Scenario::validation_error("ledger.mcp.bundle.unknown-account", &tool("record_transaction_bundle"))
                .describe("a posting to an account that does not exist is a tool error saying so, not a server error")
                .tag("fault:unknown-account-500")
                .step(
                    Step::tool_call(
                        "record_transaction_bundle",
                        bundle(
                            &ids::seed(203),
                            "2026-01-06",
                            json!([{"account_id": ids::missing(3), "amount_minor": 500}, posting("equity_id", -500)]),
                        ),
                    )
                    .expect_tool_error()
                    .expect_eq("/error", "unknown_account")
                    .expect_eq("/status", 422),
                ),
            Scenario::business_rule("ledger.mcp.bundle.idempotent-repost", &tool("record_transaction_bundle"))
                .describe("re-posting with the same idempotency key returns the original transaction and records nothing new")
                .tag("fault:idempotency-ignored")
                .step(
                    Step::tool_call(
                        "record_transaction_bundle",
                        bundle(&ids::seed(204), "2026-02-01", json!([posting("bank_id", 40_000), posting("equity_id", -40_000)])),
                    )
                    .named("first post")
                    .expect_eq("/replayed", false)
                    .capture("mcp_first_tx_id", "/id"),
                )
                .step(
                    Step::tool_call(
                        "record_transaction_bundle",
                        bundle(&ids::seed(204), "2026-02-01", json!([posting("bank_id", 40_000), posting("equity_id", -40_000)])),
                    )
                    .named("re-post with the same key")
                    .expect_eq("/id", "{{mcp_first_tx_id}}")
                    .expect_eq("/replayed", true),
                )
                .step(
                    read("get_account", json!({"account_id": "{{bank_id}}"}))
                        .named("the balance counts the bundle once")
                        .expect_eq("/balance_minor", 40_000),
                )
                .step(
                    read("list_account_transactions", json!({"account_id": "{{bank_id}}"}))
                        .named("one transaction, not two")
                        .expect_len("/items", 1),
                ),
            Scenario::business_rule("ledger.mcp.bundle.idempotency-conflict", &tool("record_transaction_bundle"))
                .describe("reusing an idempotency key for a different bundle is a tool error")
                .tag("fault:idempotency-ignored")
                .step(
                    Step::tool_call(
                        "record_transaction_bundle",
                        bundle(&ids::seed(205), "2026-02-02", json!([posting("card_id", 2_500), posting("equity_id", -2_500)])),
                    )
                    .named("first use of the key"),
                )
                .step(
                    Step::tool_call(
                        "record_transaction_bundle",
                        bundle(&ids::seed(205), "2026-02-02", json!([posting("card_id", 9_900), posting("equity_id", -9_900)])),
                    )
                    .named("same key, different bundle")
                    .expect_tool_error()
                    .expect_eq("/error", "idempotency_conflict"),
                ),
            Scenario::happy_path("ledger.mcp.snapshot.record", &tool("record_balance_snapshot"))
                .describe("a snapshot reports its difference to the ledger balance and is persisted")
                .tag("fault:snapshot-not-persisted")
                .tag("fault:crash-on-snapshot")
                .step(
                    Step::tool_call(
                        "record_transaction_bundle",
                        bundle(&ids::seed(206), "2026-01-10", json!([posting("groceries_id", 25_000), posting("card_id", -25_000)])),
                    )
                    .named("fund the account"),
                )
                .step(
                    Step::tool_call(
                        "record_balance_snapshot",
                        json!({"account_id": "{{groceries_id}}", "date": "2026-01-31", "balance_minor": 24_000}),
                    )
                    .named("record an observed balance 10.00 short")
                    .expect_eq("/ledger_balance_minor", 25_000)
                    .check(snapshot_check(25_000))
                    .capture("mcp_snapshot_id", "/id"),
                )
                .step(
                    read("list_account_snapshots", json!({"account_id": "{{groceries_id}}"}))
                        .named("the snapshot is stored")
                        .expect_len("/items", 1)
                        .expect_eq("/items/0/id", "{{mcp_snapshot_id}}")
                        .expect_eq("/items/0/difference_minor", -1_000),
                ),
            Scenario::validation_error("ledger.mcp.snapshot.unknown-account", &tool("record_balance_snapshot"))
                .describe("a snapshot of an unknown account is a tool error")
                .step(
                    Step::tool_call(
                        "record_balance_snapshot",
                        json!({"account_id": ids::missing(5), "date": "2026-01-31", "balance_minor": 1}),
                    )
                    .expect_tool_error()
                    .expect_eq("/error", "unknown_account"),
                ),
            Scenario::business_rule("ledger.mcp.obligation.upsert", &tool("create_or_update_obligation"))
                .describe("an obligation put twice under one key is updated, not duplicated, and reads back updated")
                .tag("fault:obligation-upsert-duplicates")
                .tag("fault:obligations-hang")
                .step(
                    Step::tool_call(
                        "create_or_update_obligation",
                        json!({"key": "mcp-rent-2026-03", "name": "March rent", "amount_minor": 150_000,
                               "due_date": "2026-03-01", "account_id": "{{bank_id}}"}),
                    )
                    .named("create")
                    .expect_eq("/created", true),
                )
                .step(
                    Step::tool_call(
                        "create_or_update_obligation",
                        json!({"key": "mcp-rent-2026-03", "name": "March rent", "amount_minor": 155_000,
                               "due_date": "2026-03-01", "account_id": "{{bank_id}}"}),
                    )
                    .named("update by key")
                    .expect_eq("/created", false)
                    .expect_eq("/amount_minor", 155_000),
                )
                .step(
                    read("get_obligation", json!({"key": "mcp-rent-2026-03"}))
                        .named("read it back")
                        .expect_eq("/amount_minor", 155_000)
                        .expect_eq("/status", "open"),
                ),
            Scenario::validation_error("ledger.mcp.obligation.invalid-amount", &tool("create_or_update_obligation"))
                .describe("an obligation for a negative amount is refused")
                .step(
                    Step::tool_call(
                        "create_or_update_obligation",
                        json!({"key": "mcp-bad", "name": "Bad", "amount_minor": -5, "due_date": "2026-03-01"}),
                    )
                    .expect_refused(),
                ),
            Scenario::not_found("ledger.mcp.obligation.not-found", &tool("get_obligation"))
                .describe("reading an unknown obligation is a tool error saying not found")
                .step(read("get_obligation", json!({"key": ids::missing(7)})).expect_tool_error().expect_eq("/error", "not_found")),
        ]
    }
}

impl Plugin for Ledger {
    fn info() -> Info {
        Info::new("ledger", env!("CARGO_PKG_VERSION"), "finance")
            .describe("Double-entry ledger APIs: chart of accounts, transaction bundles, balance snapshots, obligations")
            .config_key(
                "token",
                ConfigKind::Secret,
                false,
                Some("smoke-ledger-token"),
                "bearer token for the ledger API",
            )
            .config_key(
                "via",
                ConfigKind::Text,
                false,
                Some("http"),
                "how the ledger is driven: `http` (its HTTP API) or `mcp` (its MCP tools, with an MCP target)",
            )
    }

    fn plan(input: PlanInput) -> Result<Plan, PlanError> {
        match input.config("via").unwrap_or("http") {
            "http" => {}
            "mcp" => {
                if !input.host_supports("action.tool-call") {
                    return Err(PlanError::new(
                        "this smoke cannot call MCP tools; upgrade it, or use via = \"http\"",
                    )
                    .at("config key \"via\""));
                }
                return Ok(Plan::new().seed(mcp::seeds().remove(0)).scenarios(mcp::scenarios()));
            }
            other => {
                return Err(PlanError::new(format!("via must be \"http\" or \"mcp\", not {other:?}"))
                    .at("config key \"via\""));
            }
        }
        let mut plan = Plan::new();
        for seed in seeds() {
            plan = plan.seed(seed);
        }
        let plan = plan
            .scenarios(accounts())
            .scenarios(bundles())
            .scenarios(snapshots())
            .scenarios(obligations())
            .scenarios(auth())
            .endpoint("POST /accounts", true)
            .upsert_endpoint("PUT /accounts/{code}", true)
            .endpoint("GET /accounts", false)
            .endpoint("GET /accounts/{id}", false)
            .endpoint("GET /accounts/{id}/transactions", false)
            .endpoint("GET /accounts/{id}/snapshots", false)
            .endpoint("GET /transactions/{id}", false)
            .endpoint("GET /obligations", false)
            .endpoint("GET /obligations/{key}", false)
            .endpoint("POST /tools/record_transaction_bundle", true)
            .endpoint("POST /tools/record_balance_snapshot", true)
            .endpoint("POST /tools/create_or_update_obligation", true);
        Ok(plan)
    }

    fn check(input: CheckInput) -> Verdict {
        let (rule, argument) = match input.rule() {
            Ok(r) => r,
            Err(verdict) => return verdict,
        };
        match rule.as_str() {
            "snapshot-difference" => {
                let body = match input.tool_call() {
                    Some(_) => input.result_json(),
                    None => input.response_json(),
                };
                judge_snapshot(&argument, body)
            }
            other => Verdict::fail(format!("unknown check rule {other:?}")),
        }
    }
}

/// A snapshot's `difference_minor` must be `balance_minor - ledger_balance_minor`, and the ledger
/// balance must be what the plan's own bundles imply as of the snapshot's date.
fn judge_snapshot(argument: &Value, body: Option<Value>) -> Verdict {
    let Some(body) = body else {
        return Verdict::fail("the snapshot response is not JSON");
    };
    let field = |name: &str| body[name].as_i64();
    let (Some(observed), Some(ledger), Some(difference)) =
        (field("balance_minor"), field("ledger_balance_minor"), field("difference_minor"))
    else {
        return Verdict::fail(format!(
            "the snapshot must report integer balance_minor, ledger_balance_minor and difference_minor; got {body}"
        ));
    };
    let Some(expected_ledger) = argument["expected_ledger"].as_i64() else {
        return Verdict::fail("check argument lacks expected_ledger");
    };
    if ledger != expected_ledger {
        return Verdict::fail(format!(
            "ledger balance as of {} is {ledger}, but the bundles recorded before that date sum to {expected_ledger}",
            body["date"]
        ));
    }
    if difference != observed - ledger {
        return Verdict::fail(format!(
            "difference_minor is {difference}, but balance {observed} - ledger {ledger} = {}",
            observed - ledger
        ));
    }
    Verdict::pass(format!("difference {difference} = {observed} - {ledger}"))
}

smoke_plugin::export!(Ledger);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_judgement_catches_a_wrong_difference_and_a_wrong_ledger() {
        let arg = json!({"rule": "snapshot-difference", "expected_ledger": 100});
        let good = json!({"date": "2026-01-01", "balance_minor": 90, "ledger_balance_minor": 100, "difference_minor": -10});
        assert!(judge_snapshot(&arg, Some(good)).pass);
        let bad_diff = json!({"date": "2026-01-01", "balance_minor": 90, "ledger_balance_minor": 100, "difference_minor": 10});
        assert!(!judge_snapshot(&arg, Some(bad_diff)).pass);
        let bad_ledger = json!({"date": "2026-01-01", "balance_minor": 90, "ledger_balance_minor": 95, "difference_minor": -5});
        assert!(!judge_snapshot(&arg, Some(bad_ledger)).pass);
        assert!(!judge_snapshot(&arg, None).pass);
    }

    #[test]
    fn the_plan_is_deterministic_with_unique_ids() {
        smoke_plugin::testing::assert_deterministic_plan::<Ledger>(smoke_plugin::testing::empty_input());
    }

    #[test]
    fn over_mcp_every_step_is_a_tool_call_and_every_tool_fault_has_a_scenario() {
        let scenarios = mcp::scenarios();
        assert!(scenarios.iter().flat_map(|s| &s.steps).all(|st| st.tool().is_some()));
        for fault in [
            "unbalanced-accepted",
            "idempotency-ignored",
            "obligation-upsert-duplicates",
            "snapshot-not-persisted",
            "unknown-account-500",
            "crash-on-snapshot",
            "obligations-hang",
        ] {
            let tag = format!("fault:{fault}");
            assert!(scenarios.iter().any(|s| s.tags.contains(&tag)), "no MCP scenario is tagged {tag}");
        }
    }
}
