//! The MQTT client settings shared by ingest, the gateway and the tools: the broker URL, the
//! client options (session, credentials, TLS) and the first reconnect wait. What each does with
//! its connection (subscribe and acknowledge, publish and confirm) stays with it.

use std::path::Path;
use std::time::Duration;

use rumqttc::{MqttOptions, TlsConfiguration, Transport};

use crate::config::Config;

/// The MQTT protocol's largest packet. The client accepts anything the broker delivers and gwmon
/// quarantines oversize payloads itself: a client-side limit would make rumqttc drop the
/// connection, and in a persistent session the broker would redeliver the same packet forever.
pub const MQTT_MAX_PACKET: usize = 268_435_455;

/// Request channel capacity: above any broker's in-flight window, so acks never block.
pub const REQUEST_CAPACITY: usize = 65_536;

/// The first wait before reconnecting to the broker; it doubles up to `[mqtt] reconnect_max_s`.
pub const RECONNECT_FIRST: Duration = Duration::from_millis(250);

/// Why client options could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Url(#[from] BrokerUrlError),
    #[error("TLS: {0}")]
    Tls(String),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}

/// Broker address parsed from a URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerUrl {
    pub tls: bool,
    /// Host name or IP address, without the brackets of an IPv6 address.
    pub host: String,
    pub port: u16,
}

/// Why a broker URL was refused: the URL, what is wrong with it, and the form gwmon expects.
#[derive(Debug, thiserror::Error)]
#[error(
    "invalid broker URL '{url}': {problem}; expected mqtt://host:port or mqtts://host:port (e.g. mqtt://127.0.0.1:1883)"
)]
pub struct BrokerUrlError {
    pub url: String,
    pub problem: String,
}

impl BrokerUrl {
    /// Parses `mqtt://host[:port]` (also `tcp://`) or `mqtts://host[:port]` (also `ssl://`); the
    /// port defaults to 1883, or 8883 with TLS. A trailing `/` is allowed; a path, query,
    /// fragment or user name is not (credentials belong in `[mqtt] username` and
    /// `password_env` / `password_file`, not in a URL that gets logged).
    pub fn parse(input: &str) -> Result<Self, BrokerUrlError> {
        let bad = |problem: String| BrokerUrlError {
            url: input.to_string(),
            problem,
        };
        if !input.contains("://") {
            return Err(bad("no scheme".into()));
        }
        let url = url::Url::parse(input).map_err(|e| bad(e.to_string()))?;
        let tls = match url.scheme() {
            "mqtt" | "tcp" => false,
            "mqtts" | "ssl" => true,
            other => return Err(bad(format!("unknown scheme '{other}'"))),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad(
                "credentials in the URL: set [mqtt] username and password_env or password_file"
                    .into(),
            ));
        }
        if !matches!(url.path(), "" | "/") {
            return Err(bad(format!("unexpected path '{}'", url.path())));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("unexpected query or fragment".into()));
        }
        // mqtt:// is not a scheme the URL standard knows, so every host but a bracketed IPv6
        // address comes back as a name (an "opaque host"), IPv4 addresses included.
        let host = match url.host() {
            Some(url::Host::Domain(h)) if !h.is_empty() => h.to_string(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(bad("no host".into())),
        };
        let port = match url.port() {
            Some(0) => return Err(bad("port 0".into())),
            Some(p) => p,
            None if tls => 8883,
            None => 1883,
        };
        Ok(Self { tls, host, port })
    }
}

/// The client options of this config: the broker's address, a persistent session with manual
/// acknowledgements, credentials, and TLS for `mqtts://`.
pub fn options(cfg: &Config) -> Result<MqttOptions, ClientError> {
    let url = BrokerUrl::parse(&cfg.mqtt.url)?;
    let mut o = MqttOptions::new(cfg.mqtt.client_id.clone(), url.host, url.port);
    o.set_keep_alive(Duration::from_secs(cfg.mqtt.keep_alive_s.max(5)))
        .set_clean_session(false)
        .set_manual_acks(true)
        .set_max_packet_size(MQTT_MAX_PACKET, MQTT_MAX_PACKET)
        .set_request_channel_capacity(REQUEST_CAPACITY);
    if let Some(user) = &cfg.mqtt.username {
        o.set_credentials(user.clone(), cfg.mqtt_password()?.unwrap_or_default());
    }
    if url.tls {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let tls = &cfg.mqtt.tls;
        let read = |p: &Path, what: &str| {
            std::fs::read(p)
                .map_err(|e| ClientError::Tls(format!("cannot read {what} {}: {e}", p.display())))
        };
        let ca_file = tls.ca_file.as_ref().ok_or_else(|| {
            ClientError::Tls("mqtts:// needs [mqtt.tls] ca_file, the PEM CA that signed the broker's certificate".into())
        })?;
        let ca = read(ca_file, "ca_file")?;
        let client_auth = match (&tls.client_cert_file, &tls.client_key_file) {
            (Some(c), Some(k)) => Some((read(c, "client_cert_file")?, read(k, "client_key_file")?)),
            (None, None) => None,
            _ => {
                return Err(ClientError::Tls(
                    "set both client_cert_file and client_key_file, or neither".into(),
                ));
            }
        };
        o.set_transport(Transport::Tls(TlsConfiguration::Simple {
            ca,
            alpn: None,
            client_auth,
        }));
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(tls: bool, host: &str, port: u16) -> BrokerUrl {
        BrokerUrl {
            tls,
            host: host.into(),
            port,
        }
    }

    #[test]
    fn broker_urls_in_every_accepted_form() {
        for (input, want) in [
            ("mqtt://127.0.0.1:1884", url(false, "127.0.0.1", 1884)),
            ("mqtt://127.0.0.1:1884/", url(false, "127.0.0.1", 1884)),
            (
                "tcp://broker.example:1883",
                url(false, "broker.example", 1883),
            ),
            ("mqtt://broker.example", url(false, "broker.example", 1883)),
            ("mqtts://broker.example", url(true, "broker.example", 8883)),
            ("ssl://10.0.0.5:8884", url(true, "10.0.0.5", 8884)),
            ("MQTT://localhost:1883", url(false, "localhost", 1883)),
            ("mqtt://[::1]:1883", url(false, "::1", 1883)),
            ("mqtts://[fe80::1]", url(true, "fe80::1", 8883)),
        ] {
            assert_eq!(BrokerUrl::parse(input).unwrap(), want, "{input}");
        }
    }

    #[test]
    fn broker_url_errors_name_the_url_and_the_problem() {
        for (input, problem) in [
            ("127.0.0.1:1883", "no scheme"),
            ("localhost:1883", "no scheme"),
            ("", "no scheme"),
            ("http://x:1", "unknown scheme 'http'"),
            ("mqtt://:1883", "empty host"),
            ("mqtt://", "no host"),
            ("mqtt://h:port", "invalid port number"),
            ("mqtt://h:65536", "invalid port number"),
            ("mqtt://h:0", "port 0"),
            ("mqtt://h:1883/gw", "unexpected path '/gw'"),
            ("mqtt://h:1883?x=1", "unexpected query or fragment"),
            ("mqtt://user:secret@h:1883", "credentials in the URL"),
        ] {
            let e = BrokerUrl::parse(input).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("invalid broker URL '{input}': {problem}")),
                "{input}: {e}"
            );
            assert!(
                e.ends_with(
                    "; expected mqtt://host:port or mqtts://host:port (e.g. mqtt://127.0.0.1:1883)"
                ),
                "{e}"
            );
        }
    }
}
