//! A table of four taken through `pass terminal …` on a running order terminal, with headless
//! kitchen screens (grill, fry, sauté/cold, bar) on a real Mosquitto: two courses with
//! modifiers, the mains held and then fired, a void refused without a manager's PIN and made
//! with one, an addition, a split by seat and a move to another table. The kitchen screens
//! receive exactly the right tickets (the held course greyed until fired, the addition marked,
//! the void struck), the terminal's check shows "received ✓" once a screen has a ticket, and
//! the totals match the worked table below to the cent.

use std::collections::{BTreeMap, BTreeSet};

use pass_tests::{Device, DeviceSpec, Mosquitto, PATIENCE, Role, pass, wait_until};
use serde_json::Value;

/// The manager's and the server's PINs (the demo staff).
const MARIA: &str = "2580";
const SAM: &str = "1357";

const STATIONS: [&str; 4] = ["grill", "fry", "saute_cold", "bar"];

/// Runs `pass terminal --control <terminal> <args…>`; success and output.
fn terminal(device: &Device, args: &[&str]) -> (bool, String) {
    let control = device
        .control_path()
        .to_str()
        .expect("utf-8 path")
        .to_owned();
    let mut all = vec!["terminal", "--control", control.as_str()];
    all.extend_from_slice(args);
    pass(&all)
}

/// As [`terminal`], signed in as Sam; the JSON answer, which must be a success.
fn sam(device: &Device, args: &[&str]) -> Value {
    let mut all = vec!["--pin", SAM];
    all.extend_from_slice(args);
    let (ok, out) = terminal(device, &all);
    assert!(ok, "pass terminal {args:?}: {out}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out}"))
}

/// Signed in as Sam, a refusal: the output, which must say `why`.
fn refused(device: &Device, args: &[&str], why: &str) {
    let mut all = vec!["--pin", SAM];
    all.extend_from_slice(args);
    let (ok, out) = terminal(device, &all);
    assert!(
        !ok && out.contains(why),
        "{args:?} is refused with `{why}`: {out}"
    );
}

/// The check at table `table` as the terminal shows it.
fn show(device: &Device, table: &str) -> Value {
    sam(device, &["show", "--table", table, "--format", "json"])["check"].clone()
}

/// A kitchen screen's cards (`pass kitchen … list --format json`).
fn cards(screen: &Device) -> Vec<Value> {
    let control = screen
        .control_path()
        .to_str()
        .expect("utf-8 path")
        .to_owned();
    let (ok, out) = pass(&["kitchen", "--control", &control, "list", "--format", "json"]);
    assert!(ok, "{out}");
    let list: Value = serde_json::from_str(&out).expect("list JSON");
    list["cards"].as_array().cloned().unwrap_or_default()
}

/// A card's ticket id, whether it is held, and the lines it carries.
fn ticket(card: &Value) -> (String, bool, BTreeSet<String>) {
    let lines = card["lines"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["line"].as_str().map(str::to_owned))
        .collect();
    (
        card["key"].as_str().unwrap_or_default().to_owned(),
        card["held"] == Value::Bool(true),
        lines,
    )
}

/// Every screen's tickets: station → ticket id → (held, lines).
type Tickets = BTreeMap<String, BTreeMap<String, (bool, BTreeSet<String>)>>;

fn tickets(screens: &BTreeMap<&str, Device>) -> Tickets {
    screens
        .iter()
        .map(|(station, screen)| {
            let mut on_screen = BTreeMap::new();
            for card in cards(screen) {
                let (key, held, lines) = ticket(&card);
                assert!(
                    on_screen.insert(key.clone(), (held, lines)).is_none(),
                    "{station} shows ticket {key} twice"
                );
            }
            ((*station).to_owned(), on_screen)
        })
        .collect()
}

fn expect(
    tickets: &mut Tickets,
    station: &str,
    ticket: String,
    held: bool,
    lines: BTreeSet<String>,
) {
    tickets
        .get_mut(station)
        .expect("a station")
        .insert(ticket, (held, lines));
}

fn status_of<'a>(check: &'a Value, line: &str) -> &'a str {
    check["lines"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|l| l["line"] == line)
        .and_then(|l| l["status_text"].as_str())
        .unwrap_or("missing")
}

#[test]
fn a_four_top_in_two_courses_through_pass_terminal() {
    let broker = Mosquitto::start();
    let screens: BTreeMap<&str, Device> = STATIONS
        .iter()
        .map(|s| {
            // Device ids take no `_`.
            let id = s.replace('_', "-");
            let spec = DeviceSpec::new(&id, Role::KitchenScreen, &broker.url()).station(s);
            (*s, Device::start_spec(spec))
        })
        .collect();
    let t1 = Device::start("t1", Role::OrderTerminal, &broker);
    for event in pass_shared::kitchen::sample::store_events().expect("store") {
        t1.append(&serde_json::to_value(&event).expect("event JSON"));
    }

    let opened = sam(&t1, &["open", "--table", "12", "--guests", "4"]);
    let check = opened["check"].as_str().expect("check id").to_owned();
    assert_eq!(
        opened["number"], "T1",
        "the first order of terminal t1 today"
    );

    // The worked table. Course 1: starters and drinks; course 2: mains, held.
    //
    // | seat | course | item                     | modifiers                      | price  |
    // |------|--------|--------------------------|--------------------------------|--------|
    // | 1    | 1      | Roast Tomato Soup        |                                |   8.50 |
    // | 2    | 1      | Caesar Salad             | ranch, add grilled chicken 6.00|  19.00 |
    // | 3    | 1      | House Red (glass)        | (alcohol: + 2.5 % liquor tax)  |  10.00 |
    // | 4    | 1      | Cola                     | voided                         |   0.00 |
    // | 1    | 2      | Classic Burger           | medium rare, add bacon 2.00    |  16.50 |
    // | 2    | 2      | Ribeye 12 oz             | medium, peppercorn sauce 3.00  |  45.00 |
    // | 3    | 2      | Fish & Chips             |                                |  22.00 |
    // | 4    | 2      | Classic Burger           | well done, no onions           |  14.50 |
    // | 3    | 1      | Fries (an addition)      |                                |   5.00 |
    //
    // Subtotal 140.50. Sales tax 8.875 % of 140.50 = 12.469375 → 12.47; liquor tax 2.5 % of
    // 10.00 = 0.25. Total 153.22.
    let line = |args: &[&str]| -> String {
        let mut all = vec!["add", "--table", "12"];
        all.extend_from_slice(args);
        sam(&t1, &all)["line"].as_str().expect("line id").to_owned()
    };
    let soup = line(&["tomato_soup", "--seat", "1", "--course", "1"]);
    let salad = line(&[
        "caesar_salad",
        "--modifier",
        "dressing_ranch",
        "--modifier",
        "add_grilled_chicken",
        "--seat",
        "2",
        "--course",
        "1",
    ]);
    let wine = line(&["house_red_glass", "--seat", "3", "--course", "1"]);
    let cola = line(&["cola", "--seat", "4", "--course", "1"]);
    let burger = line(&[
        "classic_burger",
        "--modifier",
        "medium_rare",
        "--modifier",
        "add_bacon",
        "--seat",
        "1",
        "--course",
        "2",
    ]);
    // The doneness cannot be left out.
    refused(
        &t1,
        &[
            "add", "--table", "12", "ribeye", "--seat", "2", "--course", "2",
        ],
        "Ribeye 12 oz needs a choice of Doneness",
    );
    let ribeye = line(&[
        "ribeye",
        "--modifier",
        "medium",
        "--modifier",
        "sauce_peppercorn",
        "--seat",
        "2",
        "--course",
        "2",
    ]);
    let fish = line(&["fish_and_chips", "--seat", "3", "--course", "2"]);
    let burger4 = line(&[
        "classic_burger",
        "--modifier",
        "well_done",
        "--modifier",
        "no_onions",
        "--seat",
        "4",
        "--course",
        "2",
    ]);
    sam(&t1, &["hold", "--table", "12", "--course", "2"]);
    let sent = sam(&t1, &["send", "--table", "12"]);
    assert_eq!(
        sent["signed_out"], true,
        "back to the PIN screen after a send"
    );

    // Each station gets its tickets of the send; the mains are there, held.
    let id = |send: u32, station: &str, course: u8| format!("{check}/{send}/{station}/{course}");
    let set = |lines: &[&String]| lines.iter().map(|l| (*l).clone()).collect::<BTreeSet<_>>();
    let mut expected: Tickets = STATIONS
        .iter()
        .map(|s| ((*s).to_owned(), BTreeMap::new()))
        .collect();
    expect(
        &mut expected,
        "saute_cold",
        id(1, "saute_cold", 1),
        false,
        set(&[&soup, &salad]),
    );
    expect(
        &mut expected,
        "bar",
        id(1, "bar", 1),
        false,
        set(&[&wine, &cola]),
    );
    expect(
        &mut expected,
        "grill",
        id(1, "grill", 2),
        true,
        set(&[&burger, &ribeye, &burger4]),
    );
    expect(
        &mut expected,
        "fry",
        id(1, "fry", 2),
        true,
        set(&[&burger, &fish, &burger4]),
    );
    expect(
        &mut expected,
        "saute_cold",
        id(1, "saute_cold", 2),
        true,
        set(&[&ribeye]),
    );
    assert!(
        wait_until(PATIENCE, || tickets(&screens) == expected),
        "the kitchen has exactly the first send's tickets, mains held: {:#?}",
        tickets(&screens)
    );

    // "received ✓" once the screens show the starters; the mains wait, held.
    assert!(
        wait_until(PATIENCE, || {
            let c = show(&t1, "12");
            [&soup, &salad, &wine, &cola]
                .iter()
                .all(|l| status_of(&c, l) == "received ✓")
        }),
        "the terminal sees its starters received: {:#}",
        show(&t1, "12")
    );
    let c = show(&t1, "12");
    for main in [&burger, &ribeye, &fish, &burger4] {
        assert_eq!(status_of(&c, main), "held");
    }

    // The cola goes back: not without a manager's PIN, not with a server's, then with Maria's.
    refused(
        &t1,
        &[
            "void",
            "--table",
            "12",
            &cola,
            "--reason",
            "guest changed their mind",
        ],
        "a void needs a manager's PIN",
    );
    refused(
        &t1,
        &[
            "void",
            "--table",
            "12",
            &cola,
            "--manager-pin",
            SAM,
            "--reason",
            "guest changed their mind",
        ],
        "Sam (server) may not approve a void",
    );
    refused(
        &t1,
        &["void", "--table", "12", &cola, "--manager-pin", MARIA],
        "a void needs a reason",
    );
    sam(
        &t1,
        &[
            "void",
            "--table",
            "12",
            &cola,
            "--manager-pin",
            MARIA,
            "--reason",
            "guest changed their mind",
        ],
    );
    assert!(
        wait_until(PATIENCE, || cards(&screens["bar"]).iter().any(|card| {
            card["lines"].as_array().into_iter().flatten().any(|l| {
                l["line"] == cola.as_str()
                    && l["text"].as_str().is_some_and(|t| t.starts_with("VOID"))
            })
        })),
        "the bar sees the cola voided: {:#?}",
        cards(&screens["bar"])
    );

    // Fries for seat 3, after the first send: an addition, on a ticket of its own.
    let fries = line(&["fries", "--seat", "3", "--course", "1"]);
    sam(&t1, &["send", "--table", "12"]);
    expect(&mut expected, "fry", id(2, "fry", 1), false, set(&[&fries]));
    assert!(
        wait_until(PATIENCE, || tickets(&screens) == expected),
        "the addition reaches the fry station alone: {:#?}",
        tickets(&screens)
    );
    let fry_cards = cards(&screens["fry"]);
    let addition = fry_cards
        .iter()
        .find(|c| c["key"] == id(2, "fry", 1).as_str())
        .expect("the addition's ticket");
    assert!(
        addition["lines"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|l| l["line"] == fries.as_str() && l["style"] == "addition"),
        "marked as an addition: {addition:#}"
    );

    // Fire the mains: every held ticket goes live, and nothing else arrives.
    sam(&t1, &["fire", "--table", "12", "--course", "2"]);
    for (station, course2) in [("grill", 2), ("fry", 2), ("saute_cold", 2)] {
        let ticket = id(1, station, course2);
        let entry = expected
            .get_mut(station)
            .and_then(|t| t.get_mut(&ticket))
            .expect("a held ticket");
        entry.0 = false;
    }
    assert!(
        wait_until(PATIENCE, || tickets(&screens) == expected),
        "the mains are fired: {:#?}",
        tickets(&screens)
    );
    assert!(
        wait_until(PATIENCE, || {
            let c = show(&t1, "12");
            [&burger, &ribeye, &fish, &burger4, &fries]
                .iter()
                .all(|l| status_of(&c, l) == "received ✓")
        }),
        "the mains and the fries are received: {:#}",
        show(&t1, "12")
    );

    // Totals to the cent, then split by seat.
    let c = show(&t1, "12");
    let totals = &c["totals"];
    assert_eq!(
        [
            &totals["subtotal"],
            &totals["tax_added"],
            &totals["discount"],
            &totals["total"]
        ],
        ["140.50", "12.72", "0.00", "153.22"]
    );
    assert_eq!(status_of(&c, &cola), "void");
    // Seat 1: 25.00 of food; seat 2: 64.00; seat 3: 27.00 of food and 10.00 of wine; seat 4:
    // 14.50. 153.22 in proportion to each seat's lines with their own tax (food × 108.875, wine
    // × 111.375): 27.2189 → 27.22, 69.6803 → 69.68, 40.5339 → 40.53, 15.7869 → 15.79.
    let split = sam(&t1, &["split", "--table", "12", "--by-seat"]);
    let parts: Vec<(u64, String)> = split["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .map(|p| {
            (
                p["seat"].as_u64().expect("seat"),
                p["amount"].as_str().expect("amount").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        parts,
        [
            (1, "27.22".to_owned()),
            (2, "69.68".to_owned()),
            (3, "40.53".to_owned()),
            (4, "15.79".to_owned())
        ]
    );
    assert_eq!(show(&t1, "12")["split"]["rule"]["by"], "seat");

    // Moved to table 14: the floor and the kitchen follow.
    refused(
        &t1,
        &["move", "--table", "12", "--to", "99"],
        "no table `99`",
    );
    sam(&t1, &["move", "--table", "12", "--to", "14"]);
    let floor = sam(&t1, &["tables", "--format", "json"])["floor"].clone();
    let state = |table: &str| {
        floor["tables"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["id"] == table)
            .map(|t| t["state"].as_str().unwrap_or_default().to_owned())
            .expect("table")
    };
    assert_eq!(
        (state("12"), state("14")),
        ("free".to_owned(), "seated".to_owned())
    );
    assert_eq!(show(&t1, "14")["check"], check.as_str());
    assert!(
        wait_until(PATIENCE, || cards(&screens["grill"])
            .iter()
            .all(|c| c["place"] == "T14")),
        "the grill's ticket now says table 14: {:#?}",
        cards(&screens["grill"])
    );
    assert_eq!(
        tickets(&screens),
        expected,
        "still exactly the same tickets"
    );
    let (ok, people) = terminal(&t1, &["--pin", SAM, "show", "--table", "14"]);
    assert!(
        ok && people.contains("received ✓") && people.contains("total 153.22"),
        "{people}"
    );
}
