//! The kitchen screen and the order terminal run headless (`--headless`) as real devices:
//! the same runtime as `pass device run`, driven through their control sockets.

use std::process::{Child, Command, Stdio};

use pass_tests::{ControlClient, Mosquitto, PATIENCE, bin, check_opened, heads_of, wait_until};

struct App(Child);

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(
    program: &str,
    device: &str,
    dir: &std::path::Path,
    broker: &Mosquitto,
) -> (App, ControlClient) {
    let db = dir.join(format!("{device}.db"));
    let control = dir.join(format!("{device}.sock"));
    let child = Command::new(bin(program))
        .args([
            "--headless",
            "--store",
            "test-store",
            "--device",
            device,
            "--broker",
            &broker.url(),
        ])
        .arg("--db")
        .arg(&db)
        .arg("--control")
        .arg(&control)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the app headless");
    let client = ControlClient::new(&control);
    assert!(
        wait_until(PATIENCE, || client
            .request(&serde_json::json!({"cmd": "status"}))
            .is_ok()),
        "{program} --headless answers on its control socket"
    );
    (App(child), client)
}

#[test]
fn kds_and_order_terminal_run_headless_and_replicate() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().expect("tmp");
    let (_screen, screen) = start("kds", "grill", dir.path(), &broker);
    let (_terminal, terminal) = start("order-terminal", "t1", dir.path(), &broker);
    let status = |c: &ControlClient| {
        c.request(&serde_json::json!({"cmd": "status"}))
            .expect("status")
    };
    assert_eq!(status(&screen)["device"], "grill");
    let answer = terminal
        .request(&serde_json::json!({"cmd": "append", "event": check_opened("c1", "A1")}))
        .expect("append");
    assert_eq!(answer["ok"], true, "{answer}");
    let origin = status(&terminal)["origin"]
        .as_str()
        .expect("origin")
        .to_owned();
    assert!(
        wait_until(PATIENCE, || heads_of(&status(&screen))
            .get(&origin)
            .copied()
            == Some(2)),
        "the screen holds the terminal's check: {}",
        status(&screen)
    );
}
