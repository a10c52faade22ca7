//! Registry credentials, in this order: `SMOKE_REGISTRY_USERNAME` and `SMOKE_REGISTRY_PASSWORD`;
//! the Docker config file (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`): a
//! credential helper named for the registry (`credHelpers`) or for all (`credsStore`), else the
//! `auths` entry; else anonymous. Credentials are never printed: callers get the password back
//! only to redact it from messages.

use base64::Engine as _;
use oci_client::secrets::RegistryAuth;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, DockerAuth>,
    #[serde(default)]
    creds_store: Option<String>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
struct DockerAuth {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// Credentials for `registry` (`host[:port]`), and where they came from (for the log; never the
/// values).
pub struct Credentials {
    pub auth: RegistryAuth,
    pub source: String,
}

impl Credentials {
    /// The secret, to redact from any message.
    pub fn secret(&self) -> Option<&str> {
        match &self.auth {
            RegistryAuth::Basic(_, password) => Some(password),
            RegistryAuth::Bearer(token) => Some(token),
            RegistryAuth::Anonymous => None,
        }
    }
}

/// `https://host/v1/`, `http://host`, `host`: the same key.
fn normalize(key: &str) -> &str {
    let key = key.trim_start_matches("https://").trim_start_matches("http://");
    key.split('/').next().unwrap_or(key)
}

/// Credentials that were configured but cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{}: not a Docker config file: {source}", .path.display())]
    DockerConfig { path: std::path::PathBuf, source: serde_json::Error },
    #[error("{}: auths.{registry}.auth is not base64 of user:password", .path.display())]
    BadAuth { path: std::path::PathBuf, registry: String },
    #[error("credential helper {program} cannot run: {source}")]
    HelperStart { program: String, source: std::io::Error },
    #[error("credential helper {program} did not answer within 30 s")]
    HelperTimeout { program: String },
    #[error("credential helper {program}: {source}")]
    HelperFailed { program: String, source: std::io::Error },
    #[error("credential helper {program} gave an answer that is not its JSON")]
    HelperAnswer { program: String },
}

pub async fn credentials(registry: &str) -> Result<Credentials, AuthError> {
    if let (Ok(user), Ok(password)) =
        (std::env::var("SMOKE_REGISTRY_USERNAME"), std::env::var("SMOKE_REGISTRY_PASSWORD"))
    {
        return Ok(Credentials {
            auth: RegistryAuth::Basic(user, password),
            source: "SMOKE_REGISTRY_USERNAME and SMOKE_REGISTRY_PASSWORD".into(),
        });
    }
    let path = match std::env::var_os("DOCKER_CONFIG") {
        Some(dir) => std::path::PathBuf::from(dir).join("config.json"),
        None => match directories::BaseDirs::new() {
            Some(b) => b.home_dir().join(".docker").join("config.json"),
            None => return Ok(anonymous()),
        },
    };
    let Ok(text) = crate::files::read_text(&path, crate::files::MAX_CONFIG_BYTES, "a Docker config") else {
        return Ok(anonymous());
    };
    let config: DockerConfig = serde_json::from_str(&text)
        .map_err(|source| AuthError::DockerConfig { path: path.clone(), source })?;
    let helper = config
        .cred_helpers
        .iter()
        .find(|(k, _)| normalize(k) == registry)
        .map(|(_, h)| h.clone())
        .or(config.creds_store.clone());
    if let Some(helper) = helper {
        return from_helper(&helper, registry).await;
    }
    let Some(entry) = config.auths.iter().find(|(k, _)| normalize(k) == registry).map(|(_, v)| v) else {
        return Ok(anonymous());
    };
    let source = format!("{} (auths.{registry})", path.display());
    if let (Some(user), Some(password)) = (&entry.username, &entry.password) {
        return Ok(Credentials { auth: RegistryAuth::Basic(user.clone(), password.clone()), source });
    }
    let Some(encoded) = &entry.auth else { return Ok(anonymous()) };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| AuthError::BadAuth { path: path.clone(), registry: registry.to_string() })?;
    let (user, password) = decoded
        .split_once(':')
        .ok_or_else(|| AuthError::BadAuth { path: path.clone(), registry: registry.to_string() })?;
    Ok(Credentials { auth: RegistryAuth::Basic(user.into(), password.into()), source })
}

fn anonymous() -> Credentials {
    Credentials { auth: RegistryAuth::Anonymous, source: "anonymous".into() }
}

/// Ask `docker-credential-<helper> get`, as Docker does.
async fn from_helper(helper: &str, registry: &str) -> Result<Credentials, AuthError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Answer {
        username: String,
        secret: String,
    }
    let program = format!("docker-credential-{helper}");
    let mut child = tokio::process::Command::new(&program)
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| AuthError::HelperStart { program: program.clone(), source })?;
    if let Some(mut stdin) = child.stdin.take() {
        use tokio::io::AsyncWriteExt;
        let _ = stdin.write_all(registry.as_bytes()).await;
    }
    let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .map_err(|_| AuthError::HelperTimeout { program: program.clone() })?
        .map_err(|source| AuthError::HelperFailed { program: program.clone(), source })?;
    if !output.status.success() {
        // Helpers answer "credentials not found" this way: go anonymous, as Docker does.
        return Ok(anonymous());
    }
    let answer: Answer = serde_json::from_slice(&output.stdout)
        .map_err(|_| AuthError::HelperAnswer { program: program.clone() })?;
    let auth = if answer.username == "<token>" {
        RegistryAuth::Bearer(answer.secret)
    } else {
        RegistryAuth::Basic(answer.username, answer.secret)
    };
    Ok(Credentials { auth, source: format!("credential helper {program}") })
}

#[cfg(test)]
mod tests {
    #[test]
    fn docker_config_keys_match_with_or_without_scheme_and_path() {
        assert_eq!(super::normalize("https://index.docker.io/v1/"), "index.docker.io");
        assert_eq!(super::normalize("127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(super::normalize("http://127.0.0.1:5000"), "127.0.0.1:5000");
    }
}
