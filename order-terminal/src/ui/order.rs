//! The ordering screen. Left: the check, line by line with each sent line's kitchen status
//! ("received ✓", "ready"), and its totals. Middle: the menu by category (86'd items greyed out
//! and refused, items running low in amber with how many are left), or the split, move and merge
//! choices. Right: where the next item goes (seat,
//! course, quantity, notes) and what to do with the check (send, hold and fire courses, split,
//! move, merge, close). Items with modifiers open a dialog that cannot be skipped while a
//! required choice is missing.

use egui::{Align, Color32, Frame, Layout, Rect, RichText, ScrollArea, Ui, vec2};
use pass_shared::event::{DiscountRecord, SplitRecord};
use pass_shared::terminal::Intent;
use pass_shared::terminal::views::{CheckView, LineStatus, LineView, ModifierDialog, OrderView};

use super::Local;
use super::approval::{Approval, Guarded};
use super::widgets::{self, ATTENTION, DANGER, GO, MUTED, SEATED, UNAVAILABLE};

/// What the middle of the ordering screen shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Panel {
    #[default]
    Menu,
    /// Splitting: by item, the parts being built (line ids per part) and the part lines go to.
    Split {
        parts: Vec<Vec<String>>,
        part: usize,
    },
    Move,
    Merge,
}

const CHECK_WIDTH: f32 = 600.0;
const ACTIONS_WIDTH: f32 = 440.0;
const QUICK_NOTES: [&str; 3] = ["ALLERGY: ", "No onion", "On the side"];

/// Draws the ordering screen; the tap, if any.
pub fn order_ui(ui: &mut Ui, view: &OrderView, local: &mut Local) -> Option<Intent> {
    let mut intent = None;
    let area = ui.available_rect_before_wrap();
    let check_rect = Rect::from_min_size(area.min, vec2(CHECK_WIDTH, area.height()));
    let actions_rect =
        Rect::from_min_max(egui::pos2(area.max.x - ACTIONS_WIDTH, area.min.y), area.max);
    let middle_rect = Rect::from_min_max(
        egui::pos2(check_rect.max.x + 12.0, area.min.y),
        egui::pos2(actions_rect.min.x - 12.0, area.max.y),
    );
    ui.scope_builder(egui::UiBuilder::new().max_rect(check_rect), |ui| {
        intent = intent.take().or(check_ui(ui, &view.check, local));
    });
    ui.scope_builder(egui::UiBuilder::new().max_rect(middle_rect), |ui| {
        let tapped = match local.panel.clone() {
            Panel::Menu => menu_ui(ui, view),
            Panel::Split { .. } => split_ui(ui, &view.check, local),
            Panel::Move => move_ui(ui, view, local),
            Panel::Merge => merge_ui(ui, view, local),
        };
        intent = intent.take().or(tapped);
    });
    ui.scope_builder(egui::UiBuilder::new().max_rect(actions_rect), |ui| {
        intent = intent.take().or(actions_ui(ui, view, local));
    });
    ui.allocate_rect(area, egui::Sense::hover());
    if let Some(dialog) = &view.dialog
        && let Some(tapped) = modifier_dialog_ui(ui.ctx(), dialog)
    {
        intent = Some(tapped);
    }
    intent
}

/// The check header, its lines (tap one for its corrections) and totals.
fn check_ui(ui: &mut Ui, check: &CheckView, local: &mut Local) -> Option<Intent> {
    let mut intent = None;
    let table = check
        .table
        .as_deref()
        .map(|t| format!("Table {t} · "))
        .unwrap_or_default();
    ui.label(
        RichText::new(format!(
            "Check {} · {table}{} guests",
            check.number, check.guests
        ))
        .size(34.0)
        .strong(),
    );
    ui.label(RichText::new(format!("Server {} · {}", check.server_name, check.state)).color(MUTED));
    if let Some(on) = &check.open_elsewhere {
        ui.label(
            RichText::new(format!("Also open on {} ({})", on.device, on.name))
                .color(Color32::BLACK)
                .background_color(ATTENTION),
        );
    }
    for conflict in &check.conflicts {
        ui.label(RichText::new(conflict).color(ATTENTION));
    }
    let totals_height = 190.0;
    let list_height = (ui.available_height() - totals_height).max(120.0);
    let splitting = matches!(local.panel, Panel::Split { .. });
    ScrollArea::vertical()
        .id_salt("check lines")
        .max_height(list_height)
        // The newest lines (those not sent yet) stay in sight.
        .stick_to_bottom(true)
        .auto_shrink([false, false])
        .show(ui, |ui| {
            if check.lines.is_empty() {
                ui.label(RichText::new("No items yet: choose from the menu.").color(MUTED));
            }
            for line in &check.lines {
                let selected = local.selected_line.as_deref() == Some(line.line.as_str());
                let response = ui.add(
                    egui::Button::selectable(selected, line_text(line))
                        .min_size(vec2(ui.available_width(), 64.0)),
                );
                if response.clicked() {
                    if let Panel::Split { parts, part } = &mut local.panel
                        && splitting
                    {
                        assign(parts, *part, &line.line);
                    } else {
                        local.selected_line = (!selected).then(|| line.line.clone());
                    }
                }
                if selected && !splitting {
                    intent = intent.take().or(line_actions_ui(ui, check, line, local));
                }
            }
        });
    totals_ui(ui, check);
    intent
}

/// A line as the check shows it: quantity, name, amount; modifiers and notes; seat, course and
/// where the kitchen is with it.
pub fn line_text(line: &LineView) -> RichText {
    let mut text = format!("{}× {}   {}", line.qty, line.name, line.amount);
    for m in &line.modifiers {
        text.push_str(&format!("\n   {}", m.name));
    }
    if let Some(notes) = &line.notes {
        text.push_str(&format!("\n   Note: {notes}"));
    }
    let seat = line
        .seat
        .map(|s| format!("Seat {s}"))
        .unwrap_or_else(|| "Table".to_owned());
    text.push_str(&format!(
        "\n   {seat} · Course {} · {}",
        line.course, line.status_text
    ));
    if line.addition {
        text.push_str(" · ADDED");
    }
    if line.comped {
        text.push_str(" · COMP");
    }
    if let Some(discount) = &line.discount {
        text.push_str(&format!(" · −{discount}"));
    }
    let rich = RichText::new(text).size(24.0);
    match line.status {
        LineStatus::Voided => rich.strikethrough().color(UNAVAILABLE),
        LineStatus::New => rich.color(Color32::WHITE),
        LineStatus::Held => rich.color(ATTENTION),
        LineStatus::Ready => rich.color(Color32::from_rgb(0x7c, 0xe0, 0x9a)),
        LineStatus::Sent | LineStatus::Received => rich.color(Color32::from_gray(220)),
    }
}

/// Void, comp and discount for the selected line: each asks for a manager's PIN and a reason.
fn line_actions_ui(
    ui: &mut Ui,
    check: &CheckView,
    line: &LineView,
    local: &mut Local,
) -> Option<Intent> {
    if line.status == LineStatus::Voided {
        return None;
    }
    ui.horizontal(|ui| {
        let size = vec2(170.0, 60.0);
        if widgets::filled(ui, "Void", DANGER, size).clicked() {
            local.approval = Some(Approval::new(Guarded::Void {
                check: check.check.clone(),
                line: line.line.clone(),
                what: line.name.clone(),
            }));
        }
        if !line.comped && widgets::big(ui, "Comp", size).clicked() {
            local.approval = Some(Approval::new(Guarded::Comp {
                check: check.check.clone(),
                line: line.line.clone(),
                what: line.name.clone(),
            }));
        }
        if widgets::big(ui, "Discount", size).clicked() {
            local.approval = Some(Approval::new(Guarded::Discount {
                check: check.check.clone(),
                line: Some(line.line.clone()),
                what: line.name.clone(),
                discount: None,
            }));
        }
    });
    None
}

fn totals_ui(ui: &mut Ui, check: &CheckView) {
    let t = &check.totals;
    Frame::new()
        .fill(Color32::from_gray(30))
        .inner_margin(8.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            // Rows of text, not targets: no finger-sized height.
            ui.spacing_mut().interact_size.y = 30.0;
            ui.spacing_mut().item_spacing.y = 4.0;
            let row = |ui: &mut Ui, name: &str, amount: String, strong: bool| {
                ui.horizontal(|ui| {
                    let name = RichText::new(name).size(24.0);
                    ui.label(if strong { name.strong() } else { name });
                    ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                        let amount = RichText::new(amount).size(if strong { 32.0 } else { 24.0 });
                        ui.label(if strong { amount.strong() } else { amount });
                    });
                });
            };
            row(ui, "Subtotal", t.subtotal.to_string(), false);
            if !t.discount.is_zero() {
                row(ui, "Discounts", format!("−{}", t.discount), false);
            }
            if !t.tax_added.is_zero() {
                row(ui, "Tax", t.tax_added.to_string(), false);
            }
            if !t.tax_included.is_zero() {
                row(ui, "Tax included", t.tax_included.to_string(), false);
            }
            row(ui, "Total", t.total.to_string(), true);
            if !t.paid.is_zero() {
                row(ui, "Balance due", t.balance_due.to_string(), true);
            }
        });
}

/// Categories along the top, the category's items below.
fn menu_ui(ui: &mut Ui, view: &OrderView) -> Option<Intent> {
    let mut intent = None;
    let menu = &view.menu;
    if menu.categories.is_empty() {
        ui.label("No menu has been published yet.");
        return None;
    }
    ui.horizontal_wrapped(|ui| {
        for c in &menu.categories {
            let selected = menu.category.as_deref() == Some(c.id.as_str());
            if widgets::choice(
                ui,
                selected,
                RichText::new(&c.name).strong(),
                vec2(150.0, 64.0),
            )
            .clicked()
            {
                intent = Some(Intent::ChooseCategory {
                    category: c.id.clone(),
                });
            }
        }
    });
    ui.separator();
    ScrollArea::vertical()
        .id_salt("menu items")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                for item in &menu.items {
                    let label = match (item.eighty_sixed, item.portions_left) {
                        (true, _) => {
                            RichText::new(format!("{}\n86'd", item.name)).color(UNAVAILABLE)
                        }
                        (false, Some(left)) => {
                            RichText::new(format!("{}\n{} · {left} left", item.name, item.price))
                        }
                        (false, None) => RichText::new(format!("{}\n{}", item.name, item.price)),
                    };
                    let button = egui::Button::new(label.size(26.0))
                        .min_size(vec2(200.0, 100.0))
                        .fill(if item.eighty_sixed {
                            Color32::from_gray(40)
                        } else if item.portions_left.is_some() {
                            ATTENTION
                        } else {
                            Color32::from_gray(60)
                        });
                    if ui.add_enabled(!item.eighty_sixed, button).clicked() {
                        intent = Some(Intent::PickItem {
                            item: item.id.clone(),
                        });
                    }
                }
            });
        });
    intent
}

/// Seat, course, quantity and notes for the next item; send, courses and the check's verbs.
fn actions_ui(ui: &mut Ui, view: &OrderView, local: &mut Local) -> Option<Intent> {
    let mut intent = None;
    let check = &view.check;
    let pending = &view.pending;
    let id = check.check.clone();
    let open = check.state == "open";
    ui.label(RichText::new("Next item").strong());
    ui.horizontal_wrapped(|ui| {
        let size = vec2(64.0, 56.0);
        if widgets::choice(ui, pending.seat.is_none(), "Table", vec2(100.0, 56.0)).clicked() {
            intent = Some(Intent::SetSeat { seat: None });
        }
        for seat in 1..=check.seats.max(check.guests).min(12) {
            if widgets::choice(ui, pending.seat == Some(seat), format!("S{seat}"), size).clicked() {
                intent = Some(Intent::SetSeat { seat: Some(seat) });
            }
        }
    });
    ui.horizontal(|ui| {
        for course in 1..=3u8 {
            if widgets::choice(
                ui,
                pending.course == course,
                RichText::new(format!("Course {course}")).size(24.0),
                vec2(120.0, 56.0),
            )
            .clicked()
            {
                intent = Some(Intent::SetCourse { course });
            }
        }
    });
    ui.horizontal(|ui| {
        if widgets::big(ui, "−", vec2(72.0, 56.0)).clicked() && pending.qty > 1 {
            intent = Some(Intent::SetQty {
                qty: pending.qty - 1,
            });
        }
        ui.label(RichText::new(format!("Qty {}", pending.qty)).size(30.0));
        if widgets::big(ui, "+", vec2(72.0, 56.0)).clicked()
            && pending.qty < pass_shared::terminal::MAX_QTY
        {
            intent = Some(Intent::SetQty {
                qty: pending.qty + 1,
            });
        }
    });
    let mut notes = pending.notes.clone();
    let edit = ui.add(
        egui::TextEdit::singleline(&mut notes)
            .hint_text("Note for the kitchen")
            .desired_width(ACTIONS_WIDTH - 8.0)
            .font(egui::TextStyle::Body),
    );
    if edit.changed() {
        intent = Some(Intent::SetNotes {
            notes: notes.clone(),
        });
    }
    ui.horizontal_wrapped(|ui| {
        for quick in QUICK_NOTES {
            if widgets::big(
                ui,
                RichText::new(quick.trim()).size(22.0),
                vec2(100.0, 48.0),
            )
            .clicked()
            {
                let joined = if notes.trim().is_empty() {
                    quick.to_owned()
                } else {
                    format!("{}, {quick}", notes.trim_end())
                };
                intent = Some(Intent::SetNotes { notes: joined });
            }
        }
    });
    ui.separator();
    let unsent = check.unsent;
    let send = if unsent == 0 {
        "Send".to_owned()
    } else {
        format!("Send {unsent} new")
    };
    if widgets::enabled(
        ui,
        open && unsent > 0,
        RichText::new(send).size(34.0).strong(),
        GO,
        vec2(ACTIONS_WIDTH - 8.0, 84.0),
    )
    .clicked()
    {
        intent = Some(Intent::Send { check: id.clone() });
    }
    ui.horizontal_wrapped(|ui| {
        for course in courses_to_hold(check) {
            if widgets::big(ui, format!("Hold course {course}"), vec2(190.0, 56.0)).clicked() {
                intent = Some(Intent::HoldCourse {
                    check: id.clone(),
                    course,
                });
            }
        }
        for &course in &check.held_courses {
            if widgets::filled(
                ui,
                format!("Fire course {course}"),
                ATTENTION,
                vec2(190.0, 56.0),
            )
            .clicked()
            {
                intent = Some(Intent::FireCourse {
                    check: id.clone(),
                    course,
                });
            }
        }
    });
    ui.separator();
    ui.horizontal_wrapped(|ui| {
        let size = vec2(88.0, 56.0);
        let split = matches!(local.panel, Panel::Split { .. });
        if widgets::choice(ui, split, "Split", size).clicked() {
            local.panel = if split {
                Panel::Menu
            } else {
                Panel::Split {
                    parts: vec![Vec::new(), Vec::new()],
                    part: 0,
                }
            };
        }
        let moving = local.panel == Panel::Move;
        if widgets::choice(ui, moving, "Move", size).clicked() {
            local.panel = if moving { Panel::Menu } else { Panel::Move };
        }
        let merging = local.panel == Panel::Merge;
        if widgets::choice(ui, merging, "Merge", size).clicked() {
            local.panel = if merging { Panel::Menu } else { Panel::Merge };
        }
        if local.panel != Panel::Menu && widgets::big(ui, "Menu", size).clicked() {
            local.panel = Panel::Menu;
        }
        if widgets::big(ui, "Close", size).clicked() {
            intent = Some(Intent::Close { check: id.clone() });
        }
        if widgets::big(ui, "Discount check", vec2(190.0, 56.0)).clicked() {
            local.approval = Some(Approval::new(Guarded::Discount {
                check: id.clone(),
                line: None,
                what: format!("check {}", check.number),
                discount: None,
            }));
        }
    });
    // Cash, cards, tabs, tips, refunds and receipts: the payment screen of this check.
    let pay = RichText::new("Pay").size(34.0).strong();
    if widgets::filled(ui, pay, GO, vec2(ACTIONS_WIDTH - 8.0, 76.0)).clicked() {
        local.panel = Panel::Menu;
        local.open_payment(&id);
    }
    if widgets::filled(ui, "Floor plan", SEATED, vec2(ACTIONS_WIDTH - 8.0, 64.0)).clicked() {
        local.panel = Panel::Menu;
        intent = Some(Intent::ShowFloor);
    }
    intent
}

/// Later courses of unsent lines that are not held yet.
fn courses_to_hold(check: &CheckView) -> Vec<u8> {
    let mut out: Vec<u8> = check
        .lines
        .iter()
        .filter(|l| l.status == LineStatus::New && l.course > 1)
        .map(|l| l.course)
        .filter(|c| !check.held_courses.contains(c))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Puts `line` in part `part` (and out of every other part); tapping it again takes it out.
fn assign(parts: &mut [Vec<String>], part: usize, line: &str) {
    let was_here = parts.get(part).is_some_and(|p| p.iter().any(|l| l == line));
    for p in parts.iter_mut() {
        p.retain(|l| l != line);
    }
    if !was_here && let Some(p) = parts.get_mut(part) {
        p.push(line.to_owned());
    }
}

/// Split by seat, evenly, or by item (tap a part, then the lines that go on it).
fn split_ui(ui: &mut Ui, check: &CheckView, local: &mut Local) -> Option<Intent> {
    let mut intent = None;
    let id = check.check.clone();
    ui.label(RichText::new("Split the check").size(34.0).strong());
    ui.horizontal_wrapped(|ui| {
        let size = vec2(180.0, 64.0);
        if widgets::big(ui, "By seat", size).clicked() {
            intent = Some(Intent::Split {
                check: id.clone(),
                split: SplitRecord::Seat,
            });
        }
        for n in 2..=6u32 {
            if widgets::big(ui, format!("{n} ways"), vec2(120.0, 64.0)).clicked() {
                intent = Some(Intent::Split {
                    check: id.clone(),
                    split: SplitRecord::Evenly { parts: n },
                });
            }
        }
        if check.split.is_some() && widgets::filled(ui, "Undo split", DANGER, size).clicked() {
            intent = Some(Intent::Split {
                check: id.clone(),
                split: SplitRecord::None,
            });
        }
    });
    ui.separator();
    ui.label("By item: choose a part, then tap the lines on the check that go on it.");
    if let Panel::Split { parts, part } = &mut local.panel {
        ui.horizontal_wrapped(|ui| {
            for (i, lines) in parts.iter().enumerate() {
                let label = format!("Part {} ({})", i + 1, lines.len());
                if widgets::choice(ui, *part == i, label, vec2(150.0, 64.0)).clicked() {
                    *part = i;
                }
            }
            if parts.len() < 10 && widgets::big(ui, "+ Part", vec2(120.0, 64.0)).clicked() {
                parts.push(Vec::new());
                *part = parts.len() - 1;
            }
        });
        let filled: Vec<Vec<String>> = parts.iter().filter(|p| !p.is_empty()).cloned().collect();
        if widgets::enabled(
            ui,
            filled.len() >= 2,
            "Split by item",
            GO,
            vec2(300.0, 72.0),
        )
        .clicked()
        {
            intent = Some(Intent::Split {
                check: id.clone(),
                split: SplitRecord::Items { parts: filled },
            });
        }
    }
    if let Some(split) = &check.split {
        ui.separator();
        if let Some(problem) = &split.problem {
            ui.label(RichText::new(problem).color(ATTENTION));
        }
        for (i, part) in split.parts.iter().enumerate() {
            let who = part
                .seat
                .map(|s| format!("Seat {s}"))
                .unwrap_or_else(|| format!("Part {}", i + 1));
            ui.label(
                RichText::new(format!(
                    "{who}: {} ({} lines)",
                    part.amount,
                    part.lines.len()
                ))
                .size(30.0),
            );
        }
    }
    intent
}

/// Every table: tap one to move this check there.
fn move_ui(ui: &mut Ui, view: &OrderView, local: &mut Local) -> Option<Intent> {
    let mut intent = None;
    ui.label(
        RichText::new(format!("Move check {} to table…", view.check.number))
            .size(34.0)
            .strong(),
    );
    ui.horizontal_wrapped(|ui| {
        for place in &view.elsewhere {
            let Some(table) = &place.table else { continue };
            if view.check.table.as_deref() == Some(table.as_str()) {
                continue;
            }
            let fill = if place.checks.is_empty() { GO } else { SEATED };
            let label = if place.checks.is_empty() {
                format!("Table {}", place.name)
            } else {
                format!("Table {}\n(seated)", place.name)
            };
            if widgets::filled(ui, label, fill, vec2(170.0, 84.0)).clicked() {
                intent = Some(Intent::Move {
                    check: view.check.check.clone(),
                    table: table.clone(),
                });
                local.panel = Panel::Menu;
            }
        }
    });
    intent
}

/// Every other open check: tap one to bring it onto this check.
fn merge_ui(ui: &mut Ui, view: &OrderView, local: &mut Local) -> Option<Intent> {
    let mut intent = None;
    ui.label(
        RichText::new(format!("Merge into check {}…", view.check.number))
            .size(34.0)
            .strong(),
    );
    let mut any = false;
    ui.horizontal_wrapped(|ui| {
        for place in &view.elsewhere {
            for (check, number) in &place.checks {
                any = true;
                let label = match &place.table {
                    Some(_) => format!("{number}\nTable {}", place.name),
                    None => format!("{number}\nTab"),
                };
                if widgets::filled(ui, label, SEATED, vec2(170.0, 84.0)).clicked() {
                    intent = Some(Intent::Merge {
                        check: view.check.check.clone(),
                        from: check.clone(),
                    });
                    local.panel = Panel::Menu;
                }
            }
        }
    });
    if !any {
        ui.label(RichText::new("No other open checks.").color(MUTED));
    }
    intent
}

/// The modifier dialog: every group, required ones marked; "Add" only once they are chosen.
pub fn modifier_dialog_ui(ctx: &egui::Context, dialog: &ModifierDialog) -> Option<Intent> {
    let mut intent = None;
    let modal = egui::Modal::new(egui::Id::new("modifiers")).show(ctx, |ui| {
        ui.set_width(900.0);
        ui.heading(format!("{}× {}", dialog.qty, dialog.name));
        for group in &dialog.groups {
            if let Some(tapped) = group_ui(ui, group) {
                intent = Some(tapped);
            }
        }
        if !dialog.missing.is_empty() {
            ui.label(
                RichText::new(format!("Choose: {}", dialog.missing.join(", "))).color(ATTENTION),
            );
        }
        ui.horizontal(|ui| {
            if widgets::filled(ui, "Cancel", DANGER, vec2(220.0, 80.0)).clicked() {
                intent = Some(Intent::CancelItem);
            }
            let add = format!("Add · {}", dialog.unit_price);
            if widgets::enabled(
                ui,
                dialog.can_add,
                RichText::new(add).strong(),
                GO,
                vec2(400.0, 80.0),
            )
            .clicked()
            {
                intent = Some(Intent::ConfirmItem);
            }
        });
    });
    // A tap outside does not skip a required choice: only Cancel leaves the dialog.
    let _ = modal.should_close();
    intent
}

/// One modifier group: its rule, and its options as choices.
fn group_ui(ui: &mut Ui, group: &pass_shared::terminal::views::GroupView) -> Option<Intent> {
    let mut intent = None;
    let rule = match (group.forced, group.min, group.max) {
        (true, min, max) if min == max => format!("required: choose {min}"),
        (true, min, max) => format!("required: choose {min} to {max}"),
        (false, _, max) => format!("optional, up to {max}"),
    };
    let heading = RichText::new(format!("{} ({rule})", group.name)).strong();
    ui.label(if group.forced && !group.satisfied {
        heading.color(ATTENTION)
    } else {
        heading
    });
    ui.horizontal_wrapped(|ui| {
        for option in &group.options {
            let label = if option.price_delta.is_zero() {
                option.name.clone()
            } else {
                format!("{} +{}", option.name, option.price_delta)
            };
            if widgets::choice(
                ui,
                option.chosen,
                RichText::new(label).size(24.0),
                vec2(170.0, 60.0),
            )
            .clicked()
            {
                intent = Some(Intent::ToggleModifier {
                    modifier: option.id.clone(),
                });
            }
        }
    });
    intent
}

/// A discount the manager picks in the approval dialog.
pub fn discount_choices() -> Vec<(String, DiscountRecord)> {
    [10u32, 15, 20, 50, 100]
        .into_iter()
        .map(|p| {
            (
                format!("{p}%"),
                DiscountRecord::Percent(rust_decimal::Decimal::from(p)),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_tapped_while_splitting_goes_on_the_chosen_part_only() {
        let mut parts = vec![Vec::new(), Vec::new()];
        assign(&mut parts, 0, "a");
        assign(&mut parts, 1, "b");
        assert_eq!(parts, [vec!["a".to_owned()], vec!["b".to_owned()]]);
        assign(&mut parts, 1, "a");
        assert_eq!(parts, [vec![], vec!["b".to_owned(), "a".to_owned()]]);
        assign(&mut parts, 1, "a");
        assert_eq!(parts, [Vec::<String>::new(), vec!["b".to_owned()]]);
    }
}
