//! `run-sample`: run a sample end to end on the host simulation and print what its Windows
//! client prints, then what a kernel debugger (DbgView) would show of the driver.
//!
//! ```text
//! cargo run -p host-tests --bin run-sample -- echo --backend kmdf 0xDEADBEEF
//! cargo run -p host-tests --bin run-sample -- null-device --backend wdm
//! cargo run -p host-tests --bin run-sample -- hid-filter --backend kmdf
//! cargo run -p host-tests --bin run-sample -- kmdf-echo
//! cargo run -p host-tests --bin run-sample -- toaster
//! cargo run -p host-tests --bin run-sample -- kbfiltr
//! ```
//!
//! Exits with 0 when every check passed and the verifier reported nothing, 1 when something
//! failed, 2 on a usage error.

use std::process::ExitCode;

use host_tests::Backend;
use host_tests::scenario::{self, Outcome};

const USAGE: &str =
    "usage: run-sample <echo|null-device|hid-filter|kmdf-echo|toaster|kbfiltr> [--backend wdm|kmdf] [VALUE]
  VALUE (echo only): the u32 to echo, decimal or 0x-hex; default 0xDEADBEEF
  --backend defaults to kmdf; kmdf-echo, toaster and kbfiltr are KMDF-only samples";

/// The parsed command line.
struct Arguments {
    sample: String,
    backend: Backend,
    value: u32,
}

fn parse_value(text: &str) -> Option<u32> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Arguments, String> {
    let mut sample = None;
    let mut backend = Backend::Kmdf;
    let mut value = 0xDEAD_BEEF;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--backend" => {
                let name = args.next().ok_or("--backend needs wdm or kmdf")?;
                backend = Backend::parse(&name).ok_or(format!("unknown backend {name:?}"))?;
            }
            "-h" | "--help" => return Err(String::new()),
            _ if sample.is_none() => sample = Some(arg),
            _ => value = parse_value(&arg).ok_or(format!("not a u32: {arg:?}"))?,
        }
    }
    let sample = sample.ok_or("which sample?")?;
    Ok(Arguments {
        sample,
        backend,
        value,
    })
}

fn print(outcome: &Outcome) {
    for line in &outcome.client {
        println!("{line}");
    }
    println!();
    println!("--- kernel debugger (DbgView) ---");
    for line in &outcome.trace {
        println!("{line}");
    }
    if !outcome.violations.is_empty() {
        println!();
        println!("--- verifier ---");
        for line in &outcome.violations {
            println!("{line}");
        }
    }
    println!();
    println!("{}", if outcome.passed { "PASS" } else { "FAIL" });
}

fn main() -> ExitCode {
    let arguments = match parse(std::env::args().skip(1)) {
        Ok(arguments) => arguments,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("run-sample: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let outcome = match arguments.sample.as_str() {
        "echo" => scenario::echo(arguments.backend, arguments.value),
        "null-device" | "null" => scenario::null_device(arguments.backend),
        "hid-filter" | "hid" => scenario::hid_filter(arguments.backend),
        "kmdf-echo" if arguments.backend == Backend::Kmdf => scenario::kmdf_echo(),
        "toaster" if arguments.backend == Backend::Kmdf => scenario::toaster(),
        "kbfiltr" if arguments.backend == Backend::Kmdf => scenario::kbfiltr(),
        "kmdf-echo" | "toaster" | "kbfiltr" => {
            eprintln!(
                "run-sample: {} is a KMDF-only sample (no --backend wdm)",
                arguments.sample
            );
            return ExitCode::from(2);
        }
        other => {
            eprintln!("run-sample: unknown sample {other:?}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    print(&outcome);
    if outcome.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
