//! `host-tests/RULES.md` holds: one row per SDV rule (127 KMDF, 169 WDM), every compile-time row
//! names a compile-fail case that exists and is named after its rule, every verifier row names a
//! test that exists and asserts that rule's name, every other row gives a reason, no case in
//! `wdf-safe/tests/ui/rules/` is left out, and the counts at the top are the table's.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[derive(Debug)]
struct Row {
    framework: &'static str,
    rule: String,
    forbids: String,
    status: String,
    place: String,
}

/// The rows of the two rule tables, in order.
fn rows(text: &str) -> Vec<Row> {
    let mut framework = None;
    let mut rows = Vec::new();
    for line in text.lines() {
        if line.starts_with("## ") {
            framework = if line.starts_with("## KMDF") {
                Some("KMDF")
            } else if line.starts_with("## WDM") {
                Some("WDM")
            } else {
                None
            };
            continue;
        }
        let Some(framework) = framework else { continue };
        if !line.starts_with('|') || line.starts_with("| Rule") || line.starts_with("|---") {
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(cells.len(), 4, "a row has four cells: {line}");
        rows.push(Row {
            framework,
            rule: cells[0].trim_matches('`').to_string(),
            forbids: cells[1].to_string(),
            status: cells[2].to_string(),
            place: cells[3].to_string(),
        });
    }
    rows
}

/// `BufAfterReqCompletedIntIoctlA` → `buf_after_req_completed_int_ioctl_a`,
/// `InputBufferAPI` → `input_buffer_api`.
fn snake(rule: &str) -> String {
    let chars: Vec<char> = rule.chars().collect();
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let previous = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
            if previous.is_ascii_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_ascii_uppercase() && next_lower)
            {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The back-quoted names in a cell.
fn quoted(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

/// The body of `fn name(` in `source`, up to the closing brace at the start of a line.
fn function_body<'s>(source: &'s str, name: &str) -> Option<&'s str> {
    let start = source.find(&format!("fn {name}("))?;
    let rest = &source[start..];
    let end = rest.find("\n}\n").map_or(rest.len(), |e| e + 3);
    Some(&rest[..end])
}

#[test]
#[cfg_attr(
    miri,
    ignore = "reads the repository's files, which Miri's isolation forbids"
)]
fn every_sdv_rule_has_one_row_and_every_row_holds() {
    let root = repository();
    let text = fs::read_to_string(root.join("host-tests/RULES.md")).unwrap();
    let rows = rows(&text);
    let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut names: BTreeSet<(&str, String)> = BTreeSet::new();
    let mut cases_named: BTreeSet<String> = BTreeSet::new();
    for row in &rows {
        assert!(
            names.insert((row.framework, row.rule.clone())),
            "{} {} has two rows",
            row.framework,
            row.rule
        );
        assert!(!row.forbids.is_empty(), "{row:?}: what it forbids is empty");
        let compile_time = row.status == "compile-time" || row.status == "compile-time + verifier";
        let verifier = row.status == "verifier" || row.status == "compile-time + verifier";
        let places = quoted(&row.place);
        if compile_time {
            let prefix = if row.framework == "KMDF" {
                "kmdf"
            } else {
                "wdm"
            };
            let expected = format!("wdf-safe/tests/ui/rules/{prefix}_{}.rs", snake(&row.rule));
            assert!(
                places.contains(&expected.as_str()),
                "{row:?}: the compile-time case is {expected}"
            );
            assert!(root.join(&expected).is_file(), "{expected} does not exist");
            let stderr = expected.replace(".rs", ".stderr");
            assert!(root.join(&stderr).is_file(), "{stderr} does not exist");
            cases_named.insert(expected);
        }
        if verifier {
            let tests: Vec<&str> = places
                .iter()
                .copied()
                .filter(|p| p.contains("::"))
                .collect();
            assert!(!tests.is_empty(), "{row:?}: no test named");
            for test in tests {
                let (file, function) = test.split_once("::").unwrap();
                let source = fs::read_to_string(root.join(file))
                    .unwrap_or_else(|e| panic!("{row:?}: {file}: {e}"));
                let body = function_body(&source, function)
                    .unwrap_or_else(|| panic!("{row:?}: no fn {function} in {file}"));
                assert!(
                    body.contains("#[test]")
                        || source.contains(&format!("#[test]\nfn {function}(")),
                    "{file}::{function} is not a test"
                );
                assert!(
                    body.contains(&format!("\"{}\"", row.rule)),
                    "{file}::{function} does not assert the rule name {}",
                    row.rule
                );
            }
        }
        if !compile_time && !verifier {
            assert!(
                row.status == "not applicable" || row.status == "not covered",
                "{row:?}: unknown status"
            );
            assert!(row.place.len() >= 20, "{row:?}: say why");
        }
        *counts
            .entry((row.framework, row.status.as_str()))
            .or_default() += 1;
    }
    let in_framework = |f: &str| rows.iter().filter(|r| r.framework == f).count();
    assert_eq!(in_framework("KMDF"), 127, "KMDF rows");
    assert_eq!(in_framework("WDM"), 169, "WDM rows");

    // No compile-fail case of a rule is left out of the table.
    for entry in fs::read_dir(root.join("wdf-safe/tests/ui/rules")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".rs") {
            let path = format!("wdf-safe/tests/ui/rules/{name}");
            assert!(cases_named.contains(&path), "{path} has no row");
        }
    }

    // The counts the document states are the table's, and meet the targets.
    let count =
        |framework: &str, status: &str| counts.get(&(framework, status)).copied().unwrap_or(0);
    for status in [
        "compile-time",
        "compile-time + verifier",
        "verifier",
        "not applicable",
        "not covered",
    ] {
        let (kmdf, wdm) = (count("KMDF", status), count("WDM", status));
        let line = format!("| {status} | {kmdf} | {wdm} | {} |", kmdf + wdm);
        assert!(text.contains(&line), "RULES.md should state: {line}");
    }
    let total = |status: &str| count("KMDF", status) + count("WDM", status);
    let both = total("compile-time + verifier");
    assert!(total("compile-time") + both >= 40, "compile-time rules");
    assert!(total("verifier") + both >= 30, "rules the verifier reports");
}

#[test]
fn rule_names_become_the_case_names() {
    assert_eq!(
        snake("BufAfterReqCompletedIntIoctlA"),
        "buf_after_req_completed_int_ioctl_a"
    );
    assert_eq!(snake("InputBufferAPI"), "input_buffer_api");
    assert_eq!(
        snake("PendedCompletedRequest3"),
        "pended_completed_request3"
    );
    assert_eq!(
        snake("CtlDeviceFinishInitDrEntry"),
        "ctl_device_finish_init_dr_entry"
    );
    assert_eq!(snake("SpinLockDpc"), "spin_lock_dpc");
}
