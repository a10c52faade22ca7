//! A component's blob, downloaded by smoke's rules rather than the OCI client's: redirects
//! followed on the registry's own origin, or to another origin (a CDN) only where every address
//! is public, reached at those addresses; credentials only to the registry's origin; no Referer;
//! at most the size of a component. The digest is checked before the blob enters the cache.

use super::RemoteRef;
use super::auth::Credentials;
use oci_client::RegistryOperation;
use oci_client::secrets::RegistryAuth;
use tokio::io::AsyncWriteExt;

/// The most redirects a blob's download follows.
const MAX_REDIRECTS: usize = 5;

/// Why a blob cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("cannot get a token to pull with: {0}")]
    Auth(String),
    #[error("{url}: {message}")]
    Fetch { url: String, message: String },
    #[error("{url} answered {status}")]
    Status { url: String, status: u16 },
    #[error("{from} redirects to {to}: {why}")]
    Redirect { from: String, to: String, why: String },
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
    #[error("the blob is over the limit of {} bytes for a component", crate::plugin::MAX_COMPONENT_BYTES)]
    TooLarge,
    #[error("cannot write the download: {0}")]
    Write(std::io::Error),
}

/// The `Authorization` a pull from `r` sends: the OCI client's token for it, else basic
/// credentials, else none.
async fn authorization(
    client: &oci_client::Client,
    r: &RemoteRef,
    credentials: &Credentials,
) -> Result<Option<String>, BlobError> {
    use base64::Engine as _;
    let token = client
        .auth(&r.oci(), &credentials.auth, RegistryOperation::Pull)
        .await
        .map_err(|e| BlobError::Auth(e.to_string()))?;
    Ok(match (token, &credentials.auth) {
        (Some(token), _) => Some(format!("Bearer {token}")),
        (None, RegistryAuth::Basic(user, password)) => Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )),
        (None, RegistryAuth::Bearer(token)) => Some(format!("Bearer {token}")),
        (None, RegistryAuth::Anonymous) => None,
    })
}

/// Download the blob `digest` of `r` into `file`, over `scheme` (`http` for a registry on this
/// machine or one the user allowed plain HTTP to).
pub async fn download(
    client: &oci_client::Client,
    r: &RemoteRef,
    credentials: &Credentials,
    digest: &str,
    scheme: &str,
    file: &mut tokio::fs::File,
) -> Result<(), BlobError> {
    let reference = r.oci();
    let start =
        format!("{scheme}://{}/v2/{}/blobs/{digest}", reference.resolve_registry(), reference.repository());
    let fetch = |url: &reqwest::Url| {
        let url = crate::http::shown_url(url.as_str());
        move |e: reqwest::Error| BlobError::Fetch { url, message: crate::http::root_cause(&e) }
    };
    let mut url = reqwest::Url::parse(&start)
        .map_err(|e| BlobError::Fetch { url: start.clone(), message: e.to_string() })?;
    let origin = url.origin();
    let authorization = authorization(client, r, credentials).await?;
    let mut pinned: Option<Vec<std::net::SocketAddr>> = None;
    for _ in 0..=MAX_REDIRECTS {
        let mut builder = crate::http::client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .connect_timeout(std::time::Duration::from_secs(10))
            .read_timeout(std::time::Duration::from_secs(60));
        if let (Some(addresses), Some(host)) = (&pinned, url.host_str()) {
            builder = builder
                .no_proxy()
                .resolve_to_addrs(host.trim_start_matches('[').trim_end_matches(']'), addresses);
        }
        let http = builder.build().map_err(fetch(&url))?;
        let mut request = http.get(url.clone());
        if let Some(value) = authorization.as_deref().filter(|_| url.origin() == origin) {
            request = request.header(reqwest::header::AUTHORIZATION, value);
        }
        let response = request.send().await.map_err(fetch(&url))?;
        if response.status().is_redirection() {
            let (next, addresses) = redirect(&url, &origin, &response).await?;
            (url, pinned) = (next, addresses);
            continue;
        }
        if !response.status().is_success() {
            return Err(BlobError::Status { url: url.to_string(), status: response.status().as_u16() });
        }
        return save(response, file, url.as_str()).await;
    }
    Err(BlobError::TooManyRedirects)
}

/// Where a redirect leads, if it may be followed there, and the addresses to reach it at (none
/// on the registry's own origin: it is where the user pointed).
async fn redirect(
    from: &reqwest::Url,
    origin: &url::Origin,
    response: &reqwest::Response,
) -> Result<(reqwest::Url, Option<Vec<std::net::SocketAddr>>), BlobError> {
    let location =
        response.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("");
    let refused = |to: String, why: String| BlobError::Redirect {
        from: crate::http::shown_url(from.as_str()),
        to,
        why,
    };
    let next = from.join(location).map_err(|e| refused(location.to_string(), e.to_string()))?;
    let shown = crate::http::shown_url(next.as_str());
    if !matches!(next.scheme(), "http" | "https") {
        return Err(refused(shown, "not an http(s) URL".into()));
    }
    if next.origin() == *origin {
        return Ok((next, None));
    }
    let host = next.host_str().unwrap_or_default().to_string();
    let port = next.port_or_known_default().unwrap_or(443);
    let addresses = crate::http::reach::public_addresses(&host, port)
        .await
        .map_err(|e| refused(shown.clone(), e.to_string()))?;
    Ok((next, Some(addresses)))
}

/// The body into `file`, at most a component's size.
async fn save(
    mut response: reqwest::Response,
    file: &mut tokio::fs::File,
    url: &str,
) -> Result<(), BlobError> {
    let mut written: u64 = 0;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| BlobError::Fetch { url: url.to_string(), message: crate::http::root_cause(&e) })?
    {
        written += chunk.len() as u64;
        if written > crate::plugin::MAX_COMPONENT_BYTES {
            return Err(BlobError::TooLarge);
        }
        file.write_all(&chunk).await.map_err(BlobError::Write)?;
    }
    file.flush().await.map_err(BlobError::Write)
}
