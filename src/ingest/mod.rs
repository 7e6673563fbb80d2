//! Readings in: `decode` turns topic + bytes into readings or reasons (pure); `mqtt` owns the
//! connection, forwards decoded messages to the store's writer and acks each publish only after
//! the batch holding it is committed; `import` takes the bureaus' CSV history through the same
//! validation; `warn_limit` keeps quarantine WARN lines to a few a minute per topic and reason;
//! `broker` is the in-process broker for counties without one (feature `embedded-broker`, on by
//! default).

#[cfg(feature = "embedded-broker")]
pub mod broker;
pub mod decode;
pub mod health;
pub mod import;
pub mod mqtt;
pub mod warn_limit;
