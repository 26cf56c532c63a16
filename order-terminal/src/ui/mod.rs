//! The terminal's screens: plain egui functions over the terminal's view
//! ([`pass_shared::terminal::views::View`]) that hand each tap back as an
//! [`Intent`]. They hold no order state of their own: what is on the check, who is signed in and
//! which screen is up all come from the view. [`Local`] keeps only what a half-finished dialog
//! needs (the digits of a manager's PIN, the reason being chosen, the guests being counted).
//!
//! - [`sign_in`]: the PIN pad, clocking in and out;
//! - [`floor`]: the floor plan and the other open checks, the "open table" dialog;
//! - [`order`]: the check, the menu, the modifier dialog, send / hold / fire, corrections,
//!   split, move and merge;
//! - [`pay`]: the payment screen of the check shown ("Pay" on the ordering screen) and its
//!   receipt preview, over the device's payment view; they hand back a [`pay::PayTap`];
//! - [`approval`]: the manager's PIN and a reason, asked before a void, comp or discount;
//! - [`settings`]: the terminal's settings, behind a manager's PIN;
//! - [`manager`]: the manager's reports of a business day (service times, sales, the Z report,
//!   stock), opened with "Reports" in the status bar by managers and owners, over the reports
//!   the app reads from the device while the screen is open ([`ManagerData`]);
//! - [`status`]: the bar along the top (who, link, unconfirmed events, what runs low) and the
//!   notice.
//!
//! Drawing never fails and never writes: the caller applies the intent (and shows a refusal in
//! the next view's notice).

pub mod approval;
pub mod floor;
pub mod manager;
pub mod order;
pub mod pay;
pub mod settings;
pub mod sign_in;
pub mod status;
pub mod touch;
pub mod widgets;

use pass_shared::terminal::Intent;
use pass_shared::terminal::views::{ScreenView, View};

pub use approval::{Approval, Guarded};
pub use manager::{ManagerData, ManagerLocal, ManagerTap, ReportTab};
pub use pay::{PayLocal, PayTap, Payments};
pub use touch::touch_style;

/// Product and role, shown in the window title and on the sign-in screen.
pub const TITLE: &str = "Pass — Order terminal";

/// What the screens remember between frames that is not the terminal's: a dialog's input
/// before it becomes an intent. Cleared whenever the screen changes under it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Local {
    /// Clocking in or out from the sign-in screen, and the PIN typed for it.
    pub clock: Option<sign_in::Clocking>,
    /// Guests counted in the "open table" dialog.
    pub guests: Option<u32>,
    /// The line tapped on the check (its actions show).
    pub selected_line: Option<String>,
    /// The right-hand panel of the ordering screen.
    pub panel: order::Panel,
    /// A correction or a settings change waiting for a manager's PIN.
    pub approval: Option<Approval>,
    /// The settings form, while it is open.
    pub settings: Option<settings::Form>,
    /// The check the ordering screen showed last (to drop stale selections).
    pub shown_check: Option<String>,
    /// The payment screens of the check shown, while they are open.
    pub pay: Option<PayLocal>,
    /// The manager's reports, while they are open (its tab and day).
    pub manager: Option<ManagerLocal>,
}

impl Local {
    /// Opens the payment screen of `check` (the check the ordering screen shows).
    pub fn open_payment(&mut self, check: &str) {
        self.shown_check = Some(check.to_owned());
        self.pay = Some(PayLocal::new(check, ""));
    }
}

/// A tap on any screen: for the terminal (orders, the floor, signing in) or for the payment
/// desk.
#[derive(Debug, Clone, PartialEq)]
pub enum Tap {
    Terminal(Intent),
    Pay(PayTap),
}

/// Draws the whole terminal for `view` without the payment screens' data; the terminal's tap,
/// if anything was tapped.
pub fn terminal_ui(ui: &mut egui::Ui, view: &View, local: &mut Local) -> Option<Intent> {
    match screens_ui(ui, view, &Payments::default(), local)? {
        Tap::Terminal(intent) => Some(intent),
        Tap::Pay(_) => None,
    }
}

/// Draws the whole terminal for `view`, and the payment screens (from `payments`, which the
/// caller reads for `local.pay`'s check while they are open); what was tapped, if anything.
pub fn screens_ui(
    ui: &mut egui::Ui,
    view: &View,
    payments: &Payments,
    local: &mut Local,
) -> Option<Tap> {
    screens_and_reports_ui(ui, view, payments, &ManagerData::default(), local)
}

/// Draws the whole terminal as [`screens_ui`] does, and the manager's reports (from `reports`,
/// which the caller reads for `local.manager`'s tab and day while they are open). The reports'
/// taps (tab, day, close) are carried out here, on `local.manager`: the caller sees the new tab
/// or day there and reads its report.
pub fn screens_and_reports_ui(
    ui: &mut egui::Ui,
    view: &View,
    payments: &Payments,
    reports: &ManagerData,
    local: &mut Local,
) -> Option<Tap> {
    let mut intent = status::status_ui(ui, &view.status, local);
    let mut paid = None;
    if let Some(notice) = &view.notice {
        status::notice_ui(ui, notice);
    }
    // The reports are for managers: they close when whoever may see them signs out.
    if local.manager.is_some()
        && !view
            .status
            .signed_in
            .as_ref()
            .is_some_and(manager::sees_reports)
    {
        local.manager = None;
    }
    if let Some(form) = &mut local.settings {
        let (done, asked) = settings::settings_ui(ui, form);
        if let Some(guarded) = asked {
            local.approval = Some(Approval::new(guarded));
        }
        if done {
            local.settings = None;
        }
    } else if let Some(mut shown) = local.manager {
        if let Some(tap) = manager::manager_ui(ui, reports, &shown) {
            local.manager = (!shown.apply(tap, reports)).then_some(shown);
        }
    } else {
        let screen = match &view.screen {
            ScreenView::SignIn(sign_in) => {
                local.selected_line = None;
                local.approval = None;
                local.pay = None;
                sign_in::sign_in_ui(ui, sign_in, local)
            }
            ScreenView::Floor(floor) => {
                local.selected_line = None;
                local.pay = None;
                floor::floor_ui(ui, floor, local)
            }
            ScreenView::Order(order) => {
                if local.shown_check.as_deref() != Some(order.check.check.as_str()) {
                    local.shown_check = Some(order.check.check.clone());
                    local.selected_line = None;
                    local.panel = order::Panel::Menu;
                    local.pay = None;
                }
                match &mut local.pay {
                    Some(pay) => {
                        if pay.device != view.status.device {
                            pay.device.clone_from(&view.status.device);
                        }
                        let (done, tapped) = pay::screen_ui(ui, payments, pay);
                        if done {
                            local.pay = None;
                        }
                        paid = tapped;
                        None
                    }
                    None => order::order_ui(ui, order, local),
                }
            }
        };
        intent = intent.or(screen);
    }
    if let Some(asked) = approval::approval_ui(ui.ctx(), local) {
        intent = intent.or(Some(asked));
    }
    intent.map(Tap::Terminal).or(paid.map(Tap::Pay))
}
