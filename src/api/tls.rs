//! TLS trust for the PVE API: system roots (plus a CA file), a pinned leaf fingerprint, or nothing.
//!
//! Every verifier records the SHA-256 fingerprint of the leaf certificate the server presented, so a
//! failed handshake can tell the user exactly what to pin.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, Error as TlsError, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};

use super::error::ApiError;

/// How the server's certificate is trusted.
#[derive(Clone, Debug, Default)]
pub enum TlsMode {
    /// The system's roots, plus the PEM certificates of `ca_file` if given.
    #[default]
    Verify,
    /// Exactly the certificate with this SHA-256 fingerprint (32 bytes), whatever its chain or name.
    Pinned([u8; 32]),
    /// No verification at all (the caller warns).
    Insecure,
}

/// The fingerprint of the leaf certificate seen in the last handshake.
#[derive(Clone, Default, Debug)]
pub struct PresentedCert(Arc<Mutex<Option<String>>>);

impl PresentedCert {
    pub fn get(&self) -> Option<String> {
        self.0.lock().ok().and_then(|g| g.clone())
    }
    fn set(&self, fp: String) {
        if let Ok(mut g) = self.0.lock() {
            *g = Some(fp);
        }
    }
}

/// `AB:CD:…` upper-case, as PVE's GUI and `pvenode cert info` show it.
pub fn format_fingerprint(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// SHA-256 of a DER certificate, formatted.
pub fn cert_fingerprint(der: &[u8]) -> String {
    format_fingerprint(&Sha256::digest(der))
}

/// Parse a SHA-256 fingerprint, tolerating case, colons, spaces and a `sha256:` prefix.
pub fn parse_fingerprint(text: &str) -> Result<[u8; 32], ApiError> {
    let trimmed = text.trim();
    let trimmed = trimmed
        .strip_prefix("sha256:")
        .or_else(|| trimmed.strip_prefix("SHA256:"))
        .unwrap_or(trimmed);
    let hex: String = trimmed
        .chars()
        .filter(|c| !matches!(c, ':' | ' ' | '-'))
        .collect();
    let bad = || {
        ApiError::Invalid(format!(
            "fingerprint '{text}' is not a SHA-256 fingerprint: expected 32 hex bytes like AB:CD:…:EF \
             (as `pvenode cert info` shows)"
        ))
    };
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A rustls client configuration for the mode; `presented` learns the leaf fingerprint of each handshake.
pub fn client_config(
    mode: &TlsMode,
    ca_file: Option<&std::path::Path>,
    presented: PresentedCert,
) -> Result<rustls::ClientConfig, ApiError> {
    let provider = provider();
    let verifier: Arc<dyn ServerCertVerifier> = match mode {
        TlsMode::Verify => {
            let roots = root_store(ca_file)?;
            let inner =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| ApiError::Tls {
                        message: format!("cannot set up certificate verification: {e}"),
                        presented_fingerprint: None,
                    })?;
            Arc::new(Recording {
                inner: Check::Roots(inner),
                presented,
                provider: provider.clone(),
            })
        }
        TlsMode::Pinned(fp) => Arc::new(Recording {
            inner: Check::Pinned(*fp),
            presented,
            provider: provider.clone(),
        }),
        TlsMode::Insecure => Arc::new(Recording {
            inner: Check::Nothing,
            presented,
            provider: provider.clone(),
        }),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ApiError::Tls {
            message: format!("cannot set up TLS: {e}"),
            presented_fingerprint: None,
        })?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(config)
}

fn root_store(ca_file: Option<&std::path::Path>) -> Result<RootCertStore, ApiError> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    if let Some(path) = ca_file {
        let data = std::fs::read(path).map_err(|e| {
            ApiError::Credentials(format!("cannot read ca_file {}: {e}", path.display()))
        })?;
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(&data) {
            let cert = cert.map_err(|e| {
                ApiError::Credentials(format!("ca_file {} is not PEM: {e}", path.display()))
            })?;
            roots.add(cert).map_err(|e| {
                ApiError::Credentials(format!(
                    "ca_file {} holds a certificate rustls rejects: {e}",
                    path.display()
                ))
            })?;
            added += 1;
        }
        if added == 0 {
            return Err(ApiError::Credentials(format!(
                "ca_file {} holds no PEM certificate",
                path.display()
            )));
        }
    }
    Ok(roots)
}

#[derive(Debug)]
enum Check {
    Roots(Arc<WebPkiServerVerifier>),
    Pinned([u8; 32]),
    Nothing,
}

#[derive(Debug)]
struct Recording {
    inner: Check,
    presented: PresentedCert,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        let digest: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        self.presented.set(format_fingerprint(&digest));
        match &self.inner {
            Check::Roots(v) => {
                v.verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            }
            Check::Pinned(want) if *want == digest => Ok(ServerCertVerified::assertion()),
            Check::Pinned(_) => Err(TlsError::General(
                "the certificate does not match the pinned fingerprint".into(),
            )),
            Check::Nothing => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_parsing_tolerates_case_and_separators() {
        let colon = "AB:cd:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd";
        let bare = colon.replace(':', "");
        let a = parse_fingerprint(colon).unwrap();
        assert_eq!(a, parse_fingerprint(&bare).unwrap());
        assert_eq!(a[0], 0xAB);
        assert_eq!(format_fingerprint(&a), colon.to_uppercase());
    }

    #[test]
    fn fingerprint_parsing_rejects_wrong_length() {
        assert!(parse_fingerprint("AB:CD").is_err());
        assert!(parse_fingerprint(&"zz".repeat(32)).is_err());
    }
}
