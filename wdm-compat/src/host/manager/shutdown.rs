//! What happens when the last handle to a simulation goes: the machine shuts down.
//!
//! Device nodes still present are removed (`IRP_MN_REMOVE_DEVICE` down each stack, as the PnP
//! manager does before a driver can unload), then every driver still loaded is unloaded,
//! newest first (filters were loaded over the drivers they filter). So whatever drivers
//! published to the system — their instances, their device records — is given back, and a leak
//! checker such as Miri sees no leak for a test that simply ends. What the verifier reports
//! during shutdown is kept in the (dying) simulation but never fails the test: strict mode is
//! off by then, as nobody is left to read the reports.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::vec::Vec;

use super::IoManager;
use crate::host::{DeviceId, DriverId};

impl Drop for IoManager {
    fn drop(&mut self) {
        // Only the last handle shuts down, once; handles made during shutdown (driver code
        // reaching its simulation) are never the last. A test that failed (this thread is
        // panicking) is shut down too: the reports go nowhere (strict mode is off), and driver
        // code runs under the trampolines' panic guard.
        if Arc::strong_count(&self.inner) != 1 || self.inner.shut_down.swap(true, Ordering::AcqRel)
        {
            return;
        }
        self.shut_down();
    }
}

impl IoManager {
    fn shut_down(&self) {
        let pdos = self.with_world(|w| {
            w.strict = false;
            (0..w.devices.len())
                .map(DeviceId)
                .filter(|&id| {
                    w.device(id)
                        .is_some_and(|d| !d.deleted && d.lower.is_none() && d.upper.is_some())
                })
                .collect::<Vec<_>>()
        });
        for pdo in pdos {
            self.remove_node(pdo);
        }
        let loaded = self.with_world(|w| {
            (0..w.drivers.len())
                .rev()
                .filter(|&id| w.drivers.get(id).is_some_and(|d| d.loaded))
                .map(DriverId)
                .collect::<Vec<_>>()
        });
        for driver in loaded {
            // A driver without an unload routine stays loaded, as on Windows.
            let _ = self.unload_driver(driver);
        }
    }
}
