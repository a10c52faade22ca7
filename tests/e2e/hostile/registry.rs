//! A registry that redirects a plugin's blob: followed on its own origin, and to another origin
//! only where every address is public (a CDN), without credentials and without a Referer; never
//! to a private address the user did not name.

use super::server::{Hostile, Reply};
use crate::support::{self, plugin, smoke};
use serde_json::json;
use sha2::Digest;

/// A registry serving one plugin (ledger) at `plugins/ledger:0.1.0`, whose blob answers with a
/// redirect to `blob_at` (a path on this registry, or a whole URL elsewhere).
fn registry(blob_at: impl Fn(&str) -> String + Send + Sync + 'static) -> (Hostile, String) {
    let component = std::fs::read(plugin("ledger")).unwrap();
    let digest = format!("sha256:{}", hex(&sha2::Sha256::digest(&component)));
    let config = b"{}".to_vec();
    let config_digest = format!("sha256:{}", hex(&sha2::Sha256::digest(&config)));
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.wasm.config.v0+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/wasm", "digest": digest, "size": component.len()}]
    })
    .to_string();
    let blob_path = format!("/v2/plugins/ledger/blobs/{digest}");
    let served = digest.clone();
    let target = Hostile::start(move |seen| {
        let path = seen.target.as_str();
        if path == "/v2/" {
            Reply::json(200, "{}")
        } else if path.starts_with("/v2/plugins/ledger/manifests/") {
            Reply::Raw {
                bytes: format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/vnd.oci.image.manifest.v1+json\r\ncontent-length: {}\r\n\r\n{manifest}",
                    manifest.len()
                )
                .into_bytes(),
                close: false,
            }
        } else if path == blob_path {
            let to = blob_at(&served);
            Reply::Raw {
                bytes: format!(
                    "HTTP/1.1 307 Temporary Redirect\r\nlocation: {to}\r\ncontent-length: 0\r\n\r\n"
                )
                .into_bytes(),
                close: false,
            }
        } else if path.starts_with("/storage/") {
            Reply::Send { status: 200, content_type: "application/octet-stream", body: component.clone() }
        } else {
            Reply::json(404, "{}")
        }
    });
    let reference = format!("oci://127.0.0.1:{}/plugins/ledger:0.1.0", target.port);
    (target, reference)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_registry_redirecting_a_blob_to_a_private_address_elsewhere_is_not_followed() {
    let elsewhere = Hostile::start(|_| Reply::json(200, "{}"));
    let other = elsewhere.url.clone();
    let (target, reference) = registry(move |digest| format!("{other}/storage/{digest}"));
    let dir = tempfile::tempdir().unwrap();
    let mut c = smoke(dir.path());
    c.args(["plugin", "pull", &reference])
        .env("SMOKE_REGISTRY_USERNAME", "ann")
        .env("SMOKE_REGISTRY_PASSWORD", "pw-9f2e1");
    let r = support::run(c);
    assert_ne!(r.code, 0, "{r}");
    assert!(r.stderr.contains("redirects to") && r.stderr.contains("private address"), "{r}");
    assert!(elsewhere.seen().is_empty(), "the other origin got nothing: {:?}", elsewhere.seen());
    assert!(!r.to_string().contains("pw-9f2e1"), "{r}");
    drop(target);
}

#[test]
fn a_registry_redirecting_a_blob_on_its_own_origin_is_followed_with_no_referer() {
    let (target, reference) = registry(|digest| format!("/storage/{digest}"));
    let dir = tempfile::tempdir().unwrap();
    let mut c = smoke(dir.path());
    c.args(["plugin", "pull", &reference]);
    let r = support::run(c);
    assert_eq!(r.code, 0, "{r}");
    let seen = target.seen();
    assert!(seen.iter().any(|s| s.target.starts_with("/storage/")), "{seen:?}");
    assert!(seen.iter().all(|s| s.header("referer").is_none()), "{seen:?}");
}
