//! `bench`: how fast and how flat the simulation runs the echo sample, per backend.
//!
//! ```text
//! cargo run --release -p host-tests --bin bench -- --round-trips 1000000
//! ```
//!
//! For each backend it loads the echo driver into a fresh simulation, opens `\\.\WdkSafeEcho`,
//! and sends `IOCTL_ECHO` round trips (`DeviceIoControl`, the answer checked) on one thread,
//! then prints
//!
//! ```text
//! round trips/s: <backend> <number>
//! peak memory: <backend> <MiB> MiB
//! ```
//!
//! where peak memory is the process's peak resident set while that backend ran (Linux: the
//! peak is reset through `/proc/self/clear_refs` before each backend and read from `VmHWM`).
//! Exits with 1 when an answer is wrong or the verifier reported something.

use std::process::ExitCode;
use std::time::Instant;

use host_tests::Backend;
use wdm_compat::host::IoManager;

const USAGE: &str = "usage: bench [--round-trips N] [--backend wdm|kmdf]";

fn main() -> ExitCode {
    let mut round_trips: u64 = 100_000;
    let mut backends = Backend::ALL.to_vec();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--round-trips", Some(n)) => match n.replace('_', "").parse() {
                Ok(n) => round_trips = n,
                Err(_) => return usage(),
            },
            ("--backend", Some(name)) => match Backend::parse(&name) {
                Some(backend) => backends = vec![backend],
                None => return usage(),
            },
            _ => return usage(),
        }
    }
    let mut failed = false;
    for backend in backends {
        reset_peak_memory();
        match run(backend, round_trips) {
            Ok(rate) => {
                println!("round trips/s: {} {rate:.0}", backend.name());
                match peak_memory_mib() {
                    Some(mib) => println!("peak memory: {} {mib:.1} MiB", backend.name()),
                    None => println!("peak memory: {} unknown MiB", backend.name()),
                }
            }
            Err(error) => {
                eprintln!("{}: {error}", backend.name());
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

/// Sends `round_trips` echo IOCTLs; returns the rate.
fn run(backend: Backend, round_trips: u64) -> Result<f64, String> {
    let io = IoManager::new();
    let driver = io
        .load_driver("echo", backend.entry_point::<echo::Echo>())
        .map_err(|status| format!("loading the driver: {status}"))?;
    let handle = io
        .open(echo::USER_PATH)
        .map_err(|status| format!("opening the device: {status}"))?;
    let code = echo::IOCTL_ECHO.code().to_raw();
    let start = Instant::now();
    for n in 0..round_trips {
        let value = (n as u32).to_le_bytes();
        let answer = handle.device_io_control(code, &value, 4);
        if answer.data != value {
            return Err(format!("round trip {n}: {answer:?}"));
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    drop(handle);
    io.unload_driver(driver)
        .map_err(|status| format!("unloading the driver: {status}"))?;
    let violations = io.take_violations();
    if !violations.is_empty() {
        return Err(format!("the verifier reported {violations:#?}"));
    }
    Ok(round_trips as f64 / elapsed.max(f64::MIN_POSITIVE))
}

/// Resets the peak resident set to the current one (Linux).
fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The peak resident set since the last reset, in MiB (Linux).
fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
