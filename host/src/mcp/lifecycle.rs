//! How a session begins, in either generation of MCP: `server/discover` (2026-07-28 and later,
//! no handshake and no session, the revision in every request's `_meta`) or the `initialize`
//! handshake (2024-11-05 to 2025-11-25). smoke offers a revision only where the handshake it uses
//! has one, and records which handshake reached which revision.

use rmcp::model::{ClientCapabilities, ClientConfig, Implementation, ProtocolVersion};
use rmcp::service::{ClientInitializeError, RoleClient, RunningService};
use rmcp::{ClientLifecycleMode, ClientServiceExt};

use std::time::Duration;

/// The revision a run asks for: `--mcp-protocol`, `protocol` in `[target.mcp]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Revision {
    /// `server/discover` first; `initialize` when the server does not take it.
    #[default]
    Auto,
    /// This revision only, by the handshake it has.
    Pinned(ProtocolVersion),
}

/// A revision name that is not one smoke speaks.
#[derive(Debug, thiserror::Error)]
#[error("unknown MCP protocol revision {given:?}: give `auto` or one of {}", known())]
pub struct UnknownRevision {
    given: String,
}

fn known() -> String {
    ProtocolVersion::KNOWN_VERSIONS.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
}

impl std::str::FromStr for Revision {
    type Err = UnknownRevision;

    fn from_str(given: &str) -> Result<Revision, UnknownRevision> {
        if given == "auto" {
            return Ok(Revision::Auto);
        }
        ProtocolVersion::KNOWN_VERSIONS
            .iter()
            .find(|v| v.as_str() == given)
            .map(|v| Revision::Pinned(v.clone()))
            .ok_or_else(|| UnknownRevision { given: given.to_string() })
    }
}

impl std::fmt::Display for Revision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Revision::Auto => f.write_str("auto"),
            Revision::Pinned(v) => f.write_str(v.as_str()),
        }
    }
}

/// The two ways a session begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handshake {
    Discover,
    Initialize,
}

impl Handshake {
    /// The request that begins it.
    pub fn method(self) -> &'static str {
        match self {
            Handshake::Discover => "server/discover",
            Handshake::Initialize => "initialize",
        }
    }
}

/// How a session is to begin: the SDK's lifecycle, and the revision an `initialize` offers.
#[derive(Debug, Clone)]
pub struct Plan {
    mode: ClientLifecycleMode,
    offered: ProtocolVersion,
    pinned: Option<ProtocolVersion>,
}

impl Plan {
    /// The first attempt for a revision. `Auto` probes with `server/discover` offering only
    /// 2026-07-28; when the server does not take it ([`Refused::falls_back`]), the caller tries
    /// [`Plan::initialize`] next, offering the newest revision that has the handshake.
    pub fn first(revision: &Revision) -> Plan {
        match revision {
            Revision::Auto => Plan {
                mode: ClientLifecycleMode::Discover {
                    preferred_versions: vec![ProtocolVersion::V_2026_07_28],
                },
                offered: ProtocolVersion::LATEST_WITH_INITIALIZE,
                pinned: None,
            },
            Revision::Pinned(v) if !v.has_initialize() => Plan {
                mode: ClientLifecycleMode::Discover { preferred_versions: vec![v.clone()] },
                offered: ProtocolVersion::LATEST_WITH_INITIALIZE,
                pinned: Some(v.clone()),
            },
            Revision::Pinned(v) => {
                Plan { mode: ClientLifecycleMode::Initialize, offered: v.clone(), pinned: Some(v.clone()) }
            }
        }
    }

    /// The `initialize` that follows a `server/discover` the server did not take.
    pub fn initialize() -> Plan {
        Plan {
            mode: ClientLifecycleMode::Initialize,
            offered: ProtocolVersion::LATEST_WITH_INITIALIZE,
            pinned: None,
        }
    }

    /// The request that begins the session, to name in a failure.
    pub fn request(&self) -> &'static str {
        match self.mode {
            ClientLifecycleMode::Initialize => Handshake::Initialize.method(),
            _ => Handshake::Discover.method(),
        }
    }

    /// The revision `--mcp-protocol` pinned, if one was.
    pub fn pinned(&self) -> Option<&ProtocolVersion> {
        self.pinned.as_ref()
    }

    /// Whether a refusal of this attempt is followed by an `initialize`: only when no revision
    /// was pinned.
    pub fn may_fall_back(&self) -> bool {
        self.pinned.is_none() && matches!(self.mode, ClientLifecycleMode::Discover { .. })
    }

    /// What smoke says of itself. The revision an `initialize` offers is one that has the
    /// handshake (rmcp's default is the newest of all, 2026-07-28, which replaced the handshake
    /// with `server/discover`: offering it in an `initialize` is a contradiction a strict server
    /// refuses, and a lenient one echoes).
    fn client(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("smoke", env!("CARGO_PKG_VERSION")),
        )
        .with_protocol_version(self.offered.clone())
    }

    /// Begin the session over `transport`, within `timeout`.
    pub async fn begin<T, E, A>(&self, transport: T, timeout: Duration) -> Result<Begun, Refused>
    where
        T: rmcp::transport::IntoTransport<RoleClient, E, A>,
        E: std::error::Error + Send + Sync + 'static,
    {
        let begin = self.client().serve_with_lifecycle(transport, self.mode.clone());
        let service = match tokio::time::timeout(timeout, begin).await {
            Err(_) => return Err(Refused::Timeout),
            Ok(Err(e)) => return Err(Refused::Error(Box::new(e))),
            Ok(Ok(s)) => s,
        };
        let negotiated = service.peer_info().map(|i| i.protocol_version.clone()).unwrap_or_default();
        let handshake = match &self.mode {
            ClientLifecycleMode::Initialize => Handshake::Initialize,
            _ => Handshake::Discover,
        };
        if handshake == Handshake::Initialize && !negotiated.has_initialize() {
            let _ = tokio::time::timeout(Duration::from_secs(2), service.cancel()).await;
            return Err(Refused::Said(format!(
                "the server answered `initialize` with protocolVersion {:?}, a revision that has no initialize \
                 handshake (it begins with server/discover); smoke offered {:?} (MCP 2025-11-25, Lifecycle: \
                 version negotiation)",
                negotiated.as_str(),
                self.offered.as_str()
            )));
        }
        if let Some(pinned) = self.pinned.as_ref().filter(|p| **p != negotiated) {
            let _ = tokio::time::timeout(Duration::from_secs(2), service.cancel()).await;
            return Err(Refused::Said(format!(
                "the server does not speak MCP {pinned}: its {} answer chose {:?}",
                handshake.method(),
                negotiated.as_str()
            )));
        }
        if handshake == Handshake::Discover && negotiated.has_initialize() {
            let _ = tokio::time::timeout(Duration::from_secs(2), service.cancel()).await;
            return Err(Refused::Said(format!(
                "the server's server/discover chose {:?}, a revision whose session begins with `initialize`",
                negotiated.as_str()
            )));
        }
        Ok(Begun { service, handshake, negotiated })
    }
}

/// A session begun.
pub struct Begun {
    pub service: RunningService<RoleClient, ClientConfig>,
    pub handshake: Handshake,
    pub negotiated: ProtocolVersion,
}

/// Why a session did not begin.
pub enum Refused {
    Timeout,
    Error(Box<ClientInitializeError>),
    /// The server answered, but not with a revision smoke may use.
    Said(String),
}

impl Refused {
    /// Whether a refused `server/discover` is worth an `initialize`: not when the server wants
    /// credentials, nor when it answered as a server of the discover generation (a rejection
    /// only that generation has, or revisions none of which has the handshake).
    pub fn falls_back(&self) -> bool {
        use rmcp::model::ErrorCode;
        match self {
            Refused::Timeout => true,
            Refused::Said(_) => false,
            Refused::Error(e) if e.auth_challenge().is_some() || e.is_authorization_required() => false,
            Refused::Error(e) => match e.as_ref() {
                ClientInitializeError::JsonRpcError(error) => !matches!(
                    error.code,
                    ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY | ErrorCode::HEADER_MISMATCH
                ),
                ClientInitializeError::NoCompatibleProtocolVersion { server_supported, .. } => {
                    server_supported.iter().any(ProtocolVersion::has_initialize)
                }
                ClientInitializeError::Cancelled => false,
                _ => true,
            },
        }
    }
}
