//! The settings overlay (egui), behind a manager PIN: station, stations taken over from dead
//! screens, timer thresholds per order type, layout and sound. Opened with F10 or the footer's
//! SETTINGS button; the form is a plain egui function over a [`Form`], so it is tested without
//! Bevy. Saving checks the whole form, writes the screen's settings file and puts it in force.

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};
use pass_shared::domain::order::OrderType;
use pass_shared::domain::staff::{SignInThrottle, ThrottlePolicy};
use pass_shared::kitchen::board::Thresholds;
use pass_shared::kitchen::settings::{KdsSettings, approve};

use crate::kitchen::{Device, Screen};

/// The overlay's state.
#[derive(Resource, Default)]
pub struct Overlay {
    pub open: bool,
    pub pin: String,
    /// Who approved, once a manager PIN was given.
    pub approved_by: Option<String>,
    pub form: Option<Form>,
    pub message: Option<String>,
    throttle: Option<SignInThrottle>,
}

/// The settings being edited, as people type them.
#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    pub station: String,
    /// Stations taken over, comma-separated.
    pub taken_over: String,
    /// Alert / late minutes, default and per order type.
    pub minutes: Vec<(Option<OrderType>, f32, f32)>,
    pub columns: usize,
    pub lines: usize,
    pub silent: bool,
}

impl Form {
    pub fn from_settings(s: &KdsSettings) -> Form {
        let mut minutes = vec![(
            None,
            s.timers.default.alert_secs as f32 / 60.0,
            s.timers.default.late_secs as f32 / 60.0,
        )];
        for t in OrderType::ALL {
            let th = s.timers.for_type(t);
            minutes.push((
                Some(t),
                th.alert_secs as f32 / 60.0,
                th.late_secs as f32 / 60.0,
            ));
        }
        Form {
            station: s.station.clone(),
            taken_over: s.taken_over.join(", "),
            minutes,
            columns: s.layout.columns,
            lines: s.layout.lines_per_column,
            silent: s.silent,
        }
    }

    /// The settings the form describes, checked.
    pub fn to_settings(&self) -> Result<KdsSettings, String> {
        let mut s = KdsSettings::new(self.station.trim());
        s.taken_over = self
            .taken_over
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        let secs = |m: f32| (m * 60.0).round().clamp(0.0, 86_400.0) as u32;
        for (order_type, alert, late) in &self.minutes {
            let th = Thresholds {
                alert_secs: secs(*alert),
                late_secs: secs(*late),
            };
            match order_type {
                None => s.timers.default = th,
                Some(t) if th != s.timers.default => {
                    s.timers.by_order_type.insert(*t, th);
                }
                Some(_) => {}
            }
        }
        s.layout.columns = self.columns;
        s.layout.lines_per_column = self.lines;
        s.silent = self.silent;
        s.check()?;
        Ok(s)
    }
}

/// What the user asked for this frame.
#[derive(Debug, Clone, PartialEq)]
pub enum FormAction {
    Save(KdsSettings),
    Cancel,
}

/// The settings form. Returns what was asked for; a form that does not check shows why.
pub fn form_ui(
    ui: &mut egui::Ui,
    form: &mut Form,
    error: &mut Option<String>,
) -> Option<FormAction> {
    let mut action = None;
    egui::Grid::new("kds-settings")
        .num_columns(3)
        .show(ui, |ui| {
            ui.label("Station");
            ui.text_edit_singleline(&mut form.station);
            ui.end_row();
            ui.label("Take over stations");
            ui.text_edit_singleline(&mut form.taken_over);
            ui.end_row();
            for (order_type, alert, late) in &mut form.minutes {
                let name = order_type.map_or("All orders".to_owned(), |t| t.to_string());
                ui.label(format!("{name}: alert / late (min)"));
                ui.add(egui::DragValue::new(alert).speed(0.5).range(0.5..=120.0));
                ui.add(egui::DragValue::new(late).speed(0.5).range(1.0..=240.0));
                ui.end_row();
            }
            ui.label("Columns / lines");
            ui.add(egui::DragValue::new(&mut form.columns).range(1..=12));
            ui.add(egui::DragValue::new(&mut form.lines).range(6..=80));
            ui.end_row();
            ui.label("Silent (flash only)");
            ui.checkbox(&mut form.silent, "");
            ui.end_row();
        });
    if let Some(e) = error {
        ui.colored_label(egui::Color32::from_rgb(0xff, 0x60, 0x60), e.as_str());
    }
    ui.horizontal(|ui| {
        if ui.button("Save").clicked() {
            match form.to_settings() {
                Ok(s) => action = Some(FormAction::Save(s)),
                Err(e) => *error = Some(e),
            }
        }
        if ui.button("Cancel").clicked() {
            action = Some(FormAction::Cancel);
        }
    });
    action
}

pub fn plugin(app: &mut App) {
    app.init_resource::<Overlay>()
        .add_systems(Update, open_on_key)
        .add_systems(
            EguiPrimaryContextPass,
            draw.run_if(resource_exists::<Screen>),
        );
}

fn open_on_key(
    keys: Res<ButtonInput<KeyCode>>,
    mut inputs: MessageReader<crate::kitchen::Input>,
    mut overlay: ResMut<Overlay>,
) {
    let asked = inputs
        .read()
        .any(|i| *i == crate::kitchen::Input::OpenSettings);
    if keys.just_pressed(KeyCode::F10) || asked {
        overlay.open = !overlay.open;
        overlay.pin.clear();
        overlay.approved_by = None;
        overlay.form = None;
        overlay.message = None;
    }
}

fn draw(
    mut contexts: EguiContexts,
    mut overlay: ResMut<Overlay>,
    device: Res<Device>,
    mut screen: ResMut<Screen>,
) -> Result {
    if !overlay.open {
        return Ok(());
    }
    let ctx = contexts.ctx_mut()?;
    let overlay = &mut *overlay;
    egui::Window::new("Kitchen screen settings")
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, egui::vec2(0.0, 0.0))
        .show(ctx, |ui| {
            ui.style_mut()
                .text_styles
                .iter_mut()
                .for_each(|(_, f)| f.size = 26.0);
            if overlay.approved_by.is_none() {
                ui.label("Manager PIN");
                let response = ui.add(egui::TextEdit::singleline(&mut overlay.pin).password(true));
                response.request_focus();
                let submitted = ui.button("Open settings").clicked()
                    || ui.input(|i| i.key_pressed(egui::Key::Enter));
                if submitted {
                    let staff = device
                        .0
                        .journal()
                        .read(pass_shared::projection::staff)
                        .unwrap_or_default();
                    let throttle = overlay
                        .throttle
                        .get_or_insert_with(|| SignInThrottle::new(ThrottlePolicy::default()));
                    let now = u64::try_from(device.0.now_ms()).unwrap_or(0);
                    match approve(&staff, &overlay.pin, now, throttle) {
                        Ok(name) => {
                            overlay.approved_by = Some(name);
                            overlay.form = Some(Form::from_settings(&screen.settings));
                            overlay.message = None;
                        }
                        Err(e) => overlay.message = Some(e.to_string()),
                    }
                    overlay.pin.clear();
                }
                if let Some(m) = &overlay.message {
                    ui.colored_label(egui::Color32::from_rgb(0xff, 0x60, 0x60), m.as_str());
                }
                if ui.button("Close").clicked() {
                    overlay.open = false;
                }
            } else if let Some(form) = &mut overlay.form {
                match form_ui(ui, form, &mut overlay.message) {
                    Some(FormAction::Save(settings)) => {
                        match device.0.set_kitchen_settings(settings.clone()) {
                            Ok(()) => {
                                info!(by = ?overlay.approved_by, "kitchen screen settings changed");
                                screen.settings = settings;
                                overlay.open = false;
                            }
                            Err(e) => overlay.message = Some(e),
                        }
                    }
                    Some(FormAction::Cancel) => overlay.open = false,
                    None => {}
                }
            }
        });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_round_trips_settings_and_refuses_bad_ones() {
        let mut s = KdsSettings::new("grill");
        s.taken_over = vec!["fry".into()];
        s.timers.by_order_type.insert(
            OrderType::Takeout,
            Thresholds {
                alert_secs: 180,
                late_secs: 360,
            },
        );
        let form = Form::from_settings(&s);
        assert_eq!(form.to_settings(), Ok(s));

        let mut bad = form.clone();
        bad.minutes[0].2 = bad.minutes[0].1;
        assert!(bad.to_settings().is_err(), "late must come after alert");
        let mut bad = form;
        bad.taken_over = "grill".into();
        assert!(bad.to_settings().is_err());
    }
}
