//! ledger-api: an example double-entry ledger API, operated by agents through tool endpoints.
//!
//! A real service (axum, SQLite) for smoke's ledger plugin to test, with fault switches that
//! plant realistic bugs: `FAULTS=unbalanced-accepted,idempotency-ignored ledger-api`.
//!
//! Usage: `ledger-api [--port N] [--db PATH] [--list-faults]`
//!   --port  port on 127.0.0.1 (default: $PORT, else 8080)
//!   --db    SQLite file (default: in memory, so every start is clean)
//!   env LEDGER_TOKEN  the bearer token clients must send (default: smoke-ledger-token)

mod api;
mod db;

use std::sync::Arc;

/// Every fault switch, with what it breaks.
pub const FAULTS: &[(&str, &str)] = &[
    ("unbalanced-accepted", "transaction bundles whose postings do not sum to zero are recorded"),
    ("idempotency-ignored", "re-posting a bundle with the same idempotency key records it again"),
    ("obligation-upsert-duplicates", "updating an obligation by key inserts a second one"),
    ("snapshot-not-persisted", "balance snapshots are acknowledged but never stored"),
    ("auth-not-enforced", "requests without a valid bearer token are served"),
    ("unknown-account-500", "a bundle naming an unknown account crashes with 500 instead of 422"),
];

pub const DEFAULT_TOKEN: &str = "smoke-ledger-token";

/// Which faults are on, from `FAULTS`.
#[derive(Debug, Default, Clone)]
pub struct Faults(Vec<String>);

impl Faults {
    pub fn on(&self, name: &str) -> bool {
        self.0.iter().any(|f| f == name)
    }
}

fn usage() -> ! {
    eprintln!("usage: ledger-api [--port N] [--db PATH] [--list-faults]");
    std::process::exit(2);
}

#[tokio::main]
async fn main() {
    let mut port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(8080);
    let mut db_path = ":memory:".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--list-faults" => {
                for (name, _) in FAULTS {
                    println!("{name}");
                }
                return;
            }
            "--port" => port = args.next().and_then(|p| p.parse().ok()).unwrap_or_else(|| usage()),
            "--db" => db_path = args.next().unwrap_or_else(|| usage()),
            "--help" | "-h" => {
                println!("ledger-api [--port N] [--db PATH] [--list-faults]");
                println!("env: FAULTS (comma-separated fault names), LEDGER_TOKEN (default {DEFAULT_TOKEN})");
                return;
            }
            other => {
                eprintln!("ledger-api: unknown argument {other:?}");
                usage();
            }
        }
    }
    let faults: Vec<String> = std::env::var("FAULTS")
        .unwrap_or_default()
        .split(',')
        .map(|f| f.trim().to_string())
        .filter(|f| !f.is_empty())
        .collect();
    for f in &faults {
        if !FAULTS.iter().any(|(name, _)| name == f) {
            eprintln!("ledger-api: unknown fault {f:?}; --list-faults prints the known ones");
            std::process::exit(2);
        }
    }
    if !faults.is_empty() {
        eprintln!("ledger-api: FAULTS ON: {}", faults.join(", "));
    }
    let token = std::env::var("LEDGER_TOKEN").ok().filter(|t| !t.is_empty()).unwrap_or(DEFAULT_TOKEN.into());
    let conn = match db::open(&db_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ledger-api: cannot open database {db_path}: {e}");
            std::process::exit(1);
        }
    };
    let state = Arc::new(api::App { db: std::sync::Mutex::new(conn), faults: Faults(faults), token });
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("ledger-api: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("ledger-api: listening on http://127.0.0.1:{port}");
    let shutdown = async {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("installing a SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {},
            _ = tokio::signal::ctrl_c() => {},
        }
        eprintln!("ledger-api: shutting down");
    };
    if let Err(e) = axum::serve(listener, api::router(state)).with_graceful_shutdown(shutdown).await {
        eprintln!("ledger-api: server error: {e}");
        std::process::exit(1);
    }
}
