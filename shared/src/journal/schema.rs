//! Versioned migrations of a device's database. `PRAGMA user_version` records how many have
//! been applied; each runs in its own transaction, and a database newer than this build is
//! refused rather than guessed at. Public so tools and benchmarks build the very same schema.

use rusqlite::Connection;

/// Migrations in order; index + 1 is the version each one brings the database to.
const MIGRATIONS: &[&str] = &[
    // 1: the journal.
    r#"
    CREATE TABLE identity (
        only_row    INTEGER PRIMARY KEY CHECK (only_row = 1),
        origin      TEXT NOT NULL,
        secret_key  BLOB NOT NULL,
        created_ms  INTEGER NOT NULL
    );
    -- Every accepted event, in arrival order. (origin, seq) is unique except for forks, whose
    -- versions are all kept.
    CREATE TABLE events (
        id          INTEGER PRIMARY KEY,
        origin      TEXT NOT NULL,
        seq         INTEGER NOT NULL CHECK (seq >= 1),
        hlc         INTEGER NOT NULL,
        wall_ms     INTEGER NOT NULL,
        kind        TEXT NOT NULL,
        body        TEXT NOT NULL,
        prev_hash   BLOB NOT NULL,
        hash        BLOB NOT NULL,
        sig         BLOB NOT NULL,
        UNIQUE (origin, seq, hash)
    );
    CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'the journal is append-only: events cannot be changed'); END;
    CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'the journal is append-only: events cannot be deleted'); END;
    -- Two versions of one (origin, seq): an alarm that is never silently dropped.
    CREATE TABLE forks (
        id           INTEGER PRIMARY KEY,
        origin       TEXT NOT NULL,
        seq          INTEGER NOT NULL,
        kept_hash    BLOB NOT NULL,
        other_hash   BLOB NOT NULL,
        detected_ms  INTEGER NOT NULL
    );
    CREATE TRIGGER forks_no_update BEFORE UPDATE ON forks
        BEGIN SELECT RAISE(ABORT, 'fork records cannot be changed'); END;
    CREATE TRIGGER forks_no_delete BEFORE DELETE ON forks
        BEGIN SELECT RAISE(ABORT, 'fork records cannot be deleted'); END;
    -- Events whose predecessor has not arrived yet (not part of the journal).
    CREATE TABLE held (
        origin      TEXT NOT NULL,
        seq         INTEGER NOT NULL,
        hash        BLOB NOT NULL,
        envelope    TEXT NOT NULL,
        held_ms     INTEGER NOT NULL,
        PRIMARY KEY (origin, seq, hash)
    );
    -- Messages set aside (malformed, oversized, bad signature), for a person to look at.
    CREATE TABLE set_aside (
        id          INTEGER PRIMARY KEY,
        at_ms       INTEGER NOT NULL,
        reason      TEXT NOT NULL,
        excerpt     TEXT NOT NULL
    );
    "#,
    // 2: projections (derived from the journal, rebuildable at any time; not append-only).
    r#"
    -- Which events act on which subject (a check), in fold order.
    CREATE TABLE subject_events (
        subject   TEXT NOT NULL,
        hlc       INTEGER NOT NULL,
        origin    TEXT NOT NULL,
        seq       INTEGER NOT NULL,
        event_id  INTEGER NOT NULL,
        PRIMARY KEY (subject, hlc, origin, seq)
    );
    CREATE TABLE proj_checks (
        check_id        TEXT PRIMARY KEY,
        number          TEXT NOT NULL,
        order_type      TEXT NOT NULL,
        table_id        TEXT,
        server          TEXT NOT NULL,
        guests          INTEGER NOT NULL,
        state           TEXT NOT NULL,
        subtotal_cents  INTEGER NOT NULL,
        discount_cents  INTEGER NOT NULL,
        tax_cents       INTEGER NOT NULL,
        total_cents     INTEGER NOT NULL,
        paid_cents      INTEGER NOT NULL,
        opened_hlc      INTEGER NOT NULL,
        -- The event that closed the check (its sale), while closed.
        closed_hlc      INTEGER,
        closed_origin   TEXT,
        closed_seq      INTEGER,
        closed_wall_ms  INTEGER,
        -- Soft ownership: the device and person that have the check open now.
        open_on_device  TEXT,
        open_on_staff   TEXT
    );
    CREATE TABLE proj_lines (
        check_id      TEXT NOT NULL,
        line_id       TEXT NOT NULL,
        item          TEXT NOT NULL,
        name          TEXT NOT NULL,
        qty           INTEGER NOT NULL,
        amount_cents  INTEGER NOT NULL,
        seat          INTEGER,
        course        INTEGER NOT NULL,
        sent          INTEGER,
        voided        INTEGER NOT NULL,
        comped        INTEGER NOT NULL,
        PRIMARY KEY (check_id, line_id)
    );
    CREATE TABLE proj_tickets (
        ticket_id   TEXT PRIMARY KEY,
        check_id    TEXT NOT NULL,
        number      TEXT NOT NULL,
        station     TEXT NOT NULL,
        course      INTEGER NOT NULL,
        state       TEXT NOT NULL,
        held        INTEGER NOT NULL,
        rush        INTEGER NOT NULL,
        queued_hlc  INTEGER NOT NULL,
        shown_ms    INTEGER,
        bumped_ms   INTEGER,
        recalls     INTEGER NOT NULL,
        items       TEXT NOT NULL
    );
    CREATE INDEX proj_tickets_by_station ON proj_tickets (station, state);
    CREATE TABLE proj_conflicts (
        subject  TEXT NOT NULL,
        origin   TEXT NOT NULL,
        seq      INTEGER NOT NULL,
        reason   TEXT NOT NULL,
        PRIMARY KEY (subject, origin, seq)
    );
    -- Last-writer-wins registers in fold order: the menu, settings, 86 state, staff.
    CREATE TABLE proj_registers (
        key     TEXT PRIMARY KEY,
        hlc     INTEGER NOT NULL,
        origin  TEXT NOT NULL,
        seq     INTEGER NOT NULL,
        value   TEXT NOT NULL
    );
    -- Stock movements: received, counted, and sales (derived from checks).
    CREATE TABLE proj_stock_moves (
        ingredient  TEXT NOT NULL,
        hlc         INTEGER NOT NULL,
        origin      TEXT NOT NULL,
        seq         INTEGER NOT NULL,
        kind        TEXT NOT NULL CHECK (kind IN ('received', 'counted', 'sold')),
        qty         TEXT NOT NULL,
        check_id    TEXT NOT NULL DEFAULT '',
        line_id     TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (ingredient, origin, seq, line_id)
    );
    CREATE INDEX proj_stock_moves_by_check ON proj_stock_moves (check_id);
    CREATE TABLE proj_days (
        business_day  TEXT NOT NULL,
        hlc           INTEGER NOT NULL,
        origin        TEXT NOT NULL,
        seq           INTEGER NOT NULL,
        heads         TEXT NOT NULL,
        PRIMARY KEY (business_day, origin, seq)
    );
    "#,
    // 3: what expo has bumped (one row per bumped order and course), for the kitchen screens.
    r#"
    CREATE TABLE proj_expo (
        check_id      TEXT NOT NULL,
        course        INTEGER NOT NULL,
        bumped_ms     INTEGER NOT NULL,
        force_reason  TEXT,
        PRIMARY KEY (check_id, course)
    );
    CREATE INDEX proj_tickets_by_check ON proj_tickets (check_id);
    "#,
    // 4: payments (projections): each check's payments and refunds, receipts printed or not,
    // payment alerts for a manager, card batches and cash drawers.
    r#"
    -- One row per payment (kind 'payment', id = the payment id) and per refund (kind
    -- 'refund', id = the refund id, payment = the payment refunded). Never a card number:
    -- brand, last four and the authorisation code only.
    CREATE TABLE proj_payments (
        check_id            TEXT NOT NULL,
        kind                TEXT NOT NULL CHECK (kind IN ('payment', 'refund')),
        id                  TEXT NOT NULL,
        payment             TEXT NOT NULL,
        tender              TEXT NOT NULL,
        -- taken, open_tab, offline, declined_on_upload; refunded for a refund
        state               TEXT NOT NULL,
        amount_cents        INTEGER NOT NULL,
        tip_cents           INTEGER NOT NULL,
        refunded_cents      INTEGER NOT NULL,
        hold_cents          INTEGER,
        seat                INTEGER,
        brand               TEXT,
        last4               TEXT,
        auth_code           TEXT,
        -- The card terminal's reference of the transaction.
        reference           TEXT,
        offline_expires_ms  INTEGER,
        tendered_cents      INTEGER,
        change_cents        INTEGER,
        drawer              TEXT,
        staff               TEXT,
        reason              TEXT,
        -- The event that took it.
        hlc                 INTEGER NOT NULL,
        origin              TEXT NOT NULL,
        seq                 INTEGER NOT NULL,
        wall_ms             INTEGER NOT NULL,
        PRIMARY KEY (check_id, kind, id)
    );
    CREATE INDEX proj_payments_by_drawer ON proj_payments (drawer, hlc);
    CREATE INDEX proj_payments_by_reference ON proj_payments (reference);
    CREATE TABLE proj_receipts (
        check_id  TEXT NOT NULL,
        hlc       INTEGER NOT NULL,
        origin    TEXT NOT NULL,
        seq       INTEGER NOT NULL,
        wall_ms   INTEGER NOT NULL,
        copy      TEXT NOT NULL,
        printer   TEXT NOT NULL,
        error     TEXT,
        PRIMARY KEY (check_id, hlc, origin, seq)
    );
    -- Derived alerts: a check overpaid, an offline payment declined on upload, a payment
    -- refunded beyond what it took, a receipt that did not print, a card batch that does not
    -- match the store's records. `subject` is a check id or `batch:<terminal>`.
    CREATE TABLE proj_alerts (
        subject       TEXT NOT NULL,
        kind          TEXT NOT NULL,
        ref           TEXT NOT NULL,
        amount_cents  INTEGER NOT NULL,
        detail        TEXT NOT NULL,
        open          INTEGER NOT NULL,
        PRIMARY KEY (subject, kind, ref)
    );
    CREATE TABLE proj_batches (
        terminal        TEXT NOT NULL,
        batch           TEXT NOT NULL,
        hlc             INTEGER NOT NULL,
        origin          TEXT NOT NULL,
        seq             INTEGER NOT NULL,
        wall_ms         INTEGER NOT NULL,
        count           INTEGER NOT NULL,
        captured_cents  INTEGER NOT NULL,
        refunded_cents  INTEGER NOT NULL,
        recorded_cents  INTEGER NOT NULL,
        refs            TEXT NOT NULL,
        unrecorded      TEXT NOT NULL,
        staff           TEXT NOT NULL,
        PRIMARY KEY (terminal, batch, origin, seq)
    );
    CREATE TABLE proj_drawers (
        drawer          TEXT NOT NULL,
        hlc             INTEGER NOT NULL,
        origin          TEXT NOT NULL,
        seq             INTEGER NOT NULL,
        wall_ms         INTEGER NOT NULL,
        kind            TEXT NOT NULL CHECK (kind IN ('opened', 'counted')),
        amount_cents    INTEGER NOT NULL,
        expected_cents  INTEGER,
        staff           TEXT NOT NULL,
        PRIMARY KEY (drawer, hlc, origin, seq)
    );
    "#,
    // 5: facts for the manager's reports, kept by the projections so that reports read compact
    // rows instead of re-folding the journal: each finished ticket's time, each sale (a closed
    // check) with its lines and its tax by rate. Stock movements gain `waste` (a line voided
    // after the kitchen started it).
    r#"
    -- One row per finished ticket (shown and bumped on one screen). `day` is the business day
    -- (BusinessDay::number) and `hour` the store's local hour (0-23) of the showing, by the store
    -- settings in force; a change of time zone or cut-off rewrites them. `items`: the menu items
    -- on it, sorted, separated by spaces.
    CREATE TABLE proj_ticket_times (
        ticket_id   TEXT PRIMARY KEY,
        check_id    TEXT NOT NULL,
        number      TEXT NOT NULL,
        station     TEXT NOT NULL,
        order_type  TEXT NOT NULL,
        server      TEXT NOT NULL,
        day         INTEGER NOT NULL,
        hour        INTEGER NOT NULL,
        shown_ms    INTEGER NOT NULL,
        bumped_ms   INTEGER NOT NULL,
        time_ms     INTEGER NOT NULL,
        recalls     INTEGER NOT NULL,
        items       TEXT NOT NULL
    );
    CREATE INDEX proj_ticket_times_by_chunk ON proj_ticket_times (day, station, hour);
    CREATE INDEX proj_ticket_times_by_check ON proj_ticket_times (check_id);
    CREATE INDEX proj_ticket_times_by_bump ON proj_ticket_times (bumped_ms);
    -- The same tickets packed by business day, station and local hour (what the service-time
    -- report reads; see projection::report_facts::chunk for the layout).
    CREATE TABLE proj_ticket_chunks (
        day      INTEGER NOT NULL,
        station  TEXT NOT NULL,
        hour     INTEGER NOT NULL,
        tickets  INTEGER NOT NULL,
        data     BLOB NOT NULL,
        PRIMARY KEY (day, station, hour)
    ) WITHOUT ROWID;
    -- One row per sale (a closed check): the business day and local hour of its closing
    -- instant (before any "late, after Z" placement, which the reports decide).
    CREATE TABLE proj_sales (
        check_id    TEXT PRIMARY KEY,
        day         INTEGER NOT NULL,
        hour        INTEGER NOT NULL,
        closed_ms   INTEGER NOT NULL
    );
    CREATE INDEX proj_sales_by_day ON proj_sales (day);
    -- A sale's lines: as listed (gross), the line discount, what it adds to the subtotal (net),
    -- and whether it was sold, voided or comped. `category` is the item's on the menu in force.
    CREATE TABLE proj_sale_lines (
        check_id        TEXT NOT NULL,
        line_id         TEXT NOT NULL,
        item            TEXT NOT NULL,
        name            TEXT NOT NULL,
        category        TEXT NOT NULL,
        qty             INTEGER NOT NULL,
        gross_cents     INTEGER NOT NULL,
        discount_cents  INTEGER NOT NULL,
        net_cents       INTEGER NOT NULL,
        state           TEXT NOT NULL CHECK (state IN ('sold', 'voided', 'comped')),
        modifiers       TEXT NOT NULL,
        PRIMARY KEY (check_id, line_id)
    );
    -- A sale's tax by rate, as its check totals computed it (rounded once per rate per check).
    CREATE TABLE proj_sale_taxes (
        check_id    TEXT NOT NULL,
        rate        TEXT NOT NULL,
        name        TEXT NOT NULL,
        percent     TEXT NOT NULL,
        inclusive   INTEGER NOT NULL,
        base_cents  INTEGER NOT NULL,
        tax_cents   INTEGER NOT NULL,
        PRIMARY KEY (check_id, rate)
    );
    CREATE TABLE proj_stock_moves_v5 (
        ingredient  TEXT NOT NULL,
        hlc         INTEGER NOT NULL,
        origin      TEXT NOT NULL,
        seq         INTEGER NOT NULL,
        kind        TEXT NOT NULL CHECK (kind IN ('received', 'counted', 'sold', 'waste')),
        qty         TEXT NOT NULL,
        check_id    TEXT NOT NULL DEFAULT '',
        line_id     TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (ingredient, origin, seq, line_id)
    );
    INSERT INTO proj_stock_moves_v5 SELECT * FROM proj_stock_moves;
    DROP TABLE proj_stock_moves;
    ALTER TABLE proj_stock_moves_v5 RENAME TO proj_stock_moves;
    CREATE INDEX proj_stock_moves_by_check ON proj_stock_moves (check_id);
    CREATE INDEX proj_stock_moves_by_time ON proj_stock_moves (hlc);
    CREATE INDEX proj_stock_moves_by_ingredient
        ON proj_stock_moves (ingredient, hlc, origin, seq, line_id);
    CREATE INDEX proj_stock_moves_counts ON proj_stock_moves (ingredient, kind, hlc);
    "#,
];

/// The schema version this build writes.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error(
        "database schema version {found} is newer than this build understands ({LATEST}); upgrade Pass"
    )]
    TooNew { found: i64 },
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// Brings the database to [`LATEST`], one transaction per migration.
pub fn migrate(conn: &mut Connection) -> Result<(), MigrationError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > LATEST {
        return Err(MigrationError::TooNew { found: current });
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(current).unwrap_or(0))
    {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "database migrated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_changes_nothing_and_a_newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn).expect("first");
        migrate(&mut conn).expect("second");
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(v, LATEST);
        conn.pragma_update(None, "user_version", LATEST + 1)
            .expect("bump");
        assert!(matches!(
            migrate(&mut conn),
            Err(MigrationError::TooNew { .. })
        ));
    }

    #[test]
    fn triggers_refuse_update_and_delete() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn).expect("migrate");
        conn.execute(
            "INSERT INTO events (origin, seq, hlc, wall_ms, kind, body, prev_hash, hash, sig)
             VALUES ('0000000000000000', 1, 0, 0, 'k', '{}', x'00', x'01', x'02')",
            [],
        )
        .expect("insert");
        let upd = conn.execute("UPDATE events SET body = '{\"x\":1}'", []);
        let del = conn.execute("DELETE FROM events", []);
        assert!(
            upd.expect_err("update refused")
                .to_string()
                .contains("append-only")
        );
        assert!(
            del.expect_err("delete refused")
                .to_string()
                .contains("append-only")
        );
    }
}
