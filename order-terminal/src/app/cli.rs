//! The command line, parsed and validated once at start-up.

use std::path::PathBuf;

use clap::Parser;
use pass_shared::event::ReceiptCopy;
use pass_shared::terminal::Intent;

use super::{Config, PaymentStart, ReportsStart};
use crate::ui::ReportTab;

/// Pass order terminal: the front-of-house touch screen where staff take orders.
#[derive(Parser, Debug)]
#[command(version, about)]
pub struct Cli {
    /// Render a few frames, save a PNG of the window to PATH, then exit.
    #[arg(long, value_name = "PATH", value_parser = pass_shared::app::png_path)]
    screenshot: Option<PathBuf>,

    /// The window's size in pixels, WIDTHxHEIGHT.
    #[arg(long, value_name = "WxH", default_value = "1920x1080", value_parser = window_size)]
    window: (u32, u32),

    /// Carry out these intents at start, in order (a JSON array, as `pass terminal act`
    /// takes them: `[{"intent":"sign_in","pin":"1357"},{"intent":"select_table","table":"12"}]`);
    /// the first refusal stops the start. For demos, screenshots and kiosk set-ups.
    #[arg(long, value_name = "FILE")]
    intents: Option<PathBuf>,

    /// Open the payment screen of the check the terminal shows once --intents are carried out
    /// (for demos and screenshots: payments are screen state, not terminal intents).
    #[arg(long)]
    show_payment: bool,

    /// Open the receipt preview (`guest` check or `customer` receipt) of the check the terminal
    /// shows once --intents are carried out.
    #[arg(long, value_name = "COPY", value_parser = receipt_copy, conflicts_with = "show_payment")]
    show_receipt: Option<ReceiptCopy>,

    /// Open the manager's reports on this tab (`service`, `sales`, `z` or `stock`) once a
    /// manager or owner is signed in by --intents (for demos and screenshots).
    #[arg(
        long,
        value_name = "TAB",
        value_parser = report_tab,
        conflicts_with_all = ["show_payment", "show_receipt"]
    )]
    show_reports: Option<ReportTab>,

    /// Run the device without a window: journal, replication and control socket only.
    #[arg(long)]
    pub headless: bool,

    /// Benchmark: measure this many frames of the screen, write them to --bench-out as JSON
    /// and exit (see order-terminal/benches/frame.rs).
    #[arg(long, hide = true, requires = "bench_out")]
    pub bench_frames: Option<u32>,

    #[arg(long, hide = true, requires = "bench_frames")]
    pub bench_out: Option<PathBuf>,

    #[command(flatten)]
    pub device: pass_shared::device::DeviceArgs,
}

fn receipt_copy(value: &str) -> Result<ReceiptCopy, String> {
    match value {
        "guest" => Ok(ReceiptCopy::Guest),
        "customer" => Ok(ReceiptCopy::Customer),
        "merchant" => Err(
            "a merchant copy is of one card payment: open it from the payment screen".to_owned(),
        ),
        other => Err(format!("{other:?}: give guest or customer")),
    }
}

fn report_tab(value: &str) -> Result<ReportTab, String> {
    match value {
        "service" => Ok(ReportTab::Service),
        "sales" => Ok(ReportTab::Sales),
        "z" => Ok(ReportTab::Z),
        "stock" => Ok(ReportTab::Stock),
        other => Err(format!(
            "{:?}: give service, sales, z or stock",
            other.chars().take(40).collect::<String>()
        )),
    }
}

fn window_size(value: &str) -> Result<(u32, u32), String> {
    let (w, h) = value
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("{value:?}: give WIDTHxHEIGHT, such as 1920x1080"))?;
    let parse = |v: &str| -> Result<u32, String> {
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (320..=7680).contains(n))
            .ok_or_else(|| format!("{value:?}: each side is 320 to 7680 pixels"))
    };
    Ok((parse(w)?, parse(h)?))
}

impl Cli {
    /// The configuration, with the intents file read and checked.
    pub fn config(&self) -> Result<Config, String> {
        let intents = match &self.intents {
            None => Vec::new(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                serde_json::from_str::<Vec<Intent>>(&text)
                    .map_err(|e| format!("{}: not a list of intents: {e}", path.display()))?
            }
        };
        let payment_start = match (self.show_payment, self.show_receipt) {
            (_, Some(copy)) => Some(PaymentStart::Receipt(copy)),
            (true, None) => Some(PaymentStart::Pay),
            (false, None) => None,
        };
        Ok(Config {
            screenshot: self.screenshot.clone(),
            window: self.window,
            intents,
            payment_start,
            reports_start: self.show_reports.map(ReportsStart),
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn parse(args: &[&str]) -> Result<Config, String> {
        Cli::try_parse_from(std::iter::once("order-terminal").chain(args.iter().copied()))
            .map_err(|e| e.to_string())
            .and_then(|cli| cli.config())
    }

    #[test]
    fn screenshot_must_be_a_png_and_the_window_a_size() {
        let c = parse(&[]).expect("defaults");
        assert_eq!((c.screenshot, c.window), (None, (1920, 1080)));
        assert!(parse(&["--screenshot", "/tmp/terminal.PNG"]).is_ok());
        assert!(parse(&["--screenshot", "/tmp/terminal.jpg"]).is_err());
        assert_eq!(
            parse(&["--window", "1366x768"]).expect("size").window,
            (1366, 768)
        );
        assert!(parse(&["--window", "big"]).is_err());
        assert!(parse(&["--window", "10x10"]).is_err());
        assert!(parse(&["--no-such-option"]).is_err());
    }

    #[test]
    fn intents_come_from_a_checked_file() {
        let dir = tempfile::tempdir().expect("dir");
        let good = dir.path().join("good.json");
        std::fs::write(
            &good,
            r#"[{"intent":"sign_in","pin":"1357"},{"intent":"show_floor"}]"#,
        )
        .expect("write");
        let path = good.to_string_lossy().into_owned();
        assert_eq!(
            parse(&["--intents", &path]).expect("intents").intents.len(),
            2
        );
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, r#"[{"intent":"teleport"}]"#).expect("write");
        let path = bad.to_string_lossy().into_owned();
        assert!(parse(&["--intents", &path]).is_err());
        assert!(parse(&["--intents", "/no/such/file.json"]).is_err());
    }

    #[test]
    fn the_payment_screens_can_be_opened_at_start() {
        assert_eq!(parse(&[]).expect("none").payment_start, None);
        assert_eq!(
            parse(&["--show-payment"]).expect("pay").payment_start,
            Some(PaymentStart::Pay)
        );
        assert_eq!(
            parse(&["--show-receipt", "customer"])
                .expect("receipt")
                .payment_start,
            Some(PaymentStart::Receipt(ReceiptCopy::Customer))
        );
        assert!(parse(&["--show-receipt", "merchant"]).is_err());
        assert!(parse(&["--show-receipt", "napkin"]).is_err());
        assert!(parse(&["--show-payment", "--show-receipt", "guest"]).is_err());
    }

    #[test]
    fn the_reports_can_be_opened_at_start_on_a_tab() {
        assert_eq!(parse(&[]).expect("none").reports_start, None);
        for (tab, expected) in [
            ("service", ReportTab::Service),
            ("sales", ReportTab::Sales),
            ("z", ReportTab::Z),
            ("stock", ReportTab::Stock),
        ] {
            assert_eq!(
                parse(&["--show-reports", tab]).expect("tab").reports_start,
                Some(ReportsStart(expected))
            );
        }
        assert!(parse(&["--show-reports", "profits"]).is_err());
        assert!(parse(&["--show-reports"]).is_err());
        assert!(parse(&["--show-reports", "z", "--show-payment"]).is_err());
    }

    #[test]
    fn command_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
