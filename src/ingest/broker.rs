//! An MQTT broker inside the gwmon process, for `gwmon demo` and for counties without a broker.
//!
//! `gwmon demo` must run on a bare machine, and a county without its own broker can set
//! `[mqtt] embedded_broker` so that its RTUs connect straight to the daemon. Both need a broker
//! that ships inside the binary; this module wraps [rumqttd] 0.20, configured in code (no config
//! file), with what gwmon relies on: QoS 1, persistent sessions (`clean_session = false`), manual
//! acks, `+` wildcard filters such as `gw/+/meter/+`, payloads up to
//! [`EmbeddedBrokerOptions::max_payload_bytes`], and many connections.
//!
//! The listener speaks MQTT 3.1.1 (rumqttc's v4 client) over plain TCP, without TLS and without
//! authentication: keep it on loopback unless the network in front of it is trusted.
//! rumqttd's console, Prometheus exporter, metrics timers, bridge and cluster parts are off.
//!
//! # Limits (rumqttd 0.20, read from its source and checked by the tests below)
//!
//! - **Memory only.** Queued messages, sessions and subscriptions live in the process. When the
//!   process exits — including a crash of a daemon running with `embedded_broker` — everything
//!   the broker has acknowledged (PUBACK) to a publisher but gwmon has not yet committed is lost:
//!   the messages in flight to gwmon (at most 100, see below) and any backlog queued for it.
//!   Where no reading may ever be lost, use an external broker with persistence
//!   (`config/mosquitto.conf`).
//! - **No shutdown.** rumqttd has no shutdown API: the broker runs until the process exits.
//!   Dropping [`EmbeddedBroker`] does not stop it. That suits the demo and `embedded_broker`
//!   (which lives as long as the daemon); don't start one per request.
//! - **Port 0 race.** rumqttd cannot report the port it bound, so [`start`] picks a free port by
//!   binding `127.0.0.1:0` (or the requested IP), reads it, closes that socket and hands the port
//!   to rumqttd. Another process could take the port in between; rumqttd's listener then fails and
//!   [`start`] retries with a new port (a few times). In the even rarer case that the other process
//!   also answers MQTT, the readiness check could be fooled.
//! - **Persistent sessions work.** A client reconnecting with the same id and
//!   `clean_session = false` gets `session_present = true`, keeps its subscriptions (it must not
//!   need to re-subscribe), and receives first every QoS 1 message it had been sent but had not
//!   acked (resent from the first unacked one, in order, with new packet ids and the DUP flag not
//!   set), then everything published while it was away.
//! - **The queue is a log bounded in bytes, not a per-client queue.** rumqttd appends each
//!   publish to an in-memory log per subscription *filter* (shared by all subscribers of that
//!   filter) and keeps at least the newest `(max_segment_count - 1) × max_segment_size` bytes,
//!   counting `4 + topic + payload` per message, whether or not subscribers have read them. A
//!   subscriber that falls further behind than that silently loses the oldest messages (rumqttd
//!   only logs a WARN, "given index … less than head, jumping to head"). The log also fills up
//!   during normal operation and stays full, so its size is the broker's steady-state memory per
//!   filter. [`EmbeddedBrokerOptions::max_queued`] sizes it.
//! - **Nothing is kept for a filter nobody subscribed to.** A publish on a topic that matches no
//!   existing subscription is acknowledged and dropped, and a new subscription starts at the end
//!   of its filter's log. gwmon must subscribe (SUBACK received) before publishers start: the demo
//!   must wait for the SUBACK before simulating; with `embedded_broker`, readings that RTUs
//!   publish between the broker's start and gwmon's first subscription are lost. Once gwmon's
//!   persistent session exists, the broker keeps its place while it is disconnected.
//! - **In-flight window of 100, in-order acks.** rumqttd sends at most 100 unacknowledged QoS 1
//!   messages to a subscriber (a constant in rumqttd, not configurable), so gwmon never holds more
//!   than 100 unacked messages and its batches are at most that large. Acks must come in the order
//!   the messages were received, on the connection that received them: rumqttd matches each ack
//!   against its oldest unacked message, and on a mismatch (an out-of-order ack, or an ack sent
//!   after a reconnect for a message of the previous connection) it drops the connection *and*
//!   counts that oldest message as acknowledged, so it is never redelivered. In-process that costs
//!   reconnects rather than readings (the message was delivered; a crash that would need the
//!   redelivery takes the broker down too), but gwmon must ack strictly in receipt order.
//! - Clients must use a non-zero keep-alive, and client ids must not contain `+`, `$`, `#`, `/`.
//! - rumqttd logs through `tracing` under the target `rumqttd` (`rumqttd::server::broker`,
//!   `rumqttd::router::routing`, `rumqttd::router::iobufs`, `rumqttd::segments`, …): several INFO
//!   lines per connection, and some ERROR lines for ordinary events (a client closing its
//!   connection, a client id taking over its older connection). Filter it with e.g.
//!   `rumqttd=warn` (or `rumqttd=off`).

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tracing::{info, warn};

/// Most connections the broker accepts at once: every RTU of a county (Taiyuan's registry has
/// ~350 intakes and wells) plus gwmon and load generators, with plenty of room.
const MAX_CONNECTIONS: usize = 4096;
/// rumqttd's per-read cap on QoS 0 messages handed to one connection (its own channel capacity).
const MAX_OUTGOING_PACKET_COUNT: u64 = 200;
/// Size of one segment of a filter's log. The log is trimmed a segment at a time.
const SEGMENT_BYTES: usize = 4 * 1024 * 1024;
/// Bytes of log budgeted per queued message: a single reading as rumqttd counts it (4 + topic +
/// JSON payload; `gw/140121/meter/QX-0001` with `{"ts":…,"total_m3":…}` is ~70). Bigger messages
/// (backlog arrays) use up the budget faster, smaller ones leave room for more.
pub const QUEUED_MESSAGE_BYTES: usize = 128;
/// Room for the rest of a PUBLISH packet (topic length, topic up to 65535 bytes, packet id) on
/// top of the payload: rumqttd's limit applies to the packet's remaining length.
const PUBLISH_OVERHEAD: usize = 2 + 65_535 + 2;
/// How long a client may take to send CONNECT after its TCP connection is accepted.
const CONNECTION_TIMEOUT_MS: u16 = 30_000;
/// Pause of rumqttd's accept loop after each connection (bounds a reconnect storm's accept rate).
const NEXT_CONNECTION_DELAY_MS: u64 = 1;
/// Name of the listener, which is also the name of its thread.
const LISTENER_NAME: &str = "gwmon-broker-v4";

/// How long [`start`] waits for the broker to answer.
const READY_TIMEOUT: Duration = Duration::from_secs(5);
/// Interval between readiness probes.
const READY_POLL: Duration = Duration::from_millis(5);
/// Connect / read / write timeout of one readiness probe.
const PROBE_IO_TIMEOUT: Duration = Duration::from_millis(500);
/// Client id of the readiness probe (its session is clean and ends when it closes).
const PROBE_CLIENT_ID: &str = "gwmon-embedded-broker-probe";
/// Attempts with a freshly picked port when rumqttd fails to bind one picked by [`start`].
const PORT_ATTEMPTS: u32 = 3;

/// Why the embedded broker could not be started.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// No free port could be reserved on the requested address.
    #[error("cannot find a free port on {addr}: {source}")]
    PickPort {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    /// The thread running rumqttd could not be created.
    #[error("cannot start the embedded MQTT broker thread: {0}")]
    Spawn(#[source] io::Error),
    /// rumqttd stopped during startup, usually because the port is taken.
    #[error("embedded MQTT broker on {addr} stopped during startup: {detail}")]
    Exited { addr: SocketAddr, detail: String },
    /// rumqttd did not answer an MQTT CONNECT in time.
    #[error("embedded MQTT broker on {addr} did not accept MQTT connections within {waited:?}")]
    NotReady { addr: SocketAddr, waited: Duration },
}

/// Settings of the embedded broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmbeddedBrokerOptions {
    /// Address to listen on. Port 0 picks a free port (see the module doc for the small race).
    /// A non-loopback address exposes an unauthenticated, unencrypted broker.
    pub bind: SocketAddr,
    /// Largest PUBLISH payload accepted. A client sending a bigger packet is disconnected.
    /// (Subscribers must allow packets this big too: rumqttc's default limit is 10 KiB.)
    pub max_payload_bytes: usize,
    /// rumqttd's `max_inflight_count`. In rumqttd 0.20 this is *not* the QoS 1 window towards
    /// subscribers (fixed at 100 by rumqttd): it is how many packets rumqttd reads from one
    /// connection in one batch before handing them to its router, i.e. how far one fast publisher
    /// can run ahead per router turn. 0 is treated as 1.
    pub max_inflight: u16,
    /// Messages kept for slow or offline subscribers, per subscription filter. rumqttd bounds its
    /// log in bytes, so this is converted at [`QUEUED_MESSAGE_BYTES`] per message (a single
    /// reading); bigger messages count proportionally more. See the module doc: the log fills to
    /// this size in normal operation too, so it is also the broker's memory per filter.
    pub max_queued: usize,
}

impl Default for EmbeddedBrokerOptions {
    /// Loopback with a free port, 1 MiB payloads (a backlog flush of ~10,000 readings, as
    /// `[ingest] max_payload_bytes`), a batch of 1000 packets per read, and 200,000 queued
    /// single readings per filter: a 25.6 MB budget, kept as 8 segments of 4 MiB. Measured, a
    /// retained single reading costs ~300 B of RSS (rumqttd's per-message overhead is ~230 B),
    /// so a filter's full log of small readings is ~150 MB.
    fn default() -> Self {
        Self {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            max_payload_bytes: 1024 * 1024,
            max_inflight: 1000,
            max_queued: 200_000,
        }
    }
}

/// A running embedded broker. It runs until the process exits (rumqttd cannot be stopped);
/// dropping this value does not stop it.
#[derive(Debug)]
pub struct EmbeddedBroker {
    /// The TCP port the broker listens on (the picked one when the options asked for port 0).
    pub port: u16,
    /// Where clients connect: the bound address, with loopback for an unspecified IP.
    connect_addr: SocketAddr,
    /// The thread running `rumqttd::Broker::start` (it returns only if the listener stops).
    thread: JoinHandle<Result<(), String>>,
}

impl EmbeddedBroker {
    /// The broker's URL for gwmon's `[mqtt] url`, e.g. `mqtt://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        // SocketAddr's Display brackets IPv6 addresses, as URLs need.
        format!("mqtt://{}", self.connect_addr)
    }

    /// Whether the broker's listener is still running (false only after a fatal rumqttd error).
    pub fn is_running(&self) -> bool {
        !self.thread.is_finished()
    }
}

/// Starts the broker on its own threads and returns once it answers an MQTT CONNECT (or fails
/// after a few seconds). Blocks the calling thread meanwhile: call it before entering the async
/// runtime or through `spawn_blocking`.
pub fn start(opts: EmbeddedBrokerOptions) -> Result<EmbeddedBroker, BrokerError> {
    let pick = opts.bind.port() == 0;
    let mut attempt = 1;
    loop {
        let addr = if pick {
            pick_free_port(opts.bind)?
        } else {
            opts.bind
        };
        match start_on(addr, &opts) {
            Err(BrokerError::Exited { addr, detail }) if pick && attempt < PORT_ATTEMPTS => {
                // Most likely another process took the picked port before rumqttd bound it.
                // (The failed attempt leaves rumqttd's idle router thread behind.)
                warn!(%addr, %detail, "embedded MQTT broker could not use the picked port; retrying");
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// Reserves a free port on `bind`'s IP by binding port 0, and releases it.
fn pick_free_port(bind: SocketAddr) -> Result<SocketAddr, BrokerError> {
    let listener =
        TcpListener::bind(bind).map_err(|source| BrokerError::PickPort { addr: bind, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| BrokerError::PickPort { addr: bind, source })?;
    drop(listener);
    Ok(addr)
}

/// One start attempt on a fixed address.
fn start_on(addr: SocketAddr, opts: &EmbeddedBrokerOptions) -> Result<EmbeddedBroker, BrokerError> {
    let config = rumqttd_config(addr, opts);
    let thread = std::thread::Builder::new()
        .name("gwmon-broker".into())
        .spawn(move || {
            // `Broker::new` starts the router thread; `start` starts the listener thread and
            // blocks until the listener stops, which only happens on a fatal error.
            let mut broker = rumqttd::Broker::new(config);
            broker.start().map_err(|e| e.to_string())
        })
        .map_err(BrokerError::Spawn)?;

    let connect_addr = connect_addr(addr);
    let started = Instant::now();
    loop {
        if thread.is_finished() {
            let detail = match thread.join() {
                Ok(Ok(())) => "its listener stopped (is the port already in use?)".to_string(),
                Ok(Err(e)) => e,
                Err(_) => "it panicked".to_string(),
            };
            return Err(BrokerError::Exited { addr, detail });
        }
        if probe(connect_addr) {
            break;
        }
        if started.elapsed() >= READY_TIMEOUT {
            return Err(BrokerError::NotReady {
                addr,
                waited: started.elapsed(),
            });
        }
        std::thread::sleep(READY_POLL);
    }
    if !addr.ip().is_loopback() {
        warn!(%addr, "embedded MQTT broker listens beyond loopback without TLS or authentication");
    }
    info!(%addr, ready_ms = started.elapsed().as_millis() as u64, "embedded MQTT broker ready");
    Ok(EmbeddedBroker {
        port: addr.port(),
        connect_addr,
        thread,
    })
}

/// The rumqttd configuration: one MQTT 3.1.1 listener, everything else off.
fn rumqttd_config(addr: SocketAddr, opts: &EmbeddedBrokerOptions) -> rumqttd::Config {
    let log_bytes = opts
        .max_queued
        .saturating_mul(QUEUED_MESSAGE_BYTES)
        .max(SEGMENT_BYTES);
    // rumqttd drops the oldest segment when a new one is needed and `max_segment_count` exist,
    // so `count - 1` full segments are always kept: one extra covers the budget.
    let max_segment_count = log_bytes.div_ceil(SEGMENT_BYTES).saturating_add(1);
    let router = rumqttd::RouterConfig {
        max_connections: MAX_CONNECTIONS,
        max_outgoing_packet_count: MAX_OUTGOING_PACKET_COUNT,
        max_segment_size: SEGMENT_BYTES,
        max_segment_count,
        // Same log size for every filter.
        custom_segment: None,
        // Pre-created logs would not help: a new subscription starts at its log's end anyway.
        initialized_filters: None,
        ..Default::default()
    };
    let connections = rumqttd::ConnectionSettings {
        connection_timeout_ms: CONNECTION_TIMEOUT_MS,
        max_payload_size: opts.max_payload_bytes.saturating_add(PUBLISH_OVERHEAD),
        max_inflight_count: usize::from(opts.max_inflight.max(1)),
        auth: None,
        external_auth: None,
        // Has no effect in rumqttd 0.20 (publishes without a matching filter are dropped either
        // way); false keeps it from creating a log per topic should that change.
        dynamic_filters: false,
    };
    let server = rumqttd::ServerSettings {
        name: LISTENER_NAME.to_string(),
        listen: addr,
        tls: None,
        next_connection_delay_ms: NEXT_CONNECTION_DELAY_MS,
        connections,
    };
    rumqttd::Config {
        id: 0,
        router,
        v4: Some([("1".to_string(), server)].into_iter().collect()),
        // v5, websockets, cluster, console, bridge, prometheus and metrics stay off.
        ..Default::default()
    }
}

/// The address clients use to reach a listener bound to `bind`.
fn connect_addr(bind: SocketAddr) -> SocketAddr {
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, bind.port())
}

/// An MQTT 3.1.1 CONNECT: clean session, 5 s keep-alive (rumqttd refuses 0), no will or login.
fn probe_connect_packet() -> Vec<u8> {
    let id = PROBE_CLIENT_ID.as_bytes();
    let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 4, 0b0000_0010, 0, 5];
    body.extend_from_slice(&(id.len() as u16).to_be_bytes());
    body.extend_from_slice(id);
    // Remaining length < 128: a single byte.
    let mut packet = vec![0x10, body.len() as u8];
    packet.extend(body);
    packet
}

/// Whether an MQTT broker answers on `addr`: TCP connect, CONNECT, a successful CONNACK.
/// The probe then closes the socket without DISCONNECT, which rumqttd logs at INFO only (a
/// bare TCP connect without CONNECT would make it log an ERROR).
fn probe(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, PROBE_IO_TIMEOUT) else {
        return false;
    };
    let configured = stream.set_read_timeout(Some(PROBE_IO_TIMEOUT)).is_ok()
        && stream.set_write_timeout(Some(PROBE_IO_TIMEOUT)).is_ok();
    if !configured || stream.write_all(&probe_connect_packet()).is_err() {
        return false;
    }
    let mut connack = [0u8; 4];
    if stream.read_exact(&mut connack).is_err() {
        return false;
    }
    // CONNACK, remaining length 2, return code 0 (accepted).
    connack[0] == 0x20 && connack[1] == 2 && connack[3] == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    use rumqttc::{
        AsyncClient, Event, MqttOptions, Outgoing, Packet, Publish, QoS, SubscribeReasonCode,
    };
    use tokio::sync::mpsc;
    use tokio::task::JoinHandle as TaskHandle;
    use tokio::time::timeout;

    const TOPIC: &str = "gw/140121/meter/QX-0001";
    const FILTER: &str = "gw/+/meter/+";
    /// Upper bound for any single awaited event (generous: CI machines can be slow).
    const WAIT: Duration = Duration::from_secs(20);

    /// A rumqttc connection whose event loop runs in a task that forwards every event (and the
    /// first error, after which it stops) to `events`.
    struct Conn {
        client: AsyncClient,
        events: mpsc::UnboundedReceiver<Result<Event, String>>,
        task: TaskHandle<()>,
        /// PUBACKs this client has written to the socket so far (seen by [`Conn::next`]).
        acks_written: usize,
    }

    fn connect(port: u16, id: &str, clean_session: bool) -> Conn {
        let mut o = MqttOptions::new(id, "127.0.0.1", port);
        o.set_keep_alive(Duration::from_secs(30))
            .set_clean_session(clean_session)
            .set_manual_acks(true)
            .set_max_packet_size(2 * 1024 * 1024, 2 * 1024 * 1024);
        let (client, mut eventloop) = AsyncClient::new(o, 1024);
        let (tx, events) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                let event = eventloop.poll().await.map_err(|e| e.to_string());
                let failed = event.is_err();
                if tx.send(event).is_err() || failed {
                    return;
                }
            }
        });
        Conn {
            client,
            events,
            task,
            acks_written: 0,
        }
    }

    impl Conn {
        /// Waits for the next event that `pick` accepts, skipping the others.
        async fn next<T>(&mut self, what: &str, mut pick: impl FnMut(Event) -> Option<T>) -> T {
            let deadline = tokio::time::Instant::now() + WAIT;
            loop {
                let event = tokio::time::timeout_at(deadline, self.events.recv())
                    .await
                    .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
                    .unwrap_or_else(|| panic!("event loop ended while waiting for {what}"))
                    .unwrap_or_else(|e| panic!("connection error while waiting for {what}: {e}"));
                if matches!(event, Event::Outgoing(Outgoing::PubAck(_))) {
                    self.acks_written += 1;
                }
                if let Some(found) = pick(event) {
                    return found;
                }
            }
        }

        async fn connack(&mut self) -> bool {
            self.next("CONNACK", |e| match e {
                Event::Incoming(Packet::ConnAck(a)) => {
                    assert_eq!(a.code, rumqttc::ConnectReturnCode::Success);
                    Some(a.session_present)
                }
                _ => None,
            })
            .await
        }

        async fn subscribe(&mut self, filter: &str) {
            self.client
                .subscribe(filter, QoS::AtLeastOnce)
                .await
                .unwrap();
            let codes = self
                .next("SUBACK", |e| match e {
                    Event::Incoming(Packet::SubAck(s)) => Some(s.return_codes),
                    _ => None,
                })
                .await;
            assert_eq!(codes, [SubscribeReasonCode::Success(QoS::AtLeastOnce)]);
        }

        async fn publish_event(&mut self) -> Publish {
            self.next("PUBLISH", |e| match e {
                Event::Incoming(Packet::Publish(p)) => Some(p),
                _ => None,
            })
            .await
        }

        /// Publishes QoS 1 messages and waits until the broker has acknowledged all of them.
        async fn publish_all(&mut self, payloads: impl IntoIterator<Item = Vec<u8>>) {
            let mut sent = 0;
            for payload in payloads {
                self.client
                    .publish(TOPIC, QoS::AtLeastOnce, false, payload)
                    .await
                    .unwrap();
                sent += 1;
            }
            for _ in 0..sent {
                self.next("PUBACK", |e| {
                    matches!(e, Event::Incoming(Packet::PubAck(_))).then_some(())
                })
                .await;
            }
        }
    }

    fn numbered(range: std::ops::Range<u32>) -> impl Iterator<Item = Vec<u8>> {
        range.map(|i| i.to_string().into_bytes())
    }

    fn number(p: &Publish) -> u32 {
        std::str::from_utf8(&p.payload).unwrap().parse().unwrap()
    }

    fn start_default() -> EmbeddedBroker {
        let broker = start(EmbeddedBrokerOptions::default()).unwrap();
        assert_ne!(broker.port, 0);
        assert_eq!(broker.url(), format!("mqtt://127.0.0.1:{}", broker.port));
        assert!(broker.is_running());
        broker
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn qos1_wildcard_subscription_receives_all_in_order_with_manual_acks() {
        let broker = start_default();
        let mut sub = connect(broker.port, "sub", false);
        assert!(!sub.connack().await, "fresh broker: no session yet");
        sub.subscribe(FILTER).await;

        let mut publisher = connect(broker.port, "pub", true);
        publisher.connack().await;
        let publishing = tokio::spawn(async move {
            publisher.publish_all(numbered(0..500)).await;
            publisher
        });

        // 500 > rumqttd's window of 100 unacked messages: only the acks keep the flow going.
        for expected in 0..500 {
            let p = sub.publish_event().await;
            assert_eq!(p.topic, TOPIC);
            assert_eq!(p.qos, QoS::AtLeastOnce);
            assert_eq!(number(&p), expected);
            sub.client.ack(&p).await.unwrap();
        }
        timeout(WAIT, publishing).await.unwrap().unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn persistent_session_redelivers_unacked_and_queued_messages() {
        let broker = start_default();
        let mut publisher = connect(broker.port, "pub", true);
        publisher.connack().await;

        let mut sub = connect(broker.port, "sub", false);
        assert!(!sub.connack().await);
        sub.subscribe(FILTER).await;

        // First session: receives 0..50, acks only 0..20, then dies without DISCONNECT.
        publisher.publish_all(numbered(0..50)).await;
        let mut unacked = Vec::new();
        for expected in 0..50 {
            let p = sub.publish_event().await;
            assert_eq!(number(&p), expected);
            if expected < 20 {
                sub.client.ack(&p).await.unwrap();
            } else {
                unacked.push(p);
            }
        }
        // The acks are on the wire before the connection goes away.
        while sub.acks_written < 20 {
            sub.next("outgoing PUBACK", |e| {
                matches!(e, Event::Outgoing(Outgoing::PubAck(_))).then_some(())
            })
            .await;
        }
        sub.task.abort();
        assert!(sub.task.await.unwrap_err().is_cancelled());
        drop(unacked);

        // While it is away: 30 more.
        publisher.publish_all(numbered(50..80)).await;

        // Second session, same id, clean_session = false.
        let mut sub = connect(broker.port, "sub", false);
        let session_present = sub.connack().await;
        assert!(
            session_present,
            "rumqttd 0.20 keeps the session (and its subscriptions)"
        );
        // Not re-subscribing: the restored subscription alone must deliver.
        for expected in 20..80 {
            let p = sub.publish_event().await;
            assert_eq!(p.topic, TOPIC);
            assert_eq!(number(&p), expected, "unacked 20..50, then queued 50..80");
            sub.client.ack(&p).await.unwrap();
        }

        // Nothing else is pending: the next message is the next new one.
        publisher.publish_all(numbered(80..81)).await;
        assert_eq!(number(&sub.publish_event().await), 80);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn payload_of_900_kib_passes_with_default_options() {
        let broker = start_default();
        let mut sub = connect(broker.port, "sub", false);
        sub.connack().await;
        sub.subscribe(FILTER).await;

        let payload: Vec<u8> = (0..900 * 1024).map(|i| (i % 251) as u8).collect();
        let mut publisher = connect(broker.port, "pub", true);
        publisher.connack().await;
        publisher.publish_all([payload.clone()]).await;

        let p = sub.publish_event().await;
        assert_eq!(p.payload.len(), payload.len());
        assert!(p.payload == payload);
        sub.client.ack(&p).await.unwrap();
    }

    #[test]
    fn start_fails_when_the_port_is_taken() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let opts = EmbeddedBrokerOptions {
            bind: taken.local_addr().unwrap(),
            ..Default::default()
        };
        // The probe reaches `taken`, which never answers CONNECT, so only rumqttd's failure ends
        // the wait.
        match start(opts) {
            Err(BrokerError::Exited { addr, .. }) => assert_eq!(addr, taken.local_addr().unwrap()),
            other => panic!("expected Exited, got {other:?}"),
        }
    }

    #[test]
    fn options_map_to_rumqttd_settings() {
        let opts = EmbeddedBrokerOptions::default();
        let addr = SocketAddr::from(([127, 0, 0, 1], 1883));
        let config = rumqttd_config(addr, &opts);
        let router = &config.router;
        // At least max_queued × QUEUED_MESSAGE_BYTES kept after the oldest segment is dropped.
        assert!(
            (router.max_segment_count - 1) * router.max_segment_size
                >= opts.max_queued * QUEUED_MESSAGE_BYTES
        );
        let v4 = config.v4.as_ref().unwrap();
        assert_eq!(v4.len(), 1);
        let server = v4.values().next().unwrap();
        assert_eq!(server.listen, addr);
        assert!(server.tls.is_none());
        assert!(server.connections.max_payload_size >= opts.max_payload_bytes + 65_535);
        assert!(config.v5.is_none() && config.ws.is_none() && config.console.is_none());
        assert!(config.prometheus.is_none() && config.metrics.is_none());
        assert!(config.bridge.is_none() && config.cluster.is_none());

        assert_eq!(
            connect_addr("0.0.0.0:7".parse().unwrap()),
            "127.0.0.1:7".parse().unwrap()
        );
        assert_eq!(
            connect_addr("[::]:7".parse().unwrap()),
            "[::1]:7".parse().unwrap()
        );
        assert_eq!(
            probe_connect_packet()[1] as usize,
            probe_connect_packet().len() - 2
        );
    }
}
