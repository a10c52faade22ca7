//! Storage: the SQLite schema and the queries behind the API.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};

/// Open the database to serve. In memory it is migrated here; a file must have been migrated
/// (`ledger-api migrate`), as a real deployment's would.
pub fn open(path: &str) -> Result<Connection, String> {
    let conn = Connection::open(path).map_err(|e| e.to_string())?;
    if path == ":memory:" {
        migrate(&conn).map_err(|e| e.to_string())?;
        return Ok(conn);
    }
    let tables: i64 = conn
        .query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'accounts'", [], |r| {
            r.get(0)
        })
        .map_err(|e| e.to_string())?;
    if tables == 0 {
        return Err(format!("{path} has no schema; run `ledger-api migrate --db {path}` first"));
    }
    // Write-ahead logging with NORMAL sync: committed writes survive a crash of the process
    // (what the example promises) without an fsync per request.
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
        .map_err(|e| e.to_string())?;
    Ok(conn)
}

const TABLES: [&str; 5] = ["postings", "transactions", "snapshots", "obligations", "accounts"];

/// Drop every table: the database is empty afterwards.
pub fn reset(conn: &Connection) -> rusqlite::Result<String> {
    for t in TABLES {
        conn.execute_batch(&format!("DROP TABLE IF EXISTS {t}"))?;
    }
    Ok(format!("dropped {} tables", TABLES.len()))
}

/// The standard chart of accounts, inserted where missing.
pub const CHART: [(&str, &str, &str); 5] = [
    ("1000", "Cash", "asset"),
    ("1100", "Checking account", "asset"),
    ("2000", "Credit card", "liability"),
    ("3000", "Opening balances", "equity"),
    ("5000", "Groceries", "expense"),
];

pub fn seed_chart(conn: &Connection) -> rusqlite::Result<String> {
    let mut added = 0;
    for (code, name, kind) in CHART {
        if insert_account(conn, &uuid::Uuid::new_v4().to_string(), code, name, kind, "USD")? {
            added += 1;
        }
    }
    Ok(format!("{added} account(s) added"))
}

/// Create the schema where missing.
pub fn migrate(conn: &Connection) -> rusqlite::Result<String> {
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         CREATE TABLE IF NOT EXISTS accounts (
             seq INTEGER PRIMARY KEY AUTOINCREMENT,
             id TEXT UNIQUE NOT NULL,
             code TEXT UNIQUE NOT NULL,
             name TEXT NOT NULL,
             type TEXT NOT NULL,
             currency TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS transactions (
             seq INTEGER PRIMARY KEY AUTOINCREMENT,
             id TEXT UNIQUE NOT NULL,
             idempotency_key TEXT NOT NULL,
             fingerprint TEXT NOT NULL,
             date TEXT NOT NULL,
             description TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS postings (
             transaction_id TEXT NOT NULL REFERENCES transactions(id),
             position INTEGER NOT NULL,
             account_id TEXT NOT NULL,
             amount_minor INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS snapshots (
             seq INTEGER PRIMARY KEY AUTOINCREMENT,
             id TEXT UNIQUE NOT NULL,
             account_id TEXT NOT NULL,
             date TEXT NOT NULL,
             balance_minor INTEGER NOT NULL,
             ledger_balance_minor INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS obligations (
             seq INTEGER PRIMARY KEY AUTOINCREMENT,
             id TEXT UNIQUE NOT NULL,
             key TEXT NOT NULL,
             name TEXT NOT NULL,
             amount_minor INTEGER NOT NULL,
             due_date TEXT NOT NULL,
             account_id TEXT,
             status TEXT NOT NULL);",
    )?;
    Ok("schema is current".into())
}

pub fn account_exists(conn: &Connection, id: &str) -> rusqlite::Result<bool> {
    conn.query_row("SELECT 1 FROM accounts WHERE id = ?1", [id], |_| Ok(())).optional().map(|r| r.is_some())
}

/// Sum of postings to an account, optionally only of transactions dated on or before `date`.
pub fn balance(conn: &Connection, account_id: &str, as_of: Option<&str>) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COALESCE(SUM(p.amount_minor), 0) FROM postings p JOIN transactions t ON t.id = p.transaction_id
         WHERE p.account_id = ?1 AND (?2 IS NULL OR t.date <= ?2)",
        params![account_id, as_of],
        |r| r.get(0),
    )
}

pub fn account(conn: &Connection, id: &str) -> rusqlite::Result<Option<Value>> {
    let row = conn
        .query_row("SELECT id, code, name, type, currency FROM accounts WHERE id = ?1", [id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })
        .optional()?;
    let Some((id, code, name, kind, currency)) = row else {
        return Ok(None);
    };
    let balance = balance(conn, &id, None)?;
    Ok(Some(
        json!({"id": id, "code": code, "name": name, "type": kind, "currency": currency, "balance_minor": balance}),
    ))
}

pub fn accounts(conn: &Connection) -> rusqlite::Result<Vec<Value>> {
    let ids: Vec<String> = conn
        .prepare("SELECT id FROM accounts ORDER BY seq")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(a) = account(conn, &id)? {
            out.push(a);
        }
    }
    Ok(out)
}

pub fn transaction(conn: &Connection, id: &str) -> rusqlite::Result<Option<Value>> {
    let row = conn
        .query_row(
            "SELECT id, idempotency_key, date, description FROM transactions WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            },
        )
        .optional()?;
    let Some((id, key, date, description)) = row else {
        return Ok(None);
    };
    let postings: Vec<Value> = conn
        .prepare("SELECT account_id, amount_minor FROM postings WHERE transaction_id = ?1 ORDER BY position")?
        .query_map([&id], |r| {
            Ok(json!({"account_id": r.get::<_, String>(0)?, "amount_minor": r.get::<_, i64>(1)?}))
        })?
        .collect::<Result<_, _>>()?;
    Ok(Some(
        json!({"id": id, "idempotency_key": key, "date": date, "description": description, "postings": postings}),
    ))
}

/// The newest transaction recorded under an idempotency key, with its request fingerprint.
pub fn transaction_by_key(conn: &Connection, key: &str) -> rusqlite::Result<Option<(String, String)>> {
    conn.query_row(
        "SELECT id, fingerprint FROM transactions WHERE idempotency_key = ?1 ORDER BY seq DESC LIMIT 1",
        [key],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

pub fn insert_transaction(
    conn: &Connection,
    id: &str,
    key: &str,
    fingerprint: &str,
    date: &str,
    description: &str,
    postings: &[(String, i64)],
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO transactions (id, idempotency_key, fingerprint, date, description) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, key, fingerprint, date, description],
    )?;
    for (i, (account, amount)) in postings.iter().enumerate() {
        conn.execute(
            "INSERT INTO postings (transaction_id, position, account_id, amount_minor) VALUES (?1, ?2, ?3, ?4)",
            params![id, i as i64, account, amount],
        )?;
    }
    Ok(())
}

pub fn account_transactions(conn: &Connection, account_id: &str) -> rusqlite::Result<Vec<Value>> {
    let ids: Vec<String> = conn
        .prepare(
            "SELECT DISTINCT t.id, t.seq FROM transactions t JOIN postings p ON p.transaction_id = t.id
             WHERE p.account_id = ?1 ORDER BY t.seq",
        )?
        .query_map([account_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(t) = transaction(conn, &id)? {
            out.push(t);
        }
    }
    Ok(out)
}

fn snapshot_json(r: &rusqlite::Row<'_>) -> rusqlite::Result<Value> {
    let balance: i64 = r.get(3)?;
    let ledger: i64 = r.get(4)?;
    Ok(json!({
        "id": r.get::<_, String>(0)?,
        "account_id": r.get::<_, String>(1)?,
        "date": r.get::<_, String>(2)?,
        "balance_minor": balance,
        "ledger_balance_minor": ledger,
        "difference_minor": balance - ledger,
    }))
}

pub fn insert_snapshot(
    conn: &Connection,
    id: &str,
    account_id: &str,
    date: &str,
    balance: i64,
    ledger: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO snapshots (id, account_id, date, balance_minor, ledger_balance_minor) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, account_id, date, balance, ledger],
    )?;
    Ok(())
}

pub fn snapshots(conn: &Connection, account_id: &str) -> rusqlite::Result<Vec<Value>> {
    conn.prepare(
        "SELECT id, account_id, date, balance_minor, ledger_balance_minor FROM snapshots WHERE account_id = ?1 ORDER BY seq",
    )?
    .query_map([account_id], snapshot_json)?
    .collect()
}

fn obligation_json(r: &rusqlite::Row<'_>) -> rusqlite::Result<Value> {
    Ok(json!({
        "id": r.get::<_, String>(0)?,
        "key": r.get::<_, String>(1)?,
        "name": r.get::<_, String>(2)?,
        "amount_minor": r.get::<_, i64>(3)?,
        "due_date": r.get::<_, String>(4)?,
        "account_id": r.get::<_, Option<String>>(5)?,
        "status": r.get::<_, String>(6)?,
    }))
}

const OBLIGATION_COLUMNS: &str = "id, key, name, amount_minor, due_date, account_id, status";

pub fn obligations(conn: &Connection, key: Option<&str>) -> rusqlite::Result<Vec<Value>> {
    conn.prepare(&format!(
        "SELECT {OBLIGATION_COLUMNS} FROM obligations WHERE (?1 IS NULL OR key = ?1) ORDER BY seq"
    ))?
    .query_map([key], obligation_json)?
    .collect()
}

pub fn obligation(conn: &Connection, key: &str) -> rusqlite::Result<Option<Value>> {
    conn.query_row(
        &format!("SELECT {OBLIGATION_COLUMNS} FROM obligations WHERE key = ?1 ORDER BY seq DESC LIMIT 1"),
        [key],
        obligation_json,
    )
    .optional()
}

pub struct ObligationInput<'a> {
    pub key: &'a str,
    pub name: &'a str,
    pub amount_minor: i64,
    pub due_date: &'a str,
    pub account_id: Option<&'a str>,
    pub status: &'a str,
}

pub fn insert_obligation(conn: &Connection, id: &str, o: &ObligationInput<'_>) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO obligations (id, key, name, amount_minor, due_date, account_id, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![id, o.key, o.name, o.amount_minor, o.due_date, o.account_id, o.status],
    )?;
    Ok(())
}

pub fn update_obligation(conn: &Connection, o: &ObligationInput<'_>) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE obligations SET name = ?2, amount_minor = ?3, due_date = ?4, account_id = ?5, status = ?6 WHERE key = ?1",
        params![o.key, o.name, o.amount_minor, o.due_date, o.account_id, o.status],
    )?;
    Ok(())
}

/// Create the account with this code, or update its name, type and currency; `true` if created.
pub fn upsert_account(
    conn: &Connection,
    code: &str,
    name: &str,
    kind: &str,
    currency: &str,
) -> rusqlite::Result<(String, bool)> {
    let existing: Option<String> =
        conn.query_row("SELECT id FROM accounts WHERE code = ?1", [code], |r| r.get(0)).optional()?;
    match existing {
        Some(id) => {
            conn.execute(
                "UPDATE accounts SET name = ?2, type = ?3, currency = ?4 WHERE id = ?1",
                params![id, name, kind, currency],
            )?;
            Ok((id, false))
        }
        None => {
            let id = uuid::Uuid::new_v4().to_string();
            insert_account(conn, &id, code, name, kind, currency)?;
            Ok((id, true))
        }
    }
}

pub fn insert_account(
    conn: &Connection,
    id: &str,
    code: &str,
    name: &str,
    kind: &str,
    currency: &str,
) -> rusqlite::Result<bool> {
    let exists =
        conn.query_row("SELECT 1 FROM accounts WHERE code = ?1", [code], |_| Ok(())).optional()?.is_some();
    if exists {
        return Ok(false);
    }
    conn.execute(
        "INSERT INTO accounts (id, code, name, type, currency) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, code, name, kind, currency],
    )?;
    Ok(true)
}
