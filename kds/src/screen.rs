//! Window text that needs no renderer.

/// The window title: product, role and station, e.g. "Pass — Kitchen display — grill".
pub fn window_title(station: &str) -> String {
    format!("Pass — Kitchen display — {station}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_names_product_role_and_station() {
        assert_eq!(window_title("expo"), "Pass — Kitchen display — expo");
        assert_eq!(window_title("grill"), "Pass — Kitchen display — grill");
    }
}
