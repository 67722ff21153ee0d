//! The verifier's record (violations, strict mode) and the `DbgPrint` trace.

use crate::pool::PoolTag;
use core::time::Duration;
use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use super::{IoManager, World};
use crate::host::irql;
use crate::host::verifier::{Report, Violation, ViolationSeverity};

#[allow(
    clippy::panic,
    reason = "strict verifier mode: a violation fails the test that caused it"
)]
fn fail_test(report: &str) -> ! {
    panic!("{report}")
}

impl IoManager {
    /// Strict mode (the default): when a driver breaks a rule, the next operation the test
    /// makes on this simulation (open, read, load, unload, a PnP step…) panics with the full
    /// report, the way Driver Verifier stops the machine. `false`: violations are only recorded;
    /// read them with [`violations`](Self::violations). Warnings never panic.
    pub fn set_strict(&self, strict: bool) {
        self.with_world(|w| {
            w.strict = strict;
            w.reported = w.violations.len();
        });
    }

    /// Driver Verifier's low resources simulation, made deterministic: of the allocations that
    /// driver code of this simulation makes from now on through [`crate::memory`] (as both
    /// crates' seams do), the one numbered `nth` (from 0) fails, once. Sweeping `nth` over
    /// 0, 1, 2… fails each allocation of a scenario in turn, so every path that answers
    /// `STATUS_INSUFFICIENT_RESOURCES` can be tested.
    pub fn fail_allocation(&self, nth: usize) {
        self.with_world(|w| w.allocation_countdown = Some(nth));
    }

    /// Counts the tagged pool block at `address` in, for `driver`.
    pub(crate) fn pool_allocated(
        &self,
        driver: Option<super::DriverId>,
        address: usize,
        tag: u32,
        size: usize,
    ) {
        self.with_world(|w| {
            let entry = w.pool.entry((driver, tag)).or_insert((0, 0));
            entry.0 += 1;
            entry.1 += size;
            w.pool_blocks.insert(address, (driver, tag, size));
        });
    }

    /// Counts the tagged pool block at `address` out, from the driver that allocated it.
    pub(crate) fn pool_freed(&self, address: usize) {
        self.with_world(|w| {
            if let Some((driver, tag, size)) = w.pool_blocks.remove(&address)
                && let Some(entry) = w.pool.get_mut(&(driver, tag))
            {
                entry.0 = entry.0.saturating_sub(1);
                entry.1 = entry.1.saturating_sub(size);
            }
        });
    }

    /// The tagged pool blocks `driver` has outstanding: each tag with its count and bytes.
    #[must_use]
    pub fn pool_in_use(&self, driver: super::DriverId) -> Vec<(PoolTag, usize, usize)> {
        self.with_world(|w| {
            w.pool
                .iter()
                .filter(|((owner, _), (count, _))| *owner == Some(driver) && *count > 0)
                .map(|((_, tag), (count, bytes))| (PoolTag::from_raw(*tag), *count, *bytes))
                .collect()
        })
    }

    /// Whether driver code's allocation now is the one to refuse (and counts it).
    pub(crate) fn take_refused_allocation(&self) -> bool {
        self.with_world(|w| match w.allocation_countdown {
            Some(0) => {
                w.allocation_countdown = None;
                true
            }
            Some(n) => {
                w.allocation_countdown = Some(n - 1);
                false
            }
            None => false,
        })
    }

    /// Whether strict mode is on.
    #[must_use]
    pub fn is_strict(&self) -> bool {
        self.with_world(|w| w.strict)
    }

    /// Every violation recorded so far, oldest first.
    #[must_use]
    pub fn violations(&self) -> Vec<Violation> {
        self.with_world(|w| w.violations.clone())
    }

    /// Removes and returns the recorded violations.
    pub fn take_violations(&self) -> Vec<Violation> {
        self.with_world(|w| {
            w.reported = 0;
            core::mem::take(&mut w.violations)
        })
    }

    /// The lines drivers printed with `DbgPrint` (through [`crate::log`] or
    /// [`KernelCalls::dbg_print`](crate::host::KernelCalls::dbg_print)), oldest first, without
    /// trailing newlines: the last [`set_trace_capacity`](Self::set_trace_capacity) lines
    /// (10 000 by default), as a debugger's output window keeps a bounded buffer.
    #[must_use]
    pub fn trace(&self) -> Vec<String> {
        self.with_world(|w| w.trace.iter().cloned().collect())
    }

    /// How many `DbgPrint` lines [`trace`](Self::trace) keeps; older lines are dropped first.
    pub fn set_trace_capacity(&self, lines: usize) {
        self.with_world(|w| {
            w.trace_capacity = lines;
            while w.trace.len() > lines {
                w.trace.pop_front();
            }
        });
    }

    /// How long synchronous user-side requests wait for a pending IRP before giving up and
    /// returning `STATUS_PENDING` (default 10 s).
    pub fn set_sync_timeout(&self, timeout: Duration) {
        self.with_world(|w| w.sync_timeout = timeout);
    }

    pub(in crate::host) fn sync_timeout(&self) -> Duration {
        self.with_world(|w| w.sync_timeout)
    }

    pub(in crate::host) fn report(&self, report: Report) {
        self.with_world(|w| w.push(report));
    }

    pub(in crate::host) fn report_driver_panic(&self, message: &str) {
        self.report(Report {
            rule: None,
            bug_check: Some((0x1E, [0, 0, 0, 0])),
            severity: ViolationSeverity::Fatal,
            driver: None,
            major: None,
            message: format!("driver code panicked (KMODE_EXCEPTION_NOT_HANDLED): {message}"),
        });
    }

    /// Records a bug check raised by driver-side code.
    pub(crate) fn report_bug_check(&self, code: u32, params: [usize; 4], message: &str) {
        self.report_rule_bug_check(None, code, params, message);
    }

    /// [`report_bug_check`](Self::report_bug_check) naming the SDV rule the driver broke.
    pub(crate) fn report_rule_bug_check(
        &self,
        rule: Option<&'static str>,
        code: u32,
        params: [usize; 4],
        message: &str,
    ) {
        self.report(Report {
            rule,
            bug_check: Some((code, params)),
            severity: ViolationSeverity::Fatal,
            driver: None,
            major: None,
            message: message.to_string(),
        });
    }

    pub(in crate::host) fn dbg_print(&self, text: &str) {
        let line = text.trim_end_matches(['\n', '\r']);
        let echo = self.with_world(|w| {
            w.record_trace(line);
            w.echo
        });
        if echo {
            std::eprintln!("{line}");
        }
    }

    /// In strict mode, panics with every violation recorded since the last check. Called at
    /// the end of each operation a test makes; never inside driver code.
    pub(in crate::host) fn check_strict(&self) {
        if irql::in_driver_code() || std::thread::panicking() {
            return;
        }
        // A user-side call is ending, at PASSIVE_LEVEL outside driver code: the moment the
        // I/O manager's deferred work (a file object's close) can run.
        self.send_due_closes();
        let report = self.with_world(|w| {
            let start = w.reported;
            w.reported = w.violations.len();
            if !w.strict {
                return None;
            }
            let fresh: Vec<String> = w
                .violations
                .get(start..)
                .unwrap_or_default()
                .iter()
                .filter(|v| v.severity != ViolationSeverity::Warning)
                .map(ToString::to_string)
                .collect();
            if fresh.is_empty() {
                None
            } else {
                Some(format!(
                    "the simulated Driver Verifier stopped the system:\n  {}",
                    fresh.join("\n  ")
                ))
            }
        });
        if let Some(report) = report {
            fail_test(&report);
        }
    }
}

impl IoManager {
    pub(in crate::host) fn push_report(&self, report: Report) {
        self.with_world(|w| w.push(report));
    }
}

impl World {
    pub(super) fn push(&mut self, report: Report) {
        let violation = Violation {
            rule: report.rule,
            bug_check: report
                .bug_check
                .map(|(code, params)| crate::host::verifier::BugCheck { code, params }),
            severity: report.severity,
            driver: self.driver_name(report.driver.or_else(irql::current_driver)),
            major: report.major,
            message: report.message,
        };
        if self.echo {
            std::eprintln!("[wdm-compat verifier] {violation}");
        }
        self.violations.push(violation);
    }

    /// Appends a line to the bounded trace, dropping the oldest when it is full.
    /// Once the buffer is full, the oldest line's memory holds the new one: a long run prints
    /// without allocating.
    fn record_trace(&mut self, line: &str) {
        if self.trace_capacity == 0 {
            return;
        }
        let mut kept = if self.trace.len() >= self.trace_capacity {
            self.trace.pop_front().unwrap_or_default()
        } else {
            String::new()
        };
        kept.clear();
        kept.push_str(line);
        self.trace.push_back(kept);
    }
}
