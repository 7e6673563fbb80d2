//! One MQTT connection for the whole gateway: QoS 1 publishes, each one's PUBACK reported back
//! to whoever asked, so a terminal is confirmed only once the broker holds its readings.
//!
//! rumqttc gives a publish its packet id when it sends it and reports `Outgoing::Publish(pkid)`
//! in the order requests were sent; one task sends every request, so the n-th such event
//! belongs to the n-th request. The PUBACK then resolves the waiter registered under that pkid
//! (a queue per pkid: a reused pkid's next publish may be reported before the old one's ack).
//!
//! A lost connection is not resumed: rumqttc would resend its in-flight publishes, and the
//! order that ties pkids to waiters would be lost. The connection and everything waiting on it
//! are dropped (those frames are not confirmed, so their terminals resend) and a new one is made
//! after a backoff. While no connection is up, publishes fail at once.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use super::map::Publish;
use crate::domain::Backoff;
use crate::mqtt::RECONNECT_FIRST;

/// Requests waiting for the publishing task.
const QUEUE: usize = 10_000;
/// Broker in-flight window of the gateway's connection.
const INFLIGHT: u16 = 1000;

struct Request {
    publish: Publish,
    done: oneshot::Sender<()>,
}

/// Waiters of one connection: sent requests by order, then by pkid.
#[derive(Default)]
struct Waiters {
    sent: VecDeque<oneshot::Sender<()>>,
    by_pkid: HashMap<u16, VecDeque<oneshot::Sender<()>>>,
}

/// A handle to the publishing task (cheap to clone).
#[derive(Clone)]
pub struct Publisher {
    tx: mpsc::Sender<Request>,
    up: tokio::sync::watch::Receiver<bool>,
}

impl Publisher {
    /// Starts the publishing task with `opts` (clean session; the client id must be the
    /// gateway's own). It ends when every handle is dropped.
    pub fn start(mut opts: MqttOptions, reconnect_max: Duration) -> Publisher {
        opts.set_clean_session(true)
            .set_manual_acks(false)
            .set_inflight(INFLIGHT)
            .set_request_channel_capacity(usize::from(INFLIGHT) * 2);
        let (tx, rx) = mpsc::channel(QUEUE);
        let (up_tx, up) = tokio::sync::watch::channel(false);
        tokio::spawn(run(opts, reconnect_max, rx, up_tx));
        Publisher { tx, up }
    }

    /// Whether the broker connection is up.
    pub fn is_connected(&self) -> bool {
        *self.up.borrow()
    }

    /// Waits until the broker connection is up, at most `timeout`; true when it is.
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        let mut up = self.up.clone();
        matches!(
            tokio::time::timeout(timeout, up.wait_for(|&c| c)).await,
            Ok(Ok(_))
        )
    }

    /// Publishes everything in `items` and waits for the broker's PUBACK of each, at most
    /// `timeout` in all. True when every one was acknowledged (vacuously for none).
    pub async fn publish_all(&self, items: Vec<Publish>, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut waiting = Vec::with_capacity(items.len());
        for publish in items {
            let (done, rx) = oneshot::channel();
            let sent = tokio::time::timeout_at(deadline, self.tx.send(Request { publish, done }));
            if !matches!(sent.await, Ok(Ok(()))) {
                return false;
            }
            waiting.push(rx);
        }
        for rx in waiting {
            if !matches!(tokio::time::timeout_at(deadline, rx).await, Ok(Ok(()))) {
                return false;
            }
        }
        true
    }
}

/// The publishing task: one connection at a time.
async fn run(
    opts: MqttOptions,
    reconnect_max: Duration,
    mut rx: mpsc::Receiver<Request>,
    status: tokio::sync::watch::Sender<bool>,
) {
    let mut backoff = Backoff::new(RECONNECT_FIRST, reconnect_max.max(RECONNECT_FIRST));
    let broker = format!("{}:{}", opts.broker_address().0, opts.broker_address().1);
    loop {
        let (client, mut eventloop) = AsyncClient::new(opts.clone(), usize::from(INFLIGHT) * 2);
        let waiters = Arc::new(Mutex::new(Waiters::default()));
        let (up_tx, mut up_rx) = tokio::sync::watch::channel(false);
        let (dead_tx, mut dead_rx) = oneshot::channel::<String>();
        let w = Arc::clone(&waiters);
        let poller = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let _ = up_tx.send(true);
                    }
                    Ok(Event::Outgoing(Outgoing::Publish(pkid))) => {
                        let mut w = w.lock().unwrap_or_else(|e| e.into_inner());
                        if let Some(done) = w.sent.pop_front() {
                            w.by_pkid.entry(pkid).or_default().push_back(done);
                        }
                    }
                    Ok(Event::Incoming(Packet::PubAck(ack))) => {
                        let mut w = w.lock().unwrap_or_else(|e| e.into_inner());
                        if let Some(done) =
                            w.by_pkid.get_mut(&ack.pkid).and_then(VecDeque::pop_front)
                        {
                            let _ = done.send(());
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let _ = dead_tx.send(e.to_string());
                        return;
                    }
                }
            }
        });
        let mut connected = false;
        let reason = loop {
            tokio::select! {
                dead = &mut dead_rx => break dead.unwrap_or_default(),
                changed = up_rx.changed(), if !connected => {
                    if changed.is_ok() && *up_rx.borrow() {
                        connected = true;
                        backoff.reset();
                        let _ = status.send(true);
                        info!(broker = %broker, "gateway connected to broker");
                    }
                }
                req = rx.recv() => {
                    let Some(req) = req else {
                        // Every handle dropped: the gateway is stopping.
                        let _ = client.disconnect().await;
                        poller.abort();
                        return;
                    };
                    if !connected {
                        // Dropping `done` fails the waiter: the frame is not confirmed.
                        continue;
                    }
                    waiters.lock().unwrap_or_else(|e| e.into_inner()).sent.push_back(req.done);
                    if client
                        .publish(req.publish.topic, QoS::AtLeastOnce, false, req.publish.payload)
                        .await
                        .is_err()
                    {
                        break "the MQTT client stopped".to_string();
                    }
                }
            }
        };
        poller.abort();
        drop(client);
        let _ = status.send(false);
        // Every waiter of this connection fails now.
        drop(waiters);
        let wait = backoff.next_wait();
        warn!(broker = %broker, error = %reason, retry_in_ms = wait.as_millis() as u64, "gateway lost the broker: frames are not confirmed until it is back");
        let until = tokio::time::Instant::now() + wait;
        // Requests during the wait fail at once.
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => break,
                req = rx.recv() => if req.is_none() { return },
            }
        }
    }
}
