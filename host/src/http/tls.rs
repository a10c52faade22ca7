//! TLS for the target: rustls (ring) with the platform's roots (`SSL_CERT_FILE` and
//! `SSL_CERT_DIR` honoured), the CAs of `--cacert`, a client certificate for mutual TLS
//! (`--cert`/`--key`), or no verification at all for a self-signed test service
//! (`--insecure-target`). Built once per run from bytes the config step has read.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;

/// A file the user named, as read: where it came from (shown in errors) and its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Named {
    pub shown: String,
    pub bytes: Vec<u8>,
}

/// What a run says about TLS to its target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM certificates trusted besides the platform's roots (`--cacert`).
    pub cacert: Option<Named>,
    /// A client certificate chain and its private key, PEM (`--cert`, `--key`).
    pub identity: Option<(Named, Named)>,
    /// Accept any certificate (`--insecure-target`): for a test service with a self-signed one.
    pub insecure: bool,
}

/// Why no TLS configuration can be made from the options.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{what} {shown}: {detail} (expected PEM, e.g. -----BEGIN CERTIFICATE-----)")]
    Pem { what: &'static str, shown: String, detail: String },
    #[error(
        "no certificate authority to trust: the platform's roots cannot be read ({0}); give --cacert FILE, \
         or set SSL_CERT_FILE"
    )]
    NoRoots(String),
    #[error("--cert {cert} and --key {key} do not make a client identity: {detail}")]
    Identity { cert: String, key: String, detail: String },
    #[error("cannot set up TLS: {0}")]
    Setup(String),
}

/// The certificates of a PEM file; an error when it holds none.
fn certificates(what: &'static str, file: &Named) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = |detail: String| TlsError::Pem { what, shown: file.shown.clone(), detail };
    let certs = CertificateDer::pem_slice_iter(&file.bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem(e.to_string()))?;
    if certs.is_empty() {
        return Err(pem("no certificate in it".into()));
    }
    Ok(certs)
}

/// The rustls configuration for a run's target: HTTP/1.1 (ALPN), TLS 1.2 and 1.3.
pub fn client_config(options: &TlsOptions) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Setup(e.to_string()))?;
    let builder = if options.insecure {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
    } else {
        builder.with_root_certificates(roots(options.cacert.as_ref())?)
    };
    let mut config = match &options.identity {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let chain = certificates("--cert", cert)?;
            let private = PrivateKeyDer::from_pem_slice(&key.bytes).map_err(|e| TlsError::Pem {
                what: "--key",
                shown: key.shown.clone(),
                detail: format!("no private key in it ({e})"),
            })?;
            builder.with_client_auth_cert(chain, private).map_err(|e| TlsError::Identity {
                cert: cert.shown.clone(),
                key: key.shown.clone(),
                detail: e.to_string(),
            })?
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The platform's roots and those of `--cacert`. The platform's may be missing when `--cacert`
/// names what to trust.
fn roots(cacert: Option<&Named>) -> Result<rustls::RootCertStore, TlsError> {
    let mut store = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (added, _ignored) = store.add_parsable_certificates(native.certs);
    if let Some(file) = cacert {
        for cert in certificates("--cacert", file)? {
            store.add(cert).map_err(|e| TlsError::Pem {
                what: "--cacert",
                shown: file.shown.clone(),
                detail: e.to_string(),
            })?;
        }
    } else if added == 0 {
        let why = native.errors.first().map_or("none found".to_string(), ToString::to_string);
        return Err(TlsError::NoRoots(why));
    }
    Ok(store)
}

/// The rustls configuration of smoke's other HTTP clients (documents, registries, MCP over HTTP,
/// health checks): the platform's roots, HTTP/2 and HTTP/1.1. With no roots on this machine (an
/// empty container) the store is empty: plain HTTP works, and an `https://` URL fails its
/// handshake naming the unknown issuer, instead of every client refusing to be built.
pub fn platform_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut store = rustls::RootCertStore::empty();
            let native = rustls_native_certs::load_native_certs();
            let (added, _ignored) = store.add_parsable_certificates(native.certs);
            if added == 0 {
                tracing::debug!(
                    "no platform certificate authorities (SSL_CERT_FILE is unset?): HTTPS will fail"
                );
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("ring supports the default protocol versions")
                .with_root_certificates(store)
                .with_no_client_auth();
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            Arc::new(config)
        })
        .clone()
}

/// The name a certificate must be for: the URL's host, a DNS name or an IP address.
pub fn server_name(host: &str) -> Result<ServerName<'static>, TlsError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(bare.to_string()).map_err(|e| TlsError::Setup(format!("host {host:?}: {e}")))
}

/// `--insecure-target`: any certificate, any name; the handshake's signatures are still checked,
/// so the connection is encrypted to whoever holds the key it shows.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(text: &str) -> Named {
        Named { shown: "f.pem".into(), bytes: text.as_bytes().to_vec() }
    }

    #[test]
    fn files_that_are_not_pem_are_refused_naming_the_flag_and_file() {
        let o = TlsOptions { cacert: Some(named("not a certificate")), ..TlsOptions::default() };
        let e = client_config(&o).unwrap_err().to_string();
        assert!(e.contains("--cacert f.pem: no certificate in it"), "{e}");
        let o =
            TlsOptions { insecure: true, identity: Some((named("x"), named("y"))), ..TlsOptions::default() };
        let e = client_config(&o).unwrap_err().to_string();
        assert!(e.contains("--cert f.pem"), "{e}");
    }

    #[test]
    fn names_are_dns_names_or_addresses() {
        assert!(matches!(server_name("127.0.0.1").unwrap(), ServerName::IpAddress(_)));
        assert!(matches!(server_name("[::1]").unwrap(), ServerName::IpAddress(_)));
        assert!(matches!(server_name("api.example.com").unwrap(), ServerName::DnsName(_)));
    }
}
