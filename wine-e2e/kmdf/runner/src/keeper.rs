//! A PnP driver that keeps its device handle beyond the device's removal, to show that the
//! handle then fails cleanly (its record outlives the device) instead of reaching freed memory.

use core::sync::atomic::{AtomicU32, Ordering};

use wdf_safe::kind::state::Ready;
use wdf_safe::{Device, DriverContext, FdoInit, KmdfDriver, NtResult, SpinLock};

/// The device's context.
pub struct Answer(pub u32);
wdf_safe::declare_context_type!(Answer);

/// The handle the driver keeps.
pub static KEPT: SpinLock<Option<Device<Keeper, Ready>>> = SpinLock::new(None);
/// Cleanup callbacks run (the device's and its context's).
pub static CLEANUPS: AtomicU32 = AtomicU32::new(0);

/// The driver.
pub struct Keeper;

impl KmdfDriver for Keeper {
    const PNP: bool = true;

    fn driver_entry(_driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        Ok(Self)
    }

    fn device_add(&self, init: FdoInit<'_, Self>) -> NtResult<()> {
        let device = init.create().map_err(|(_init, status)| status)?;
        device.allocate_context(
            || Answer(42),
            Some(|_: &Answer| {
                CLEANUPS.fetch_add(1, Ordering::SeqCst);
            }),
        )?;
        device.on_cleanup(|_| {
            CLEANUPS.fetch_add(1, Ordering::SeqCst);
        });
        *KEPT.lock() = Some(device.finish_initializing());
        Ok(())
    }
}
