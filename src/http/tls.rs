//! TLS of the listener itself (`[http] cert_file` and `key_file`, PEM): rustls with the ring
//! provider, HTTP/1.1 over each accepted connection ([`super::listener`] serves them). Behind nginx, leave both unset and let
//! nginx terminate TLS (README, "Web view").

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why the certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("[http] {what} {path}: {source}")]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "[http] cert_file {0}: no PEM certificate in it (expected -----BEGIN CERTIFICATE-----, the server's certificate first, then its chain)"
    )]
    NoCertificate(PathBuf),
    #[error(
        "[http] key_file {0}: no PEM private key in it (expected -----BEGIN PRIVATE KEY----- or an RSA/EC key)"
    )]
    NoKey(PathBuf),
    #[error("[http] cert_file and key_file do not make a TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// The server configuration from a PEM certificate chain and private key.
pub fn load_tls(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let open = |what, path: &Path| {
        File::open(path)
            .map(BufReader::new)
            .map_err(|source| TlsError::Read {
                what,
                path: path.to_owned(),
                source,
            })
    };
    let certs = rustls_pemfile::certs(&mut open("cert_file", cert)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Read {
            what: "cert_file",
            path: cert.to_owned(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(cert.to_owned()));
    }
    let key_der = rustls_pemfile::private_key(&mut open("key_file", key)?)
        .map_err(|source| TlsError::Read {
            what: "key_file",
            path: key.to_owned(),
            source,
        })?
        .ok_or_else(|| TlsError::NoKey(key.to_owned()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
