//! Audiences end to end on a real database (SQLite, or PostgreSQL when
//! `CHORUS_TEST_DATABASE_URL` is set): import, rules compiled to SQL, RFM, lookalikes,
//! snapshots, overlap, warnings, priority and the native-targeting minimum.

use chorus_core::audience::import::{Format, ImportOptions, ImportReport, Mapping, Records, import};
use chorus_core::audience::targeting::PlatformTargeting;
use chorus_core::audience::{Audience, AudienceError, PersonaDefinition, SegmentDefinition, priority, warnings};
use chorus_core::store::{NewAccount, NewDelivery, Tenant};
use chorus_core::{StoreError, secrets::Credentials};
use chorus_tests::TestStore;
use chrono::{Duration, Months, Utc};
use serde_json::{Value, json};

fn opts(format: Format, records: Records) -> ImportOptions {
    ImportOptions {
        format,
        records,
        mapping: Mapping::default(),
        skip_invalid: false,
    }
}

async fn run_import(tenant: Tenant<'_>, a: &Audience<'_>, data: &str, o: &ImportOptions) -> ImportReport {
    import(tenant, &a.brand, std::io::Cursor::new(data.to_owned()), o, &())
        .await
        .expect("import runs")
}

fn born(years: u32) -> String {
    // A birthday 10 days ago: exactly `years` old today, whatever today is.
    let d = Utc::now().date_naive() - Duration::days(10);
    d.checked_sub_months(Months::new(12 * years))
        .unwrap()
        .format("%Y-%m-%d")
        .to_string()
}

fn days_ago(n: i64) -> String {
    (Utc::now() - Duration::days(n)).to_rfc3339()
}

/// Eight contacts whose every attribute a rule below selects on.
fn contacts_csv() -> String {
    let rows = [
        (
            "a1",
            "customer",
            born(30),
            "female",
            "SE",
            "Stockholm",
            "sv",
            "fitness;yoga",
            "sustainability",
            "software",
            "manager",
            "51-200",
            "10",
            days_ago(10),
        ),
        (
            "a2",
            "loyal",
            born(42),
            "male",
            "SE",
            "Göteborg",
            "sv",
            "fitness",
            "",
            "retail",
            "director",
            "201-500",
            "5",
            days_ago(400),
        ),
        (
            "a3",
            "prospect",
            born(25),
            "female",
            "NO",
            "Oslo",
            "no",
            "fashion",
            "sustainability",
            "",
            "",
            "",
            "",
            days_ago(5),
        ),
        (
            "a4",
            "prospect",
            born(55),
            "male",
            "DK",
            "Aarhus",
            "da",
            "golf",
            "",
            "software",
            "cxo",
            "1001-5000",
            "20",
            days_ago(800),
        ),
        (
            "a5",
            "ambassador",
            born(35),
            "non_binary",
            "SE",
            "Stockholm",
            "en",
            "Fitness;running",
            "health",
            "software",
            "senior",
            "11-50",
            "7",
            days_ago(50),
        ),
        (
            "a6",
            "customer",
            String::new(),
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            String::new(),
        ),
        (
            "a7",
            "prospect",
            born(19),
            "female",
            "SE",
            "Malmö",
            "sv",
            "yoga",
            "",
            "",
            "",
            "",
            "1",
            days_ago(2),
        ),
        (
            "a8",
            "customer",
            born(61),
            "female",
            "FI",
            "Helsinki",
            "fi",
            "golf;travel",
            "",
            "finance",
            "vp",
            "5001-10000",
            "",
            days_ago(1000),
        ),
    ];
    let mut out = String::from(
        "external_id,relation,birth_date,gender,country,city,language,interests,values,industry,seniority,company_size,custom.score,signed_up_at\n",
    );
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10, r.11, r.12, r.13
        ));
    }
    out
}

fn events_jsonl() -> String {
    let mut lines = Vec::new();
    let mut purchase = |who: &str, days: i64, amount: &str| {
        lines.push(json!({"external_id": who, "event": "purchase", "occurred_at": days_ago(days), "amount": amount, "currency": "SEK"}).to_string());
    };
    for d in [5, 20, 40, 60] {
        purchase("a1", d, "100");
    }
    purchase("a2", 200, "500.00");
    for d in [1, 10, 30] {
        purchase("a5", d, "1000");
    }
    purchase("a8", 400, "50");
    purchase("a8", 420, "50");
    purchase("a6", 10, "20");
    lines.push(json!({"external_id": "a1", "event": "clicked", "platform": "linkedin", "occurred_at": days_ago(5), "event_id": "ev-1"}).to_string());
    lines.join("\n")
}

/// A brand with the eight contacts and their events imported.
async fn fixture<'t>(t: &'t TestStore, slug: &str) -> (Tenant<'t>, uuid::Uuid) {
    let (ws, brand) = t.workspace_with_brand(slug).await;
    let tenant = t.store.tenant(ws);
    let a = Audience::new(tenant, brand).await.unwrap();
    let r = run_import(tenant, &a, &contacts_csv(), &opts(Format::Csv, Records::Contacts)).await;
    assert!(r.committed && r.invalid == 0, "{:?}", r.errors);
    let r = run_import(tenant, &a, &events_jsonl(), &opts(Format::Jsonl, Records::Events)).await;
    assert!(r.committed && r.invalid == 0, "{:?}", r.errors);
    assert_eq!(r.written, 12);
    (tenant, brand)
}

fn segment(name: &str, rule: Value) -> SegmentDefinition {
    serde_json::from_value(json!({
        "name": name, "kind": "target_group", "funnel_stage": "consideration", "rule": rule
    }))
    .unwrap()
}

async fn members_of(a: &Audience<'_>, name: &str, rule: Value) -> Vec<String> {
    a.define(&segment(name, rule))
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    a.members(name, 1000).await.unwrap()
}

#[tokio::test]
async fn attribute_rules_select_exactly_the_matching_contacts() {
    let t = TestStore::new().await;
    let (tenant, brand) = fixture(&t, "attrs").await;
    let a = Audience::new(tenant, brand).await.unwrap();
    let cases: Vec<(Value, &[&str])> = vec![
        (
            json!({"attribute": "country", "op": "eq", "value": "se"}),
            &["a1", "a2", "a5", "a7"],
        ),
        // neq and not_in include contacts whose value is unknown (a6).
        (
            json!({"attribute": "country", "op": "neq", "value": "SE"}),
            &["a3", "a4", "a6", "a8"],
        ),
        (
            json!({"attribute": "country", "op": "in", "value": ["NO", "DK"]}),
            &["a3", "a4"],
        ),
        (
            json!({"attribute": "country", "op": "not_in", "value": ["SE"]}),
            &["a3", "a4", "a6", "a8"],
        ),
        (
            json!({"attribute": "city", "op": "contains", "value": "STOCK"}),
            &["a1", "a5"],
        ),
        (json!({"attribute": "city", "op": "starts_with", "value": "g"}), &["a2"]),
        (json!({"attribute": "gender", "op": "is_empty"}), &["a6"]),
        (json!({"attribute": "birth_date", "op": "is_empty"}), &["a6"]),
        (
            json!({"attribute": "signed_up_at", "op": "is_not_empty"}),
            &["a1", "a2", "a3", "a4", "a5", "a7", "a8"],
        ),
        (
            json!({"attribute": "age", "op": "between", "value": [25, 35]}),
            &["a1", "a3", "a5"],
        ),
        (json!({"attribute": "age", "op": "gte", "value": 55}), &["a4", "a8"]),
        (json!({"attribute": "age", "op": "lt", "value": 20}), &["a7"]),
        (json!({"attribute": "age", "op": "eq", "value": 42}), &["a2"]),
        (
            json!({"attribute": "interests", "op": "contains", "value": "Fitness"}),
            &["a1", "a2", "a5"],
        ),
        (
            json!({"attribute": "interests", "op": "in", "value": ["golf", "yoga"]}),
            &["a1", "a4", "a7", "a8"],
        ),
        (
            json!({"attribute": "interests", "op": "not_in", "value": ["fitness"]}),
            &["a3", "a4", "a6", "a7", "a8"],
        ),
        (json!({"attribute": "interests", "op": "is_empty"}), &["a6"]),
        (
            json!({"attribute": "values", "op": "contains", "value": "sustainability"}),
            &["a1", "a3"],
        ),
        (
            json!({"attribute": "custom.score", "op": "gt", "value": 6}),
            &["a1", "a4", "a5"],
        ),
        (
            json!({"attribute": "customer", "op": "eq", "value": true}),
            &["a1", "a2", "a5", "a6", "a8"],
        ),
        (
            json!({"attribute": "relation", "op": "eq", "value": "prospect"}),
            &["a3", "a4", "a7"],
        ),
        (
            json!({"attribute": "signed_up_at", "op": "in_last", "value": {"days": 30}}),
            &["a1", "a3", "a7"],
        ),
        (
            json!({"attribute": "seniority", "op": "in", "value": ["Manager", "director"]}),
            &["a1", "a2"],
        ),
        (
            json!({"attribute": "company_size", "op": "eq", "value": "51-200"}),
            &["a1"],
        ),
        (
            json!({"all": [{"attribute": "country", "op": "eq", "value": "SE"}, {"attribute": "interests", "op": "contains", "value": "fitness"}],
                   "exclude": [{"attribute": "relation", "op": "eq", "value": "loyal"}]}),
            &["a1", "a5"],
        ),
        (
            json!({"any": [{"attribute": "country", "op": "eq", "value": "NO"}, {"attribute": "age", "op": "gte", "value": 60}]}),
            &["a3", "a8"],
        ),
        (
            json!({"not": {"attribute": "country", "op": "eq", "value": "SE"}}),
            &["a3", "a4", "a6", "a8"],
        ),
    ];
    for (i, (rule, want)) in cases.into_iter().enumerate() {
        let got = members_of(&a, &format!("case {i}"), rule.clone()).await;
        assert_eq!(got, want, "rule {rule}");
        assert_eq!(a.size(&format!("case {i}")).await.unwrap().size, want.len() as u64);
    }
}

#[tokio::test]
async fn behavioural_and_rfm_rules_read_the_events() {
    let t = TestStore::new().await;
    let (tenant, brand) = fixture(&t, "behave").await;
    let a = Audience::new(tenant, brand).await.unwrap();
    let cases: Vec<(Value, &[&str])> = vec![
        (
            json!({"event": "purchase", "within_days": 90, "count": {"gte": 3}}),
            &["a1", "a5"],
        ),
        // "No purchase in 180 days" includes those who never bought.
        (
            json!({"event": "purchase", "within_days": 180, "count": {"eq": 0}}),
            &["a2", "a3", "a4", "a7", "a8"],
        ),
        (
            json!({"event": "purchase", "within_days": 365, "total": {"gte": 2000}, "currency": "SEK"}),
            &["a5"],
        ),
        (
            json!({"event": "clicked", "platform": "linkedin", "within_days": 30}),
            &["a1"],
        ),
        (json!({"rfm": {"cell": "champions"}}), &["a1", "a5"]),
        (json!({"rfm": {"cell": "hibernating"}}), &["a2"]),
        (json!({"rfm": {"cell": "at_risk"}}), &["a8"]),
        (json!({"rfm": {"cell": "about_to_sleep"}}), &["a6"]),
        (json!({"rfm": {"monetary": {"gte": 4}}}), &["a2", "a5"]),
    ];
    for (i, (rule, want)) in cases.into_iter().enumerate() {
        assert_eq!(
            members_of(&a, &format!("b{i}"), rule.clone()).await,
            want,
            "rule {rule}"
        );
        // Beside an attribute rule, an event rule is checked per contact on SQLite (a
        // different SQL shape): the members must be the same.
        let narrowed = json!({"all": [{"attribute": "relation", "op": "is_not_empty"}, rule]});
        assert_eq!(
            members_of(&a, &format!("n{i}"), narrowed.clone()).await,
            want,
            "rule {narrowed}"
        );
    }

    // RFM scores are stored; new events make them stale and the next use recomputes.
    let mut lines = Vec::new();
    for d in [2, 3, 4, 6, 7, 8] {
        lines.push(json!({"external_id": "a3", "event": "purchase", "occurred_at": days_ago(d), "amount": "1000", "currency": "SEK"}).to_string());
    }
    let r = run_import(tenant, &a, &lines.join("\n"), &opts(Format::Jsonl, Records::Events)).await;
    assert!(r.committed && r.written == 6, "{:?}", r.errors);
    assert_eq!(a.members("b4", 1000).await.unwrap(), ["a1", "a3", "a5"]);
}

#[tokio::test]
async fn segments_refer_to_segments_and_loops_are_refused() {
    let t = TestStore::new().await;
    let (tenant, brand) = fixture(&t, "refs").await;
    let a = Audience::new(tenant, brand).await.unwrap();
    a.define(&segment(
        "Swedes",
        json!({"attribute": "country", "op": "eq", "value": "SE"}),
    ))
    .await
    .unwrap();
    let got = members_of(
        &a,
        "Swedish fitness",
        json!({"all": [{"segment": "Swedes"}, {"attribute": "interests", "op": "contains", "value": "fitness"}]}),
    )
    .await;
    assert_eq!(got, ["a1", "a2", "a5"]);
    let err = a
        .redefine(
            "Swedes",
            &segment("Swedes", json!({"not": {"segment": "Swedish fitness"}})),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("loop: Swedes → Swedish fitness → Swedes"),
        "{err}"
    );
    let err = a
        .define(&segment("Ghost", json!({"segment": "Nobody"})))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("\"Nobody\""), "{err}");
    // A bad rule names the path to the node and what is allowed; nothing is stored.
    let err = a
        .define(&segment(
            "Bad",
            json!({"all": [{"attribute": "age", "op": "in_last", "value": {"days": 3}}]}),
        ))
        .await
        .unwrap_err();
    match err {
        AudienceError::Invalid(i) => {
            assert_eq!(i.field, "rule.all[0].op");
            assert!(i.message.contains("allowed: eq, neq, gt"), "{i}");
        }
        other => panic!("{other}"),
    }
    assert!(a.segment("Bad").await.is_err());
}

#[tokio::test]
async fn a_lookalike_takes_the_most_similar_non_members_deterministically() {
    let t = TestStore::new().await;
    let (tenant, brand) = fixture(&t, "look").await;
    let a = Audience::new(tenant, brand).await.unwrap();
    a.define(&segment("Big spenders", json!({"rfm": {"monetary": {"gte": 4}}})))
        .await
        .unwrap();
    let rule = json!({"lookalike": {"seed": "Big spenders", "percent": 20}});
    let first = members_of(&a, "Like big spenders", rule).await;
    // 6 non-members, top 20 % → 2; seed members are never in their own lookalike.
    assert_eq!(first.len(), 2, "{first:?}");
    assert!(!first.contains(&"a2".to_owned()) && !first.contains(&"a5".to_owned()));
    // a1 shares country, interest and industry with the seed: it ranks first.
    assert_eq!(
        first,
        ["a1", "a7"],
        "a1 shares country and interest with the seed, a7 the country"
    );
    assert_eq!(
        a.members("Like big spenders", 100).await.unwrap(),
        first,
        "deterministic"
    );
    let sizing = a.size("Like big spenders").await.unwrap();
    let look = &sizing.lookalikes[0];
    assert_eq!((look.seed_size, look.pool, look.take), (2, 6, 2));
    assert!(
        look.drivers.iter().any(|d| d.attribute == "country" && d.value == "SE"),
        "drivers: {:?}",
        look.drivers
    );
}

#[tokio::test]
async fn snapshots_are_versioned_and_deliveries_point_at_them() {
    let t = TestStore::new().await;
    let (tenant, brand) = fixture(&t, "snap").await;
    let a = Audience::new(tenant, brand).await.unwrap();
    a.define(&segment(
        "Swedes",
        json!({"attribute": "country", "op": "eq", "value": "SE"}),
    ))
    .await
    .unwrap();
    let v1 = a.snapshot("Swedes").await.unwrap();
    assert_eq!((v1.version, v1.size), (1, 4));
    let more = "external_id,country\nb1,SE\n";
    let r = run_import(tenant, &a, more, &opts(Format::Csv, Records::Contacts)).await;
    assert_eq!((r.written, r.inserted), (1, 1));
    let v2 = a.snapshot("Swedes").await.unwrap();
    assert_eq!((v2.version, v2.size), (2, 5));
    assert_eq!(a.snapshot_members(v1.id).await.unwrap().len(), 4, "history is kept");
    assert_eq!(a.snapshot_members(v2.id).await.unwrap().len(), 5);
}

#[tokio::test]
async fn the_overlap_matrix_counts_every_intersection() {
    let t = TestStore::new().await;
    let (tenant, brand) = fixture(&t, "overlap").await;
    let a = Audience::new(tenant, brand).await.unwrap();
    a.define(&segment(
        "Swedes",
        json!({"attribute": "country", "op": "eq", "value": "SE"}),
    ))
    .await
    .unwrap();
    a.define(&segment(
        "Fitness",
        json!({"attribute": "interests", "op": "contains", "value": "fitness"}),
    ))
    .await
    .unwrap();
    a.define(&segment(
        "Prospects",
        json!({"attribute": "relation", "op": "eq", "value": "prospect"}),
    ))
    .await
    .unwrap();
    let o = a.overlap(&[]).await.unwrap();
    assert_eq!(o.segments, ["Fitness", "Prospects", "Swedes"]);
    assert_eq!(o.counts, vec![vec![3, 0, 3], vec![0, 3, 1], vec![3, 1, 4]]);
    assert_eq!(o.share_of(2, 0), 0.75);
}

#[tokio::test]
async fn imports_map_columns_upsert_and_merge() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("imp").await;
    let tenant = t.store.tenant(ws);
    let a = Audience::new(tenant, brand).await.unwrap();
    let mut o = opts(Format::Csv, Records::Contacts);
    o.mapping = serde_json::from_value(json!({
        "columns": {"Kundnr": "external_id", "Land": "country", "Intressen": "interests", "Kön": "gender",
                    "Poäng": "custom.points", "Anteckning": "ignore"},
        "list_separator": "|",
        "delimiter": ";",
        "values": {"gender": {"K": "female", "M": "male"}}
    }))
    .unwrap();
    let data = "Kundnr;Land;Intressen;Kön;Poäng;Anteckning\nk1;se;Golf|Yoga;K;12;hej\nk2;no;;M;;\n";
    let r = run_import(tenant, &a, data, &o).await;
    assert!(r.committed, "{:?}", r.errors);
    assert_eq!((r.rows, r.written, r.inserted), (2, 2, 2));
    assert_eq!(
        members_of(
            &a,
            "golfers",
            json!({"attribute": "interests", "op": "contains", "value": "golf"})
        )
        .await,
        ["k1"]
    );
    assert_eq!(
        members_of(
            &a,
            "women",
            json!({"attribute": "gender", "op": "eq", "value": "female"})
        )
        .await,
        ["k1"]
    );

    // Re-import: k1 updated (new interests replace old, country kept: no column), k3 new;
    // custom attributes from both imports survive.
    let mut o2 = opts(Format::Jsonl, Records::Contacts);
    o2.mapping = Mapping::default();
    let data = "{\"external_id\": \"k1\", \"interests\": [\"chess\"], \"custom.tier\": \"gold\", \"custom.vip\": true}\n{\"external_id\": \"k3\"}\n";
    let r = run_import(tenant, &a, data, &o2).await;
    assert_eq!((r.written, r.inserted), (2, 1), "{:?}", r.errors);
    assert_eq!(a.members("golfers", 10).await.unwrap(), Vec::<String>::new());
    assert_eq!(
        members_of(
            &a,
            "chess",
            json!({"attribute": "interests", "op": "contains", "value": "chess"})
        )
        .await,
        ["k1"]
    );
    assert_eq!(
        members_of(&a, "swedes", json!({"attribute": "country", "op": "eq", "value": "SE"})).await,
        ["k1"]
    );
    assert_eq!(
        members_of(
            &a,
            "gold",
            json!({"attribute": "custom.tier", "op": "eq", "value": "gold"})
        )
        .await,
        ["k1"]
    );
    assert_eq!(
        members_of(
            &a,
            "points",
            json!({"attribute": "custom.points", "op": "gte", "value": 12})
        )
        .await,
        ["k1"]
    );
    // A flag missing on a contact is "not set", so `not` keeps those contacts.
    assert_eq!(
        members_of(&a, "vip", json!({"attribute": "custom.vip", "op": "eq", "value": true})).await,
        ["k1"]
    );
    assert_eq!(
        members_of(
            &a,
            "not vip",
            json!({"not": {"attribute": "custom.vip", "op": "eq", "value": true}})
        )
        .await,
        ["k2", "k3"]
    );

    // In JSON Lines a key a line lacks is left as it is, whatever other lines give.
    let data = "{\"external_id\": \"k1\", \"gender\": \"male\"}\n{\"external_id\": \"k2\", \"country\": \"SE\"}\n";
    let r = run_import(tenant, &a, data, &o2).await;
    assert_eq!((r.written, r.inserted), (2, 0), "{:?}", r.errors);
    assert_eq!(a.members("swedes", 10).await.unwrap(), ["k1", "k2"]);
    assert_eq!(
        members_of(&a, "men", json!({"attribute": "gender", "op": "eq", "value": "male"})).await,
        ["k1", "k2"]
    );
}

/// The first uses of a window's RFM scores at the same moment (a segment list and an
/// overlap, say) compute them once between them and all succeed.
#[tokio::test]
async fn concurrent_first_uses_of_rfm_scores_all_succeed() {
    let t = TestStore::new().await;
    let (tenant, brand) = fixture(&t, "rfmrace").await;
    let a = Audience::new(tenant, brand).await.unwrap();
    for (name, cell) in [("champs", "champions"), ("sleepy", "hibernating")] {
        a.define(&segment(name, json!({"rfm": {"cell": cell, "window_days": 730}})))
            .await
            .unwrap();
    }
    // New events make the scores stale, so each size below starts by recomputing them.
    let more = json!({"external_id": "a3", "event": "signed_up", "occurred_at": days_ago(1)}).to_string();
    let r = run_import(tenant, &a, &more, &opts(Format::Jsonl, Records::Events)).await;
    assert_eq!(r.written, 1, "{:?}", r.errors.first());
    let (x, y, z, w) = tokio::join!(a.size("champs"), a.size("sleepy"), a.size("champs"), a.size("sleepy"));
    let sizes: Vec<u64> = [x, y, z, w]
        .into_iter()
        .map(|r| r.expect("every concurrent first use succeeds").size)
        .collect();
    assert_eq!(sizes, [2, 1, 2, 1]);
}

/// Imports into several brands at once all commit. An events import reads the brand's
/// contacts before it writes: on SQLite a deferred transaction doing that fails with
/// "database is locked" (`SQLITE_BUSY_SNAPSHOT`) as soon as another connection has
/// committed in between, which is how `serve --demo` once failed to seed while the
/// delivery engine wrote.
#[tokio::test]
async fn concurrent_imports_into_several_brands_all_commit() {
    let t = TestStore::new().await;
    let (ws, first) = t.workspace_with_brand("busy").await;
    let tenant = t.store.tenant(ws);
    let mut brands = vec![first];
    for n in 1..4 {
        let b = tenant
            .brands()
            .create(chorus_core::store::NewBrand {
                slug: format!("busy-{n}"),
                name: format!("Busy {n}"),
                timezone: "Europe/Stockholm".into(),
            })
            .await
            .unwrap();
        brands.push(b.id);
    }
    let contacts: String = std::iter::once("external_id,country\n".to_owned())
        .chain((0..2000).map(|i| format!("c{i},SE\n")))
        .collect();
    let events = |round: u32| -> String {
        std::iter::once("external_id,event,platform,occurred_at,event_id\n".to_owned())
            .chain((0..2000).map(|i| format!("c{i},clicked,linkedin,{},r{round}-e{i}\n", days_ago(1))))
            .collect()
    };
    let run = |brand: uuid::Uuid, data: String, records: Records| async move {
        let a = Audience::new(tenant, brand).await.unwrap();
        let o = opts(Format::Csv, records);
        import(tenant, &a.brand, std::io::Cursor::new(data), &o, &()).await
    };
    for round in 0..4 {
        let (data, records) = match round {
            0 => (contacts.clone(), Records::Contacts),
            n => (events(n), Records::Events),
        };
        let (a, b, c, d) = tokio::join!(
            run(brands[0], data.clone(), records),
            run(brands[1], data.clone(), records),
            run(brands[2], data.clone(), records),
            run(brands[3], data.clone(), records)
        );
        for r in [a, b, c, d] {
            let r = r.unwrap_or_else(|e| panic!("round {round}: a concurrent import failed: {e}"));
            assert!(
                r.committed && r.written == 2000,
                "round {round}: {:?}",
                r.errors.first()
            );
        }
    }
}

/// Sizes a segment defined by `rule` under `name`.
async fn size_of(a: &Audience<'_>, name: &str, rule: Value) -> u64 {
    a.define(&segment(name, rule))
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    a.size(name).await.unwrap().size
}

/// Files larger than one batch: later batches reuse the first one's statement, and an
/// upsert spanning batches resolves existing contacts in each of them.
#[tokio::test]
async fn large_imports_span_batches_and_upsert_across_them() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("big").await;
    let tenant = t.store.tenant(ws);
    let a = Audience::new(tenant, brand).await.unwrap();
    let csv = |ids: std::ops::Range<u32>, tag: &dyn Fn(u32) -> String| {
        let mut s = String::from("external_id,country,interests,custom.n\n");
        for i in ids {
            s += &format!("c{i},SE,{};common,{i}\n", tag(i));
        }
        s
    };
    let first = csv(0..2500, &|i| format!("t{}", i % 3));
    let r = run_import(tenant, &a, &first, &opts(Format::Csv, Records::Contacts)).await;
    assert!(r.committed, "{:?}", r.errors.first());
    assert_eq!((r.rows, r.written, r.inserted), (2500, 2500, 2500));
    let has = |tag: &str| json!({"attribute": "interests", "op": "contains", "value": tag});
    assert_eq!(size_of(&a, "t0", has("t0")).await, 834);
    assert_eq!(size_of(&a, "common", has("common")).await, 2500);
    assert_eq!(
        size_of(&a, "n", json!({"attribute": "custom.n", "op": "gte", "value": 2000})).await,
        500
    );

    // Half of these exist: their interests are replaced, the rest are new.
    let second = csv(1250..3750, &|i| format!("u{}", i % 2));
    let r = run_import(tenant, &a, &second, &opts(Format::Csv, Records::Contacts)).await;
    assert_eq!(
        (r.rows, r.written, r.inserted),
        (2500, 2500, 1250),
        "{:?}",
        r.errors.first()
    );
    assert_eq!(a.total().await.unwrap(), 3750);
    assert_eq!(a.size("t0").await.unwrap().size, 417, "t0 only on contacts 0..1250");
    assert_eq!(size_of(&a, "u1", has("u1")).await, 1250);
    assert_eq!(a.size("common").await.unwrap().size, 3750, "no duplicate tag rows");

    // Events across batches; importing the same file again adds nothing (event ids).
    let mut events = String::from("external_id,event,occurred_at,amount,currency,event_id\n");
    for i in 0..2600u32 {
        events += &format!(
            "c{},purchase,{},{}.50,SEK,e{i}\n",
            i % 1300,
            days_ago(1 + i as i64 % 30),
            10 + i
        );
    }
    let r = run_import(tenant, &a, &events, &opts(Format::Csv, Records::Events)).await;
    assert_eq!(
        (r.rows, r.written, r.invalid),
        (2600, 2600, 0),
        "{:?}",
        r.errors.first()
    );
    let twice = json!({"event": "purchase", "within_days": 60, "count": {"gte": 2}});
    assert_eq!(size_of(&a, "twice", twice).await, 1300);
    let r = run_import(tenant, &a, &events, &opts(Format::Csv, Records::Events)).await;
    assert_eq!((r.written, r.invalid), (0, 0));
    let thrice = json!({"event": "purchase", "within_days": 60, "count": {"gte": 3}});
    assert_eq!(size_of(&a, "thrice", thrice).await, 0);

    // Tags travel to the database as JSON: quotes, backslashes and emoji arrive intact.
    let odd = ["say \"hi\"", "back\\slash", "smörgåsbord 🍞"];
    let line = json!({"external_id": "odd", "interests": odd}).to_string();
    let r = run_import(tenant, &a, &line, &opts(Format::Jsonl, Records::Contacts)).await;
    assert_eq!(r.written, 1, "{:?}", r.errors.first());
    for (i, tag) in odd.iter().enumerate() {
        assert_eq!(members_of(&a, &format!("odd{i}"), has(tag)).await, ["odd"], "{tag}");
    }
}

#[tokio::test]
async fn a_bad_row_writes_nothing_unless_told_to_skip_it() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("bad").await;
    let tenant = t.store.tenant(ws);
    let a = Audience::new(tenant, brand).await.unwrap();
    let data = "external_id,country,birth_date,seniority\nok1,SE,1990-01-01,manager\nbad1,Sweden,1990-01-01,\nok2,NO,,\nbad2,SE,01/02/1990,\nok1,DK,,\nbad3,SE,,boss\n";
    let r = run_import(tenant, &a, data, &opts(Format::Csv, Records::Contacts)).await;
    assert!(!r.committed);
    assert_eq!((r.rows, r.invalid, r.written), (6, 4, 0));
    let lines: Vec<(u64, &str)> = r.errors.iter().map(|e| (e.line, e.column.as_str())).collect();
    assert_eq!(
        lines,
        [(3, "country"), (5, "birth_date"), (6, "external_id"), (7, "seniority")]
    );
    assert!(r.errors[0].reason.contains("ISO 3166-1"), "{:?}", r.errors[0]);
    assert_eq!(r.errors[0].value, "Sweden");
    assert!(
        r.errors[2].reason.contains("already appears on line 2"),
        "{:?}",
        r.errors[2]
    );
    assert!(
        r.errors[3].reason.contains("manager"),
        "names what is allowed: {:?}",
        r.errors[3]
    );
    assert_eq!(a.total().await.unwrap(), 0, "nothing written");

    let mut skip = opts(Format::Csv, Records::Contacts);
    skip.skip_invalid = true;
    let r = run_import(tenant, &a, data, &skip).await;
    assert!(r.committed);
    assert_eq!((r.invalid, r.written), (4, 2));
    assert_eq!(a.total().await.unwrap(), 2);

    // Events: unknown contacts, a purchase without currency, engagement without platform.
    let ev = "{\"external_id\": \"nobody\", \"event\": \"signed_up\", \"occurred_at\": \"2026-01-01\"}\n\
              {\"external_id\": \"ok1\", \"event\": \"purchase\", \"occurred_at\": \"2026-01-01\", \"amount\": \"10\"}\n\
              {\"external_id\": \"ok1\", \"event\": \"liked\", \"occurred_at\": \"2026-01-01\"}\n\
              {\"external_id\": \"ok1\", \"event\": \"sold\", \"occurred_at\": \"2026-01-01\"}\n";
    let r = run_import(tenant, &a, ev, &opts(Format::Jsonl, Records::Events)).await;
    let got: Vec<(u64, &str)> = r.errors.iter().map(|e| (e.line, e.column.as_str())).collect();
    assert_eq!(got.len(), 4, "{:?}", r.errors);
    assert!(
        got.contains(&(1, "external_id"))
            && got.contains(&(2, "amount"))
            && got.contains(&(3, "platform"))
            && got.contains(&(4, "event")),
        "{got:?}"
    );

    // An unknown column stops the import before any row, naming the column and the fields.
    let err = import(
        tenant,
        &a.brand,
        "external_id,shoe\nx,42\n".as_bytes(),
        &opts(Format::Csv, Records::Contacts),
        &(),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("column 2 (\"shoe\")") && err.to_string().contains("custom.KEY"),
        "{err}"
    );
}

#[tokio::test]
async fn warnings_cover_size_breadth_similarity_primaries_personas_and_reviews() {
    let t = TestStore::new().await;
    let (tenant, brand) = fixture(&t, "warn").await;
    let a = Audience::new(tenant, brand).await.unwrap();
    let primary = |name: &str, rule: Value| -> SegmentDefinition {
        serde_json::from_value(
            json!({"name": name, "kind": "customer_group", "funnel_stage": "retention",
            "primary": true, "rule": rule, "targeting": {"countries": ["SE"]},
            "canvas": {"why": {"angle": "Train smarter"}}}),
        )
        .unwrap()
    };
    a.define(&primary(
        "Swedes",
        json!({"attribute": "country", "op": "eq", "value": "SE"}),
    ))
    .await
    .unwrap();
    a.define(&primary(
        "Swedish fitness",
        json!({"all": [{"segment": "Swedes"}, {"attribute": "interests", "op": "contains", "value": "fitness"}]}),
    ))
    .await
    .unwrap();
    a.define(&primary(
        "Golfers",
        json!({"attribute": "interests", "op": "contains", "value": "golf"}),
    ))
    .await
    .unwrap();
    let mut everyone = segment("Everyone", Value::Null);
    everyone.rule = None;
    everyone.primary = true;
    a.define(&everyone).await.unwrap();
    let linkedin = PlatformTargeting {
        platform: "linkedin".into(),
        name: "LinkedIn".into(),
        facets: vec!["country", "seniority"],
        min_audience: Some(300),
    };
    let found = warnings::check(&a, &[linkedin.clone()], Utc::now()).await.unwrap();
    let has = |code: &str, seg: &str| {
        found
            .iter()
            .any(|w| w.code == code && (seg.is_empty() || w.segments.iter().any(|s| s == seg)))
    };
    assert!(has("too_small", "Golfers"), "{found:#?}");
    assert!(has("too_broad", "Everyone"));
    assert!(has("too_similar", "Swedish fitness"));
    assert!(has("same_message", "Golfers"), "same angle and tone");
    assert!(has("too_many_primary", ""));
    assert!(has("persona_count", ""));
    assert!(has("below_platform_minimum", "Swedes"));
    assert!(!has("review_due", ""));

    // Reviews fall due after 90 days; `review` clears it.
    use chorus_core::store::entity::audience_segment;
    use sea_orm::{ActiveModelTrait, Set};
    let seg = a.segment("Golfers").await.unwrap();
    let mut row: audience_segment::ActiveModel = seg.into();
    row.reviewed_at = Set(Some(Utc::now() - Duration::days(91)));
    row.update(&sea_orm::Database::connect(&t.db.url).await.unwrap())
        .await
        .unwrap();
    let found = warnings::check(&a, &[], Utc::now()).await.unwrap();
    assert!(
        found
            .iter()
            .any(|w| w.code == "review_due" && w.segments == ["Golfers"]),
        "{found:#?}"
    );
    a.review("Golfers").await.unwrap();
    let found = warnings::check(&a, &[], Utc::now()).await.unwrap();
    assert!(!found.iter().any(|w| w.code == "review_due"));

    // Three personas, each tied to a segment, silence the persona warning.
    for name in ["Anna", "Bo", "Cilla"] {
        let p = PersonaDefinition::from_json(json!({
            "name": name, "segment": "Swedes", "goals": ["get fit"], "pain_points": ["no time"],
            "message": "Ten minutes a day", "preferred_channels": ["instagram"],
            "demographics": {"age": 30, "location": "Stockholm"}
        }))
        .unwrap();
        a.add_persona(&p).await.unwrap();
    }
    let found = warnings::check(&a, &[], Utc::now()).await.unwrap();
    assert!(!found.iter().any(|w| w.code == "persona_count"), "{found:#?}");
    let err = PersonaDefinition::from_json(json!({"name": "X", "segment": "Swedes", "goals": ["a"], "pain_points": ["b"], "message": "m", "hobby": "golf"})).unwrap_err();
    assert!(err.message.contains("hobby"), "{err}");
}

#[tokio::test]
async fn priority_ranks_by_potential_reach_fit_and_competition() {
    let t = TestStore::new().await;
    let (tenant, brand) = fixture(&t, "prio").await;
    let a = Audience::new(tenant, brand).await.unwrap();
    let def = |name: &str, rule: Value, canvas: Value| -> SegmentDefinition {
        serde_json::from_value(
            json!({"name": name, "kind": "target_group", "funnel_stage": "conversion", "rule": rule, "canvas": canvas}),
        )
        .unwrap()
    };
    let swedes = json!({"attribute": "country", "op": "eq", "value": "SE"});
    a.define(&def(
        "Good fit",
        swedes.clone(),
        json!({"where": {"instagram": 0.9}, "fit": 5, "competition": 1}),
    ))
    .await
    .unwrap();
    a.define(&def(
        "Poor fit",
        swedes,
        json!({"where": {"instagram": 0.2}, "fit": 1, "competition": 5}),
    ))
    .await
    .unwrap();
    a.define(&def(
        "Spenders",
        json!({"rfm": {"monetary": {"gte": 4}}}),
        json!({"fit": 3}),
    ))
    .await
    .unwrap();
    let ranked = priority::rank(&a).await.unwrap();
    let names: Vec<&str> = ranked.iter().map(|p| p.segment.as_str()).collect();
    assert_eq!(names[0], "Good fit", "{ranked:#?}");
    assert_eq!(*names.last().unwrap(), "Poor fit");
    assert!(ranked.windows(2).all(|w| w[0].score >= w[1].score));
    let spenders = ranked.iter().find(|p| p.segment == "Spenders").unwrap();
    // a2 spent 500 SEK in the last 365 days (in window: 200 days ago), a5 3,000: 1,750 each.
    assert_eq!(spenders.value_per_member, 1750.0);
    assert!(spenders.value_source.contains("SEK"));
}

#[tokio::test]
async fn a_targeted_delivery_below_the_platform_minimum_is_not_scheduled() {
    let t = TestStore::new().await;
    let (tenant, brand) = fixture(&t, "minimum").await;
    let a = Audience::new(tenant, brand).await.unwrap();
    let def = |estimated: Option<u64>| -> SegmentDefinition {
        serde_json::from_value(
            json!({"name": "Swedish managers", "kind": "target_group", "funnel_stage": "awareness",
            "rule": {"attribute": "country", "op": "eq", "value": "SE"},
            "targeting": {"countries": ["SE"], "seniorities": ["manager"], "estimated_size": estimated}}),
        )
        .unwrap()
    };
    let seg = a.define(&def(None)).await.unwrap();
    let account = tenant
        .accounts()
        .connect(NewAccount {
            api_base: None,
            brand_id: brand,
            platform: "linkedin".into(),
            handle: "acme".into(),
            remote_id: "urn:li:organization:1".into(),
            display_name: None,
            timezone: "UTC".into(),
            scopes: vec![],
            credentials: Credentials {
                access_token: "t".into(),
                refresh_token: None,
                expires_at: None,
                app_password: None,
            },
        })
        .await
        .unwrap();
    let post = tenant
        .posts()
        .create(
            brand,
            None,
            chorus_core::domain::PostDraft {
                body: "hi".into(),
                locale: "en".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let new = || NewDelivery {
        post_id: post.id,
        account_id: account.id,
        segment_id: Some(seg.id),
        adapted_text: Some("hi".into()),
        adaptation: None,
        targeting: Some(json!({"targetEntities": [{"geoLocations": ["urn:li:geo:105117694"]}]})),
        scheduled_at: Some(Utc::now() + Duration::days(1)),
        timezone: "UTC".into(),
        plugin: None,
        occurrence: None,
    };
    let reach = || chorus_core::delivery::plan::ensure_targeting_reach(tenant, seg.id, "linkedin", 300);
    match reach().await.unwrap_err() {
        StoreError::Invalid(i) => {
            assert_eq!(i.field, "delivery.targeting");
            assert!(
                i.message.contains("reaches 4 people; linkedin needs at least 300"),
                "{i}"
            );
        }
        other => panic!("{other}"),
    }
    // The platform audience estimate (followers matching) is what the platform counts.
    a.redefine("Swedish managers", &def(Some(5_000))).await.unwrap();
    let snap = a.snapshot("Swedish managers").await.unwrap();
    reach().await.unwrap();
    let d = tenant.deliveries().create(new()).await.unwrap();
    assert_eq!(
        d.segment_snapshot_id,
        Some(snap.id),
        "the delivery records who it was aimed at"
    );
}

#[tokio::test]
async fn another_workspace_sees_none_of_the_audience() {
    let t = TestStore::new().await;
    let (tenant, brand) = fixture(&t, "mine").await;
    let a = Audience::new(tenant, brand).await.unwrap();
    a.define(&segment(
        "Swedes",
        json!({"attribute": "country", "op": "eq", "value": "SE"}),
    ))
    .await
    .unwrap();
    let (other_ws, _) = t.workspace_with_brand("theirs").await;
    let other = t.store.tenant(other_ws);
    assert!(
        Audience::new(other, brand).await.is_err(),
        "another tenant cannot open the brand"
    );
    assert!(Audience::by_slug(other, "mine-brand").await.is_err());
}
