//! Payments in the cross-process tests: the card terminal simulator as a process of its own
//! ([`CardSim`]), a receipt printer listening on loopback ([`PrinterListener`]) and a decoding
//! of what it received ([`decode_escpos`], written apart from the encoder), `pass pay`
//! ([`pay`]), the sample menu and demo staff on a device ([`set_up_store`]), and a scan of files
//! for card numbers ([`card_number_hits`]).
//!
//! Everything listens on and connects to loopback only.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pass_shared::domain::payment::find_card_number;
use pass_shared::domain::staff::PinHash;
use pass_shared::kitchen::sample::DEMO_STAFF;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::{Device, SAMPLE_MENU, STARTUP, bin, wait_until};

/// The simulator's test cards (see `pass_shared::payments::sim`).
pub mod cards {
    pub const VISA: &str = "4242424242424242";
    pub const MASTERCARD: &str = "5555555555554444";
    pub const AMEX: &str = "378282246310005";
    pub const DECLINED: &str = "4000000000000002";
    pub const PREPAID_20: &str = "4000000000009995";
    pub const NETWORK_TIMEOUT: &str = "4000000000000119";
    pub const ANSWER_LOST: &str = "4000000000000259";
    pub const DECLINED_ON_UPLOAD: &str = "4000000000000341";
    /// Every test card.
    pub const ALL: [&str; 8] = [
        VISA,
        MASTERCARD,
        AMEX,
        DECLINED,
        PREPAID_20,
        NETWORK_TIMEOUT,
        ANSWER_LOST,
        DECLINED_ON_UPLOAD,
    ];
}

/// The demo staff's PINs.
pub const MANAGER_PIN: &str = "2580";
pub const SERVER_PIN: &str = "1357";
pub const BARTENDER_PIN: &str = "3690";

/// `card-terminal-sim serve` on a free loopback port, with its request log in a temporary
/// directory. Dropping it kills it.
pub struct CardSim {
    child: Option<Child>,
    dir: TempDir,
    port: u16,
}

impl CardSim {
    /// Starts the simulator; a card network that never answers keeps it waiting `hold_ms`
    /// before it declines.
    pub fn start(hold_ms: u64) -> CardSim {
        let dir = tempfile::Builder::new()
            .prefix("pass-card-sim-")
            .tempdir()
            .expect("a directory for the simulator");
        let port_file = dir.path().join("port");
        let out = std::fs::File::create(dir.path().join("sim.log")).expect("sim log");
        let err = out.try_clone().expect("sim log handle");
        let child = Command::new(bin("card-terminal-sim"))
            .args(["serve", "--listen", "127.0.0.1:0", "--log"])
            .arg(dir.path().join("requests.jsonl"))
            .arg("--port-file")
            .arg(&port_file)
            .args(["--hold-ms", &hold_ms.to_string()])
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start card-terminal-sim");
        let mut sim = CardSim {
            child: Some(child),
            dir,
            port: 0,
        };
        let came_up = wait_until(STARTUP, || {
            std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|t| t.trim().parse::<u16>().ok())
                .is_some_and(|p| {
                    sim.port = p;
                    true
                })
        });
        assert!(came_up, "the simulator never listened:\n{}", sim.output());
        sim
    }

    /// `127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The simulator's directory (request log, output).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn output(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sim.log")).unwrap_or_default()
    }

    fn control(&self, line: Value) {
        let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).expect("reach the sim");
        stream
            .set_read_timeout(Some(STARTUP))
            .expect("read timeout");
        (&stream)
            .write_all(format!("{line}\n").as_bytes())
            .expect("send a control");
        let mut answer = String::new();
        BufReader::new(&stream)
            .read_line(&mut answer)
            .expect("the sim answers");
        assert_eq!(answer.trim(), r#"{"ok":true}"#, "control {}", line["sim"]);
    }

    /// A guest presents `card`: the next sale or pre-authorisation reads it.
    pub fn tap(&self, card: &str) {
        self.control(json!({"sim": "tap", "card": card}));
    }

    /// The card network goes away (`false`) or comes back (`true`, uploading what was stored).
    pub fn network(&self, online: bool) {
        self.control(json!({"sim": "network", "online": online}));
    }

    /// Moves the simulator's clock on.
    pub fn advance(&self, ms: i64) {
        self.control(json!({"sim": "advance", "ms": ms}));
    }

    /// Every request log entry so far.
    pub fn log(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("requests.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON log line"))
            .collect()
    }

    /// The log entries of one idempotency key, in order.
    pub fn requests_with_key(&self, key: &str) -> Vec<Value> {
        self.log().into_iter().filter(|e| e["key"] == key).collect()
    }
}

impl Drop for CardSim {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("===== card-terminal-sim =====\n{}", self.output());
        }
    }
}

/// A receipt printer on a free loopback port: it keeps the bytes of every connection (one job
/// each). Dropping it stops it.
pub struct PrinterListener {
    port: u16,
    jobs: Arc<Mutex<Vec<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PrinterListener {
    pub fn start() -> PrinterListener {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind the printer");
        let port = listener.local_addr().expect("printer address").port();
        listener.set_nonblocking(true).expect("non-blocking");
        let jobs = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (jobs_in, stop_in) = (Arc::clone(&jobs), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            while !stop_in.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        let _ = stream.set_nonblocking(false);
                        let _ = stream.set_read_timeout(Some(STARTUP));
                        let mut job = Vec::new();
                        let _ = stream.read_to_end(&mut job);
                        jobs_in.lock().expect("jobs").push(job);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        PrinterListener {
            port,
            jobs,
            stop,
            thread: Some(thread),
        }
    }

    /// `127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The jobs received so far, in order.
    pub fn jobs(&self) -> Vec<Vec<u8>> {
        self.jobs.lock().expect("jobs").clone()
    }
}

impl Drop for PrinterListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What a receipt printer does with a job, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Printed {
    /// A line of text, bold and/or double size.
    Line {
        text: String,
        bold: bool,
        double: bool,
    },
    /// Feed and cut the paper.
    Cut,
}

/// Decodes the ESC/POS a receipt printer received: text lines with their styles, and cuts.
/// Knows the commands a receipt printer takes for plain receipts (ESC @, ESC t, ESC E, ESC d,
/// GS !, GS V); anything else is an error, as is text left without its line feed.
pub fn decode_escpos(job: &[u8]) -> Result<Vec<Printed>, String> {
    let mut out = Vec::new();
    let (mut bold, mut double) = (false, false);
    let mut text = String::new();
    let mut i = 0;
    let arg = |i: usize| {
        job.get(i)
            .copied()
            .ok_or_else(|| format!("a command cut short at byte {i}"))
    };
    while i < job.len() {
        match job[i] {
            0x1B => match arg(i + 1)? {
                b'@' => {
                    bold = false;
                    double = false;
                    i += 2;
                }
                b't' | b'd' => {
                    arg(i + 2)?;
                    i += 3;
                }
                b'E' => {
                    bold = arg(i + 2)? & 1 == 1;
                    i += 3;
                }
                other => return Err(format!("ESC {other:#04x} at byte {i}")),
            },
            0x1D => match arg(i + 1)? {
                b'!' => {
                    double = arg(i + 2)? != 0;
                    i += 3;
                }
                b'V' => {
                    if arg(i + 2)? == 66 {
                        arg(i + 3)?;
                        i += 4;
                    } else {
                        i += 3;
                    }
                    if !text.is_empty() {
                        return Err(format!("text `{text}` cut without a line feed"));
                    }
                    out.push(Printed::Cut);
                }
                other => return Err(format!("GS {other:#04x} at byte {i}")),
            },
            0x0A => {
                out.push(Printed::Line {
                    text: std::mem::take(&mut text),
                    bold,
                    double,
                });
                i += 1;
            }
            b @ 0x20..=0x7E => {
                text.push(char::from(b));
                i += 1;
            }
            other => return Err(format!("byte {other:#04x} at {i}")),
        }
    }
    if !text.is_empty() {
        return Err(format!("text `{text}` at the end without a line feed"));
    }
    Ok(out)
}

/// `pass pay --control <device's socket> <args>`: success and the JSON answer printed.
pub fn pay(device: &Device, args: &[&str]) -> (bool, Value) {
    let out = Command::new(bin("pass"))
        .arg("pay")
        .arg("--control")
        .arg(device.control_path())
        .args(args)
        .output()
        .expect("run pass pay");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let answer = serde_json::from_str(&stdout)
        .unwrap_or_else(|_| json!({"raw": stdout, "stderr": String::from_utf8_lossy(&out.stderr)}));
    (out.status.success(), answer)
}

/// [`pay`], which must succeed: its answer.
pub fn pay_ok(device: &Device, args: &[&str]) -> Value {
    let (ok, answer) = pay(device, args);
    assert!(ok, "pass pay {args:?} failed: {answer:#}");
    answer
}

/// `pass pay <args>` (receipt text): its success and its output lines.
pub fn pay_text(device: &Device, args: &[&str]) -> (bool, Vec<String>) {
    let out = Command::new(bin("pass"))
        .arg("pay")
        .arg("--control")
        .arg(device.control_path())
        .args(args)
        .output()
        .expect("run pass pay");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect(),
    )
}

/// Publishes the sample menu and the demo staff (maria manager 2580, sam server 1357, ana
/// server 2468, ben bartender 3690) through `device`.
pub fn set_up_store(device: &Device) {
    device.append(&json!({"kind": "menu_published", "payload": {"toml": SAMPLE_MENU}}));
    let salt = *b"pass-demo-salt16";
    for (id, name, role, pin) in DEMO_STAFF {
        let hash = PinHash::new(pin, salt).expect("a demo PIN");
        device.append(&json!({"kind": "staff_added", "payload": {
            "staff": id, "name": name, "role": role, "pin_hash": hash.as_str()
        }}));
    }
}

/// Opens dine-in check `check` (number `number`) at `table` with `seats` seats, served by sam,
/// with one line of each `(item, seat)` (forced modifiers at their first choice), and sends
/// them all to the kitchen.
pub fn open_check(
    device: &Device,
    check: &str,
    number: &str,
    table: &str,
    seats: u32,
    lines: &[(&str, u32)],
) {
    let menu = crate::sample_menu();
    device.append(&json!({"kind": "check_opened", "payload": {
        "check": check, "number": number, "order_type": "dine_in", "table": table,
        "guests": seats, "seats": seats, "server": "sam",
    }}));
    let records: Vec<_> = lines
        .iter()
        .enumerate()
        .map(|(i, (item, seat))| crate::sell(&menu, item, &format!("{check}-l{i}"), *seat, 1))
        .collect();
    let ids: Vec<String> = records.iter().map(|r| r.line.clone()).collect();
    device.append(&json!({"kind": "lines_added", "payload": {"check": check, "lines": records}}));
    device.append(
        &json!({"kind": "items_sent", "payload": {"check": check, "send": 1, "lines": ids}}),
    );
}

/// A check's payment view on `device` (`pass pay view`).
pub fn view(device: &Device, check: &str) -> Value {
    pay_ok(device, &["view", check])["view"].clone()
}

/// Points a terminal at its card terminal and printer (either may be left out).
pub fn set_up_payments(device: &Device, card_terminal: Option<&str>, printer: Option<&str>) {
    let mut args = vec!["setup", "--card-answer-ms", "5000"];
    if let Some(t) = card_terminal {
        args.extend(["--card-terminal", t]);
    }
    if let Some(p) = printer {
        args.extend(["--printer", p]);
    }
    pay_ok(device, &args);
}

/// Every regular file under `dirs` (recursively).
fn files_under(dirs: &[&Path]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo: Vec<PathBuf> = dirs.iter().map(|d| d.to_path_buf()).collect();
    while let Some(dir) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => todo.push(path),
                Ok(t) if t.is_file() => out.push(path),
                _ => {}
            }
        }
    }
    out.sort();
    out
}

/// Hex digests and keys (32 or more hex digits with a letter among them) blanked out: digits
/// inside a hash or a public key are not a number anyone wrote.
fn without_hex_digests(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_hexdigit() {
            i += 1;
            continue;
        }
        let end = (i..bytes.len())
            .find(|&j| !bytes[j].is_ascii_hexdigit())
            .unwrap_or(bytes.len());
        if end - i >= 32 && bytes[i..end].iter().any(u8::is_ascii_alphabetic) {
            out[i..end].fill(b'x');
        }
        i = end;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where card numbers appear in the files under `dirs` (databases, their WAL files, logs,
/// anything): each of `cards` as bytes, and any Luhn-valid number in a card network's range,
/// written as one run or in groups. Each hit as `file: what`.
pub fn card_number_hits(dirs: &[&Path], cards: &[&str]) -> Vec<String> {
    let mut hits = Vec::new();
    for file in files_under(dirs) {
        let Ok(bytes) = std::fs::read(&file) else {
            continue;
        };
        for card in cards {
            if bytes.windows(card.len()).any(|w| w == card.as_bytes()) {
                hits.push(format!(
                    "{}: test card ending {}",
                    file.display(),
                    &card[card.len() - 4..]
                ));
            }
        }
        let text = without_hex_digests(&String::from_utf8_lossy(&bytes));
        let mut rest = text.as_str();
        while let Some((start, end)) = find_card_number(rest) {
            let digits: String = rest[start..end]
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            hits.push(format!(
                "{}: a card number ending {}",
                file.display(),
                &digits[digits.len().saturating_sub(4)..]
            ));
            rest = &rest[end..];
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decoder_reads_lines_styles_and_cuts_and_refuses_what_it_does_not_know() {
        let job = [
            &[0x1B, b'@', 0x1B, b't', 0][..],
            &[0x1D, b'!', 0x11, 0x1B, b'E', 1],
            b"SHOP\n",
            &[0x1B, b'E', 0, 0x1D, b'!', 0],
            b"line\n",
            &[0x1B, b'd', 4, 0x1D, b'V', 66, 0],
        ]
        .concat();
        assert_eq!(
            decode_escpos(&job),
            Ok(vec![
                Printed::Line {
                    text: "SHOP".into(),
                    bold: true,
                    double: true
                },
                Printed::Line {
                    text: "line".into(),
                    bold: false,
                    double: false
                },
                Printed::Cut,
            ])
        );
        assert!(decode_escpos(&[0x1B, b'Z']).is_err());
        assert!(decode_escpos(b"no line feed").is_err());
        assert!(decode_escpos(&[0xFF]).is_err());
    }

    #[test]
    fn the_scan_finds_card_numbers_however_written_and_ignores_hex_digests() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join("clean"), "hash 5105105105105100a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5 at 1777636800000 hlc 116480823623581696").expect("write");
        assert_eq!(card_number_hits(&[dir.path()], &[]), Vec::<String>::new());
        std::fs::write(dir.path().join("dirty"), "card=5555 5555 5555 4444;").expect("write");
        let hits = card_number_hits(&[dir.path()], &cards::ALL);
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert!(hits[0].ends_with("a card number ending 4444"), "{hits:?}");
    }
}
