//! The site's witness state: the latest checkpoint of every log, signed by the appliance, for
//! `airlock-bundler create --witness-state` to ask the logs for proofs from exactly those sizes.

use serde::Serialize;

use crate::appliance::Appliance;
use crate::store::{self, StoreError};

/// DSSE payload type of the witness state.
pub const WITNESS_STATE_PAYLOAD_TYPE: &str = "application/vnd.airlock.witness-state.v1+json";

#[derive(Serialize)]
struct State<'a> {
    version: u32,
    appliance_key_id: &'a str,
    issued_at: String,
    logs: Vec<Log>,
}

#[derive(Serialize)]
struct Log {
    origin: String,
    size: u64,
    root_hash: String,
    checkpoint: String,
}

/// The signed witness state (a DSSE envelope).
pub fn signed(app: &Appliance) -> Result<Vec<u8>, StoreError> {
    let heads = store::witness::heads(app.store().read())?;
    let state = State {
        version: 1,
        appliance_key_id: app.key_id().as_str(),
        issued_at: app.now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        logs: heads
            .into_iter()
            .map(|h| Log {
                origin: h.origin,
                size: h.size,
                root_hash: h.root_hash,
                checkpoint: h.note,
            })
            .collect(),
    };
    // Strings and integers always serialize.
    let payload = serde_json::to_vec(&state)
        .expect("invariant: the witness state serializes (derived, string keys)");
    Ok(app.sign_dsse(WITNESS_STATE_PAYLOAD_TYPE, &payload))
}
