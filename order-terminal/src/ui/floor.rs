//! The floor plan: every table where it stands, coloured by state, with its check's guests,
//! total, time seated, the course in progress and whether food is ready; the other open checks
//! (tabs, takeout) beside it; tapping a free table asks how many guests.

use egui::{Align, Button, Color32, CornerRadius, Layout, Rect, RichText, Stroke, Ui, vec2};
use pass_shared::domain::order::OrderType;
use pass_shared::terminal::Intent;
use pass_shared::terminal::floor::Shape;
use pass_shared::terminal::views::{FloorView, OpenTableView, TableCheck, TableState, TableView};

use super::Local;
use super::widgets::{self, ATTENTION, FREE, GO, MUTED, SEATED};

/// Width of the list of other checks on the right.
const SIDE: f32 = 360.0;

/// Draws the floor; the tap, if any.
pub fn floor_ui(ui: &mut Ui, view: &FloorView, local: &mut Local) -> Option<Intent> {
    let mut intent = None;
    if view.opening.is_none() {
        local.guests = None;
    }
    let area = ui.available_rect_before_wrap();
    let plan = Rect::from_min_max(area.min, egui::pos2(area.max.x - SIDE - 12.0, area.max.y));
    let side = Rect::from_min_max(egui::pos2(plan.max.x + 12.0, area.min.y), area.max);
    ui.scope_builder(egui::UiBuilder::new().max_rect(plan), |ui| {
        if let Some(name) = &view.name {
            ui.label(RichText::new(name).color(MUTED));
        }
        let room = ui.available_rect_before_wrap();
        let scale = (room.width() / view.width as f32).min(room.height() / view.height as f32);
        for table in &view.tables {
            let rect = Rect::from_min_size(
                room.min + vec2(table.x as f32, table.y as f32) * scale,
                vec2(table.w as f32, table.h as f32) * scale,
            );
            if ui.put(rect, table_button(table)).clicked() {
                intent = Some(Intent::SelectTable {
                    table: table.id.clone(),
                });
            }
        }
        ui.allocate_rect(room, egui::Sense::hover());
    });
    ui.scope_builder(egui::UiBuilder::new().max_rect(side), |ui| {
        ui.label(RichText::new("Tabs and takeout").strong());
        if widgets::filled(ui, "New bar tab", GO, vec2(SIDE, 64.0)).clicked() {
            intent = Some(Intent::OpenCheck {
                table: None,
                guests: 1,
                seats: None,
                order_type: Some(OrderType::DineIn),
            });
        }
        if widgets::filled(ui, "New takeout", GO, vec2(SIDE, 64.0)).clicked() {
            intent = Some(Intent::OpenCheck {
                table: None,
                guests: 1,
                seats: None,
                order_type: Some(OrderType::Takeout),
            });
        }
        egui::ScrollArea::vertical()
            .id_salt("other checks")
            .show(ui, |ui| {
                for check in &view.other_checks {
                    let text = format!(
                        "{} · {}\n{} · {}",
                        check.number,
                        order_type(check.order_type),
                        check.server_name,
                        check.total
                    );
                    if widgets::filled(ui, text, SEATED, vec2(SIDE, 72.0)).clicked() {
                        intent = Some(Intent::SelectCheck {
                            check: check.check.clone(),
                        });
                    }
                }
            });
    });
    if let Some(opening) = &view.opening
        && let Some(open) = open_table_ui(ui.ctx(), opening, local)
    {
        intent = Some(open);
    }
    intent
}

fn order_type(t: OrderType) -> &'static str {
    match t {
        OrderType::DineIn => "Tab",
        OrderType::Takeout => "Takeout",
        OrderType::Delivery => "Delivery",
        OrderType::Online => "Online",
    }
}

/// What a table shows: its name, then per check guests, total, time seated and what the kitchen
/// is doing; who has it open elsewhere.
pub fn table_text(table: &TableView) -> String {
    let mut text = format!("Table {}", table.name);
    if table.checks.is_empty() {
        text.push_str(&format!("\n{} seats", table.seats));
    }
    for check in &table.checks {
        text.push_str(&check_text(check));
    }
    text
}

fn check_text(check: &TableCheck) -> String {
    // Short lines: a two-top is narrow.
    let mut text = format!(
        "\n{} guests\n{}\n{} {}",
        check.guests,
        check.total,
        check.server_name,
        widgets::duration(check.seated_ms)
    );
    if let Some(ready) = check.food_ready {
        text.push_str(&format!("\nC{ready} READY"));
    } else if let Some(course) = check.course_in_progress {
        text.push_str(&format!("\nC{course} cooking"));
    }
    if !check.held_courses.is_empty() {
        let held: Vec<String> = check.held_courses.iter().map(u8::to_string).collect();
        text.push_str(&format!("\nHeld: {}", held.join(", ")));
    }
    if let Some(on) = &check.open_elsewhere {
        text.push_str(&format!("\nOpen on {} ({})", on.device, on.name));
    }
    text
}

fn table_button(table: &TableView) -> Button<'static> {
    let ready = table.checks.iter().any(|c| c.food_ready.is_some());
    let fill = match table.state {
        TableState::Free => FREE,
        TableState::Seated if ready => ATTENTION,
        TableState::Seated => SEATED,
    };
    let radius = match table.shape {
        Shape::Round => 60,
        Shape::Square => 8,
        Shape::Booth => 20,
    };
    let elsewhere = table.checks.iter().any(|c| c.open_elsewhere.is_some());
    let stroke = if elsewhere {
        Stroke::new(4.0, Color32::from_rgb(0xf2, 0xc0, 0x1e))
    } else {
        Stroke::new(1.0, Color32::from_gray(90))
    };
    Button::new(
        RichText::new(table_text(table))
            .size(22.0)
            .color(Color32::WHITE),
    )
    .fill(fill)
    .stroke(stroke)
    .corner_radius(CornerRadius::same(radius))
}

/// How many guests for a free table: 1–8 at a tap, more with the pad.
fn open_table_ui(
    ctx: &egui::Context,
    opening: &OpenTableView,
    local: &mut Local,
) -> Option<Intent> {
    let mut intent = None;
    egui::Modal::new(egui::Id::new("open table")).show(ctx, |ui| {
        ui.set_width(640.0);
        ui.heading(format!("Table {}", opening.name));
        ui.label(format!("How many guests? ({} seats)", opening.seats));
        ui.horizontal_wrapped(|ui| {
            for n in 1..=8u32 {
                let selected = local.guests == Some(n);
                if widgets::choice(
                    ui,
                    selected,
                    RichText::new(n.to_string()).size(36.0),
                    vec2(64.0, 64.0),
                )
                .clicked()
                {
                    local.guests = Some(n);
                }
            }
        });
        ui.horizontal(|ui| {
            if widgets::big(ui, "−", vec2(80.0, 64.0)).clicked() {
                local.guests = Some(local.guests.unwrap_or(1).saturating_sub(1).max(1));
            }
            ui.label(RichText::new(format!("{} guests", local.guests.unwrap_or(0))).size(34.0));
            if widgets::big(ui, "+", vec2(80.0, 64.0)).clicked() {
                local.guests =
                    Some((local.guests.unwrap_or(0) + 1).min(pass_shared::terminal::MAX_GUESTS));
            }
        });
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            let chosen = local.guests;
            if widgets::enabled(ui, chosen.is_some(), "Open", GO, vec2(200.0, 72.0)).clicked()
                && let Some(guests) = chosen
            {
                intent = Some(Intent::OpenCheck {
                    table: Some(opening.table.clone()),
                    guests,
                    seats: None,
                    order_type: None,
                });
                local.guests = None;
            }
            if widgets::big(ui, "Cancel", vec2(200.0, 72.0)).clicked() {
                local.guests = None;
                intent = Some(Intent::ShowFloor);
            }
        });
    });
    intent
}
