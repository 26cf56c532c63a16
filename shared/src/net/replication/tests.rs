//! Several replicators in one process, over an in-memory broker that can drop, duplicate and
//! reorder messages and cut devices off, each with an in-memory journal (no SQLite here: the
//! journal's own tests cover it).

use std::collections::{BTreeMap, VecDeque};

use proptest::prelude::*;
use sha2::{Digest, Sha256};

use super::*;
use crate::net::protocol::v1::{HeadV1, Role};

// ---------------------------------------------------------------------------------------------
// An in-memory journal: per origin, the envelopes of seq 1..=n; early arrivals are held.

#[derive(Debug, Default)]
struct MemJournal {
    events: BTreeMap<Origin, Vec<String>>,
    held: BTreeMap<Origin, BTreeMap<u64, String>>,
    duplicates: usize,
}

#[derive(serde::Deserialize)]
struct FakeEnvelope {
    origin: Origin,
    seq: u64,
}

fn envelope_text(origin: &Origin, seq: u64) -> String {
    format!(r#"{{"origin":"{origin}","seq":{seq},"body":"event {seq} of {origin}"}}"#)
}

impl MemJournal {
    fn new(own: &Origin) -> MemJournal {
        let mut j = MemJournal::default();
        // Every journal starts with its own first event, as a real one does.
        j.append(own);
        j
    }

    fn append(&mut self, origin: &Origin) -> u64 {
        let list = self.events.entry(origin.clone()).or_default();
        let seq = list.len() as u64 + 1;
        list.push(envelope_text(origin, seq));
        seq
    }

    fn apply(&mut self, batch: Vec<Vec<u8>>) {
        for bytes in batch {
            let text = String::from_utf8(bytes).expect("envelopes arrive as sent");
            let env: FakeEnvelope = serde_json::from_str(&text).expect("an envelope we wrote");
            let list = self.events.entry(env.origin.clone()).or_default();
            let len = list.len() as u64;
            if env.seq <= len {
                assert_eq!(
                    list[(env.seq - 1) as usize],
                    text,
                    "no envelope changed on the way"
                );
                self.duplicates += 1;
            } else if env.seq == len + 1 {
                list.push(text);
                let held = self.held.entry(env.origin.clone()).or_default();
                while let Some(next) = held.remove(&(list.len() as u64 + 1)) {
                    list.push(next);
                }
            } else {
                self.held
                    .entry(env.origin)
                    .or_default()
                    .insert(env.seq, text);
            }
        }
    }

    fn heads(&self) -> BTreeMap<Origin, Head> {
        self.events
            .iter()
            .filter_map(|(o, list)| {
                let last = list.last()?;
                Some((
                    o.clone(),
                    Head {
                        seq: list.len() as u64,
                        hash: Sha256::digest(last.as_bytes()).into(),
                    },
                ))
            })
            .collect()
    }

    fn count(&self, origin: &Origin) -> usize {
        self.events.get(origin).map_or(0, Vec::len)
    }
}

impl EventSource for MemJournal {
    fn envelopes_after(
        &self,
        origin: &Origin,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<String>, SourceError> {
        let list = self.events.get(origin).map(Vec::as_slice).unwrap_or(&[]);
        Ok(list
            .iter()
            .skip(after_seq as usize)
            .take(limit)
            .cloned()
            .collect())
    }
}

// ---------------------------------------------------------------------------------------------
// An in-memory broker with faults.

#[derive(Debug, Clone, Copy, Default)]
struct Faults {
    drop_pct: u64,
    dup_pct: u64,
    reorder: bool,
}

#[derive(Debug, Clone)]
struct Delivery {
    topic: String,
    payload: Vec<u8>,
    retained: bool,
}

struct Bus {
    retained: BTreeMap<String, Vec<u8>>,
    inboxes: Vec<VecDeque<Delivery>>,
    subs: Vec<Vec<String>>,
    online: Vec<bool>,
    faults: Faults,
    rng: u64,
}

fn matches(filter: &str, topic: &str) -> bool {
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

impl Bus {
    fn roll(&mut self, pct: u64) -> bool {
        // xorshift64: deterministic faults from the seed.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng % 100 < pct
    }

    fn publish(&mut self, from: usize, out: &Outgoing) {
        if !self.online[from] {
            return; // the client is not connected: lost
        }
        self.deliver(out);
    }

    fn deliver(&mut self, out: &Outgoing) {
        if out.retain {
            self.retained.insert(out.topic.clone(), out.payload.clone());
        }
        for to in 0..self.inboxes.len() {
            if !self.online[to] || !self.subs[to].iter().any(|f| matches(f, &out.topic)) {
                continue;
            }
            if self.roll(self.faults.drop_pct) {
                continue;
            }
            let copies = if self.roll(self.faults.dup_pct) { 2 } else { 1 };
            for _ in 0..copies {
                self.inboxes[to].push_back(Delivery {
                    topic: out.topic.clone(),
                    payload: out.payload.clone(),
                    retained: false,
                });
            }
        }
    }

    fn take_inbox(&mut self, to: usize) -> Vec<Delivery> {
        let mut items: Vec<Delivery> = std::mem::take(&mut self.inboxes[to]).into();
        if self.faults.reorder {
            for i in (1..items.len()).rev() {
                self.roll(0);
                let j = (self.rng % (i as u64 + 1)) as usize;
                items.swap(i, j);
            }
        }
        items
    }
}

// ---------------------------------------------------------------------------------------------
// Devices on the bus.

struct Node {
    rep: Replicator,
    journal: MemJournal,
    noted: Vec<(Origin, u64)>,
}

struct Sim {
    nodes: Vec<Node>,
    bus: Bus,
    now: u64,
    /// Everything published, by whom.
    sent: Vec<(usize, u64, Message)>,
}

const STORE: &str = "corner-bistro";

fn origin_of(i: usize) -> Origin {
    format!("{:016x}", 0xa0 + i).parse().expect("valid origin")
}

fn device(name: &str) -> DeviceId {
    name.parse().expect("valid device id")
}

fn identity(name: &str, i: usize) -> Identity {
    Identity {
        store: STORE.parse().expect("valid store id"),
        device: device(name),
        origin: origin_of(i),
        role: if name.starts_with("bar") {
            Role::OrderTerminal
        } else {
            Role::KitchenScreen
        },
        name: name.to_owned(),
    }
}

impl Sim {
    /// Devices that have just started and connected, at t = 1,000 ms.
    fn new(names: &[&str], seed: u64) -> Sim {
        let now = 1_000;
        let mut nodes = Vec::new();
        let mut subs = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let journal = MemJournal::new(&origin_of(i));
            let rep = Replicator::new(identity(name, i), Tuning::default(), journal.heads(), now);
            subs.push(rep.subscriptions());
            nodes.push(Node {
                rep,
                journal,
                noted: Vec::new(),
            });
        }
        let n = names.len();
        let mut sim = Sim {
            nodes,
            bus: Bus {
                retained: BTreeMap::new(),
                inboxes: vec![VecDeque::new(); n],
                subs,
                online: vec![false; n],
                faults: Faults::default(),
                rng: seed | 1,
            },
            now,
            sent: Vec::new(),
        };
        for i in 0..n {
            sim.connect(i);
        }
        sim
    }

    fn index(&self, name: &str) -> usize {
        self.nodes
            .iter()
            .position(|n| n.rep.identity().device.as_str() == name)
            .expect("a device of the simulation")
    }

    fn run(&mut self, i: usize, actions: Vec<Action>) {
        let mut queue: VecDeque<Action> = actions.into();
        while let Some(action) = queue.pop_front() {
            match action {
                Action::Publish(out) => {
                    if self.bus.online[i] {
                        let msg = v1::decode(&out.payload).expect("we send what we accept");
                        self.sent.push((i, self.now, msg));
                    }
                    self.bus.publish(i, &out);
                }
                Action::Apply(batch) => {
                    let node = &mut self.nodes[i];
                    node.journal.apply(batch);
                    let heads = node.journal.heads();
                    queue.extend(node.rep.on_local_heads(heads, self.now, &node.journal));
                }
                Action::NotePeerHead { origin, seq } => self.nodes[i].noted.push((origin, seq)),
            }
        }
    }

    /// The device commits one event of its own.
    fn append(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let own = origin_of(i);
        node.journal.append(&own);
        let heads = node.journal.heads();
        let actions = node.rep.on_local_heads(heads, self.now, &node.journal);
        self.run(i, actions);
    }

    fn connect(&mut self, i: usize) {
        self.bus.online[i] = true;
        let retained: Vec<Delivery> = self
            .bus
            .retained
            .iter()
            .filter(|(t, _)| self.bus.subs[i].iter().any(|f| matches(f, t)))
            .map(|(t, p)| Delivery {
                topic: t.clone(),
                payload: p.clone(),
                retained: true,
            })
            .collect();
        self.bus.inboxes[i].extend(retained);
        let actions = self.nodes[i].rep.on_connected(self.now);
        self.run(i, actions);
    }

    /// The device loses its connection; the broker publishes its last will if asked to.
    fn disconnect(&mut self, i: usize, will: bool) {
        self.bus.online[i] = false;
        self.bus.inboxes[i].clear();
        if will {
            let will = self.nodes[i].rep.last_will();
            self.bus.deliver(&will);
        }
    }

    /// The broker restarts without persistence: every connection drops, retained messages are
    /// lost, and everyone reconnects.
    fn restart_broker(&mut self) {
        self.bus.retained.clear();
        let was_online = self.bus.online.clone();
        let online: Vec<usize> = (0..was_online.len()).filter(|&i| was_online[i]).collect();
        for &i in &online {
            self.disconnect(i, false);
        }
        for &i in &online {
            self.connect(i);
        }
    }

    /// Time passes by `dt_ms`: every device ticks, then every message queued is delivered.
    fn step(&mut self, dt_ms: u64) {
        self.now += dt_ms;
        for i in 0..self.nodes.len() {
            let actions = self.nodes[i].rep.tick(self.now);
            self.run(i, actions);
        }
        for i in 0..self.nodes.len() {
            for d in self.bus.take_inbox(i) {
                let node = &mut self.nodes[i];
                let actions =
                    node.rep
                        .on_message(&d.topic, &d.payload, d.retained, self.now, &node.journal);
                self.run(i, actions);
            }
        }
    }

    fn run_for(&mut self, ms: u64) {
        for _ in 0..ms / 100 {
            self.step(100);
        }
    }

    /// Every device holds every event of every origin, once, and nothing is left waiting.
    fn converged(&self) -> bool {
        let expected: BTreeMap<Origin, Vec<String>> = (0..self.nodes.len())
            .map(|i| {
                let o = origin_of(i);
                let list = self.nodes[i]
                    .journal
                    .events
                    .get(&o)
                    .cloned()
                    .unwrap_or_default();
                (o, list)
            })
            .collect();
        self.nodes.iter().all(|n| {
            n.journal.events == expected && n.journal.held.values().all(BTreeMap::is_empty)
        })
    }

    fn count_sent(&self, i: usize, since: u64, kind: fn(&Message) -> bool) -> usize {
        self.sent
            .iter()
            .filter(|(from, at, m)| *from == i && *at >= since && kind(m))
            .count()
    }
}

// ---------------------------------------------------------------------------------------------
// Convergence.

#[test]
fn on_a_healthy_bus_events_travel_live_and_everyone_confirms_them() {
    let mut sim = Sim::new(&["bar-1", "grill", "expo"], 1);
    sim.run_for(2_000);
    // Each device's first event predates its replicator: peers pulled it.
    assert!(sim.converged());
    let pulls_before = sim
        .sent
        .iter()
        .filter(|s| matches!(s.2, Message::Pull(_)))
        .count();
    for _ in 0..50 {
        sim.append(0);
        sim.step(20);
    }
    sim.append(1);
    sim.run_for(1_000);
    assert!(sim.converged());
    let pulls_after = sim
        .sent
        .iter()
        .filter(|s| matches!(s.2, Message::Pull(_)))
        .count();
    assert_eq!(
        pulls_after, pulls_before,
        "no event went missing, so nobody pulled"
    );
    for node in &sim.nodes {
        assert_eq!(
            node.rep.unconfirmed(),
            0,
            "{:?}",
            node.rep.identity().device
        );
        assert_eq!(node.rep.missing(), 0);
        assert_eq!(node.rep.cut_off_since(sim.now), None);
    }
    assert_eq!(sim.nodes[1].journal.count(&origin_of(0)), 51);
}

#[test]
fn dropped_duplicated_and_reordered_messages_still_converge_once() {
    let mut sim = Sim::new(&["bar-1", "bar-2", "grill", "expo"], 7);
    sim.bus.faults = Faults {
        drop_pct: 30,
        dup_pct: 20,
        reorder: true,
    };
    for round in 0..100 {
        sim.append(round % 2);
        if round % 10 == 0 {
            sim.append(2);
        }
        sim.step(100);
    }
    sim.bus.faults = Faults::default();
    sim.run_for(20_000);
    assert!(sim.converged());
    assert!(
        sim.nodes.iter().any(|n| n.journal.duplicates > 0),
        "duplicates were delivered and had no effect"
    );
    for node in &sim.nodes {
        assert_eq!(node.rep.unconfirmed(), 0);
        assert!(
            node.noted.is_empty(),
            "nobody was ever ahead of an origin's own journal"
        );
    }
}

#[test]
fn a_device_back_after_hours_catches_up_from_whoever_is_there() {
    let mut sim = Sim::new(&["bar-1", "grill", "expo"], 3);
    sim.run_for(2_000);
    let expo = sim.index("expo");
    sim.disconnect(expo, true);
    // The terminal takes 10,000 orders, then is switched off for good before expo returns.
    for _ in 0..100 {
        for _ in 0..100 {
            sim.append(0);
        }
        sim.step(100);
    }
    sim.run_for(2_000);
    sim.disconnect(0, true);
    sim.now += 4 * 3_600_000;
    let back_at = sim.now;
    sim.connect(expo);
    sim.run_for(10_000);
    assert_eq!(sim.nodes[expo].journal.count(&origin_of(0)), 10_001);
    let pulls: Vec<Pull> = sim
        .sent
        .iter()
        .filter(|(from, at, _)| *from == expo && *at >= back_at)
        .filter_map(|(_, _, m)| match m {
            Message::Pull(p) => Some(p.clone()),
            _ => None,
        })
        .collect();
    assert!(pulls.len() >= 3, "the catch-up came in windows: {pulls:?}");
    for p in &pulls {
        assert_eq!(
            p.responder,
            device("grill"),
            "only grill is there to answer"
        );
        let asked: u64 = p.ranges.iter().map(|r| r.through - r.after).sum();
        assert!(asked <= Tuning::default().pull_max_events);
    }
    let caught_up_in = sim
        .sent
        .iter()
        .filter(|(from, at, m)| *from == expo && *at >= back_at && matches!(m, Message::Pull(_)))
        .map(|(_, at, _)| at - back_at)
        .max()
        .unwrap_or(0);
    assert!(
        caught_up_in < 5_000,
        "the last pull went out {caught_up_in} ms after return"
    );
}

#[test]
fn a_restored_journal_learns_it_is_behind_and_catches_up_before_writing() {
    let mut sim = Sim::new(&["bar-1", "grill"], 5);
    for _ in 0..20 {
        sim.append(0);
        sim.step(50);
    }
    sim.run_for(2_000);
    assert!(sim.converged());
    // The terminal is restored from an old backup holding only its first 5 events.
    sim.disconnect(0, true);
    let mut restored = MemJournal::default();
    restored.apply(
        sim.nodes[0].journal.events[&origin_of(0)][..5]
            .iter()
            .map(|t| t.as_bytes().to_vec())
            .collect(),
    );
    sim.nodes[0].rep = Replicator::new(
        identity("bar-1", 0),
        Tuning::default(),
        restored.heads(),
        sim.now,
    );
    sim.nodes[0].journal = restored;
    let since = sim.now;
    sim.connect(0);
    sim.step(100);
    assert_eq!(
        sim.nodes[0].noted,
        [(origin_of(0), 21)],
        "the journal is told to refuse appends until it holds seq 21"
    );
    sim.run_for(3_000);
    assert_eq!(sim.nodes[0].journal.count(&origin_of(0)), 21);
    assert!(sim.converged());
    assert_eq!(
        sim.count_sent(0, since, |m| matches!(m, Message::Events(_))),
        0,
        "events that came back from a peer are not published again"
    );
}

// ---------------------------------------------------------------------------------------------
// Pulls: one responder, the next one when it does not answer.

/// Feeds a replicator messages directly, as the IO layer would.
struct Driver {
    rep: Replicator,
    journal: MemJournal,
}

impl Driver {
    fn new(name: &str) -> Driver {
        let journal = MemJournal::new(&origin_of(9));
        let mut me = identity(name, 9);
        me.origin = origin_of(9);
        Driver {
            rep: Replicator::new(me, Tuning::default(), journal.heads(), 0),
            journal,
        }
    }

    fn feed(&mut self, message: Message, retained: bool, now: u64) -> Vec<Action> {
        let topic = message.topic().path(&self.rep.identity().store);
        let payload = v1::encode(&message).expect("encodes");
        self.rep
            .on_message(&topic, &payload, retained, now, &self.journal)
    }

    fn heartbeat(&mut self, from: &str, peer_origin: usize, now: u64) -> Vec<Action> {
        self.feed(
            Message::Heartbeat(Heartbeat {
                device: device(from),
                origin: origin_of(peer_origin),
                role: Role::KitchenScreen,
                wall_ms: 0,
                unconfirmed: 0,
            }),
            false,
            now,
        )
    }

    fn have(
        &mut self,
        from: &str,
        peer_origin: usize,
        heads: &[(usize, u64)],
        retained: bool,
        now: u64,
    ) -> Vec<Action> {
        self.feed(
            Message::Have(Have {
                device: device(from),
                origin: origin_of(peer_origin),
                role: Role::KitchenScreen,
                name: from.to_owned(),
                heads: heads
                    .iter()
                    .map(|&(o, seq)| {
                        let hash = Sha256::digest(envelope_text(&origin_of(o), seq)).into();
                        (origin_of(o), HeadV1 { seq, hash })
                    })
                    .collect(),
            }),
            retained,
            now,
        )
    }

    fn own_events(&mut self, n: usize, now: u64) -> Vec<Action> {
        for _ in 0..n {
            self.journal.append(&origin_of(9));
        }
        let heads = self.journal.heads();
        self.rep.on_local_heads(heads, now, &self.journal)
    }
}

fn published(actions: &[Action]) -> Vec<Message> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Publish(out) => Some(v1::decode(&out.payload).expect("valid")),
            _ => None,
        })
        .collect()
}

fn pulls(actions: &[Action]) -> Vec<Pull> {
    published(actions)
        .into_iter()
        .filter_map(|m| match m {
            Message::Pull(p) => Some(p),
            _ => None,
        })
        .collect()
}

/// The responders of the pulls among `actions`.
fn pulled_from(actions: &[Action]) -> Vec<String> {
    pulls(actions)
        .into_iter()
        .map(|p| p.responder.to_string())
        .collect()
}

#[test]
fn a_pull_names_one_responder_and_goes_to_the_next_after_a_timeout() {
    let mut d = Driver::new("expo");
    // grill, bar-1 and bar-2 all hold 10 events of origin 0; bar-2 was heard last.
    d.have("grill", 1, &[(0, 10)], false, 1_000);
    d.have("bar-1", 2, &[(0, 10)], false, 1_000);
    d.have("bar-2", 3, &[(0, 10)], false, 1_100);
    let mut responders = Vec::new();
    let mut t = 1_100;
    while t < 9_000 {
        t += 100;
        if t % 1_000 == 0 {
            // Everyone stays present; nobody answers.
            for (who, o) in [("grill", 1), ("bar-1", 2), ("bar-2", 3)] {
                responders.extend(pulled_from(&d.heartbeat(who, o, t)));
            }
        }
        let actions = d.rep.tick(t);
        let asked = pulled_from(&actions);
        if !asked.is_empty() {
            responders.push(format!("{} @{t}", asked.join(",")));
        }
    }
    // After the grace period bar-2, heard last; then every 2 s the next one not yet asked
    // (all heard at the same second, so by id); then around again.
    assert_eq!(
        responders,
        ["bar-2 @1500", "bar-1 @3500", "grill @5500", "bar-1 @7500"]
    );
}

#[test]
fn a_responder_that_leaves_is_replaced_at_once_and_a_silent_one_is_never_asked() {
    let mut d = Driver::new("expo");
    d.have("grill", 1, &[(0, 10)], false, 1_000);
    d.have("bar-1", 2, &[(0, 10)], false, 1_000);
    // A retained have from a device not heard since: not a candidate.
    d.have("old", 4, &[(0, 10)], true, 1_000);
    assert_eq!(pulled_from(&d.rep.tick(1_500)), ["bar-1"]);
    d.feed(
        Message::Gone(Gone {
            device: device("bar-1"),
        }),
        false,
        1_600,
    );
    assert_eq!(pulled_from(&d.rep.tick(1_700)), ["grill"]);
}

#[test]
fn an_answer_is_applied_and_the_next_window_follows_once_it_is_in_the_journal() {
    let mut grill = Driver::new("grill");
    for _ in 0..5_000 {
        grill.journal.append(&origin_of(0));
    }
    let mut expo = Driver::new("expo");
    expo.have("grill", 1, &[(0, 5_000)], false, 1_000);
    let asked = pulls(&expo.rep.tick(1_500));
    let [pull] = asked.as_slice() else {
        panic!("one pull expected: {asked:?}");
    };
    assert_eq!(
        pull.ranges,
        [Range {
            origin: origin_of(0),
            after: 0,
            through: 4_096
        }]
    );
    let answer = grill.rep.on_pull(pull.clone(), 1_510, &grill.journal);
    assert_eq!(
        grill.rep.on_pull(pull.clone(), 1_511, &grill.journal),
        [],
        "a duplicated pull is answered once"
    );
    let batches = published(&answer);
    assert!(batches.len() > 1, "answered in batches");
    let mut next = Vec::new();
    for (i, m) in batches.into_iter().enumerate() {
        let Message::Sync(sync) = m else {
            panic!("answers only")
        };
        assert!(sync.events.len() <= v1::BATCH_MAX_EVENTS);
        for action in expo.rep.on_sync(sync, 1_520 + i as u64) {
            if let Action::Apply(batch) = action {
                expo.journal.apply(batch);
                let heads = expo.journal.heads();
                next.extend(expo.rep.on_local_heads(heads, 1_530, &expo.journal));
            }
        }
    }
    assert_eq!(expo.journal.count(&origin_of(0)), 4_096);
    let following = pulls(&next);
    let [second] = following.as_slice() else {
        panic!("the next window follows at once: {following:?}");
    };
    assert_eq!(
        (second.ranges[0].after, second.ranges[0].through),
        (4_096, 5_000)
    );
}

#[test]
fn a_head_held_in_another_version_is_fetched_once_so_the_fork_is_recorded() {
    let mut d = Driver::new("expo");
    d.journal.apply(
        (1..=3)
            .map(|seq| envelope_text(&origin_of(0), seq).into_bytes())
            .collect(),
    );
    let heads = d.journal.heads();
    d.rep.on_local_heads(heads, 900, &d.journal);
    // grill shows the same head: nothing to do.
    assert_eq!(pulls(&d.have("grill", 1, &[(0, 3)], false, 1_000)), []);
    // bar-1 shows seq 3 with another hash.
    let other = Have {
        device: device("bar-1"),
        origin: origin_of(2),
        role: Role::OrderTerminal,
        name: "bar-1".into(),
        heads: [(
            origin_of(0),
            HeadV1 {
                seq: 3,
                hash: [7; 32],
            },
        )]
        .into(),
    };
    let asked = pulls(&d.feed(Message::Have(other.clone()), false, 1_100));
    assert_eq!(
        asked
            .iter()
            .map(|p| (p.responder.to_string(), p.ranges.clone()))
            .collect::<Vec<_>>(),
        [(
            "bar-1".to_owned(),
            vec![Range {
                origin: origin_of(0),
                after: 2,
                through: 3
            }]
        )]
    );
    // Asked once, however often it is shown.
    d.rep.tick(5_000);
    assert_eq!(pulls(&d.feed(Message::Have(other), false, 5_100)), []);
}

// ---------------------------------------------------------------------------------------------
// Confirmation by peers' haves.

/// Peers' haves showing this device's own origin at the given seqs, one after another; the
/// device holds 3 own events. Returns `unconfirmed` after each.
fn check_unconfirmed(retired: &[usize], haves: &[(&str, usize, u64)], expected: &[u64]) {
    let mut d = Driver::new("bar-1");
    d.own_events(2, 10);
    d.rep
        .set_retired(retired.iter().map(|&i| origin_of(i)).collect());
    let mut got = vec![d.rep.unconfirmed()];
    for (i, &(peer, peer_origin, seq)) in haves.iter().enumerate() {
        let heads: &[(usize, u64)] = if seq == 0 { &[] } else { &[(9, seq)] };
        d.have(peer, peer_origin, heads, false, 100 + i as u64);
        got.push(d.rep.unconfirmed());
    }
    assert_eq!(got, expected, "retired {retired:?}, haves {haves:?}");
}

#[test]
fn unconfirmed_reaches_zero_only_when_every_peer_shows_the_events() {
    // Nobody known yet: nobody has confirmed anything.
    check_unconfirmed(&[], &[], &[3]);
    check_unconfirmed(&[], &[("grill", 1, 3)], &[3, 0]);
    check_unconfirmed(
        &[],
        &[
            ("grill", 1, 0),
            ("expo", 2, 0),
            ("grill", 1, 3),
            ("expo", 2, 2),
            ("expo", 2, 3),
        ],
        &[3, 3, 3, 3, 1, 0],
    );
}

#[test]
fn a_retired_peer_is_not_waited_for() {
    // "old" (origin 4) never confirms: waited for until retired.
    check_unconfirmed(&[], &[("old", 4, 0), ("grill", 1, 3)], &[3, 3, 3]);
    check_unconfirmed(&[4], &[("old", 4, 0), ("grill", 1, 3)], &[3, 3, 0]);
}

#[test]
fn a_cleared_have_forgets_the_peer() {
    let mut d = Driver::new("bar-1");
    d.own_events(2, 10);
    d.have("grill", 1, &[(9, 3)], false, 100);
    d.have("old", 4, &[], true, 100);
    assert_eq!(d.rep.unconfirmed(), 3, "waiting for old");
    let topic = format!("pass/v1/{STORE}/have/old");
    assert_eq!(d.rep.on_message(&topic, b"", true, 200, &d.journal), []);
    assert_eq!(d.rep.unconfirmed(), 0);
    assert_eq!(d.rep.rejected_messages(), 0);
    assert_eq!(d.rep.peers(300).len(), 1);
}

#[test]
fn a_broker_ack_confirms_nothing_only_haves_do() {
    let mut sim = Sim::new(&["bar-1", "grill", "expo"], 11);
    sim.run_for(2_000);
    let expo = sim.index("expo");
    sim.disconnect(expo, false);
    for _ in 0..5 {
        sim.append(0);
    }
    sim.run_for(10_000);
    // grill has them; expo, off, has not: the terminal still shows them unconfirmed.
    assert_eq!(sim.nodes[0].rep.unconfirmed(), 5);
    let hb = sim.sent.iter().rev().find_map(|(from, _, m)| match m {
        Message::Heartbeat(hb) if *from == 0 => Some(hb.unconfirmed),
        _ => None,
    });
    assert_eq!(hb, Some(5), "and says so in its heartbeat");
    sim.connect(expo);
    sim.run_for(3_000);
    assert_eq!(sim.nodes[0].rep.unconfirmed(), 0);
}

// ---------------------------------------------------------------------------------------------
// Presence and cut-off.

enum Heard {
    Heartbeat(&'static str, u64),
    RetainedHave(&'static str, u64),
    Gone(&'static str, u64),
}

/// Replays what was heard, then asks `cut_off_since` at each of `at`.
fn check_cut_off(retired: &[usize], heard: &[Heard], at: &[(u64, Option<u64>)]) {
    let mut d = Driver::new("expo");
    d.rep
        .set_retired(retired.iter().map(|&i| origin_of(i)).collect());
    let origin = |name: &str| if name == "grill" { 1 } else { 2 };
    for h in heard {
        match *h {
            Heard::Heartbeat(who, t) => {
                d.heartbeat(who, origin(who), t);
            }
            Heard::RetainedHave(who, t) => {
                d.have(who, origin(who), &[], true, t);
            }
            Heard::Gone(who, t) => {
                d.feed(
                    Message::Gone(Gone {
                        device: device(who),
                    }),
                    false,
                    t,
                );
            }
        }
    }
    let got: Vec<(u64, Option<u64>)> = at
        .iter()
        .map(|&(now, _)| (now, d.rep.cut_off_since(now)))
        .collect();
    assert_eq!(got, at);
}

#[test]
fn cut_off_is_reported_after_three_silent_seconds_and_cleared_when_a_peer_is_heard() {
    use Heard::*;
    // Started at 0 and heard nobody.
    check_cut_off(&[], &[], &[(3_000, None), (3_001, Some(0))]);
    // Heard grill at 5 s: fine until 8 s, cut off since 5 s after.
    check_cut_off(
        &[],
        &[Heartbeat("grill", 5_000)],
        &[
            (5_000, None),
            (8_000, None),
            (8_001, Some(5_000)),
            (60_000, Some(5_000)),
        ],
    );
    // Any one peer is enough.
    check_cut_off(
        &[],
        &[Heartbeat("grill", 1_000), Heartbeat("bar-1", 3_000)],
        &[(5_000, None), (6_001, Some(3_000))],
    );
    // A retained have replayed by the broker is not hearing anyone.
    check_cut_off(&[], &[RetainedHave("grill", 2_000)], &[(3_001, Some(0))]);
    // A peer that said goodbye is not there, and a retired one does not count.
    check_cut_off(
        &[],
        &[Heartbeat("grill", 1_000), Gone("grill", 1_500)],
        &[(4_001, Some(1_000))],
    );
    check_cut_off(&[1], &[Heartbeat("grill", 2_000)], &[(3_001, Some(0))]);
}

#[test]
fn a_device_cut_off_knows_within_five_seconds_and_rejoins() {
    let mut sim = Sim::new(&["bar-1", "grill", "expo"], 13);
    sim.run_for(2_000);
    let grill = sim.index("grill");
    // The broker is up but grill's cable is out; bar-1 and expo keep each other company.
    sim.disconnect(grill, false);
    let lost_at = sim.now;
    let mut reported = None;
    while sim.now < lost_at + 10_000 {
        sim.step(250);
        if reported.is_none() && sim.nodes[grill].rep.cut_off_since(sim.now).is_some() {
            reported = Some(sim.now - lost_at);
        }
        assert_eq!(sim.nodes[0].rep.cut_off_since(sim.now), None);
        sim.append(0);
    }
    let detected = reported.expect("grill reports it is cut off");
    assert!(detected <= 5_000, "reported after {detected} ms");
    sim.connect(grill);
    sim.run_for(3_000);
    assert_eq!(sim.nodes[grill].rep.cut_off_since(sim.now), None);
    assert!(sim.converged());
}

#[test]
fn a_screen_whose_peers_all_vanish_is_cut_off_though_its_broker_is_up() {
    let mut sim = Sim::new(&["bar-1", "grill"], 17);
    sim.run_for(2_000);
    sim.disconnect(0, false); // no last will: it just stops
    let gone_at = sim.now;
    sim.run_for(4_000);
    let peers = sim.nodes[1].rep.peers(sim.now);
    assert_eq!(peers.len(), 1);
    assert!(!peers[0].present);
    let last_heard = peers[0].last_heard_ms.expect("bar-1 was heard before");
    assert!(last_heard <= gone_at);
    assert_eq!(sim.nodes[1].rep.cut_off_since(sim.now), Some(last_heard));
}

#[test]
fn peers_are_listed_with_since_when_they_are_heard() {
    let mut d = Driver::new("expo");
    d.heartbeat("grill", 1, 1_000);
    d.heartbeat("grill", 1, 2_000);
    d.have("grill", 1, &[(9, 1)], false, 2_500);
    d.heartbeat("grill", 1, 9_000); // back after a gap
    let peers = d.rep.peers(9_500);
    assert_eq!(
        peers,
        [PeerStatus {
            device: device("grill"),
            origin: Some(origin_of(1)),
            role: Some(Role::KitchenScreen),
            name: Some("grill".into()),
            present: true,
            present_since_ms: Some(9_000),
            last_heard_ms: Some(9_000),
            confirmed_own_seq: 1,
            retired: false,
            reported_unconfirmed: Some(0),
        }]
    );
}

// ---------------------------------------------------------------------------------------------
// Rates and bad input.

#[test]
fn haves_go_out_a_few_times_a_second_at_most_and_are_refreshed_when_idle() {
    let mut sim = Sim::new(&["bar-1", "grill"], 19);
    sim.run_for(2_000);
    let start = sim.now;
    let is_have = |m: &Message| matches!(m, Message::Have(_));
    for _ in 0..100 {
        sim.append(0);
        sim.step(10);
    }
    let busy = sim.count_sent(0, start, is_have);
    assert!((3..=5).contains(&busy), "{busy} haves in one busy second");
    let idle_from = sim.now + 1_000;
    sim.run_for(21_000);
    let idle = sim.count_sent(0, idle_from, is_have);
    assert!((3..=5).contains(&idle), "{idle} haves in 20 idle seconds");
}

#[test]
fn bad_messages_are_set_aside_without_effect() {
    let mut d = Driver::new("expo");
    let store = STORE;
    let junk: [(String, Vec<u8>); 6] = [
        (format!("pass/v1/{store}/hb/grill"), b"not json".to_vec()),
        (
            format!("pass/v1/{store}/hb/grill"),
            vec![b'{'; v1::MAX_MESSAGE_BYTES + 1],
        ),
        (
            format!("pass/v1/{store}/hb/grill"),
            br#"{"v":2,"type":"heartbeat"}"#.to_vec(),
        ),
        // bar-1 speaking for grill.
        (
            format!("pass/v1/{store}/gone/bar-1"),
            br#"{"v":1,"type":"gone","device":"grill"}"#.to_vec(),
        ),
        (
            "pass/v1/other/gone/grill".to_owned(),
            br#"{"v":1,"type":"gone","device":"grill"}"#.to_vec(),
        ),
        (format!("pass/v1/{store}/ev/grill"), b"{}".to_vec()),
    ];
    d.heartbeat("grill", 1, 1_000);
    for (topic, payload) in &junk {
        assert_eq!(
            d.rep.on_message(topic, payload, false, 1_100, &d.journal),
            []
        );
    }
    assert_eq!(d.rep.rejected_messages(), 6);
    assert!(d.rep.peers(1_200)[0].present, "grill was not made to leave");
    // A message type from a newer build is ignored quietly, not counted as bad.
    let newer = br#"{"v":1,"type":"menu_hint","device":"grill"}"#;
    assert_eq!(
        d.rep.on_message(
            &format!("pass/v1/{store}/hb/grill"),
            newer,
            false,
            1_300,
            &d.journal
        ),
        []
    );
    assert_eq!(d.rep.rejected_messages(), 6);
}

#[test]
fn a_long_device_name_is_shortened_rather_than_silencing_the_have() {
    let mut me = identity("expo", 9);
    me.name =
        "Expo screen by the pass, the one with the sticky bump bar and the cracked bezel".into();
    let journal = MemJournal::new(&origin_of(9));
    let mut rep = Replicator::new(me, Tuning::default(), journal.heads(), 0);
    let haves: Vec<Have> = published(&rep.on_connected(0))
        .into_iter()
        .filter_map(|m| match m {
            Message::Have(h) => Some(h),
            _ => None,
        })
        .collect();
    assert_eq!(haves.len(), 1);
    assert_eq!(haves[0].name.chars().count(), v1::MAX_NAME_CHARS);
}

#[test]
fn own_echoes_are_ignored() {
    let mut d = Driver::new("expo");
    let actions = d.own_events(3, 100);
    for m in published(&actions) {
        assert_eq!(d.feed(m, false, 200), []);
    }
    assert!(d.rep.peers(300).is_empty());
}

// ---------------------------------------------------------------------------------------------
// The invariant: whatever the network did, a healthy network brings everyone together.

#[derive(Debug, Clone)]
struct Chaos {
    devices: usize,
    seed: u64,
    /// (device, step) at which a device commits an event.
    appends: Vec<(usize, usize)>,
    /// Per step: drop %, duplicate %, reorder.
    weather: Vec<(u64, u64, bool)>,
    /// (device, first step, steps) offline, with or without a last will.
    outages: Vec<(usize, usize, usize, bool)>,
    /// Steps at which the broker restarts and forgets its retained messages.
    broker_restarts: Vec<usize>,
}

fn chaos() -> impl Strategy<Value = Chaos> {
    (2usize..=4, any::<u64>(), 20usize..80).prop_flat_map(|(devices, seed, steps)| {
        (
            prop::collection::vec((0..devices, 0..steps), 0..80),
            prop::collection::vec((0u64..=60, 0u64..=40, any::<bool>()), steps),
            prop::collection::vec((0..devices, 0..steps, 1usize..60, any::<bool>()), 0..4),
            prop::collection::vec(0..steps, 0..3),
        )
            .prop_map(move |(appends, weather, outages, broker_restarts)| Chaos {
                devices,
                seed,
                appends,
                weather,
                outages,
                broker_restarts,
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_device_converges_once_the_network_is_healthy(c in chaos()) {
        let names = ["bar-1", "bar-2", "grill", "expo"];
        let mut sim = Sim::new(&names[..c.devices], c.seed);
        for (step, &(drop_pct, dup_pct, reorder)) in c.weather.iter().enumerate() {
            for &(dev, first, len, will) in &c.outages {
                if step == first && sim.bus.online[dev] {
                    sim.disconnect(dev, will);
                }
                if step == first + len && !sim.bus.online[dev] {
                    sim.connect(dev);
                }
            }
            if c.broker_restarts.contains(&step) {
                sim.restart_broker();
            }
            sim.bus.faults = Faults { drop_pct, dup_pct, reorder };
            for &(dev, at) in &c.appends {
                if at == step {
                    sim.append(dev);
                }
            }
            sim.step(100);
        }
        sim.bus.faults = Faults::default();
        for dev in 0..c.devices {
            if !sim.bus.online[dev] {
                sim.connect(dev);
            }
        }
        sim.run_for(30_000);
        prop_assert!(sim.converged());
        for node in &sim.nodes {
            prop_assert_eq!(node.rep.unconfirmed(), 0);
            prop_assert_eq!(node.rep.missing(), 0);
            prop_assert_eq!(node.rep.cut_off_since(sim.now), None);
        }
    }
}
