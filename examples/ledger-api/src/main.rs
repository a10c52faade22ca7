//! ledger-api: an example double-entry ledger API, operated by agents through tool endpoints.
//!
//! A real service (axum, SQLite) for smoke's ledger plugin to test, with fault switches that
//! plant realistic bugs: `FAULTS=unbalanced-accepted,idempotency-ignored ledger-api`.
//!
//! Usage:
//!   ledger-api [--port N] [--db PATH]   serve (default port: $PORT, else 8080; default database:
//!                                       in memory and migrated, so every start is clean)
//!   ledger-api reset --db PATH          delete every table (the file stays)
//!   ledger-api migrate --db PATH        create the schema (idempotent)
//!   ledger-api seed-chart --db PATH     insert the standard chart of accounts (idempotent)
//!   ledger-api mcp [--db PATH]          serve the tools over MCP on stdin/stdout (the HTTP server
//!                                       serves them at /mcp too, behind the token)
//!   ledger-api --list-faults            print the fault switches
//!   env LEDGER_TOKEN  the bearer token clients must send (default: smoke-ledger-token)

mod api;
mod db;
mod mcp;

use std::sync::Arc;

/// Every fault switch, with what it breaks.
pub const FAULTS: &[(&str, &str)] = &[
    ("unbalanced-accepted", "transaction bundles whose postings do not sum to zero are recorded"),
    ("idempotency-ignored", "re-posting a bundle with the same idempotency key records it again"),
    ("obligation-upsert-duplicates", "updating an obligation by key inserts a second one"),
    ("snapshot-not-persisted", "balance snapshots are acknowledged but never stored"),
    ("auth-not-enforced", "requests without a valid bearer token are served"),
    ("unknown-account-500", "a bundle naming an unknown account crashes with 500 instead of 422"),
    ("crash-on-snapshot", "the process exits (status 101) when a balance snapshot is recorded"),
    ("obligations-hang", "obligation reads never answer"),
];

pub const DEFAULT_TOKEN: &str = "smoke-ledger-token";

const USAGE: &str = "usage: ledger-api [--port N] [--db PATH] | mcp [--db PATH] | reset|migrate|seed-chart --db PATH \
                     | --list-faults";

fn usage() -> ! {
    eprintln!("{USAGE}");
    std::process::exit(2);
}

/// `reset`, `migrate` and `seed-chart`: maintenance commands on a database file.
fn maintain(command: &str, mut args: impl Iterator<Item = String>) -> ! {
    let path = match (args.next().as_deref(), args.next()) {
        (Some("--db"), Some(path)) => path,
        _ => usage(),
    };
    let result = rusqlite::Connection::open(&path).and_then(|conn| match command {
        "reset" => db::reset(&conn),
        "migrate" => db::migrate(&conn),
        _ => db::seed_chart(&conn),
    });
    match result {
        Ok(n) => {
            println!("ledger-api {command}: {path}: done ({n})");
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("ledger-api {command}: {path}: {e}");
            std::process::exit(1)
        }
    }
}

#[tokio::main]
async fn main() {
    let mut port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(8080);
    let mut db_path = ":memory:".to_string();
    let mut args = std::env::args().skip(1).peekable();
    if let Some(command) = args.peek().filter(|a| ["reset", "migrate", "seed-chart"].contains(&a.as_str())) {
        let command = command.clone();
        args.next();
        maintain(&command, args);
    }
    let stdio = args.peek().is_some_and(|a| a == "mcp");
    if stdio {
        args.next();
    }
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--list-faults" => {
                example_support::list_faults(FAULTS);
                return;
            }
            "--port" => port = args.next().and_then(|p| p.parse().ok()).unwrap_or_else(|| usage()),
            "--db" => db_path = args.next().unwrap_or_else(|| usage()),
            "--help" | "-h" => {
                println!("{USAGE}");
                println!(
                    "env: FAULTS (comma-separated fault names), LEDGER_TOKEN (default {DEFAULT_TOKEN}), MCP_PROTOCOL \
                     (the MCP revisions it speaks, comma-separated; default every one)"
                );
                return;
            }
            other => {
                eprintln!("ledger-api: unknown argument {other:?}");
                usage();
            }
        }
    }
    let faults = example_support::Faults::from_env("ledger-api", FAULTS);
    let token = std::env::var("LEDGER_TOKEN").ok().filter(|t| !t.is_empty()).unwrap_or(DEFAULT_TOKEN.into());
    let conn = match db::open(&db_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ledger-api: cannot open database {db_path}: {e}");
            std::process::exit(1);
        }
    };
    let state = Arc::new(api::App { db: std::sync::Mutex::new(conn), faults, token });
    if stdio {
        if let Err(e) = mcp::serve_stdio(state).await {
            eprintln!("ledger-api mcp: {e}");
            std::process::exit(1);
        }
        return;
    }
    example_support::serve("ledger-api", port, api::router(state), " (MCP at /mcp)").await;
}
