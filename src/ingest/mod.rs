//! MQTT ingest: `decode` turns topic + bytes into readings or reasons (pure); `mqtt` owns the
//! connection, forwards decoded messages to the store's writer and acks each publish only after
//! the batch holding it is committed.

pub mod decode;
pub mod mqtt;
