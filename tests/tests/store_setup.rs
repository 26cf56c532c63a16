//! Setting up a store with `pass store init` and `pass menu …`, as separate processes.

use pass_tests::pass;

fn sample_menu() -> String {
    format!("{}/../assets/menu.toml", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn store_init_writes_menu_and_owner_once_and_a_second_run_changes_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("console.db").display().to_string();
    let menu = sample_menu();
    let (ok, text) = pass(&[
        "store", "init", "--db", &db, "--menu", &menu, "--owner", "Ana Ruiz", "--pin", "4821",
    ]);
    assert!(ok, "{text}");
    assert!(
        text.contains("menu published: 73 items") && text.contains("owner Ana Ruiz added"),
        "{text}"
    );
    let (_, before) = pass(&["journal", "show", &db]);
    let (ok, text) = pass(&[
        "store", "init", "--db", &db, "--menu", &menu, "--owner", "Ana Ruiz", "--pin", "4821",
    ]);
    assert!(ok, "{text}");
    assert!(
        text.contains("menu unchanged") && text.contains("already has staff"),
        "{text}"
    );
    let (ok, text) = pass(&["menu", "import", "--db", &db, &menu]);
    assert!(ok && text.contains("menu unchanged"), "{text}");
    let (_, after) = pass(&["journal", "show", &db]);
    assert_eq!(
        before, after,
        "importing the same menu again writes nothing"
    );
    assert_eq!(after.lines().count(), 3, "first event, menu, owner");
    assert!(!after.contains("4821"), "the PIN itself is never stored");
    assert!(after.contains("$argon2id$"), "only its argon2id hash");
}

#[test]
fn a_bad_menu_or_pin_is_refused_naming_the_place_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("tmp");
    let original = std::fs::read_to_string(sample_menu()).expect("menu");
    let cases = [
        (
            "typo",
            original.replacen("price = \"14.50\"", "pirce = \"14.50\"", 1),
            "unknown field `pirce`",
        ),
        (
            "price",
            original.replacen("price = \"14.50\"", "price = \"fourteen\"", 1),
            "classic_burger",
        ),
        (
            "group",
            original.replacen(
                "\"burger_doneness\", \"burger_extras\"",
                "\"burger_donenes\", \"burger_extras\"",
                1,
            ),
            "burger_donenes",
        ),
    ];
    for (name, text, expected) in cases {
        assert_ne!(text, original, "{name}: the test edit must change the file");
        let file = dir.path().join(format!("{name}.toml"));
        std::fs::write(&file, text).expect("write");
        let file = file.display().to_string();
        let (ok, out) = pass(&["menu", "check", &file]);
        assert!(!ok, "{name}: {out}");
        assert!(
            out.contains(expected) && out.contains("line "),
            "{name}: the error names the place: {out}"
        );
        let db = dir.path().join(format!("{name}.db"));
        let (ok, out) = pass(&[
            "store",
            "init",
            "--db",
            &db.display().to_string(),
            "--menu",
            &file,
            "--owner",
            "Ana",
            "--pin",
            "4821",
        ]);
        assert!(!ok, "{name}: {out}");
        assert!(
            !db.exists(),
            "{name}: nothing is written when the menu is refused"
        );
    }
    let db = dir.path().join("pin.db");
    let (ok, out) = pass(&[
        "store",
        "init",
        "--db",
        &db.display().to_string(),
        "--menu",
        &sample_menu(),
        "--owner",
        "Ana",
        "--pin",
        "12a4",
    ]);
    assert!(!ok && out.contains("PIN"), "{out}");
    assert!(!db.exists());
}

#[test]
fn an_owner_changes_a_store_setting_and_a_bad_value_or_pin_changes_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("console.db").display().to_string();
    let (ok, text) = pass(&[
        "store",
        "init",
        "--db",
        &db,
        "--menu",
        &sample_menu(),
        "--owner",
        "Ana",
        "--pin",
        "4821",
    ]);
    assert!(ok, "{text}");
    let (ok, text) = pass(&["store", "settings", "--db", &db]);
    assert!(
        ok && text.contains("day_cutoff_hour = 4") && text.contains("time_zone = UTC"),
        "defaults: {text}"
    );
    let (ok, text) = pass(&[
        "store",
        "set",
        "--db",
        &db,
        "time_zone",
        "America/New_York",
        "--pin",
        "4821",
    ]);
    assert!(ok, "{text}");
    let (ok, text) = pass(&[
        "store",
        "set",
        "--db",
        &db,
        "day_cutoff_hour",
        "5",
        "--pin",
        "4821",
    ]);
    assert!(ok, "{text}");
    let (_, before) = pass(&["journal", "show", &db]);
    for (args, why) in [
        (vec!["day_cutoff_hour", "25", "--pin", "4821"], "hour"),
        (
            vec!["time_zone", "Mars/Olympus", "--pin", "4821"],
            "time zone",
        ),
        (
            vec!["deduct_stock_on", "never", "--pin", "4821"],
            "send or payment",
        ),
        (vec!["day_cutoff_hour", "3", "--pin", "9999"], "sign-in"),
    ] {
        let mut full = vec!["store", "set", "--db", &db];
        full.extend(args);
        let (ok, text) = pass(&full);
        assert!(!ok, "{why}: {text}");
        assert!(text.to_lowercase().contains(why), "{why}: {text}");
    }
    let (_, after) = pass(&["journal", "show", &db]);
    assert_eq!(before, after, "refused changes write nothing");
    let (ok, text) = pass(&["store", "settings", "--db", &db]);
    assert!(
        ok && text.contains("time_zone = America/New_York") && text.contains("day_cutoff_hour = 5"),
        "{text}"
    );
}
