//! Storage: SQLite, one table per resource, each row an id and its JSON document.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;
use std::sync::Mutex;

pub struct Store(Mutex<Connection>);

const TABLES: [&str; 4] = ["agents", "workflows", "runs", "approvals"];

impl Store {
    pub fn open() -> rusqlite::Result<Store> {
        let conn = Connection::open_in_memory()?;
        for t in TABLES {
            conn.execute_batch(&format!(
                "CREATE TABLE {t} (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, body TEXT NOT NULL)"
            ))?;
        }
        Ok(Store(Mutex::new(conn)))
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        example_support::lock(&self.0)
    }

    /// Insert or replace a document. Tables are fixed names, never client input.
    pub fn put(&self, table: &str, id: &str, body: &Value) {
        let sql =
            format!("INSERT INTO {table} (id, body) VALUES (?1, ?2) ON CONFLICT(id) DO UPDATE SET body = ?2");
        if let Err(e) = self.conn().execute(&sql, params![id, body.to_string()]) {
            eprintln!("workflow-api: cannot store {table}/{id}: {e}");
        }
    }

    pub fn get(&self, table: &str, id: &str) -> Option<Value> {
        let sql = format!("SELECT body FROM {table} WHERE id = ?1");
        let text: Option<String> = self.conn().query_row(&sql, [id], |r| r.get(0)).optional().ok()??;
        serde_json::from_str(&text?).ok()
    }

    pub fn list(&self, table: &str) -> Vec<Value> {
        let conn = self.conn();
        let Ok(mut stmt) = conn.prepare(&format!("SELECT body FROM {table} ORDER BY seq")) else {
            return Vec::new();
        };
        let rows = stmt.query_map([], |r| r.get::<_, String>(0));
        rows.map(|rows| rows.flatten().filter_map(|t| serde_json::from_str(&t).ok()).collect())
            .unwrap_or_default()
    }
}
