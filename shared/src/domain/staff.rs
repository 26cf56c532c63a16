//! Staff: roles and what each may do, PINs and their hashes, and signing in with a PIN.
//!
//! # Roles and permissions
//!
//! Every person has one [`Role`]. What a role may do is this table, and nothing else:
//! [`Role::permits`] reads it, and a test checks that the table below says the same as the code.
//!
//! | Permission | Server | Bartender | Manager | Owner |
//! |---|:-:|:-:|:-:|:-:|
//! | `TakeOrder`: open a check, add lines, send them | ✓ | ✓ | ✓ | ✓ |
//! | `TakePayment`: take cash or card, close a paid check | ✓ | ✓ | ✓ | ✓ |
//! | `OpenTab`: open a bar tab on a card pre-authorisation |  | ✓ | ✓ | ✓ |
//! | `OpenDrawer`: open the cash drawer without a sale |  | ✓ | ✓ | ✓ |
//! | `EightySix`: 86 an item, or put it back on sale |  | ✓ | ✓ | ✓ |
//! | `TakeOverCheck`: take a check another person owns |  |  | ✓ | ✓ |
//! | `Void`: take a line off a check |  |  | ✓ | ✓ |
//! | `Comp`: give a line away at no charge |  |  | ✓ | ✓ |
//! | `Discount`: take an amount or a percentage off |  |  | ✓ | ✓ |
//! | `Refund`: give money back on a paid check |  |  | ✓ | ✓ |
//! | `ReopenCheck`: reopen a closed check |  |  | ✓ | ✓ |
//! | `OverrideOfflineCardCap`: approve an offline card payment over the cap |  |  | ✓ | ✓ |
//! | `ForceBumpExpo`: bump an order at expo while a station still holds it |  |  | ✓ | ✓ |
//! | `AdjustStock`: receive, count or adjust stock |  |  | ✓ | ✓ |
//! | `ViewReports`: sales, service times, the Z report |  |  | ✓ | ✓ |
//! | `CloseDay`: close the business day |  |  | ✓ | ✓ |
//! | `ChangeMenu`: publish a menu, change prices |  |  | ✓ | ✓ |
//! | `ManageStaff`: add people, change roles and PINs, deactivate |  |  | ✓ | ✓ |
//! | `RetireDevice`: retire a device that is gone for good |  |  | ✓ | ✓ |
//! | `ChangeStoreSettings`: stock deduction, day cut-off, time zone, card cap |  |  |  | ✓ |
//!
//! `ManageStaff` has one more rule, [`Role::can_manage`]: a manager manages servers and
//! bartenders only (a manager cannot make someone a manager or change a manager's or an owner's
//! PIN); an owner manages everyone.
//!
//! # PINs
//!
//! A PIN is 4 to 8 ASCII digits. A *new* PIN ([`PinHash::new`], [`check_pin_free`]) is also
//! refused when it is one of the two patterns people pick first: one digit repeated (`0000`,
//! `777777`) or a straight run up or down, wrapping from 9 to 0 (`1234`, `7890`, `4321`, `0987`,
//! `12345678`). That is deliberately a short list: PINs are unique in the store (below), and these
//! are the PINs two people would most often both want, and an intruder would try first.
//!
//! A PIN is stored only as an argon2id hash in PHC string form
//! (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), never in clear. New hashes use [`PIN_COST`]:
//! 19 MiB of memory, two passes, one lane (the argon2 crate's default and OWASP's minimum for
//! argon2id). Measured on the 2-core development VM in the debug test build (the workspace's dev
//! profile builds dependencies at `opt-level = 2`, so argon2 runs at about release speed): one
//! hash or verify takes 28–35 ms (mean of 20, three runs; 15–30 ms in a standalone loop; `t = 1`
//! halves it, 46 MiB doubles it). A hash read back from the journal ([`PinHash::parse`]) may
//! carry other costs, up to [`MAX_PIN_COST`], so a later release can raise `PIN_COST` without
//! invalidating anyone's PIN; a hash asking for more is refused, because verifying it is work
//! any device would have to do for whoever wrote the event.
//!
//! The salt is an argument (the domain has no randomness). Which salt to pass is the caller's
//! choice, and it decides what signing in costs:
//!
//! - **One store salt** (16 random bytes made once at store setup, recorded with the store's
//!   staff events): signing in costs one argon2 computation, whatever the number of staff. Since
//!   PINs are unique in the store, no two people ever have the same hash. This is the one to use.
//! - **A salt per person**: signing in costs one computation per active person (30 people:
//!   0.85–0.9 s on the VM, measured). A stolen journal then costs an attacker N times the work
//!   to recover every PIN instead of once; but a 4-digit PIN falls to 10,000 guesses (minutes)
//!   either way, so this buys little. The real protections are that the hashes never leave the
//!   store's devices and broker, and the sign-in throttle.
//!
//! # Unique PINs
//!
//! A person signs in with their PIN alone, so two active people must never share one.
//! [`check_pin_free`] refuses a new PIN that another active person already has, without saying
//! who. Two terminals cut off from each other can still each give the same PIN to a different
//! person; the journal accepts both events, and [`sign_in`] then answers
//! [`SignInError::SharedPin`] naming both, so a manager gives one of them a new PIN. The same
//! happens when a deactivated person whose old PIN is now someone else's is made active again
//! (the old PIN cannot be checked: only its hash is known), so reactivating someone should come
//! with a new PIN.
//!
//! # Signing in and the throttle
//!
//! [`sign_in`] takes the PIN typed at a terminal and finds the active person it belongs to. A
//! terminal cannot tell who is typing, so the throttle ([`SignInThrottle`]) is per terminal:
//!
//! - [`ThrottlePolicy::free_tries`] (3) wrong tries in a row may be made without waiting. After
//!   the third, the next try must wait 1 s, then 2, 4, 8, 16 s, and never more than
//!   [`ThrottlePolicy::max_delay_ms`] (30 s): there is never a lock-out for the rest of a shift,
//!   a busy terminal never stops working, and 10,000 4-digit PINs still take days to go through.
//! - A right PIN ends the run of wrong ones; wrong tries older than
//!   [`ThrottlePolicy::memory_ms`] (15 minutes) are forgotten.
//! - A manager is alerted at 5 wrong tries in a row (and 10, 15…), and also at 10 wrong tries
//!   within the 15 minutes even with right PINs between them (someone guessing a manager's PIN
//!   between their own sign-ins).
//!
//! A try refused because it came too soon is not checked and is not counted.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, Version};

use super::check::StaffId;

/// The shortest PIN, in digits.
pub const MIN_PIN_DIGITS: usize = 4;
/// The longest PIN, in digits.
pub const MAX_PIN_DIGITS: usize = 8;
/// The longest name a person may have, in characters.
pub const MAX_NAME_CHARS: usize = 60;

/// The argon2id cost of every new PIN hash. See the module docs for what it costs to verify.
pub const PIN_COST: PinCost = PinCost {
    memory_kib: 19 * 1024,
    passes: 2,
    lanes: 1,
};

/// The most a stored PIN hash may ask of a device that verifies it.
pub const MAX_PIN_COST: PinCost = PinCost {
    memory_kib: 64 * 1024,
    passes: 8,
    lanes: 4,
};

/// Bytes of hash output in a new PIN hash.
const DIGEST_BYTES: usize = 32;
/// The longest PHC string accepted.
const MAX_PHC_CHARS: usize = 256;
/// Wrong tries a throttle remembers at most, whatever its policy.
const MAX_REMEMBERED_TRIES: usize = 256;

/// A refused staff change or PIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StaffError {
    #[error("a PIN is {MIN_PIN_DIGITS} to {MAX_PIN_DIGITS} digits; this one has {0}")]
    PinLength(usize),
    #[error("a PIN is digits only")]
    PinNotDigits,
    #[error(
        "this PIN is too easy to guess (one digit repeated, or a run like 1234); choose another"
    )]
    PinTooWeak,
    #[error("another person already has this PIN; choose another")]
    PinInUse,
    #[error("not a PIN hash this build accepts: {0}")]
    BadPinHash(String),
    #[error("a name may not be empty")]
    EmptyName,
    #[error("a name is at most {MAX_NAME_CHARS} characters")]
    NameTooLong,
    #[error("`{0}` is not a role (server, bartender, manager, owner)")]
    UnknownRole(String),
}

/// What a person does in the store.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Server,
    Bartender,
    Manager,
    Owner,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Server, Role::Bartender, Role::Manager, Role::Owner];

    /// Whether this role may do `permission`: the table in the module docs.
    pub fn permits(self, permission: Permission) -> bool {
        let [server, bartender, manager, owner] = permission.holders();
        match self {
            Role::Server => server,
            Role::Bartender => bartender,
            Role::Manager => manager,
            Role::Owner => owner,
        }
    }

    /// Whether a person of this role may add, change or deactivate a person of role `other`, or
    /// give someone that role: owners manage everyone, managers manage servers and bartenders.
    pub fn can_manage(self, other: Role) -> bool {
        match self {
            Role::Owner => true,
            Role::Manager => matches!(other, Role::Server | Role::Bartender),
            Role::Server | Role::Bartender => false,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Bartender => "bartender",
            Role::Manager => "manager",
            Role::Owner => "owner",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = StaffError;

    fn from_str(s: &str) -> Result<Role, StaffError> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| StaffError::UnknownRole(s.to_owned()))
    }
}

/// Something only some roles may do. The module docs say who may do what.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    TakeOrder,
    TakePayment,
    OpenTab,
    OpenDrawer,
    EightySix,
    TakeOverCheck,
    Void,
    Comp,
    Discount,
    Refund,
    ReopenCheck,
    OverrideOfflineCardCap,
    ForceBumpExpo,
    AdjustStock,
    ViewReports,
    CloseDay,
    ChangeMenu,
    ManageStaff,
    RetireDevice,
    ChangeStoreSettings,
}

impl Permission {
    /// Every permission, in the order of the table.
    pub const ALL: [Permission; 20] = [
        Permission::TakeOrder,
        Permission::TakePayment,
        Permission::OpenTab,
        Permission::OpenDrawer,
        Permission::EightySix,
        Permission::TakeOverCheck,
        Permission::Void,
        Permission::Comp,
        Permission::Discount,
        Permission::Refund,
        Permission::ReopenCheck,
        Permission::OverrideOfflineCardCap,
        Permission::ForceBumpExpo,
        Permission::AdjustStock,
        Permission::ViewReports,
        Permission::CloseDay,
        Permission::ChangeMenu,
        Permission::ManageStaff,
        Permission::RetireDevice,
        Permission::ChangeStoreSettings,
    ];

    /// The permission table: which roles hold this permission, as
    /// `[server, bartender, manager, owner]`.
    #[rustfmt::skip]
    fn holders(self) -> [bool; 4] {
        use Permission::*;
        const Y: bool = true;
        const N: bool = false;
        match self {
            //                        server  bartender  manager  owner
            TakeOrder              => [Y,      Y,         Y,       Y],
            TakePayment            => [Y,      Y,         Y,       Y],
            OpenTab                => [N,      Y,         Y,       Y],
            OpenDrawer             => [N,      Y,         Y,       Y],
            EightySix              => [N,      Y,         Y,       Y],
            TakeOverCheck          => [N,      N,         Y,       Y],
            Void                   => [N,      N,         Y,       Y],
            Comp                   => [N,      N,         Y,       Y],
            Discount               => [N,      N,         Y,       Y],
            Refund                 => [N,      N,         Y,       Y],
            ReopenCheck            => [N,      N,         Y,       Y],
            OverrideOfflineCardCap => [N,      N,         Y,       Y],
            ForceBumpExpo          => [N,      N,         Y,       Y],
            AdjustStock            => [N,      N,         Y,       Y],
            ViewReports            => [N,      N,         Y,       Y],
            CloseDay               => [N,      N,         Y,       Y],
            ChangeMenu             => [N,      N,         Y,       Y],
            ManageStaff            => [N,      N,         Y,       Y],
            RetireDevice           => [N,      N,         Y,       Y],
            ChangeStoreSettings    => [N,      N,         N,       Y],
        }
    }
}

/// The argon2id cost of a PIN hash: memory in KiB, passes over it, lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PinCost {
    pub memory_kib: u32,
    pub passes: u32,
    pub lanes: u32,
}

impl PinCost {
    fn within(self, max: PinCost) -> bool {
        self.memory_kib <= max.memory_kib && self.passes <= max.passes && self.lanes <= max.lanes
    }
}

/// Checks that `pin` has the shape of a PIN: 4 to 8 ASCII digits.
fn check_pin_shape(pin: &str) -> Result<(), StaffError> {
    if !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(StaffError::PinNotDigits);
    }
    if !(MIN_PIN_DIGITS..=MAX_PIN_DIGITS).contains(&pin.len()) {
        return Err(StaffError::PinLength(pin.len()));
    }
    Ok(())
}

/// Checks that `pin` may be given to someone: the right shape and not trivially weak (see the
/// module docs).
pub fn check_new_pin(pin: &str) -> Result<(), StaffError> {
    check_pin_shape(pin)?;
    let digits: Vec<u8> = pin.bytes().map(|b| b - b'0').collect();
    let steps: BTreeSet<u8> = digits.windows(2).map(|w| (w[1] + 10 - w[0]) % 10).collect();
    // One step size throughout: 0 is a repeated digit, 1 a run up, 9 a run down (mod 10).
    let weak = steps.len() == 1 && steps.iter().all(|step| matches!(step, 0 | 1 | 9));
    if weak {
        return Err(StaffError::PinTooWeak);
    }
    Ok(())
}

/// A PIN's argon2id hash, kept as the PHC string it was written as.
#[derive(Clone, PartialEq, Eq)]
pub struct PinHash {
    phc: String,
    cost: PinCost,
    salt: Vec<u8>,
    digest: Vec<u8>,
}

impl PinHash {
    /// Hashes a new PIN with [`PIN_COST`]. Refuses a PIN of the wrong shape or a trivially weak
    /// one. Takes one argon2 computation (see the module docs).
    pub fn new(pin: &str, salt: [u8; 16]) -> Result<PinHash, StaffError> {
        check_new_pin(pin)?;
        let params = Params::new(
            PIN_COST.memory_kib,
            PIN_COST.passes,
            PIN_COST.lanes,
            Some(DIGEST_BYTES),
        )
        .map_err(|e| StaffError::BadPinHash(e.to_string()))?;
        let phc = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_with_salt(pin.as_bytes(), &salt)
            .map_err(|e| StaffError::BadPinHash(e.to_string()))?;
        PinHash::parse(&phc.to_string())
    }

    /// Reads a PIN hash back from its PHC string (from the journal: untrusted). Accepts only
    /// argon2id version 19 with a salt, a 16–64 byte hash, no secret key id or associated data,
    /// and a cost within [`MAX_PIN_COST`].
    pub fn parse(phc: &str) -> Result<PinHash, StaffError> {
        let bad = |why: &str| StaffError::BadPinHash(why.to_owned());
        if phc.len() > MAX_PHC_CHARS {
            return Err(bad("too long"));
        }
        let parsed = PasswordHash::new(phc).map_err(|e| StaffError::BadPinHash(e.to_string()))?;
        if parsed.algorithm.as_str() != "argon2id" {
            return Err(bad("not argon2id"));
        }
        if parsed.version != Some(Version::V0x13.into()) {
            return Err(bad("not argon2 version 19"));
        }
        let params =
            Params::try_from(&parsed).map_err(|e| StaffError::BadPinHash(e.to_string()))?;
        if !params.keyid().is_empty() || !params.data().is_empty() {
            return Err(bad("key ids and associated data are not used"));
        }
        let cost = PinCost {
            memory_kib: params.m_cost(),
            passes: params.t_cost(),
            lanes: params.p_cost(),
        };
        if !cost.within(MAX_PIN_COST) {
            return Err(bad("cost above the most a device will verify"));
        }
        let salt = parsed.salt.ok_or_else(|| bad("no salt"))?;
        let digest = parsed.hash.ok_or_else(|| bad("no hash"))?;
        if !(16..=64).contains(&digest.len()) {
            return Err(bad("hash is not 16 to 64 bytes"));
        }
        Ok(PinHash {
            phc: phc.to_owned(),
            cost,
            salt: salt.as_ref().to_vec(),
            digest: digest.as_bytes().to_vec(),
        })
    }

    /// The PHC string, as written to the journal.
    pub fn as_str(&self) -> &str {
        &self.phc
    }

    pub fn cost(&self) -> PinCost {
        self.cost
    }

    pub fn salt(&self) -> &[u8] {
        &self.salt
    }

    /// Whether `pin` is the PIN this hash was made from. One argon2 computation, unless `pin`
    /// does not have the shape of a PIN (then `false` at once).
    pub fn verify(&self, pin: &str) -> bool {
        check_pin_shape(pin).is_ok()
            && self
                .key()
                .compute(pin)
                .is_some_and(|digest| self.matches(&digest))
    }

    /// What decides the computation: the same key and PIN give the same digest.
    fn key(&self) -> HashKey<'_> {
        HashKey {
            cost: self.cost,
            salt: &self.salt,
            digest_len: self.digest.len(),
        }
    }

    /// Constant-time comparison with a computed digest.
    fn matches(&self, digest: &[u8]) -> bool {
        digest.len() == self.digest.len()
            && digest
                .iter()
                .zip(&self.digest)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

/// Not the salt or the hash: they have no business in a log.
impl fmt::Debug for PinHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PinHash(argon2id m={} t={} p={})",
            self.cost.memory_kib, self.cost.passes, self.cost.lanes
        )
    }
}

impl FromStr for PinHash {
    type Err = StaffError;

    fn from_str(phc: &str) -> Result<PinHash, StaffError> {
        PinHash::parse(phc)
    }
}

impl serde::Serialize for PinHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.phc)
    }
}

impl<'de> serde::Deserialize<'de> for PinHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<PinHash, D::Error> {
        let phc = String::deserialize(d)?;
        PinHash::parse(&phc).map_err(serde::de::Error::custom)
    }
}

/// Everything but the PIN that goes into an argon2 computation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HashKey<'a> {
    cost: PinCost,
    salt: &'a [u8],
    digest_len: usize,
}

impl HashKey<'_> {
    fn compute(&self, pin: &str) -> Option<Vec<u8>> {
        let params = Params::new(
            self.cost.memory_kib,
            self.cost.passes,
            self.cost.lanes,
            Some(self.digest_len),
        )
        .ok()?;
        let mut digest = vec![0u8; self.digest_len];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(pin.as_bytes(), self.salt, &mut digest)
            .ok()?;
        Some(digest)
    }
}

/// A member of staff, as the staff events describe them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    id: StaffId,
    name: String,
    role: Role,
    pin: PinHash,
    active: bool,
}

impl Staff {
    /// A new, active person. The name is trimmed, not empty, at most [`MAX_NAME_CHARS`].
    pub fn new(id: StaffId, name: &str, role: Role, pin: PinHash) -> Result<Staff, StaffError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(StaffError::EmptyName);
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(StaffError::NameTooLong);
        }
        Ok(Staff {
            id,
            name: name.to_owned(),
            role,
            pin,
            active: true,
        })
    }

    pub fn id(&self) -> &StaffId {
        &self.id
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn role(&self) -> Role {
        self.role
    }
    pub fn pin(&self) -> &PinHash {
        &self.pin
    }
    /// Whether the person works here now; an inactive person cannot sign in.
    pub fn is_active(&self) -> bool {
        self.active
    }

    pub fn with_role(self, role: Role) -> Staff {
        Staff { role, ..self }
    }
    pub fn with_pin(self, pin: PinHash) -> Staff {
        Staff { pin, ..self }
    }
    pub fn with_active(self, active: bool) -> Staff {
        Staff { active, ..self }
    }

    /// Whether this person, as they are now, may do `permission`.
    pub fn permits(&self, permission: Permission) -> bool {
        self.active && self.role.permits(permission)
    }
}

/// The active people whose PIN is `pin`. Costs one argon2 computation per distinct salt and
/// cost among the active people (one, with a store-wide salt).
fn holders<'a>(staff: &'a [Staff], pin: &str) -> Vec<&'a Staff> {
    let mut computed: Vec<(HashKey<'a>, Option<Vec<u8>>)> = Vec::new();
    let mut found = Vec::new();
    for person in staff.iter().filter(|s| s.active) {
        let key = person.pin.key();
        let digest = match computed.iter().find(|(k, _)| *k == key) {
            Some((_, digest)) => digest.clone(),
            None => {
                let digest = key.compute(pin);
                computed.push((key, digest.clone()));
                digest
            }
        };
        if digest.is_some_and(|d| person.pin.matches(&d)) {
            found.push(person);
        }
    }
    found
}

/// Checks that `pin` may become the PIN of `for_staff`: a good new PIN (see [`check_new_pin`])
/// that no *other* active person has. The error does not say who has it.
pub fn check_pin_free(staff: &[Staff], pin: &str, for_staff: &StaffId) -> Result<(), StaffError> {
    check_new_pin(pin)?;
    if holders(staff, pin).iter().any(|s| s.id != *for_staff) {
        return Err(StaffError::PinInUse);
    }
    Ok(())
}

/// How one terminal slows down PIN guessing. See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Wrong tries in a row that may be made without waiting; the next one waits.
    pub free_tries: u32,
    /// The wait after the first wrong try past the free ones; it doubles with each more.
    pub first_delay_ms: u64,
    /// The longest wait ever asked for.
    pub max_delay_ms: u64,
    /// Wrong tries older than this are forgotten.
    pub memory_ms: u64,
    /// Alert a manager at this many wrong tries in a row (and every multiple); 0: never.
    pub alert_every_in_a_row: u32,
    /// Alert a manager at this many wrong tries within `memory_ms`, right ones between them or
    /// not (and every multiple); 0: never.
    pub alert_every_remembered: u32,
}

impl Default for ThrottlePolicy {
    fn default() -> ThrottlePolicy {
        ThrottlePolicy {
            free_tries: 3,
            first_delay_ms: 1_000,
            max_delay_ms: 30_000,
            memory_ms: 15 * 60_000,
            alert_every_in_a_row: 5,
            alert_every_remembered: 10,
        }
    }
}

/// The wait owed after `wrong_in_a_row` wrong tries in a row: nothing before the last free try,
/// [`ThrottlePolicy::first_delay_ms`] after it, doubling with each further try, never more than
/// [`ThrottlePolicy::max_delay_ms`].
pub fn backoff_delay_ms(policy: &ThrottlePolicy, wrong_in_a_row: usize) -> u64 {
    // Tries before the `free_tries`-th cost nothing; `free_tries` 0 behaves as 1.
    let free = usize::try_from(policy.free_tries.max(1)).unwrap_or(usize::MAX);
    let Some(doublings) = wrong_in_a_row.checked_sub(free) else {
        return 0;
    };
    let factor = u32::try_from(doublings)
        .ok()
        .and_then(|d| 1u64.checked_shl(d))
        .unwrap_or(u64::MAX);
    policy
        .first_delay_ms
        .saturating_mul(factor)
        .min(policy.max_delay_ms)
}

/// How long the next try must wait, at `now_ms`, after the wrong tries made at
/// `wrong_tries_ms` (with no right try since; order does not matter). Tries older than
/// [`ThrottlePolicy::memory_ms`] are forgotten. Never more than the delay the tries earn, so
/// never more than [`ThrottlePolicy::max_delay_ms`], even if the clock went back.
pub fn backoff_wait_ms(policy: &ThrottlePolicy, wrong_tries_ms: &[u64], now_ms: u64) -> u64 {
    let remembered: Vec<u64> = wrong_tries_ms
        .iter()
        .copied()
        .filter(|&t| t.saturating_add(policy.memory_ms) > now_ms)
        .collect();
    let Some(last) = remembered.iter().copied().max() else {
        return 0;
    };
    let delay = backoff_delay_ms(policy, remembered.len());
    last.saturating_add(delay).saturating_sub(now_ms).min(delay)
}

/// One terminal's recent sign-in history: the state [`sign_in`] keeps between tries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignInThrottle {
    policy: ThrottlePolicy,
    /// Wrong tries since the last right one.
    in_a_row_ms: Vec<u64>,
    /// Every wrong try, right ones between them or not.
    remembered_ms: Vec<u64>,
}

impl SignInThrottle {
    pub fn new(policy: ThrottlePolicy) -> SignInThrottle {
        SignInThrottle {
            policy,
            in_a_row_ms: Vec::new(),
            remembered_ms: Vec::new(),
        }
    }

    pub fn policy(&self) -> &ThrottlePolicy {
        &self.policy
    }

    /// How long the next try must wait at `now_ms`; 0: it may go ahead.
    pub fn wait_ms(&self, now_ms: u64) -> u64 {
        backoff_wait_ms(&self.policy, &self.in_a_row_ms, now_ms)
    }

    /// Wrong tries since the last right one (as of the last try).
    pub fn wrong_in_a_row(&self) -> usize {
        self.in_a_row_ms.len()
    }

    /// Wrong tries within [`ThrottlePolicy::memory_ms`], right ones between them or not (as of
    /// the last try).
    pub fn wrong_recently(&self) -> usize {
        self.remembered_ms.len()
    }

    /// Records a wrong try; says how long the next one must wait and whether to alert a manager.
    fn record_wrong(&mut self, now_ms: u64) -> (u64, bool) {
        self.forget(now_ms);
        for tries in [&mut self.in_a_row_ms, &mut self.remembered_ms] {
            if tries.len() >= MAX_REMEMBERED_TRIES {
                tries.remove(0);
            }
            tries.push(now_ms);
        }
        let every = |count: usize, every: u32| {
            let every = usize::try_from(every).unwrap_or(usize::MAX);
            every > 0 && count > 0 && count.is_multiple_of(every)
        };
        let alert = every(self.in_a_row_ms.len(), self.policy.alert_every_in_a_row)
            || every(self.remembered_ms.len(), self.policy.alert_every_remembered);
        (self.wait_ms(now_ms), alert)
    }

    fn record_right(&mut self, now_ms: u64) {
        self.forget(now_ms);
        self.in_a_row_ms.clear();
    }

    fn forget(&mut self, now_ms: u64) {
        let memory_ms = self.policy.memory_ms;
        for tries in [&mut self.in_a_row_ms, &mut self.remembered_ms] {
            tries.retain(|&t| t.saturating_add(memory_ms) > now_ms);
        }
    }
}

/// Why a sign-in did not sign anyone in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// Too soon after wrong tries; the PIN was not checked.
    #[error("too many wrong PINs: try again in {} s", wait_ms.div_ceil(1000))]
    Wait { wait_ms: u64 },
    /// No active person has this PIN.
    #[error("wrong PIN")]
    WrongPin {
        /// How long the next try must wait.
        wait_ms: u64,
        /// Whether a manager should be told now.
        alert_manager: bool,
    },
    /// More than one active person has this PIN (see the module docs).
    #[error("this PIN belongs to more than one person; a manager must give one of them a new PIN")]
    SharedPin { staff: Vec<StaffId> },
}

/// Signs in at `now_ms` with `pin`: the id of the one active person whose PIN it is. Honours and
/// updates this terminal's `throttle`. A PIN of the wrong shape is a wrong try, checked without
/// hashing.
pub fn sign_in(
    staff: &[Staff],
    pin: &str,
    now_ms: u64,
    throttle: &mut SignInThrottle,
) -> Result<StaffId, SignInError> {
    let wait_ms = throttle.wait_ms(now_ms);
    if wait_ms > 0 {
        return Err(SignInError::Wait { wait_ms });
    }
    let found = if check_pin_shape(pin).is_ok() {
        holders(staff, pin)
    } else {
        Vec::new()
    };
    match found.as_slice() {
        [] => {
            let (wait_ms, alert_manager) = throttle.record_wrong(now_ms);
            Err(SignInError::WrongPin {
                wait_ms,
                alert_manager,
            })
        }
        [person] => {
            throttle.record_right(now_ms);
            Ok(person.id.clone())
        }
        several => Err(SignInError::SharedPin {
            staff: several.iter().map(|s| s.id.clone()).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SALT: [u8; 16] = *b"store-salt-16-by";

    fn hash(pin: &str) -> PinHash {
        PinHash::new(pin, SALT).expect("good PIN")
    }

    fn person(id: &str, role: Role, pin: &str) -> Staff {
        Staff::new(StaffId::new(id), id, role, hash(pin)).expect("good name")
    }

    #[test]
    fn new_pins_are_checked() {
        fn check(pin: &str, expected: Result<(), StaffError>) {
            assert_eq!(check_new_pin(pin), expected, "{pin:?}");
        }
        check("4821", Ok(()));
        check("90210", Ok(()));
        check("13572468", Ok(()));
        check("1212", Ok(()));
        check("0001", Ok(()));
        check("123", Err(StaffError::PinLength(3)));
        check("", Err(StaffError::PinLength(0)));
        check("123456789", Err(StaffError::PinLength(9)));
        check("12a4", Err(StaffError::PinNotDigits));
        check(" 4821", Err(StaffError::PinNotDigits));
        check("４８２１", Err(StaffError::PinNotDigits));
        for weak in [
            "0000", "1111", "777777", "1234", "0123", "12345678", "7890", "8901", "4321", "0987",
            "98765432", "3210",
        ] {
            check(weak, Err(StaffError::PinTooWeak));
        }
    }

    #[test]
    fn a_pin_hash_verifies_its_pin_only() {
        let h = hash("4821");
        assert!(h.verify("4821"));
        assert!(!h.verify("4822"));
        assert!(!h.verify("48210"));
        assert!(!h.verify("abcd"));
        assert!(!h.verify(""));
        assert!(
            h.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            h.as_str()
        );
        assert_eq!(h.cost(), PIN_COST);
        assert_eq!(h.salt(), SALT);
        assert!(
            !format!("{h:?}").contains(h.as_str()),
            "Debug hides the hash"
        );
    }

    #[test]
    fn the_same_pin_and_salt_give_the_same_hash_and_other_salts_do_not() {
        assert_eq!(hash("4821"), hash("4821"));
        let other = PinHash::new("4821", [7; 16]).expect("good PIN");
        assert_ne!(other, hash("4821"));
        assert!(other.verify("4821"));
    }

    #[test]
    fn a_hash_reads_back_from_its_phc_string() {
        let h = hash("4821");
        let back = PinHash::parse(h.as_str()).expect("reads back");
        assert_eq!(back, h);
        assert!(back.verify("4821"));
        let json = serde_json::to_string(&h).expect("serialises");
        assert_eq!(json, format!("\"{}\"", h.as_str()));
        let from_json: PinHash = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(from_json, h);
    }

    #[test]
    fn untrusted_hashes_are_refused() {
        let good = hash("4821");
        let tail = good
            .as_str()
            .strip_prefix("$argon2id$v=19$m=19456,t=2,p=1$")
            .expect("known prefix");
        let refused = [
            String::new(),
            "not a hash".to_owned(),
            format!("$argon2i$v=19$m=19456,t=2,p=1${tail}"),
            format!("$argon2d$v=19$m=19456,t=2,p=1${tail}"),
            format!("$argon2id$v=16$m=19456,t=2,p=1${tail}"),
            // Costs a device would refuse to pay.
            format!("$argon2id$v=19$m=4194304,t=2,p=1${tail}"),
            format!("$argon2id$v=19$m=19456,t=1000,p=1${tail}"),
            format!("$argon2id$v=19$m=19456,t=2,p=64${tail}"),
            // No hash output.
            "$argon2id$v=19$m=19456,t=2,p=1$c3RvcmUtc2FsdC0xNi1ieQ".to_owned(),
            format!("{}{}", good.as_str(), "A".repeat(300)),
        ];
        for phc in refused {
            assert!(
                matches!(PinHash::parse(&phc), Err(StaffError::BadPinHash(_))),
                "{phc:?} should be refused"
            );
        }
        assert!(serde_json::from_str::<PinHash>("\"$argon2id$v=19$m=1\"").is_err());
    }

    #[test]
    fn a_cheaper_stored_cost_still_verifies() {
        let params = Params::new(8 * 1024, 1, 1, Some(32)).expect("params");
        let phc = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_with_salt(b"4821", &SALT)
            .expect("hash")
            .to_string();
        let h = PinHash::parse(&phc).expect("within the ceiling");
        assert!(h.verify("4821"));
        assert!(!h.verify("4812"));
    }

    #[test]
    fn staff_names_are_checked() {
        fn check(name: &str, expected: Result<&str, StaffError>) {
            let actual = Staff::new(StaffId::new("s1"), name, Role::Server, hash("4821"));
            assert_eq!(
                actual.as_ref().map(Staff::name).map_err(Clone::clone),
                expected,
                "{name:?}"
            );
        }
        check("Sam", Ok("Sam"));
        check("  Mia Wong ", Ok("Mia Wong"));
        check("", Err(StaffError::EmptyName));
        check("   ", Err(StaffError::EmptyName));
        check(&"x".repeat(MAX_NAME_CHARS), Ok(&"x".repeat(MAX_NAME_CHARS)));
        check(
            &"x".repeat(MAX_NAME_CHARS + 1),
            Err(StaffError::NameTooLong),
        );
    }

    #[test]
    fn roles_permit_what_the_table_says() {
        fn check(role: Role, permission: Permission, expected: bool) {
            assert_eq!(role.permits(permission), expected, "{role} {permission:?}");
        }
        check(Role::Server, Permission::TakeOrder, true);
        check(Role::Server, Permission::TakePayment, true);
        check(Role::Server, Permission::Void, false);
        check(Role::Server, Permission::OpenTab, false);
        check(Role::Bartender, Permission::OpenTab, true);
        check(Role::Bartender, Permission::EightySix, true);
        check(Role::Bartender, Permission::Comp, false);
        check(Role::Manager, Permission::Void, true);
        check(Role::Manager, Permission::Refund, true);
        check(Role::Manager, Permission::CloseDay, true);
        check(Role::Manager, Permission::ForceBumpExpo, true);
        check(Role::Manager, Permission::OverrideOfflineCardCap, true);
        check(Role::Manager, Permission::ChangeStoreSettings, false);
        check(Role::Owner, Permission::ChangeStoreSettings, true);
    }

    #[test]
    fn higher_roles_hold_every_permission_of_lower_ones() {
        for permission in Permission::ALL {
            assert!(Role::Owner.permits(permission), "{permission:?}");
            for lower in [Role::Server, Role::Bartender] {
                if lower.permits(permission) {
                    assert!(Role::Manager.permits(permission), "{permission:?}");
                }
            }
        }
    }

    #[test]
    fn the_documented_table_is_the_code() {
        let docs: Vec<(String, [bool; 4])> = include_str!("staff.rs")
            .lines()
            .filter_map(|line| line.strip_prefix("//! | `"))
            .map(|row| {
                let name = row.split('`').next().expect("a name").to_owned();
                let cells: Vec<bool> = row
                    .split('|')
                    .skip(1)
                    .take(4)
                    .map(|cell| cell.trim() == "✓")
                    .collect();
                let cells: [bool; 4] = cells.try_into().expect("four role columns");
                (name, cells)
            })
            .collect();
        let code: Vec<(String, [bool; 4])> = Permission::ALL
            .into_iter()
            .map(|p| (format!("{p:?}"), Role::ALL.map(|role| role.permits(p))))
            .collect();
        assert_eq!(docs, code);
        let distinct: BTreeSet<Permission> = Permission::ALL.into_iter().collect();
        assert_eq!(distinct.len(), Permission::ALL.len());
    }

    #[test]
    fn who_manages_whom() {
        fn check(manager: Role, other: Role, expected: bool) {
            assert_eq!(manager.can_manage(other), expected, "{manager} → {other}");
        }
        check(Role::Owner, Role::Owner, true);
        check(Role::Owner, Role::Manager, true);
        check(Role::Manager, Role::Server, true);
        check(Role::Manager, Role::Bartender, true);
        check(Role::Manager, Role::Manager, false);
        check(Role::Manager, Role::Owner, false);
        check(Role::Server, Role::Server, false);
        check(Role::Bartender, Role::Server, false);
    }

    #[test]
    fn roles_read_and_write_as_words() {
        for role in Role::ALL {
            assert_eq!(role.to_string().parse::<Role>(), Ok(role));
            assert_eq!(
                serde_json::to_string(&role).expect("serialises"),
                format!("\"{role}\"")
            );
        }
        assert_eq!(
            "chef".parse::<Role>(),
            Err(StaffError::UnknownRole("chef".into()))
        );
    }

    #[test]
    fn an_inactive_person_permits_nothing() {
        let mia = person("mia", Role::Manager, "4821");
        assert!(mia.permits(Permission::Void));
        let gone = mia.with_active(false);
        assert!(!gone.permits(Permission::TakeOrder));
    }

    fn crew() -> Vec<Staff> {
        vec![
            person("sam", Role::Server, "4821"),
            person("ari", Role::Bartender, "5930"),
            person("mia", Role::Manager, "7315"),
            person("old", Role::Server, "2468").with_active(false),
        ]
    }

    #[test]
    fn sign_in_finds_the_active_person_with_the_pin() {
        fn check(pin: &str, expected: Result<&str, SignInError>) {
            let mut throttle = SignInThrottle::default();
            let actual = sign_in(&crew(), pin, 1_000, &mut throttle);
            assert_eq!(actual, expected.map(StaffId::new), "{pin:?}");
        }
        let wrong = Err(SignInError::WrongPin {
            wait_ms: 0,
            alert_manager: false,
        });
        check("4821", Ok("sam"));
        check("5930", Ok("ari"));
        check("7315", Ok("mia"));
        check("2468", wrong.clone());
        check("0000", wrong.clone());
        check("48", wrong.clone());
        check("", wrong);
    }

    #[test]
    fn sign_in_with_a_salt_per_person() {
        let staff = vec![
            Staff::new(
                StaffId::new("sam"),
                "Sam",
                Role::Server,
                PinHash::new("4821", [1; 16]).expect("pin"),
            )
            .expect("staff"),
            Staff::new(
                StaffId::new("mia"),
                "Mia",
                Role::Manager,
                PinHash::new("7315", [2; 16]).expect("pin"),
            )
            .expect("staff"),
        ];
        let mut throttle = SignInThrottle::default();
        assert_eq!(
            sign_in(&staff, "7315", 0, &mut throttle),
            Ok(StaffId::new("mia"))
        );
        assert_eq!(
            check_pin_free(&staff, "7315", &StaffId::new("sam")),
            Err(StaffError::PinInUse)
        );
    }

    #[test]
    fn a_pin_two_people_share_names_both() {
        let staff = vec![
            person("sam", Role::Server, "4821"),
            person("kim", Role::Server, "4821"),
        ];
        let mut throttle = SignInThrottle::default();
        assert_eq!(
            sign_in(&staff, "4821", 0, &mut throttle),
            Err(SignInError::SharedPin {
                staff: vec![StaffId::new("sam"), StaffId::new("kim")]
            })
        );
    }

    #[test]
    fn a_new_pin_must_be_free() {
        fn check(pin: &str, for_staff: &str, expected: Result<(), StaffError>) {
            let actual = check_pin_free(&crew(), pin, &StaffId::new(for_staff));
            assert_eq!(actual, expected, "{pin} for {for_staff}");
        }
        check("9182", "new", Ok(()));
        check("4821", "new", Err(StaffError::PinInUse));
        // Keeping one's own PIN is fine.
        check("4821", "sam", Ok(()));
        check("7315", "sam", Err(StaffError::PinInUse));
        // An inactive person's PIN is free again.
        check("2468", "new", Ok(()));
        check("1234", "new", Err(StaffError::PinTooWeak));
        check("12", "new", Err(StaffError::PinLength(2)));
    }

    #[test]
    fn wrong_tries_slow_the_terminal_down_and_alert_a_manager() {
        let staff = crew();
        let mut throttle = SignInThrottle::default();
        let mut now = 10_000;
        // (wait owed after this try, alert) for wrong tries made as soon as allowed.
        let expected = [
            (0, false),
            (0, false),
            (1_000, false),
            (2_000, false),
            (4_000, true),
            (8_000, false),
            (16_000, false),
            (30_000, false),
            (30_000, false),
            (30_000, true),
        ];
        for (n, (wait_ms, alert_manager)) in expected.into_iter().enumerate() {
            assert_eq!(
                sign_in(&staff, "9999", now, &mut throttle),
                Err(SignInError::WrongPin {
                    wait_ms,
                    alert_manager
                }),
                "wrong try {}",
                n + 1
            );
            if wait_ms > 0 {
                // Too soon: refused unchecked, even with the right PIN, and not counted.
                assert_eq!(
                    sign_in(&staff, "4821", now + wait_ms - 1, &mut throttle),
                    Err(SignInError::Wait { wait_ms: 1 })
                );
            }
            now += wait_ms;
        }
        // Never a lock-out: the right PIN works once the wait is over, and ends the run.
        assert_eq!(
            sign_in(&staff, "4821", now, &mut throttle),
            Ok(StaffId::new("sam"))
        );
        assert_eq!(throttle.wait_ms(now), 0);
    }

    #[test]
    fn wrong_tries_between_right_ones_still_alert() {
        let staff = crew();
        let mut throttle = SignInThrottle::default();
        let mut alerts = Vec::new();
        for round in 0..5u64 {
            let now = round * 10_000;
            for n in 0..2u64 {
                if let Err(SignInError::WrongPin { alert_manager, .. }) =
                    sign_in(&staff, "9999", now + n, &mut throttle)
                {
                    alerts.push(alert_manager);
                }
            }
            assert_eq!(
                sign_in(&staff, "4821", now + 5, &mut throttle),
                Ok(StaffId::new("sam"))
            );
        }
        // Two wrong tries per round never earn a wait, but the tenth wrong try alerts.
        let mut expected = vec![false; 10];
        expected[9] = true;
        assert_eq!(alerts, expected);
    }

    #[test]
    fn old_wrong_tries_are_forgotten() {
        let policy = ThrottlePolicy::default();
        let tries = [0, 1, 2, 3, 4];
        assert_eq!(backoff_wait_ms(&policy, &tries, 5), 3_999);
        assert_eq!(backoff_wait_ms(&policy, &tries, 4_004), 0);
        let later = policy.memory_ms + 2;
        // Tries 0, 1 and 2 forgotten: two remembered, within the free ones.
        assert_eq!(backoff_wait_ms(&policy, &tries, later), 0);
        assert_eq!(backoff_wait_ms(&policy, &[], 0), 0);
    }

    proptest! {
        #[test]
        fn backoff_never_decreases_with_more_wrong_tries_and_never_exceeds_the_cap(
            n in 0usize..200,
            free_tries in 0u32..10,
            first_delay_ms in 0u64..100_000,
            max_delay_ms in 0u64..1_000_000,
        ) {
            let policy = ThrottlePolicy {
                free_tries,
                first_delay_ms,
                max_delay_ms,
                ..ThrottlePolicy::default()
            };
            let delay = backoff_delay_ms(&policy, n);
            prop_assert!(delay <= max_delay_ms);
            prop_assert!(backoff_delay_ms(&policy, n + 1) >= delay);
        }

        #[test]
        fn the_wait_never_exceeds_the_cap_and_another_wrong_try_never_shortens_it(
            mut tries in proptest::collection::vec(0u64..10_000_000, 0..30),
            now in 0u64..12_000_000,
        ) {
            let policy = ThrottlePolicy::default();
            let wait = backoff_wait_ms(&policy, &tries, now);
            prop_assert!(wait <= policy.max_delay_ms);
            // A wrong try made now, after all the others.
            if tries.iter().all(|&t| t <= now) {
                tries.push(now);
                prop_assert!(backoff_wait_ms(&policy, &tries, now) >= wait);
            }
        }
    }
}
