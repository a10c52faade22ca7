//! Deterministic ids, so the same config always gives the same plan.
//!
//! Seeds use `00000000-0000-4000-8000-00000000000N`; ids that must not exist on the server use
//! `99999999-9999-4000-8000-00000000000N`. Both are valid version-4 UUIDs.

/// The `n`th deterministic id for a record the plugin creates (idempotency keys, client ids).
pub fn seed(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

/// The `n`th id that no server should know, for not-found scenarios.
pub fn missing(n: u64) -> String {
    format!("99999999-9999-4000-8000-{n:012}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_uuid_shaped_and_distinct() {
        assert_eq!(super::seed(7), "00000000-0000-4000-8000-000000000007");
        assert_eq!(super::missing(12), "99999999-9999-4000-8000-000000000012");
        assert_ne!(super::seed(1), super::seed(2));
    }
}
