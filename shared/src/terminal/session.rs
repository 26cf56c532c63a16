//! Who is signed in at a terminal, and what they may do.
//!
//! A person signs in with their PIN alone ([`Session::sign_in`]); the terminal's
//! [`SignInThrottle`] slows wrong PINs down (never a lock-out) and says when a manager should be
//! alerted. The same throttle guards every PIN typed at the terminal: a manager's PIN approving a
//! void and a PIN clocking someone in count as tries too, so the approval dialog is no way round
//! the back-off.
//!
//! The session ends ([`Session::sign_out`]) when the person signs out, after a send or a close
//! when the terminal is set to, and after idle minutes ([`Session::idle`]). Every action checks
//! the person's role against the permission table ([`Session::require`]), read again from the
//! staff list each time, so a person deactivated or given another role mid-shift is held to it
//! at their next touch.
//!
//! Pure: the staff list and the time are arguments.

use crate::domain::check::StaffId;
use crate::domain::staff::{
    Permission, Role, SignInError, SignInThrottle, Staff, ThrottlePolicy, sign_in,
};

/// The person signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub staff: StaffId,
    pub name: String,
    pub role: Role,
    pub since_ms: i64,
}

/// Why a PIN did not identify anyone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinRefused {
    pub error: SignInError,
    /// Wrong PINs keep coming: write an alert for a manager now, with these counts.
    pub alert: Option<(u32, u32)>,
}

/// Why an action is refused for the person signed in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAllowed {
    #[error("sign in first")]
    NotSignedIn,
    #[error("{name} is no longer on the active staff list")]
    Inactive { name: String },
    #[error("{name} ({role}) may not {what}")]
    Role {
        name: String,
        role: Role,
        what: &'static str,
    },
}

/// What a permission lets someone do, in words for a refusal.
pub fn describe(permission: Permission) -> &'static str {
    match permission {
        Permission::TakeOrder => "take orders",
        Permission::TakePayment => "take payments or close checks",
        Permission::TakeOverCheck => "change another server's check",
        Permission::Void => "approve a void",
        Permission::Comp => "approve a comp",
        Permission::Discount => "approve a discount",
        Permission::ReopenCheck => "reopen a check",
        Permission::ChangeStoreSettings => "change store settings",
        Permission::RetireDevice => "change a device's settings",
        _ => "do that",
    }
}

/// One terminal's session.
#[derive(Debug, Clone)]
pub struct Session {
    throttle: SignInThrottle,
    signed_in: Option<SignedIn>,
    last_touch_ms: i64,
}

impl Default for Session {
    fn default() -> Session {
        Session::new(ThrottlePolicy::default())
    }
}

fn ms(now_ms: i64) -> u64 {
    u64::try_from(now_ms).unwrap_or(0)
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Session {
    pub fn new(policy: ThrottlePolicy) -> Session {
        Session {
            throttle: SignInThrottle::new(policy),
            signed_in: None,
            last_touch_ms: 0,
        }
    }

    pub fn signed_in(&self) -> Option<&SignedIn> {
        self.signed_in.as_ref()
    }

    /// How long the next PIN must wait at `now_ms` (0: it may be typed now).
    pub fn wait_ms(&self, now_ms: i64) -> u64 {
        self.throttle.wait_ms(ms(now_ms))
    }

    /// The active person whose PIN is `pin`, through the throttle.
    pub fn identify<'a>(
        &mut self,
        staff: &'a [Staff],
        pin: &str,
        now_ms: i64,
    ) -> Result<&'a Staff, PinRefused> {
        match sign_in(staff, pin, ms(now_ms), &mut self.throttle) {
            Ok(id) => staff.iter().find(|s| *s.id() == id).ok_or(PinRefused {
                error: SignInError::WrongPin {
                    wait_ms: 0,
                    alert_manager: false,
                },
                alert: None,
            }),
            Err(error) => {
                let alert = matches!(
                    error,
                    SignInError::WrongPin {
                        alert_manager: true,
                        ..
                    }
                )
                .then(|| {
                    (
                        count(self.throttle.wrong_in_a_row()),
                        count(self.throttle.wrong_recently()),
                    )
                });
                Err(PinRefused { error, alert })
            }
        }
    }

    /// Signs in whoever `pin` belongs to (the person before, if any, is signed out).
    pub fn sign_in(
        &mut self,
        staff: &[Staff],
        pin: &str,
        now_ms: i64,
    ) -> Result<&SignedIn, PinRefused> {
        let person = self.identify(staff, pin, now_ms)?;
        self.last_touch_ms = now_ms;
        Ok(self.signed_in.insert(SignedIn {
            staff: person.id().clone(),
            name: person.name().to_owned(),
            role: person.role(),
            since_ms: now_ms,
        }))
    }

    /// Back to the PIN screen; who was signed in.
    pub fn sign_out(&mut self) -> Option<SignedIn> {
        self.signed_in.take()
    }

    /// Notes a touch at `now_ms` (the idle time starts again).
    pub fn touch(&mut self, now_ms: i64) {
        self.last_touch_ms = self.last_touch_ms.max(now_ms);
    }

    /// Whether someone is signed in and nothing was touched for `idle_ms` (`None`: never idle).
    pub fn idle(&self, now_ms: i64, idle_ms: Option<i64>) -> bool {
        match (&self.signed_in, idle_ms) {
            (Some(_), Some(limit)) => now_ms.saturating_sub(self.last_touch_ms) >= limit,
            _ => false,
        }
    }

    /// The person signed in, as the staff list has them now, if they may do `permission`.
    pub fn require<'a>(
        &self,
        staff: &'a [Staff],
        permission: Permission,
    ) -> Result<&'a Staff, NotAllowed> {
        let me = self.signed_in.as_ref().ok_or(NotAllowed::NotSignedIn)?;
        let person = staff
            .iter()
            .find(|s| *s.id() == me.staff && s.is_active())
            .ok_or_else(|| NotAllowed::Inactive {
                name: me.name.clone(),
            })?;
        permitted(person, permission)
    }

    /// A manager's approval: the active person whose PIN is `pin` (through the throttle), if
    /// they may do `permission`.
    pub fn approve<'a>(
        &mut self,
        staff: &'a [Staff],
        pin: &str,
        permission: Permission,
        now_ms: i64,
    ) -> Result<Result<&'a Staff, NotAllowed>, PinRefused> {
        let person = self.identify(staff, pin, now_ms)?;
        Ok(permitted(person, permission))
    }
}

fn permitted(person: &Staff, permission: Permission) -> Result<&Staff, NotAllowed> {
    if person.permits(permission) {
        Ok(person)
    } else {
        Err(NotAllowed::Role {
            name: person.name().to_owned(),
            role: person.role(),
            what: describe(permission),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::staff::PinHash;

    const SALT: [u8; 16] = *b"test-salt-16-byt";

    fn staff() -> Vec<Staff> {
        [
            ("maria", Role::Manager, "2580"),
            ("sam", Role::Server, "1357"),
            ("ben", Role::Bartender, "3690"),
        ]
        .into_iter()
        .map(|(id, role, pin)| {
            Staff::new(
                StaffId::new(id),
                id,
                role,
                PinHash::new(pin, SALT).expect("pin"),
            )
            .expect("staff")
        })
        .collect()
    }

    #[test]
    fn a_pin_signs_its_person_in_and_the_role_decides() {
        let staff = staff();
        let mut session = Session::default();
        assert_eq!(
            session.require(&staff, Permission::TakeOrder).map(|_| ()),
            Err(NotAllowed::NotSignedIn)
        );
        let who = session.sign_in(&staff, "1357", 1_000).expect("sam");
        assert_eq!((who.staff.as_str(), who.role), ("sam", Role::Server));
        assert!(session.require(&staff, Permission::TakeOrder).is_ok());
        let refused = session.require(&staff, Permission::Void).map(|_| ());
        assert_eq!(
            refused,
            Err(NotAllowed::Role {
                name: "sam".into(),
                role: Role::Server,
                what: "approve a void"
            })
        );
        assert_eq!(
            refused.expect_err("refused").to_string(),
            "sam (server) may not approve a void"
        );
        // A manager signing in replaces the server.
        session.sign_in(&staff, "2580", 2_000).expect("maria");
        assert!(session.require(&staff, Permission::Void).is_ok());
        assert_eq!(
            session.sign_out().map(|s| s.staff.to_string()),
            Some("maria".into())
        );
        assert!(session.signed_in().is_none());
    }

    #[test]
    fn a_deactivated_person_is_stopped_at_the_next_touch() {
        let mut staff = staff();
        let mut session = Session::default();
        session.sign_in(&staff, "1357", 0).expect("sam");
        staff[1] = staff[1].clone().with_active(false);
        assert_eq!(
            session.require(&staff, Permission::TakeOrder).map(|_| ()),
            Err(NotAllowed::Inactive { name: "sam".into() })
        );
    }

    #[test]
    fn wrong_pins_back_off_and_alert_but_never_lock_out() {
        let staff = staff();
        let mut session = Session::default();
        let mut now = 10_000;
        let mut alerts = Vec::new();
        for try_no in 1..=5 {
            now += session.wait_ms(now) as i64;
            let refused = session.sign_in(&staff, "0000", now).expect_err("wrong");
            assert!(
                matches!(refused.error, SignInError::WrongPin { .. }),
                "{refused:?}"
            );
            if let Some(counts) = refused.alert {
                alerts.push((try_no, counts));
            }
        }
        assert_eq!(alerts, [(5, (5, 5))], "a manager is alerted at the fifth");
        // Too soon: not even checked.
        assert!(matches!(
            session.sign_in(&staff, "1357", now).map(|_| ()),
            Err(PinRefused {
                error: SignInError::Wait { .. },
                alert: None
            })
        ));
        // Waiting the back-off out always lets the right PIN in.
        now += session.wait_ms(now) as i64;
        assert!(session.sign_in(&staff, "1357", now).is_ok());
        assert_eq!(session.wait_ms(now), 0, "a right PIN ends the run");
    }

    #[test]
    fn a_manager_approval_goes_through_the_throttle_and_the_role() {
        let staff = staff();
        let mut session = Session::default();
        session.sign_in(&staff, "1357", 0).expect("sam");
        let ok = session
            .approve(&staff, "2580", Permission::Void, 1)
            .expect("a PIN")
            .expect("a manager");
        assert_eq!(ok.id().as_str(), "maria");
        let server = session
            .approve(&staff, "3690", Permission::Void, 2)
            .expect("a PIN");
        assert!(matches!(server, Err(NotAllowed::Role { .. })));
        assert!(
            session
                .approve(&staff, "9999", Permission::Void, 3)
                .is_err()
        );
        assert_eq!(
            session.signed_in().map(|s| s.staff.as_str()),
            Some("sam"),
            "an approval does not change who is signed in"
        );
    }

    #[test]
    fn idle_minutes_end_the_session() {
        let staff = staff();
        let mut session = Session::default();
        assert!(!session.idle(1_000_000, Some(60_000)), "nobody to sign out");
        session.sign_in(&staff, "1357", 0).expect("sam");
        session.touch(50_000);
        assert!(!session.idle(109_999, Some(60_000)));
        assert!(session.idle(110_000, Some(60_000)));
        assert!(!session.idle(10_000_000, None), "never, when set so");
    }
}
