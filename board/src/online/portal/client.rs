//! The kiosk's portal client: [`kiosk_firmware::requests::delivery::PortalClient`]
//! over HTTPS with mutual TLS (rustls), one TCP+TLS connection per
//! exchange, a timeout on connecting and on every read and write.

use super::{TlsError, http, load_certs, load_key, provider, roots};
use kiosk_firmware::requests::api::IDEMPOTENCY_HEADER;
use kiosk_firmware::requests::delivery::{Answer, PortalClient, TransportError};
use rustls::pki_types::ServerName;
use std::io::BufReader;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where the portal is and how the kiosk proves who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSettings {
    /// `https://HOST:PORT` (no path).
    pub url: String,
    /// The CA the portal's certificate must chain to (PEM), pinned.
    pub ca_file: PathBuf,
    /// The kiosk's client certificate (PEM).
    pub client_cert_file: PathBuf,
    /// Its private key (PEM).
    pub client_key_file: PathBuf,
    /// Connect, read and write timeout.
    pub timeout: Duration,
}

/// Splits `https://host:port` into host and port.
pub fn parse_url(url: &str) -> Result<(String, u16), String> {
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| format!("must start with https://, not {url:?}"))?;
    let rest = rest.trim_end_matches('/');
    if rest.contains('/') {
        return Err(format!(
            "must be https://HOST:PORT without a path, not {url:?}"
        ));
    }
    match rest.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() => port
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .map(|p| (host.to_owned(), p))
            .ok_or_else(|| format!("has no valid port: {url:?}")),
        _ => Ok((rest.to_owned(), 443)),
    }
}

/// An HTTPS client with mutual TLS to one server (`https://HOST:PORT`):
/// what the portal client and the C06 client (`crate::online::c06::client`)
/// share. One TCP+TLS connection per exchange.
#[derive(Debug, Clone)]
pub struct HttpsClient {
    tls: Arc<rustls::ClientConfig>,
    host: String,
    port: u16,
    server_name: ServerName<'static>,
    timeout: Duration,
}

/// The HTTPS portal client.
#[derive(Debug, Clone)]
pub struct HttpsPortal {
    client: HttpsClient,
}

impl HttpsPortal {
    /// Loads the certificates and key and builds the TLS configuration.
    pub fn new(settings: &PortalSettings) -> Result<HttpsPortal, TlsError> {
        Ok(HttpsPortal {
            client: HttpsClient::new(settings)?,
        })
    }

    fn exchange(
        &self,
        method: &str,
        path: &str,
        extra: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Answer, TransportError> {
        let resp = self.client.exchange(method, path, extra, body)?;
        Ok(Answer {
            status: resp.status,
            body: resp.body,
        })
    }
}

impl HttpsClient {
    /// Loads the certificates and key and builds the TLS configuration
    /// (the server must chain to `ca_file` only: no system roots).
    pub fn new(settings: &PortalSettings) -> Result<HttpsClient, TlsError> {
        let (host, port) = parse_url(&settings.url).map_err(|reason| TlsError::File {
            path: PathBuf::from(&settings.url),
            reason,
        })?;
        let ca = load_certs(&settings.ca_file)?;
        let certs = load_certs(&settings.client_cert_file)?;
        let key = load_key(&settings.client_key_file)?;
        let tls = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots(&ca)?)
            .with_client_auth_cert(certs, key)?;
        let server_name = ServerName::try_from(host.clone()).map_err(|e| TlsError::File {
            path: PathBuf::from(&settings.url),
            reason: format!("the host is not a valid server name: {e}"),
        })?;
        Ok(HttpsClient {
            tls: Arc::new(tls),
            host,
            port,
            server_name,
            timeout: settings.timeout,
        })
    }

    fn addr(&self) -> Result<SocketAddr, TransportError> {
        (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| TransportError::Connect(e.to_string()))?
            .next()
            .ok_or_else(|| TransportError::Connect(format!("{} has no address", self.host)))
    }

    /// One request and its response, within the timeout on connecting
    /// and on every read and write.
    pub fn exchange(
        &self,
        method: &str,
        path: &str,
        extra: &[(&str, &str)],
        body: &[u8],
    ) -> Result<http::Response, TransportError> {
        let addr = self.addr()?;
        let tcp = TcpStream::connect_timeout(&addr, self.timeout).map_err(|e| {
            if is_timeout(&e) {
                TransportError::Timeout
            } else {
                TransportError::Connect(e.to_string())
            }
        })?;
        let setup = tcp
            .set_read_timeout(Some(self.timeout))
            .and_then(|()| tcp.set_write_timeout(Some(self.timeout)))
            .and_then(|()| tcp.set_nodelay(true));
        setup.map_err(|e| TransportError::Io(e.to_string()))?;
        let conn = rustls::ClientConnection::new(self.tls.clone(), self.server_name.clone())
            .map_err(|e| TransportError::Tls(e.to_string()))?;
        let mut stream = rustls::StreamOwned::new(conn, tcp);
        let host = format!("{}:{}", self.host, self.port);
        http::write_request(&mut stream, method, &host, path, extra, body).map_err(io_error)?;
        let mut reader = BufReader::new(stream);
        http::read_response(&mut reader).map_err(io_error)
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    )
}

fn io_error(e: std::io::Error) -> TransportError {
    if is_timeout(&e) {
        return TransportError::Timeout;
    }
    // rustls reports handshake and certificate failures as InvalidData
    // carrying its own error.
    if let Some(inner) = e.get_ref()
        && inner.downcast_ref::<rustls::Error>().is_some()
    {
        return TransportError::Tls(e.to_string());
    }
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => TransportError::Connect(e.to_string()),
        _ => TransportError::Io(e.to_string()),
    }
}

fn path_segment(code: &str) -> String {
    // Dossier codes are ASCII letters, digits, '.', '-': anything else is
    // percent-encoded so a strange input cannot change the path.
    code.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl PortalClient for HttpsPortal {
    fn submit(&mut self, idempotency_key: &str, body: &[u8]) -> Result<Answer, TransportError> {
        self.exchange(
            "POST",
            "/v1/dossiers",
            &[(IDEMPOTENCY_HEADER, idempotency_key)],
            body,
        )
    }

    fn status(&mut self, dossier_code: &str) -> Result<Answer, TransportError> {
        self.exchange(
            "GET",
            &format!("/v1/dossiers/{}", path_segment(dossier_code)),
            &[],
            b"",
        )
    }

    fn cancel(&mut self, dossier_code: &str) -> Result<Answer, TransportError> {
        self.exchange(
            "POST",
            &format!("/v1/dossiers/{}/cancel", path_segment(dossier_code)),
            &[],
            b"",
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn portal_urls_are_https_host_and_port_only() {
        assert_eq!(
            parse_url("https://127.0.0.1:8443").unwrap(),
            ("127.0.0.1".into(), 8443)
        );
        assert_eq!(
            parse_url("https://portal.example/").unwrap(),
            ("portal.example".into(), 443)
        );
        assert!(parse_url("http://127.0.0.1:80").is_err());
        assert!(parse_url("https://127.0.0.1:0").is_err());
        assert!(parse_url("https://127.0.0.1:8443/v1").is_err());
    }

    #[test]
    fn a_strange_code_cannot_change_the_path() {
        assert_eq!(
            path_segment("000.00.19.H26-261125-0001"),
            "000.00.19.H26-261125-0001"
        );
        assert_eq!(path_segment("../x?y"), "..%2Fx%3Fy");
    }
}
