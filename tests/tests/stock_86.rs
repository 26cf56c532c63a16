//! Stock across real processes: a real Mosquitto on a loopback port of the test's own, an order
//! terminal and a kitchen screen, each its own `pass device run` process with its own database.
//! Forty burgers with mixed modifiers sold on the terminal deduct exactly their recipes; the
//! last patty 86's the burger on both devices; a delivery lifts it on both. The test waits with
//! a generous limit and prints the delay from the sale to the 86 on the screen (never asserts
//! it).

use std::time::Instant;

use pass_shared::domain::menu::{ItemId, ModifierId};
use pass_shared::journal::open_read_only;
use pass_shared::projection;
use pass_tests::{Device, Mosquitto, PATIENCE, Role, check_opened, sample_menu, wait_until};
use serde_json::json;

/// Burgers sold: (modifiers, how many).
const BURGERS: [(&[&str], u32); 4] = [
    (&["medium"], 10),
    (&["medium", "no_cheese"], 10),
    (&["medium", "add_bacon"], 10),
    (&["medium", "extra_cheese", "add_bacon"], 10),
];

fn eighty_sixed(device: &Device) -> bool {
    let Ok(db) = open_read_only(device.db()) else {
        return false;
    };
    projection::eighty_sixed(&db, &sample_menu())
        .is_ok_and(|items| items.contains(&ItemId::new("classic_burger")))
}

/// An ingredient's level on a device, as text ("60").
fn level(device: &Device, ingredient: &str) -> Option<String> {
    let db = open_read_only(device.db()).ok()?;
    projection::stock_levels(&db)
        .ok()?
        .get(ingredient)
        .map(|l| l.normalize().to_string())
}

#[test]
fn forty_burgers_deduct_their_recipes_and_the_last_patty_86s_the_burger_everywhere() {
    let broker = Mosquitto::start();
    let terminal = Device::start("t1", Role::OrderTerminal, &broker);
    let grill = Device::start("grill", Role::KitchenScreen, &broker);
    let menu = sample_menu();
    terminal
        .append(&json!({"kind": "menu_published", "payload": {"toml": pass_tests::SAMPLE_MENU}}));
    for (ingredient, qty) in [
        ("beef_patty", "40"),
        ("cheddar_slice", "100"),
        ("bacon", "100"),
    ] {
        terminal.append(&json!({
            "kind": "stock_received",
            "payload": {"ingredient": ingredient, "qty": qty}
        }));
    }
    let mut n = 0;
    let mut last_sale = Instant::now();
    for (mods, count) in BURGERS {
        for _ in 0..count {
            n += 1;
            let check = format!("t1-b{n}");
            let priced = menu
                .price_line(
                    &ItemId::new("classic_burger"),
                    &mods.iter().map(|m| ModifierId::new(*m)).collect::<Vec<_>>(),
                    1,
                )
                .expect("priced");
            let line =
                pass_shared::projection::fold::line_record(&pass_shared::domain::check::NewLine {
                    id: pass_shared::domain::check::LineId::new(format!("{check}-l1")),
                    priced,
                    seat: None,
                    course: pass_shared::domain::check::Course(1),
                    notes: String::new(),
                });
            terminal.append(&check_opened(&check, &format!("A{n}")));
            terminal.append(&json!({
                "kind": "lines_added",
                "payload": {"check": check, "lines": [line]}
            }));
            last_sale = Instant::now();
            terminal.append(&json!({
                "kind": "items_sent",
                "payload": {"check": check, "send": 1, "lines": [format!("{check}-l1")]}
            }));
        }
    }
    assert!(
        wait_until(PATIENCE, || eighty_sixed(&grill)),
        "the kitchen screen 86'd the burger"
    );
    println!(
        "86 at zero reached the kitchen screen {:.0} ms after the last sale",
        last_sale.elapsed().as_secs_f64() * 1000.0
    );
    assert!(eighty_sixed(&terminal), "the terminal 86'd the burger");
    // Counted from the recipe by hand: a patty each; a cheddar slice unless "no cheese", one more
    // with "extra cheese"; two rashers with "add bacon".
    for device in [&terminal, &grill] {
        assert_eq!(level(device, "beef_patty").as_deref(), Some("0"));
        // Cheddar: 10 + 0 + 10 + 20 = 40 used. Bacon: 0 + 0 + 20 + 20 = 40 used.
        assert_eq!(level(device, "cheddar_slice").as_deref(), Some("60"));
        assert_eq!(level(device, "bacon").as_deref(), Some("60"));
    }
    // A delivery lifts the 86 everywhere.
    terminal.append(&json!({
        "kind": "stock_received",
        "payload": {"ingredient": "beef_patty", "qty": "10"}
    }));
    assert!(
        wait_until(PATIENCE, || !eighty_sixed(&grill)
            && !eighty_sixed(&terminal)),
        "receiving patties lifts the 86 on both devices"
    );
}
