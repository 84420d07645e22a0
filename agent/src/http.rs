//! A small HTTP/1.1 client (hyper + rustls) for the agent's few HTTP calls:
//! one request per connection, which is all a picture queue needs and keeps
//! the binary free of a full client stack.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// Scheme, host and port of the cloud's HTTP side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Base {
    pub tls: bool,
    pub host: String,
    pub port: u16,
}

impl Base {
    /// The cloud link's URL with `ws://`→`http://`, `wss://`→`https://` and
    /// the path dropped.
    pub fn from_cloud_url(url: &str) -> anyhow::Result<Base> {
        let url = url.trim();
        let (tls, rest) = if let Some(r) = strip_prefix_ci(url, "wss://") {
            (true, r)
        } else if let Some(r) = strip_prefix_ci(url, "ws://") {
            (false, r)
        } else {
            anyhow::bail!("cloud URL '{url}' is not ws:// or wss://");
        };
        Self::parse_authority(url, tls, rest)
    }

    /// An explicit `https://HOST[:PORT]` (or `http://` for localhost), for
    /// deployments whose HTTP API is not on the WebSocket's host.
    pub fn from_http_url(url: &str) -> anyhow::Result<Base> {
        let url = url.trim();
        let (tls, rest) = if let Some(r) = strip_prefix_ci(url, "https://") {
            (true, r)
        } else if let Some(r) = strip_prefix_ci(url, "http://") {
            (false, r)
        } else {
            anyhow::bail!("pictures URL '{url}' is not https:// (or http:// for localhost)");
        };
        let b = Self::parse_authority(url, tls, rest)?;
        let loopback = b.host.eq_ignore_ascii_case("localhost") || b.host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if !tls && !loopback {
            anyhow::bail!("pictures URL '{url}' is plain http:// to {}: use https://", b.host);
        }
        Ok(b)
    }

    fn parse_authority(url: &str, tls: bool, rest: &str) -> anyhow::Result<Base> {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, tail) = v6.split_once(']').ok_or_else(|| anyhow::anyhow!("bad IPv6 host in '{url}'"))?;
            (h.to_string(), tail.strip_prefix(':').map(str::parse).transpose()?.unwrap_or(default_port))
        } else {
            match authority.split_once(':') {
                Some((h, p)) => (h.to_string(), p.parse()?),
                None => (authority.to_string(), default_port),
            }
        };
        if host.is_empty() {
            anyhow::bail!("cloud URL '{url}' has no host");
        }
        Ok(Base { tls, host, port })
    }

    /// `http(s)://host[:port]`, for logs.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.host_header())
    }

    fn host_header(&self) -> String {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        let default = if self.tls { 443 } else { 80 };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)).then(|| &s[prefix.len()..])
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("connecting to {0}: {1}")]
    Connect(String, String),
    #[error("HTTP exchange with {0}: {1}")]
    Exchange(String, String),
    #[error("no answer from {0} within {1:?}")]
    Timeout(String, Duration),
}

fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            for e in &found.errors {
                tracing::warn!(error = %e, "while loading the system's CA certificates");
            }
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                tracing::error!("no CA certificates found: https uploads will fail");
            }
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|b| Arc::new(b.with_root_certificates(roots).with_no_client_auth()))
                .map_err(|e| format!("rustls client config: {e}"))
        })
        .clone()
}

async fn exchange<S>(io: S, req: hyper::Request<Full<Bytes>>, who: &str) -> Result<(u16, Vec<u8>), HttpError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let err = |e: &dyn std::fmt::Display| HttpError::Exchange(who.to_string(), e.to_string());
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await.map_err(|e| err(&e))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let resp = sender.send_request(req).await.map_err(|e| err(&e))?;
    let status = resp.status().as_u16();
    // Answers here are a line of JSON; a huge one is not worth reading.
    let body = Limited::new(resp.into_body(), 64 << 10).collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
    Ok((status, body))
}

/// One request on a fresh connection; the answer's status and (capped) body.
pub async fn request(base: &Base, method: &str, path: &str, headers: &[(&str, String)], body: Vec<u8>, timeout: Duration) -> Result<(u16, Vec<u8>), HttpError> {
    let who = base.url();
    let mut b = hyper::Request::builder().method(method).uri(path).header("Host", base.host_header()).header("Content-Length", body.len());
    for (k, v) in headers {
        b = b.header(*k, v);
    }
    let req = b.body(Full::new(Bytes::from(body))).map_err(|e| HttpError::Exchange(who.clone(), e.to_string()))?;
    let work = async {
        let tcp = tokio::net::TcpStream::connect((base.host.as_str(), base.port)).await.map_err(|e| HttpError::Connect(who.clone(), e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        if base.tls {
            let name = rustls::pki_types::ServerName::try_from(base.host.clone()).map_err(|e| HttpError::Connect(who.clone(), e.to_string()))?;
            let tls = tokio_rustls::TlsConnector::from(tls_config().map_err(|e| HttpError::Connect(who.clone(), e))?).connect(name, tcp).await.map_err(|e| HttpError::Connect(who.clone(), format!("TLS: {e}")))?;
            exchange(tls, req, &who).await
        } else {
            exchange(tcp, req, &who).await
        }
    };
    tokio::time::timeout(timeout, work).await.map_err(|_| HttpError::Timeout(who.clone(), timeout))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_base_comes_from_the_cloud_url() {
        let b = Base::from_cloud_url("wss://abc.execute-api.ap-east-1.amazonaws.com/prod").unwrap();
        assert_eq!(b, Base { tls: true, host: "abc.execute-api.ap-east-1.amazonaws.com".into(), port: 443 });
        assert_eq!(b.url(), "https://abc.execute-api.ap-east-1.amazonaws.com");
        let b = Base::from_cloud_url("ws://127.0.0.1:8080/ws").unwrap();
        assert_eq!(b.url(), "http://127.0.0.1:8080");
        let b = Base::from_cloud_url("ws://[::1]:9000/ws").unwrap();
        assert_eq!((b.host.as_str(), b.port), ("::1", 9000));
        assert_eq!(b.url(), "http://[::1]:9000");
        assert!(Base::from_cloud_url("http://x/").is_err());
        assert!(Base::from_cloud_url("ws:///x").is_err());
        assert!(Base::from_cloud_url("ws://h:notaport/x").is_err());
        assert_eq!(Base::from_http_url("https://pics.example.com").unwrap().url(), "https://pics.example.com");
        assert_eq!(Base::from_http_url("http://127.0.0.1:9/").unwrap().port, 9);
        assert!(Base::from_http_url("http://pics.example.com").is_err());
    }
}
