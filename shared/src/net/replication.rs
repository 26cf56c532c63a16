//! Replication as a state machine: what to publish, what is missing, whom to ask, what to apply.
//!
//! [`Replicator`] does no IO and reads no clock. The MQTT task feeds it what happened (a message
//! arrived, the journal's heads moved, the connection came up, time passed: `now_ms` from the
//! device's clock source) and carries out the [`Action`]s it returns, in order: publish a
//! message, apply envelopes to the journal, tell the journal that a peer holds more of this
//! device's own origin. The one thing it reads is the journal's committed envelopes, through the
//! [`EventSource`] it is handed, to publish its own events and answer pulls.
//!
//! # How events travel
//!
//! - **Live**: when the journal's head of the device's own origin moves, the new envelopes are
//!   published on `ev/<origin>` at once (latency matters more than batching here; group commit
//!   already groups).
//! - **Have**: the device's heads, retained on `have/<device>`, on change at most every 250 ms and
//!   refreshed every 5 s anyway (a broker that restarted without its retained messages learns
//!   them again). The `have` is the offer: a peer that sees it is behind asks.
//! - **Pull**: an origin is *behind* when some peer's `have` shows more of it than the journal
//!   holds. After a grace period (500 ms, so that events already on their way are not asked for
//!   twice) the device asks ONE responder for the missing ranges of every behind origin that
//!   responder covers: among the peers heard in the last 3 s whose `have` is ahead, the one heard
//!   most recently, ties broken by device id. Not only the origin: whoever is there. If the
//!   answer does not progress for 2 s, or the responder leaves, the next candidate is asked;
//!   when every candidate has been tried the round starts again. One pull is in flight at a
//!   time and each asks for at most 4,096 events, so a device back after hours catches up in
//!   windows without flooding anyone's queue.
//! - **Answers**: a pull naming this device is answered from its journal, in batches, at most
//!   2 MiB per pull; the last batch says so. A duplicated pull is answered once.
//! - **Confirmation** comes from peers' `have`, never from the broker: [`Replicator::unconfirmed`]
//!   counts this device's own events that not every peer it waits for has shown. Retired
//!   devices are not waited for.
//! - **Restored journals**: when a peer's `have` shows more of this device's own origin than the
//!   journal holds, [`Action::NotePeerHead`] tells the journal to refuse appends until it has
//!   caught up (through the same pull path).
//! - **Forks at the head**: two devices holding different versions of the same (origin, seq) as
//!   their head would never pull from each other (neither is behind). A `have` whose head has
//!   our seq and another hash makes the device fetch that one event from that peer, once, so
//!   its journal sees both versions and raises the fork alarm.
//! - **Retirement**: a retired device's retained `have` may be cleared on the broker (an empty
//!   retained payload); the device is then forgotten.
//!
//! # Presence
//!
//! A peer is *present* while it has been heard (any message it published: heartbeat, `have`,
//! events, pull, answer) within the last 3 s; heartbeats come every second, so three missed
//! heartbeats make it absent. A retained `have` delivered on subscribe is not hearing anyone: it
//! may belong to a device that died hours ago. A `gone` (last will or goodbye) makes a peer
//! absent at once. The device is **cut off** when no peer (retired ones aside) has been heard
//! for more than 3 s, whatever the broker connection says: a screen that hosts the broker and
//! lost its cable is cut off too. With a tick every 250 ms that is reported within 3.25 s of the
//! last message heard, inside the 5 s the design asks for.
//!
//! # What the IO layer does
//!
//! Connect with [`Replicator::last_will`], subscribe to [`Replicator::subscriptions`] at QoS 1
//! (MQTT 5 `no_local` where the broker speaks it, so the device's own messages are not echoed),
//! and call [`Replicator::on_connected`] after every ConnAck; hand every publish received to
//! [`Replicator::on_message`] with its retain flag; call [`Replicator::on_local_heads`] after
//! every append and every apply; call [`Replicator::tick`] every 250 ms; carry out each
//! returned action before the next call; say [`Replicator::farewell`] on a clean stop.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::value::RawValue;

use super::protocol::ProtocolError;
use super::protocol::v1::{
    self, DeviceId, EventBatch, Gone, Have, Heartbeat, Message, Pull, Range, Role, StoreId,
    SyncBatch, Topic,
};
use crate::journal::{Head, Journal, Origin};

/// Reads committed envelopes from the device's journal.
pub trait EventSource {
    /// Envelopes of `origin` after `after_seq`, in seq order, at most `limit`, each as its JSON
    /// text exactly as stored and forwarded.
    fn envelopes_after(
        &self,
        origin: &Origin,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<String>, SourceError>;
}

/// The journal could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read the journal: {0}")]
pub struct SourceError(pub String);

impl EventSource for Journal {
    fn envelopes_after(
        &self,
        origin: &Origin,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<String>, SourceError> {
        self.events_after(origin, after_seq, limit)
            .map(|envs| envs.iter().map(|e| e.to_json()).collect())
            .map_err(|e| SourceError(e.to_string()))
    }
}

/// Who this device is on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub store: StoreId,
    pub device: DeviceId,
    /// The journal's own origin.
    pub origin: Origin,
    pub role: Role,
    pub name: String,
}

/// Timings and budgets. The defaults are the ones documented above and the ones the tests use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tuning {
    /// How often a heartbeat goes out.
    pub heartbeat_every_ms: u64,
    /// A `have` goes out at most this often.
    pub have_min_gap_ms: u64,
    /// A `have` goes out at least this often, changed or not.
    pub have_refresh_ms: u64,
    /// A peer not heard for longer is absent; no peer heard for longer means cut off.
    pub peer_silent_after_ms: u64,
    /// How long an origin must stay behind before it is pulled.
    pub pull_grace_ms: u64,
    /// A pull whose answer has not progressed for this long goes to the next candidate.
    pub pull_timeout_ms: u64,
    /// Most events one pull asks for.
    pub pull_max_events: u64,
    /// Most bytes of envelopes one answer carries.
    pub answer_max_bytes: usize,
    /// Most own events published live at once; older ones are left to the pull path.
    pub publish_max_events: usize,
    pub batch_target_bytes: usize,
    pub batch_max_events: usize,
}

impl Default for Tuning {
    fn default() -> Tuning {
        Tuning {
            heartbeat_every_ms: 1_000,
            have_min_gap_ms: 250,
            have_refresh_ms: 5_000,
            peer_silent_after_ms: 3_000,
            pull_grace_ms: 500,
            pull_timeout_ms: 2_000,
            pull_max_events: 4_096,
            answer_max_bytes: 2 * 1024 * 1024,
            publish_max_events: 1_024,
            batch_target_bytes: v1::BATCH_TARGET_BYTES,
            batch_max_events: v1::BATCH_MAX_EVENTS,
        }
    }
}

/// MQTT quality of service for a publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qos {
    AtMostOnce,
    AtLeastOnce,
}

/// A message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: Qos,
    pub retain: bool,
}

/// What the IO layer must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Publish(Outgoing),
    /// Apply these envelopes (untrusted bytes, exactly as received) to the journal, then call
    /// [`Replicator::on_local_heads`] with its heads, before handing the replicator anything
    /// else ([`Journal::apply`] returns once committed, so doing it in line is enough).
    Apply(Vec<Vec<u8>>),
    /// A peer holds this device's own origin up to `seq`: [`Journal::note_peer_head`].
    NotePeerHead {
        origin: Origin,
        seq: u64,
    },
}

/// A peer as this device sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerStatus {
    pub device: DeviceId,
    pub origin: Option<Origin>,
    pub role: Option<Role>,
    pub name: Option<String>,
    /// Heard within the silence threshold and not gone.
    pub present: bool,
    /// Since when it has been present without a gap.
    pub present_since_ms: Option<u64>,
    /// When it was last heard (a retained `have` does not count).
    pub last_heard_ms: Option<u64>,
    /// How many of this device's own events its `have` shows.
    pub confirmed_own_seq: u64,
    pub retired: bool,
    /// The count of its own unconfirmed events its last heartbeat gave.
    pub reported_unconfirmed: Option<u64>,
}

#[derive(Debug, Default)]
struct Peer {
    origin: Option<Origin>,
    role: Option<Role>,
    name: Option<String>,
    heads: BTreeMap<Origin, Head>,
    heard_ms: Option<u64>,
    present_since_ms: Option<u64>,
    gone: bool,
    unconfirmed: Option<u64>,
}

impl Peer {
    fn present(&self, now_ms: u64, silent_ms: u64) -> bool {
        !self.gone
            && self
                .heard_ms
                .is_some_and(|t| now_ms.saturating_sub(t) <= silent_ms)
    }

    fn seq_of(&self, origin: &Origin) -> u64 {
        self.heads.get(origin).map_or(0, |h| h.seq)
    }
}

/// An origin that some peer shows more of than the journal holds.
#[derive(Debug, Clone, Copy)]
struct Need {
    /// The head that was seen when the need began; reaching it ends this need.
    target: u64,
    since_ms: u64,
}

/// The pull in flight.
#[derive(Debug, Clone)]
struct Asking {
    req: u64,
    responder: DeviceId,
    ranges: Vec<Range>,
    progress_ms: u64,
    received: usize,
}

/// One device's replication state.
#[derive(Debug)]
pub struct Replicator {
    me: Identity,
    tuning: Tuning,
    started_ms: u64,
    local: BTreeMap<Origin, Head>,
    peers: BTreeMap<DeviceId, Peer>,
    device_of_origin: BTreeMap<Origin, DeviceId>,
    retired: BTreeSet<Origin>,
    /// Per origin, the highest seq any known peer's `have` shows.
    best: BTreeMap<Origin, u64>,
    needs: BTreeMap<Origin, Need>,
    /// Per origin, the journal's head when a pull's answer with events for it completed, and
    /// when: not asked again before the journal has applied something of it (or the grace
    /// period has passed).
    answered: BTreeMap<Origin, (u64, u64)>,
    asking: Option<Asking>,
    /// Heads a peer showed at the same seq as ours with another hash, to fetch once (so that
    /// the journal records the fork), with the peer that holds the other version.
    suspects: BTreeMap<(Origin, u64), DeviceId>,
    /// Every (origin, seq) ever suspected, so each is fetched and logged once.
    suspected: BTreeSet<(Origin, u64)>,
    /// Responders that failed the current need, skipped until every candidate has been tried.
    tried: BTreeSet<DeviceId>,
    next_req: u64,
    /// The last pull answered per requester and when, so that a pull delivered twice is
    /// answered once.
    answered_pulls: BTreeMap<DeviceId, (Pull, u64)>,
    published_through: u64,
    noted_own_seq: u64,
    have_dirty: bool,
    last_have_ms: Option<u64>,
    last_heartbeat_ms: Option<u64>,
    reported_cut_off: bool,
    rejected: u64,
}

impl Replicator {
    /// A replicator for a journal whose heads are `local_heads` now. Own events already
    /// committed are not re-published live: peers see them in this device's `have` and pull
    /// them (an event committed just before a crash reaches them that way).
    pub fn new(
        me: Identity,
        tuning: Tuning,
        local_heads: BTreeMap<Origin, Head>,
        now_ms: u64,
    ) -> Replicator {
        let own = local_heads.get(&me.origin).map_or(0, |h| h.seq);
        let mut me = me;
        // A name too long for the wire would stop every `have`: keep what fits.
        me.name = me.name.chars().take(v1::MAX_NAME_CHARS).collect();
        Replicator {
            me,
            tuning,
            started_ms: now_ms,
            local: local_heads,
            peers: BTreeMap::new(),
            device_of_origin: BTreeMap::new(),
            retired: BTreeSet::new(),
            best: BTreeMap::new(),
            needs: BTreeMap::new(),
            answered: BTreeMap::new(),
            asking: None,
            suspects: BTreeMap::new(),
            suspected: BTreeSet::new(),
            tried: BTreeSet::new(),
            // Request ids start from the clock so that a restarted device does not reuse the
            // ids of its previous life.
            next_req: now_ms.max(1),
            answered_pulls: BTreeMap::new(),
            published_through: own,
            noted_own_seq: 0,
            have_dirty: true,
            last_have_ms: None,
            last_heartbeat_ms: None,
            reported_cut_off: false,
            rejected: 0,
        }
    }

    pub fn identity(&self) -> &Identity {
        &self.me
    }

    pub fn tuning(&self) -> &Tuning {
        &self.tuning
    }

    /// The topic filters to subscribe to (QoS 1).
    pub fn subscriptions(&self) -> Vec<String> {
        v1::subscriptions(&self.me.store, &self.me.device)
    }

    /// The last will to register when connecting: `gone/<device>`, QoS 1, not retained.
    pub fn last_will(&self) -> Outgoing {
        let gone = Message::Gone(Gone {
            device: self.me.device.clone(),
        });
        Outgoing {
            topic: gone.topic().path(&self.me.store),
            // A `gone` is a few dozen bytes and always valid.
            payload: v1::encode(&gone).unwrap_or_default(),
            qos: Qos::AtLeastOnce,
            retain: false,
        }
    }

    /// The broker session (re)started: announce the heads and a heartbeat at once.
    pub fn on_connected(&mut self, now_ms: u64) -> Vec<Action> {
        self.last_have_ms = None;
        self.last_heartbeat_ms = None;
        let mut out = Vec::new();
        self.heartbeat_if_due(now_ms, &mut out);
        self.have_if_due(now_ms, &mut out);
        out
    }

    /// A clean stop: say goodbye so that peers stop asking this device at once.
    pub fn farewell(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        self.publish(
            Message::Gone(Gone {
                device: self.me.device.clone(),
            }),
            Qos::AtLeastOnce,
            false,
            &mut out,
        );
        out
    }

    /// The devices retired by a manager (by origin): not waited for, not counted as heard.
    pub fn set_retired(&mut self, retired: BTreeSet<Origin>) {
        self.retired = retired;
        self.recompute_best();
    }

    /// The journal's heads changed (after an append or an apply). Publishes new own events,
    /// schedules a `have`, and may pull what is still missing.
    pub fn on_local_heads(
        &mut self,
        heads: BTreeMap<Origin, Head>,
        now_ms: u64,
        source: &dyn EventSource,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        if heads != self.local {
            self.local = heads;
            self.have_dirty = true;
        }
        self.publish_own(source, &mut out);
        self.refresh_needs(now_ms);
        self.have_if_due(now_ms, &mut out);
        self.pull_if_due(now_ms, &mut out);
        out
    }

    /// Time passed: heartbeats, `have` refresh, pull timeouts and retries, cut-off logging.
    /// Call it every 250 ms or so.
    pub fn tick(&mut self, now_ms: u64) -> Vec<Action> {
        let mut out = Vec::new();
        self.heartbeat_if_due(now_ms, &mut out);
        self.have_if_due(now_ms, &mut out);
        if let Some(asking) = &self.asking {
            let stalled = now_ms.saturating_sub(asking.progress_ms) >= self.tuning.pull_timeout_ms;
            let left = !self
                .peers
                .get(&asking.responder)
                .is_some_and(|p| p.present(now_ms, self.tuning.peer_silent_after_ms));
            if stalled || left {
                tracing::info!(
                    responder = %asking.responder,
                    req = asking.req,
                    received = asking.received,
                    reason = if stalled { "no answer" } else { "responder left" },
                    "pull unanswered; asking the next candidate"
                );
                self.tried.insert(asking.responder.clone());
                self.asking = None;
            }
        }
        self.pull_if_due(now_ms, &mut out);
        match (self.cut_off_since(now_ms), self.reported_cut_off) {
            (Some(since_ms), false) => {
                tracing::warn!(since_ms, "cut off: no peer heard");
                self.reported_cut_off = true;
            }
            (None, true) => {
                tracing::info!("peers heard again");
                self.reported_cut_off = false;
            }
            _ => {}
        }
        out
    }

    /// A message arrived on `topic`. `retained` is the MQTT retain flag of the delivery (a
    /// retained message replayed on subscribe says nothing about who is present). A bad message
    /// is logged once here and set aside.
    pub fn on_message(
        &mut self,
        topic: &str,
        payload: &[u8],
        retained: bool,
        now_ms: u64,
        source: &dyn EventSource,
    ) -> Vec<Action> {
        if payload.is_empty()
            && let Ok(Topic::Have { device }) = Topic::parse(&self.me.store, topic)
        {
            // A retained `have` was cleared (a retired device's, by an administrator).
            self.forget(&device);
            return Vec::new();
        }
        let message = match v1::decode_publish(&self.me.store, topic, payload) {
            Ok((_, message)) => message,
            Err(ProtocolError::UnknownType(kind)) => {
                tracing::debug!(topic, kind, "message of a newer type ignored");
                return Vec::new();
            }
            Err(error) => {
                self.rejected += 1;
                tracing::warn!(topic, bytes = payload.len(), %error, "message set aside");
                return Vec::new();
            }
        };
        match message {
            Message::Events(batch) => self.on_events(batch, now_ms),
            Message::Have(have) => self.on_have(have, retained, now_ms),
            Message::Pull(pull) => self.on_pull(pull, now_ms, source),
            Message::Sync(sync) => self.on_sync(sync, now_ms),
            Message::Heartbeat(hb) => self.on_heartbeat(hb, now_ms),
            Message::Gone(gone) => self.on_gone(gone, now_ms),
        }
    }

    /// A batch of some origin's live events.
    pub fn on_events(&mut self, batch: EventBatch, now_ms: u64) -> Vec<Action> {
        if batch.origin == self.me.origin {
            // Our own publish, echoed back by the broker.
            return Vec::new();
        }
        if let Some(device) = self.device_of_origin.get(&batch.origin).cloned() {
            self.hear(&device, now_ms);
        }
        apply_action(&batch.events).into_iter().collect()
    }

    /// A peer's heads.
    pub fn on_have(&mut self, have: Have, retained: bool, now_ms: u64) -> Vec<Action> {
        if have.device == self.me.device {
            return Vec::new();
        }
        if !retained {
            self.hear(&have.device, now_ms);
        }
        self.device_of_origin
            .insert(have.origin.clone(), have.device.clone());
        let heads: BTreeMap<Origin, Head> = have
            .heads
            .into_iter()
            .map(|(o, h)| (o, Head::from(h)))
            .collect();
        for (origin, theirs) in &heads {
            let Some(ours) = self.local.get(origin) else {
                continue;
            };
            if ours.seq == theirs.seq
                && ours.hash != theirs.hash
                && self.suspected.insert((origin.clone(), theirs.seq))
            {
                tracing::error!(
                    peer = %have.device,
                    %origin,
                    seq = theirs.seq,
                    "a peer holds another version of an event: fetching it so the fork is recorded"
                );
                self.suspects
                    .insert((origin.clone(), theirs.seq), have.device.clone());
            }
        }
        let peer = self.peers.entry(have.device.clone()).or_default();
        peer.origin = Some(have.origin);
        peer.role = Some(have.role);
        peer.name = Some(have.name);
        peer.heads = heads;
        let mut out = Vec::new();
        let shown = peer.seq_of(&self.me.origin);
        let own = self.local_seq(&self.me.origin);
        if shown > own.max(self.noted_own_seq) {
            tracing::warn!(
                peer = %have.device,
                peer_seq = shown,
                local_seq = own,
                "a peer holds more of this device's own events than its journal: catching up before writing"
            );
            self.noted_own_seq = shown;
            out.push(Action::NotePeerHead {
                origin: self.me.origin.clone(),
                seq: shown,
            });
        }
        self.recompute_best();
        self.refresh_needs(now_ms);
        self.pull_if_due(now_ms, &mut out);
        out
    }

    /// A heartbeat.
    pub fn on_heartbeat(&mut self, hb: Heartbeat, now_ms: u64) -> Vec<Action> {
        if hb.device == self.me.device {
            return Vec::new();
        }
        self.hear(&hb.device, now_ms);
        self.device_of_origin
            .insert(hb.origin.clone(), hb.device.clone());
        let peer = self.peers.entry(hb.device).or_default();
        peer.origin = Some(hb.origin);
        peer.role = Some(hb.role);
        peer.unconfirmed = Some(hb.unconfirmed);
        Vec::new()
    }

    /// A peer left (last will or goodbye).
    pub fn on_gone(&mut self, gone: Gone, _now_ms: u64) -> Vec<Action> {
        if gone.device == self.me.device {
            return Vec::new();
        }
        if let Some(peer) = self.peers.get_mut(&gone.device) {
            tracing::info!(peer = %gone.device, "peer left");
            peer.gone = true;
            peer.present_since_ms = None;
        }
        Vec::new()
    }

    /// A pull; answered only when it names this device.
    pub fn on_pull(&mut self, pull: Pull, now_ms: u64, source: &dyn EventSource) -> Vec<Action> {
        if pull.requester == self.me.device {
            return Vec::new();
        }
        self.hear(&pull.requester, now_ms);
        if pull.responder != self.me.device {
            return Vec::new();
        }
        if let Some((last, at)) = self.answered_pulls.get(&pull.requester)
            && *last == pull
            && now_ms.saturating_sub(*at) < self.tuning.pull_timeout_ms
        {
            tracing::debug!(requester = %pull.requester, req = pull.req, "duplicate pull ignored");
            return Vec::new();
        }
        self.answered_pulls
            .insert(pull.requester.clone(), (pull.clone(), now_ms));
        let mut out = Vec::new();
        let mut bytes_left = self.tuning.answer_max_bytes;
        let mut events_left = usize::try_from(self.tuning.pull_max_events).unwrap_or(usize::MAX);
        let mut answer: Vec<(Origin, Vec<Box<RawValue>>)> = Vec::new();
        for range in &pull.ranges {
            if bytes_left == 0 || events_left == 0 {
                break;
            }
            let wanted = usize::try_from(range.through - range.after)
                .unwrap_or(usize::MAX)
                .min(events_left);
            let texts = match source.envelopes_after(&range.origin, range.after, wanted) {
                Ok(texts) => texts,
                Err(error) => {
                    tracing::error!(%error, origin = %range.origin, "cannot answer a pull");
                    break;
                }
            };
            let mut envelopes = Vec::with_capacity(texts.len());
            for text in texts {
                if text.len() > bytes_left {
                    bytes_left = 0;
                    break;
                }
                match RawValue::from_string(text) {
                    Ok(raw) => {
                        bytes_left -= raw.get().len();
                        events_left = events_left.saturating_sub(1);
                        envelopes.push(raw);
                    }
                    Err(error) => {
                        tracing::error!(%error, origin = %range.origin, "stored envelope is not JSON");
                        break;
                    }
                }
            }
            answer.push((range.origin.clone(), envelopes));
        }
        let mut batches: Vec<(Origin, Vec<Box<RawValue>>)> = Vec::new();
        for (origin, envelopes) in answer {
            for batch in v1::batches(
                envelopes,
                self.tuning.batch_target_bytes,
                self.tuning.batch_max_events,
            ) {
                batches.push((origin.clone(), batch));
            }
        }
        if batches.is_empty() {
            // Nothing to give: say so at once, so the requester asks someone else.
            let origin = pull
                .ranges
                .first()
                .map(|r| r.origin.clone())
                .unwrap_or_else(|| self.me.origin.clone());
            batches.push((origin, Vec::new()));
        }
        let count = batches.len();
        tracing::debug!(requester = %pull.requester, req = pull.req, batches = count, "answering a pull");
        for (i, (origin, events)) in batches.into_iter().enumerate() {
            let sync = Message::Sync(SyncBatch {
                req: pull.req,
                requester: pull.requester.clone(),
                responder: self.me.device.clone(),
                origin,
                events,
                last: i + 1 == count,
            });
            self.publish(sync, Qos::AtLeastOnce, false, &mut out);
        }
        out
    }

    /// One batch of an answer addressed to this device.
    pub fn on_sync(&mut self, sync: SyncBatch, now_ms: u64) -> Vec<Action> {
        if sync.requester != self.me.device || sync.responder == self.me.device {
            return Vec::new();
        }
        self.hear(&sync.responder, now_ms);
        let mut out: Vec<Action> = apply_action(&sync.events).into_iter().collect();
        if let Some(asking) = &mut self.asking
            && asking.req == sync.req
            && asking.responder == sync.responder
        {
            asking.progress_ms = now_ms;
            asking.received += sync.events.len();
            if sync.last {
                let done = self.asking.take();
                if let Some(done) = done {
                    if done.received == 0 {
                        tracing::info!(responder = %done.responder, "pull answered with nothing");
                        self.tried.insert(done.responder);
                    } else {
                        for r in &done.ranges {
                            let at = self.local_seq(&r.origin);
                            self.answered.insert(r.origin.clone(), (at, now_ms));
                        }
                        self.tried.clear();
                    }
                }
                // The next window is asked once the journal has applied this one
                // (`on_local_heads`) or at the next tick.
                if sync.events.is_empty() {
                    self.pull_if_due(now_ms, &mut out);
                }
            }
        }
        out
    }

    /// How many of this device's own events not every peer it waits for has confirmed in its
    /// `have`. The peers waited for are every peer known (heard, or seen in a retained `have`)
    /// that is not retired; a peer that is off still counts until a manager retires it. With no
    /// such peer, every own event is unconfirmed.
    pub fn unconfirmed(&self) -> u64 {
        let own = self.local_seq(&self.me.origin);
        let confirmed = self
            .peers
            .values()
            .filter(|p| !self.is_retired(p))
            .map(|p| p.seq_of(&self.me.origin))
            .min()
            .unwrap_or(0);
        own.saturating_sub(confirmed)
    }

    /// How many events peers' `have`s show that this journal does not hold yet.
    pub fn missing(&self) -> u64 {
        self.best
            .iter()
            .map(|(o, &seq)| seq.saturating_sub(self.local_seq(o)))
            .sum()
    }

    /// `Some(since_ms)` when no peer (retired ones aside) has been heard for more than the
    /// silence threshold: `since_ms` is when the last one was heard, or when this replicator
    /// started if none has been. `None` while some peer is present.
    pub fn cut_off_since(&self, now_ms: u64) -> Option<u64> {
        let silent = self.tuning.peer_silent_after_ms;
        let live = self.peers.values().filter(|p| !self.is_retired(p));
        let mut last_heard = self.started_ms;
        for peer in live {
            if peer.present(now_ms, silent) {
                return None;
            }
            if let Some(t) = peer.heard_ms {
                last_heard = last_heard.max(t);
            }
        }
        (now_ms.saturating_sub(last_heard) > silent).then_some(last_heard)
    }

    /// Every peer known, by device id.
    pub fn peers(&self, now_ms: u64) -> Vec<PeerStatus> {
        self.peers
            .iter()
            .map(|(device, p)| PeerStatus {
                device: device.clone(),
                origin: p.origin.clone(),
                role: p.role,
                name: p.name.clone(),
                present: p.present(now_ms, self.tuning.peer_silent_after_ms),
                present_since_ms: p
                    .present(now_ms, self.tuning.peer_silent_after_ms)
                    .then_some(p.present_since_ms)
                    .flatten(),
                last_heard_ms: p.heard_ms,
                confirmed_own_seq: p.seq_of(&self.me.origin),
                retired: self.is_retired(p),
                reported_unconfirmed: p.unconfirmed,
            })
            .collect()
    }

    /// Messages set aside so far (malformed, oversized, invalid, on a wrong topic).
    pub fn rejected_messages(&self) -> u64 {
        self.rejected
    }

    fn forget(&mut self, device: &DeviceId) {
        if *device == self.me.device {
            return;
        }
        if let Some(peer) = self.peers.remove(device) {
            tracing::info!(peer = %device, "peer's have cleared: forgotten");
            if let Some(origin) = peer.origin {
                self.device_of_origin.remove(&origin);
            }
            self.tried.remove(device);
            self.recompute_best();
        }
    }

    fn is_retired(&self, peer: &Peer) -> bool {
        peer.origin
            .as_ref()
            .is_some_and(|o| self.retired.contains(o))
    }

    fn local_seq(&self, origin: &Origin) -> u64 {
        self.local.get(origin).map_or(0, |h| h.seq)
    }

    fn hear(&mut self, device: &DeviceId, now_ms: u64) {
        if *device == self.me.device {
            return;
        }
        let silent = self.tuning.peer_silent_after_ms;
        let peer = self.peers.entry(device.clone()).or_default();
        if !peer.present(now_ms, silent) {
            tracing::info!(peer = %device, "peer heard");
            peer.present_since_ms = Some(now_ms);
        }
        peer.heard_ms = Some(now_ms);
        peer.gone = false;
    }

    fn recompute_best(&mut self) {
        let mut best: BTreeMap<Origin, u64> = BTreeMap::new();
        for peer in self.peers.values() {
            for (origin, head) in &peer.heads {
                let seq = best.entry(origin.clone()).or_default();
                *seq = (*seq).max(head.seq);
            }
        }
        self.best = best;
    }

    fn refresh_needs(&mut self, now_ms: u64) {
        let local = &self.local;
        let seq_of = |o: &Origin| local.get(o).map_or(0, |h| h.seq);
        self.needs.retain(|o, need| {
            seq_of(o) < need.target && self.best.get(o).is_some_and(|&b| b > seq_of(o))
        });
        for (origin, &best) in &self.best {
            if best > seq_of(origin) && !self.needs.contains_key(origin) {
                self.needs.insert(
                    origin.clone(),
                    Need {
                        target: best,
                        since_ms: now_ms,
                    },
                );
            }
        }
        self.answered.retain(|o, (at, _)| seq_of(o) == *at);
    }

    /// Origins due for a pull: behind for longer than the grace period, and not just answered
    /// (an answer not yet applied is not asked for again before the grace period).
    fn due(&self, now_ms: u64) -> Vec<Origin> {
        let grace = self.tuning.pull_grace_ms;
        self.needs
            .iter()
            .filter(|(o, need)| {
                now_ms.saturating_sub(need.since_ms) >= grace
                    && self.answered.get(*o).is_none_or(|&(at_seq, at)| {
                        self.local_seq(o) != at_seq || now_ms.saturating_sub(at) >= grace
                    })
            })
            .map(|(o, _)| o.clone())
            .collect()
    }

    fn pull_if_due(&mut self, now_ms: u64, out: &mut Vec<Action>) {
        if self.asking.is_some() {
            return;
        }
        let Some((responder, ranges)) =
            self.fork_pull(now_ms).or_else(|| self.missing_pull(now_ms))
        else {
            return;
        };
        let req = self.next_req;
        self.next_req += 1;
        tracing::debug!(%responder, req, ranges = ranges.len(), "pulling missing events");
        let pull = Message::Pull(Pull {
            req,
            requester: self.me.device.clone(),
            responder: responder.clone(),
            ranges: ranges.clone(),
        });
        if self.publish(pull, Qos::AtLeastOnce, false, out) {
            self.asking = Some(Asking {
                req,
                responder,
                ranges,
                progress_ms: now_ms,
                received: 0,
            });
        }
    }

    /// A head a present peer holds in another version: ask that peer for its version, so the
    /// journal sees both and raises the fork alarm.
    fn fork_pull(&mut self, now_ms: u64) -> Option<(DeviceId, Vec<Range>)> {
        let silent = self.tuning.peer_silent_after_ms;
        let key = self
            .suspects
            .iter()
            .find(|(_, d)| {
                self.peers
                    .get(*d)
                    .is_some_and(|p| p.present(now_ms, silent))
            })
            .map(|(k, _)| k.clone())?;
        let responder = self.suspects.remove(&key)?;
        let (origin, seq) = key;
        Some((
            responder,
            vec![Range {
                origin,
                after: seq - 1,
                through: seq,
            }],
        ))
    }

    /// Missing ranges, from the candidate that should answer them.
    fn missing_pull(&mut self, now_ms: u64) -> Option<(DeviceId, Vec<Range>)> {
        let due = self.due(now_ms);
        if due.is_empty() {
            return None;
        }
        let silent = self.tuning.peer_silent_after_ms;
        let mut candidates: Vec<(&DeviceId, &Peer)> = self
            .peers
            .iter()
            .filter(|(_, p)| p.present(now_ms, silent))
            .filter(|(_, p)| due.iter().any(|o| p.seq_of(o) > self.local_seq(o)))
            .collect();
        if candidates.is_empty() {
            return None;
        }
        // Most recently heard first, then by device id.
        candidates.sort_by(|(da, pa), (db, pb)| pb.heard_ms.cmp(&pa.heard_ms).then(da.cmp(db)));
        if candidates.iter().all(|(d, _)| self.tried.contains(*d)) {
            tracing::debug!("every candidate tried; starting a new round");
            self.tried.clear();
        }
        let (responder, peer) = candidates
            .into_iter()
            .find(|(d, _)| !self.tried.contains(*d))?;
        let mut budget = self.tuning.pull_max_events;
        let mut ranges = Vec::new();
        for origin in &due {
            if budget == 0 || ranges.len() == v1::MAX_RANGES_PER_PULL {
                break;
            }
            let after = self.local_seq(origin);
            let has = peer.seq_of(origin);
            if has > after {
                let through = has.min(after.saturating_add(budget));
                budget -= through - after;
                ranges.push(Range {
                    origin: origin.clone(),
                    after,
                    through,
                });
            }
        }
        Some((responder.clone(), ranges))
    }

    fn publish_own(&mut self, source: &dyn EventSource, out: &mut Vec<Action>) {
        let own = self.local_seq(&self.me.origin);
        // Own events applied from a peer (a restored journal catching up) are not re-published.
        let mut from = self.published_through.max(self.noted_own_seq.min(own));
        if own <= from {
            self.published_through = from.max(self.published_through);
            return;
        }
        let cap = u64::try_from(self.tuning.publish_max_events).unwrap_or(u64::MAX);
        if own - from > cap {
            // Older ones reach peers through their pulls.
            from = own - cap;
        }
        let limit = usize::try_from(own - from).unwrap_or(usize::MAX);
        let texts = match source.envelopes_after(&self.me.origin, from, limit) {
            Ok(texts) => texts,
            Err(error) => {
                // Peers will pull them once they see the `have`.
                tracing::error!(%error, "cannot read own events to publish");
                self.published_through = own;
                return;
            }
        };
        self.published_through = own;
        let envelopes: Vec<Box<RawValue>> = texts
            .into_iter()
            .filter_map(|t| match RawValue::from_string(t) {
                Ok(raw) => Some(raw),
                Err(error) => {
                    tracing::error!(%error, "stored envelope is not JSON");
                    None
                }
            })
            .collect();
        for events in v1::batches(
            envelopes,
            self.tuning.batch_target_bytes,
            self.tuning.batch_max_events,
        ) {
            let batch = Message::Events(EventBatch {
                origin: self.me.origin.clone(),
                events,
            });
            self.publish(batch, Qos::AtLeastOnce, false, out);
        }
    }

    fn have_if_due(&mut self, now_ms: u64, out: &mut Vec<Action>) {
        let due = match self.last_have_ms {
            None => true,
            Some(t) => {
                let since = now_ms.saturating_sub(t);
                (self.have_dirty && since >= self.tuning.have_min_gap_ms)
                    || since >= self.tuning.have_refresh_ms
            }
        };
        if !due {
            return;
        }
        let have = Message::Have(Have {
            device: self.me.device.clone(),
            origin: self.me.origin.clone(),
            role: self.me.role,
            name: self.me.name.clone(),
            heads: self
                .local
                .iter()
                .map(|(o, h)| (o.clone(), (*h).into()))
                .collect(),
        });
        self.publish(have, Qos::AtLeastOnce, true, out);
        self.last_have_ms = Some(now_ms);
        self.have_dirty = false;
    }

    fn heartbeat_if_due(&mut self, now_ms: u64, out: &mut Vec<Action>) {
        if self
            .last_heartbeat_ms
            .is_some_and(|t| now_ms.saturating_sub(t) < self.tuning.heartbeat_every_ms)
        {
            return;
        }
        let hb = Message::Heartbeat(Heartbeat {
            device: self.me.device.clone(),
            origin: self.me.origin.clone(),
            role: self.me.role,
            wall_ms: i64::try_from(now_ms).unwrap_or(i64::MAX),
            unconfirmed: self.unconfirmed(),
        });
        self.publish(hb, Qos::AtMostOnce, false, out);
        self.last_heartbeat_ms = Some(now_ms);
    }

    /// Encodes and queues a publish; an unencodable message is logged and dropped.
    fn publish(&self, message: Message, qos: Qos, retain: bool, out: &mut Vec<Action>) -> bool {
        let topic = message.topic().path(&self.me.store);
        match v1::encode(&message) {
            Ok(payload) => {
                out.push(Action::Publish(Outgoing {
                    topic,
                    payload,
                    qos,
                    retain,
                }));
                true
            }
            Err(error) => {
                tracing::error!(topic, %error, "cannot encode a message; not sent");
                false
            }
        }
    }
}

fn apply_action(events: &[Box<RawValue>]) -> Option<Action> {
    (!events.is_empty())
        .then(|| Action::Apply(events.iter().map(|e| e.get().as_bytes().to_vec()).collect()))
}

#[cfg(test)]
mod tests;
