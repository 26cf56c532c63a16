//! Journals written and exchanged by separate `pass` processes, each with its own database.

use pass_tests::pass;

#[test]
fn three_devices_exchange_journals_through_files_and_converge() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = |n: &str| dir.path().join(format!("{n}.db")).display().to_string();
    let file = |n: &str| dir.path().join(format!("{n}.jsonl")).display().to_string();
    for (name, role) in [
        ("grill", "kitchen-screen"),
        ("expo", "kitchen-screen"),
        ("bar", "order-terminal"),
    ] {
        let (ok, text) = pass(&["journal", "init", &db(name), "--role", role, "--name", name]);
        assert!(ok, "{text}");
        assert!(text.contains("with origin"), "{text}");
        let (ok, text) = pass(&["journal", "init", &db(name), "--role", role, "--name", name]);
        assert!(
            !ok && text.contains("already exists"),
            "a journal is created once: {text}"
        );
    }
    for name in ["grill", "expo", "bar"] {
        let (ok, text) = pass(&["journal", "show", &db(name)]);
        assert!(ok, "{text}");
        assert_eq!(
            text.lines().count(),
            1,
            "one first event per new journal: {text}"
        );
        std::fs::write(file(name), text).expect("write export");
    }
    for to in ["grill", "expo", "bar"] {
        for from in ["grill", "expo", "bar"] {
            if from != to {
                let (ok, text) = pass(&["journal", "import", &db(to), &file(from)]);
                assert!(ok, "{text}");
                assert!(text.contains("1 accepted"), "{text}");
            }
        }
    }
    // A second delivery of the same file changes nothing.
    let (ok, text) = pass(&["journal", "import", &db("bar"), &file("grill")]);
    assert!(
        ok && text.contains("0 accepted") && text.contains("1 already held"),
        "{text}"
    );
    let (ok, text) = pass(&[
        "journal",
        "verify",
        "--all-signatures",
        &db("grill"),
        &db("expo"),
        &db("bar"),
    ]);
    assert!(ok, "{text}");
    assert_eq!(text.matches("3 events, 3 origins").count(), 3, "{text}");
}

#[test]
fn a_tampered_import_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = dir.path().join("a.db").display().to_string();
    let b = dir.path().join("b.db").display().to_string();
    assert!(
        pass(&[
            "journal",
            "init",
            &a,
            "--role",
            "order-terminal",
            "--name",
            "a"
        ])
        .0
    );
    assert!(
        pass(&[
            "journal",
            "init",
            &b,
            "--role",
            "order-terminal",
            "--name",
            "b"
        ])
        .0
    );
    let (_, export) = pass(&["journal", "show", &a]);
    let tampered = export.replace("\"name\":\"a\"", "\"name\":\"z\"");
    assert_ne!(tampered, export);
    let file = dir.path().join("tampered.jsonl");
    std::fs::write(&file, tampered).expect("write");
    let (ok, text) = pass(&["journal", "import", &b, &file.display().to_string()]);
    assert!(!ok, "a set-aside message makes the import fail: {text}");
    assert!(
        text.contains("0 accepted") && text.contains("1 set aside"),
        "{text}"
    );
    let (ok, text) = pass(&["journal", "verify", &b]);
    assert!(ok && text.contains("1 events, 1 origins"), "{text}");
}
