//! The device's side of the integration inbox (see [`crate::net::inbox`]): when this device
//! ingests orders (`--inbox`), it subscribes to every source's orders topic on each connection,
//! takes each order on a blocking thread, one at a time, publishes the answer, and tells
//! replication that the journal has new events.
//!
//! The replication task hands inbox messages over ([`Handle::divert`]) and never waits:
//! a full queue drops the order unanswered, and the integrator, who retries until answered,
//! sends it again.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::Shared;
use super::link::MqttLink;
use crate::net::inbox::Inbox;
use crate::net::protocol::v1::StoreId;
use crate::net::protocol::v1::inbox::{ReplyV1, is_inbox_topic, orders_filter};
use crate::net::replication::{Outgoing, Qos};

/// Orders waiting to be taken; beyond this, new ones are dropped unanswered (and retried).
const QUEUE: usize = 256;

/// How the replication task reaches the inbox.
pub(crate) struct Handle {
    store: StoreId,
    orders: mpsc::Sender<(String, Vec<u8>)>,
}

impl Handle {
    /// Starts the inbox task of a device that ingests orders.
    pub(crate) fn start(shared: &Arc<Shared>, link: MqttLink) -> Handle {
        let (orders, rx) = mpsc::channel(QUEUE);
        let inbox = Inbox::new(
            Arc::clone(&shared.journal),
            Arc::clone(&shared.clock),
            shared.store.clone(),
        );
        tokio::spawn(serve(inbox, Arc::clone(shared), link, rx));
        tracing::info!(topic = %orders_filter(&shared.store), "ingesting inbox orders");
        Handle {
            store: shared.store.clone(),
            orders,
        }
    }

    /// Subscribes to the orders topics (on every connection: the session starts clean), from a
    /// task of its own so that a full request queue never holds up the caller.
    pub(crate) fn on_connected(&self, link: &MqttLink) {
        let link = link.clone();
        let filter = orders_filter(&self.store);
        tokio::spawn(async move {
            if let Err(e) = link.subscribe(filter).await {
                tracing::warn!(error = %e, "inbox subscribe failed");
            }
        });
    }

    /// Whether a message on `topic` is the inbox's (and not replication's).
    pub(crate) fn wants(&self, topic: &str) -> bool {
        is_inbox_topic(&self.store, topic)
    }

    /// Hands an inbox message to the inbox task without waiting.
    pub(crate) fn divert(&self, topic: String, payload: Vec<u8>) {
        match self.orders.try_send((topic, payload)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!("inbox busy: an order is left unanswered (its sender retries)");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::error!("the inbox task stopped; an order is left unanswered");
            }
        }
    }
}

async fn serve(
    inbox: Inbox,
    shared: Arc<Shared>,
    link: MqttLink,
    mut orders: mpsc::Receiver<(String, Vec<u8>)>,
) {
    let mut inbox = Some(inbox);
    while let Some((topic, payload)) = orders.recv().await {
        let Some(mut taking) = inbox.take() else {
            return;
        };
        let done = tokio::task::spawn_blocking(move || {
            let answer = taking.handle(&topic, &payload);
            (taking, answer)
        })
        .await;
        let answer = match done {
            Ok((back, answer)) => {
                inbox = Some(back);
                answer
            }
            Err(e) => {
                tracing::error!(error = %e, "the inbox stopped");
                return;
            }
        };
        let Some(answer) = answer else { continue };
        if matches!(answer.reply, ReplyV1::Accepted(_)) {
            // New events (or none, for a repeat: then replication finds nothing to send).
            shared.local_changed.notify_one();
        }
        // Never block on a full request queue: the integrator asks again and gets the same
        // answer.
        let out = Outgoing {
            topic: answer.topic,
            payload: answer.payload,
            qos: Qos::AtLeastOnce,
            retain: false,
        };
        if let Err(e) = link.try_publish(out) {
            tracing::warn!(error = %e, "inbox answer not queued (its sender retries)");
        }
    }
}
