//! The bar along the top of every screen: this terminal, who is signed in, whether it reaches the
//! rest of the store and how many of its events no peer has confirmed yet, and below them, on an
//! amber line, the items running low ("LOW: Classic Burger 6 left, …", the fewest left first);
//! and the notice line that says why the last tap was refused. A manager or owner also finds "Reports" there, which
//! opens the manager's screen ([`super::manager`]).

use egui::{Align, Color32, Frame, Layout, RichText, Ui, vec2};
use pass_shared::terminal::Intent;
use pass_shared::terminal::views::StatusView;

use super::widgets::{self, ATTENTION, DANGER, GO, LOW_STOCK, MUTED};
use super::{Local, ManagerLocal, manager, settings};

/// What the link part of the bar says, and its colour.
pub fn link_text(status: &StatusView) -> (String, Color32) {
    if status.cut_off {
        let waiting = match status.unconfirmed {
            0 => "nothing waiting".to_owned(),
            1 => "1 event waiting to sync".to_owned(),
            n => format!("{n} events waiting to sync"),
        };
        (format!("CUT OFF: orders are kept here ({waiting})"), DANGER)
    } else if !status.connected {
        ("Connecting to the store…".to_owned(), ATTENTION)
    } else if status.unconfirmed > 0 {
        (format!("Online · {} syncing", status.unconfirmed), GO)
    } else {
        let peers = match status.peers {
            1 => "1 device".to_owned(),
            n => format!("{n} devices"),
        };
        (format!("Online · {peers}"), GO)
    }
}

/// Draws the status bar; "Sign out" and "Settings" are the taps it offers, and "Reports" to
/// whoever may see them.
pub fn status_ui(ui: &mut Ui, status: &StatusView, local: &mut Local) -> Option<Intent> {
    let mut intent = None;
    let (link, colour) = link_text(status);
    Frame::new()
        .fill(Color32::from_gray(28))
        .inner_margin(8.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                ui.label(RichText::new(format!("Terminal {}", status.device)).color(MUTED));
                ui.separator();
                ui.label(
                    RichText::new(link)
                        .color(Color32::WHITE)
                        .background_color(colour),
                );
                ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                    if let Some(person) = &status.signed_in {
                        if widgets::big(ui, "Sign out", vec2(150.0, 56.0)).clicked() {
                            intent = Some(Intent::SignOut);
                        }
                        if widgets::big(ui, "Settings", vec2(150.0, 56.0)).clicked()
                            && local.settings.is_none()
                        {
                            local.settings = Some(settings::Form::default());
                        }
                        if manager::sees_reports(person)
                            && widgets::big(ui, "Reports", vec2(150.0, 56.0)).clicked()
                            && local.manager.is_none()
                        {
                            local.manager = Some(ManagerLocal::default());
                        }
                        ui.label(RichText::new(format!("{} · {}", person.name, person.role)));
                    }
                });
            });
            // Its own line across the bar: the names never crowd the buttons.
            if let Some(low) = status.low_stock_notice() {
                ui.add_space(6.0);
                Frame::new()
                    .fill(LOW_STOCK)
                    .inner_margin(6.0)
                    .show(ui, |ui| {
                        ui.set_width(ui.available_width());
                        ui.label(RichText::new(low).strong().color(Color32::BLACK));
                    });
            }
        });
    intent
}

/// The reason the last tap was refused, until the next one.
pub fn notice_ui(ui: &mut Ui, notice: &str) {
    Frame::new().fill(DANGER).inner_margin(8.0).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new(notice).color(Color32::WHITE).strong());
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(connected: bool, cut_off: bool, unconfirmed: u64) -> StatusView {
        StatusView {
            device: "t1".into(),
            signed_in: None,
            connected,
            cut_off,
            cut_off_since_ms: cut_off.then_some(1),
            unconfirmed,
            peers: 2,
            low_stock: Vec::new(),
        }
    }

    #[test]
    fn the_bar_says_when_the_terminal_is_cut_off_and_what_waits() {
        assert_eq!(
            link_text(&status(false, true, 3)).0,
            "CUT OFF: orders are kept here (3 events waiting to sync)"
        );
        assert_eq!(
            link_text(&status(true, true, 1)).0,
            "CUT OFF: orders are kept here (1 event waiting to sync)"
        );
        assert_eq!(link_text(&status(true, false, 0)).0, "Online · 2 devices");
        assert_eq!(link_text(&status(true, false, 4)).0, "Online · 4 syncing");
        assert_eq!(
            link_text(&status(false, false, 0)).0,
            "Connecting to the store…"
        );
    }
}
