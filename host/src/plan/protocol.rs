//! The host's checks of the MCP protocol, as a plan names them (`mcp_check`): each one's name,
//! what it requires, the section of the specification it enforces, and when it applies. What
//! each sends and how it judges the answer is `mcp::conformance`'s.

/// When a check applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Always,
    /// Over Streamable HTTP.
    Http,
    /// Over stdio.
    Stdio,
    /// In a revision whose session begins with `initialize` (2025-11-25 and before).
    Handshake,
    /// Over Streamable HTTP in a revision without `initialize` (2026-07-28 and later).
    HttpDiscover,
    /// Over Streamable HTTP in a revision with `initialize`, which has sessions.
    HttpHandshake,
    /// In a revision without `initialize`.
    Discover,
    /// Where the server declares this capability.
    Declared(&'static str),
    /// When the run is given what it needs (`--baseline`).
    Given,
    /// Over Streamable HTTP, when the run sends credentials (an `Authorization` header).
    HttpCredentials,
    /// Over Streamable HTTP, in this revision or a later one (where the rule began).
    HttpSince(&'static str),
}

/// One check: its name, what it requires, the section of the specification it enforces, and when
/// it applies.
#[derive(Debug)]
pub struct Check {
    pub name: &'static str,
    /// What it sends, as a plan's endpoint names it.
    pub endpoint: &'static str,
    pub requires: &'static str,
    pub section: &'static str,
    pub when: When,
}

/// Every check, in the order they are planned.
pub const CHECKS: &[Check] = &[
    Check {
        name: "unknown-method",
        endpoint: "smoke/no-such-method",
        requires: "a method the server does not have is answered with the JSON-RPC error -32601 (method not found)",
        section: "JSON-RPC 2.0, 5.1 Error object; MCP, Base Protocol, Messages",
        when: When::Always,
    },
    Check {
        name: "invalid-params",
        endpoint: "tools/call",
        requires: "a tools/call whose params are not the method's (`arguments` a string, not an object) is refused: \
                   a result with isError, or a JSON-RPC error, -32602 (invalid params) by JSON-RPC's definition, never \
                   -32601 (the method exists)",
        section: "JSON-RPC 2.0, 5.1 Error object; MCP, Server Features, Tools, Error Handling",
        when: When::Always,
    },
    Check {
        name: "ping",
        endpoint: "ping",
        requires: "a ping is answered promptly with an empty result",
        section: "MCP 2025-11-25, Base Protocol, Utilities, Ping",
        when: When::Handshake,
    },
    Check {
        name: "result-type",
        endpoint: "tools/list",
        requires: "every result carries `resultType`",
        section: "MCP 2026-07-28, Base Protocol, Messages, Results",
        when: When::Discover,
    },
    Check {
        name: "list-order",
        endpoint: "tools/list",
        requires: "tools/list lists its tools in the same order each time",
        section: "MCP 2026-07-28, Server Features, Tools, Listing Tools",
        when: When::Discover,
    },
    Check {
        name: "cache-fields",
        endpoint: "tools/list",
        requires: "a list result's `ttlMs`, when given, is a whole number of milliseconds (0 or more), and its \
                   `cacheScope` \"public\" or \"private\"",
        section: "MCP 2026-07-28, Server Features, Utilities, Caching",
        when: When::Discover,
    },
    Check {
        name: "pagination",
        endpoint: "tools/list",
        requires: "tools/list, followed by its nextCursor to the end, lists each tool once and ends",
        section: "MCP, Server Features, Utilities, Pagination",
        when: When::Always,
    },
    Check {
        name: "declared-resources",
        endpoint: "resources/list",
        requires: "a server that declares the resources capability answers resources/list with a result",
        section: "MCP, Server Features, Resources, Capabilities",
        when: When::Declared("resources"),
    },
    Check {
        name: "declared-prompts",
        endpoint: "prompts/list",
        requires: "a server that declares the prompts capability answers prompts/list with a result",
        section: "MCP, Server Features, Prompts, Capabilities",
        when: When::Declared("prompts"),
    },
    Check {
        name: "lint",
        endpoint: "tools/list",
        requires: "what the server tells an agent (its tools, prompts, resources and instructions) holds no hidden \
                   characters and no words that steer the agent beyond the call, and its tool names are ones MCP allows",
        section: "smoke's lint, docs/mcp.md; MCP, Server Features, Tools, Security Considerations",
        when: When::Always,
    },
    Check {
        name: "baseline",
        endpoint: "tools/list",
        requires: "the server's tools, prompts and resources change in no way that breaks a client written against \
                   the baseline (--baseline, a record of `smoke mcp snapshot`)",
        section: "smoke's tool-surface baseline, docs/mcp.md",
        when: When::Given,
    },
    Check {
        name: "origin",
        endpoint: "POST",
        requires: "a request with a foreign Origin header is refused with HTTP 403 (DNS rebinding)",
        section: "MCP 2025-11-25, Base Protocol, Transports, Streamable HTTP, Security Warning",
        when: When::HttpSince("2025-11-25"),
    },
    Check {
        name: "protocol-version-header",
        endpoint: "POST",
        requires: "a request with an MCP-Protocol-Version header naming no revision the server supports is refused \
                   with HTTP 400",
        section: "MCP 2025-06-18, Base Protocol, Transports, Protocol Version Header",
        when: When::HttpSince("2025-06-18"),
    },
    Check {
        name: "ended-session",
        endpoint: "POST",
        requires: "a request naming a session the server ended (a session of smoke's own, ended with DELETE) is \
                   answered with HTTP 404",
        section: "MCP 2025-11-25, Base Protocol, Transports, Session Management",
        when: When::HttpHandshake,
    },
    Check {
        name: "method-header",
        endpoint: "POST",
        requires: "a request whose Mcp-Method header disagrees with its body is refused with HTTP 400",
        section: "MCP 2026-07-28, Base Protocol, Transports, Standard Headers",
        when: When::HttpDiscover,
    },
    Check {
        name: "name-header",
        endpoint: "POST",
        requires: "a tools/call whose Mcp-Name header names another tool than its body is refused with HTTP 400",
        section: "MCP 2026-07-28, Base Protocol, Transports, Standard Headers",
        when: When::HttpDiscover,
    },
    Check {
        name: "authorization",
        endpoint: "POST",
        requires: "a request without credentials is answered 401 with a WWW-Authenticate challenge, and OAuth \
                   protected-resource metadata, where published, names this server as its resource and an \
                   authorization server whose metadata is there",
        section: "MCP, Base Protocol, Authorization; RFC 9728; RFC 8414",
        when: When::HttpCredentials,
    },
    Check {
        name: "json-or-sse",
        endpoint: "POST",
        requires: "a POST that accepts both is answered as application/json or text/event-stream, holding the \
                   answer to its request",
        section: "MCP, Base Protocol, Transports, Streamable HTTP, Sending Messages to the Server",
        when: When::Http,
    },
    Check {
        name: "stdout",
        endpoint: "stdout",
        requires: "a stdio server writes nothing but JSON-RPC messages to its stdout",
        section: "MCP, Base Protocol, Transports, stdio",
        when: When::Stdio,
    },
];

/// A check by name.
pub fn check(name: &str) -> Option<&'static Check> {
    CHECKS.iter().find(|c| c.name == name)
}
