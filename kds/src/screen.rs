//! What the kitchen display shows, independent of the renderer.

/// The window title: product, role and station, e.g. "Pass — Kitchen display — grill".
pub fn window_title(station: &str) -> String {
    format!("Pass — Kitchen display — {station}")
}

/// How prominent a line of the idle screen is; the renderer picks size and colour from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emphasis {
    Product,
    Role,
    Station,
    Status,
}

/// One line of text on a screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub emphasis: Emphasis,
}

impl Line {
    fn new(text: impl Into<String>, emphasis: Emphasis) -> Self {
        Self {
            text: text.into(),
            emphasis,
        }
    }
}

/// The screen shown before any ticket arrives, top to bottom.
pub fn idle_screen(station: &str) -> Vec<Line> {
    vec![
        Line::new("PASS", Emphasis::Product),
        Line::new("Kitchen display", Emphasis::Role),
        Line::new(station, Emphasis::Station),
        Line::new("Waiting for tickets", Emphasis::Status),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_names_product_role_and_station() {
        assert_eq!(window_title("expo"), "Pass — Kitchen display — expo");
        assert_eq!(window_title("grill"), "Pass — Kitchen display — grill");
    }

    #[test]
    fn idle_screen_names_the_station_and_waits_for_tickets() {
        let texts: Vec<_> = idle_screen("fry")
            .into_iter()
            .map(|line| line.text)
            .collect();
        assert_eq!(
            texts,
            ["PASS", "Kitchen display", "fry", "Waiting for tickets"]
        );
    }
}
