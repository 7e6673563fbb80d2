//! The poll loop: reads the broker's events, hands each publish decoded to the writer (or its
//! quarantine record), reconnects with backoff after a loss, and tells the session taken over
//! by another client with the same id apart from a broker that went away.

use super::*;

/// Reconnect waits and the detection of a client id used twice.
pub(super) struct Reconnect {
    backoff: Backoff,
    /// When the current connection was acknowledged.
    connected_at: Option<Instant>,
    /// Consecutive connections lost within [`STABLE_AFTER`] of their CONNACK.
    quick_drops: u32,
    last_takeover_log: Option<Instant>,
}

impl Reconnect {
    pub(super) fn new(max: Duration) -> Self {
        Self {
            backoff: Backoff::new(RECONNECT_FIRST, max),
            connected_at: None,
            quick_drops: 0,
            last_takeover_log: None,
        }
    }

    pub(super) fn connected(&mut self) {
        self.connected_at = Some(Instant::now());
    }

    /// The connection was lost: how long to wait, and whether the drops look like another client
    /// taking the session over. The wait starts again from the first step only after a
    /// connection that held for [`STABLE_AFTER`], so two clients with one id do not hammer the
    /// broker.
    pub(super) fn lost(&mut self) -> (Duration, bool) {
        match self.connected_at.take() {
            Some(t) if t.elapsed() >= STABLE_AFTER => {
                self.quick_drops = 0;
                self.backoff.reset();
            }
            Some(_) => self.quick_drops += 1,
            None => {}
        }
        let wait = self.backoff.next_wait();
        let takeover = self.quick_drops >= TAKEOVER_DROPS
            && self
                .last_takeover_log
                .is_none_or(|t| t.elapsed() >= TAKEOVER_LOG_EVERY);
        if takeover {
            self.last_takeover_log = Some(Instant::now());
        }
        (wait, takeover)
    }
}

/// Decodes a received publish into the writer's envelope.
pub(super) fn envelope(
    ctx: &DecodeCtx<'_>,
    warnings: &mut QuarantineWarnings,
    p: Publish,
) -> Envelope<Publish> {
    let now = crate::domain::time::now_ts();
    let decoded = decode(ctx, &p.topic, &p.payload, now);
    warnings.note(&decoded, now);
    Envelope {
        decoded,
        received_at: now,
        token: p,
    }
}

/// The publishes rumqttc read before a connection error and still holds in its event queue,
/// decoded; the queue is left empty.
pub(super) fn rescue_pending(
    eventloop: &mut EventLoop,
    ctx: &DecodeCtx<'_>,
    warnings: &mut QuarantineWarnings,
) -> Vec<Envelope<Publish>> {
    std::mem::take(&mut eventloop.state.events)
        .into_iter()
        .filter_map(|ev| match ev {
            Event::Incoming(Packet::Publish(p)) => Some(envelope(ctx, warnings, p)),
            _ => None,
        })
        .collect()
}

/// Polls the connection until shutdown. Returns true when the DISCONNECT went out.
pub(super) async fn poll_loop(
    cfg: Arc<Config>,
    client: AsyncClient,
    mut eventloop: EventLoop,
    feed: Arc<WriterInlet>,
    health: Arc<Health>,
    mut subscribed: Option<tokio::sync::oneshot::Sender<()>>,
    mut reload: Option<tokio::sync::watch::Receiver<Arc<Config>>>,
) -> bool {
    let mut reconnect = Reconnect::new(Duration::from_secs(cfg.mqtt.reconnect_max_s.max(1)));
    let filters = topic_filters(&cfg.mqtt.topic_prefix, cfg.mqtt.shared_group.as_deref());
    let mut warnings = QuarantineWarnings::default();
    // Decoding follows the latest configuration (a SIGHUP reload); the connection settings stay
    // those the daemon started with.
    // A reload is looked for after each event, before it is handled, so that a publish that
    // arrives after the reload is decoded with it.
    let mut current = Arc::clone(&cfg);
    let mut pending = None;
    'config: loop {
        let ctx = DecodeCtx::from_config(&current);
        loop {
            let event = match pending.take() {
                Some(event) => event,
                None => eventloop.poll().await,
            };
            if let Some(rx) = reload.as_mut()
                && rx.has_changed().unwrap_or(false)
            {
                current = Arc::clone(&rx.borrow_and_update());
                info!(
                    intakes = current.registry.intakes.len(),
                    wells = current.registry.wells.len(),
                    "decoding with the reloaded configuration"
                );
                pending = Some(event);
                continue 'config;
            }
            match event {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    health.message(crate::domain::time::now_ts());
                    // Once the feed is closed a publish is not acked: the broker delivers it again
                    // to the next session.
                    if feed.forward(vec![envelope(&ctx, &mut warnings, p)]).await {
                        health.forwarded(1);
                    }
                }
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    if ack.code != ConnectReturnCode::Success {
                        error!(code = ?ack.code, "broker refused the connection");
                        continue;
                    }
                    reconnect.connected();
                    health.connected();
                    info!(session_present = ack.session_present, "connected to broker");
                    if ack.session_present
                        && let Some(tx) = subscribed.take()
                    {
                        let _ = tx.send(());
                    }
                    if !ack.session_present {
                        // A new (or forgotten) session has no subscriptions: rumqttc does not
                        // restore them. Subscribe at once: the broker drops what arrives before.
                        let subs = filters
                            .iter()
                            .map(|f| SubscribeFilter::new(f.clone(), QoS::AtLeastOnce));
                        if let Err(e) = client.try_subscribe_many(subs) {
                            error!(error = %e, "could not queue the subscription");
                        }
                    }
                }
                Ok(Event::Incoming(Packet::SubAck(s))) => {
                    if s.return_codes
                        .iter()
                        .any(|c| matches!(c, SubscribeReasonCode::Failure))
                    {
                        error!(filters = ?filters, "broker refused the subscription: check the broker's ACL");
                    } else {
                        info!(filters = ?filters, "subscribed (QoS 1)");
                        if let Some(tx) = subscribed.take() {
                            let _ = tx.send(());
                        }
                    }
                }
                Ok(Event::Outgoing(Outgoing::Disconnect)) => {
                    if feed.stopping_flag.load(Ordering::SeqCst) {
                        info!("disconnected from broker");
                        return true;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    health.disconnected(crate::domain::time::now_ts());
                    // Publishes read from the socket before the error wait in rumqttc's event queue
                    // until the next successful poll. The broker may not have them any more (it
                    // crashed): commit them now, so that a stop during the reconnect wait loses
                    // none. If the broker redelivers them later they are ignored as duplicates.
                    let pending = rescue_pending(&mut eventloop, &ctx, &mut warnings);
                    let rescued = pending.len();
                    if rescued > 0 && feed.forward(pending).await {
                        health.forwarded(rescued);
                    }
                    if feed.stopping_flag.load(Ordering::SeqCst) {
                        return false;
                    }
                    let (wait, takeover) = reconnect.lost();
                    match &e {
                        ConnectionError::ConnectionRefused(code) => error!(
                            broker = %cfg.mqtt.url,
                            code = ?code,
                            user = %cfg.mqtt.username.as_deref().unwrap_or("(none)"),
                            password = %cfg.mqtt_password_source(),
                            retry_in_ms = wait.as_millis() as u64,
                            "broker refused the connection: check [mqtt] username and the password's source, and the broker's ACL"
                        ),
                        _ if takeover => error!(
                            client_id = %cfg.mqtt.client_id,
                            drops = reconnect.quick_drops,
                            error = %e,
                            "the broker keeps closing the connection within seconds of accepting it: another client is most likely connected with the same client id (a second gwmon?) and they take the session from each other, each missing part of the data; give every instance its own [mqtt] client_id"
                        ),
                        _ if !health.ever_connected() => warn!(
                            broker = %cfg.mqtt.url,
                            error = %e,
                            retry_in_ms = wait.as_millis() as u64,
                            "cannot connect to the broker at {}; retrying (check [mqtt] url, and that the broker runs and is reachable from here)",
                            cfg.mqtt.url
                        ),
                        _ => warn!(
                            broker = %cfg.mqtt.url,
                            error = %e,
                            received_before_loss = rescued,
                            retry_in_ms = wait.as_millis() as u64,
                            "broker connection lost ({}); reconnecting",
                            cfg.mqtt.url
                        ),
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = feed.stopping.notified() => return false,
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishes_read_before_a_connection_error_are_rescued() {
        let cfg = Config::embedded().unwrap();
        let ctx = DecodeCtx::from_config(&cfg);
        let i = &cfg.registry.intakes[0];
        let topic = format!("gw/{}/meter/{}", i.county, i.id);
        let (_client, mut eventloop) =
            AsyncClient::new(rumqttc::MqttOptions::new("t", "127.0.0.1", 1), 10);
        for n in 0..3 {
            let payload = format!("{{\"ts\":{},\"total_m3\":{n}}}", 1_767_196_800 + 60 * n);
            eventloop
                .state
                .events
                .push_back(Event::Incoming(Packet::Publish(Publish::new(
                    &topic,
                    QoS::AtLeastOnce,
                    payload,
                ))));
        }
        eventloop
            .state
            .events
            .push_back(Event::Incoming(Packet::PingResp));
        let rescued = rescue_pending(&mut eventloop, &ctx, &mut QuarantineWarnings::default());
        assert_eq!(rescued.len(), 3);
        assert!(rescued.iter().all(|e| e.decoded.readings.len() == 1));
        assert!(eventloop.state.events.is_empty());
    }

    #[test]
    fn reconnect_waits_grow_to_the_cap_and_restart_only_after_a_stable_connection() {
        let mut r = Reconnect::new(Duration::from_secs(5));
        let waits: Vec<u128> = (0..7).map(|_| r.lost().0.as_millis()).collect();
        assert_eq!(waits, [250, 500, 1000, 2000, 4000, 5000, 5000]);
        // Connections that drop at once (another client with the same id): the wait keeps its
        // size, and the third such drop is a takeover.
        let mut takeovers = Vec::new();
        for _ in 0..3 {
            r.connected();
            let (wait, takeover) = r.lost();
            assert_eq!(wait.as_millis(), 5000);
            takeovers.push(takeover);
        }
        assert_eq!(takeovers, [false, false, true]);
        // Logged once a minute, not at every drop.
        r.connected();
        assert!(!r.lost().1);
        // A connection that held: the wait starts again from the first step.
        r.connected_at = Some(Instant::now() - STABLE_AFTER);
        assert_eq!(r.lost(), (Duration::from_millis(250), false));
        assert_eq!(r.quick_drops, 0);
    }
}
